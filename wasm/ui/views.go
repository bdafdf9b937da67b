package ui

import "time"

// The app's view models. The browser program (package wasm/app) builds them
// from the store and the session; the components in app.templ render them.
// They are plain values: no store, no client, no DOM.
//
// DOM contract (kept stable: tests and other tools drive the app through it):
//
//	#view                               everything the app renders; boot.js may
//	                                    paint a saved copy before the wasm runs
//	[data-testid=login] form            inputs named jid and password;
//	                                    data-action="login"
//	[data-testid=connection]            data-state connecting|online|offline,
//	                                    data-path, data-round-trips, data-ms
//	[data-testid=inbox]                 the conversation list
//	[data-testid=conversation]          one row: data-jid, data-unread;
//	                                    data-action="open"
//	[data-testid=chat]                  the open conversation: data-jid
//	[data-testid=message]               data-id (origin-id or archive id),
//	                                    data-state, data-dir in|out
//	[data-testid=composer]              textarea; Enter sends, Shift+Enter is a
//	                                    new line
//	[data-testid=gap]                   where the archive has a gap
//	[data-testid=contacts]              contacts screen; forms and buttons carry
//	                                    data-action add-contact|accept|deny|remove
//	                                    and data-jid
//	[data-testid=update]                "Reload to update" banner
//
// Region ids the browser program swaps one by one: #connection, #nav,
// #inbox, #chat-header, #messages, #composer-area, #contacts, #login,
// #notice. Every message element has id "m-" + its Key (escaped by the
// components), so a state change replaces one element.
//
// More hooks (additions; app.templ renders them):
//
//	.app[data-screen]                   AppView's root, the Screen; it renders only
//	                                    the regions of that screen, so a
//	                                    screen change re-renders AppView
//	#message-list                       the ol of ChatItemView items inside
//	                                    #messages: append new messages here
//	[data-testid=chat]                  is #messages itself, present only while
//	                                    a conversation is open
//	[data-testid=older]                 the "load older" button
//	[data-testid=day]                   a day separator
//	[data-testid=unread]                a conversation's unread badge
//	[data-testid=send]                  the composer's submit button
//	[data-testid=logout]                the logout form (checkbox wipe)
//	[data-testid=nav-chats|nav-contacts] the screen buttons
//	[data-testid=add-contact]           the add-contact form (jid, name)
//	[data-testid=request]               one incoming request: data-jid
//	[data-testid=contact]               one roster entry: data-jid,
//	                                    data-subscription, data-pending
//	[data-testid=back]                  back to the inbox (phone width)
//	[data-testid=notice]                the notice line
//
// Actions: a form carries data-action on the <form> (login, send,
// add-contact, logout; handle its submit event); every other control is a
// <button type="button"> with data-action (open, older, nav, back, accept,
// deny, remove; handle its click) and data-jid or data-screen.

// Screen is the top-level view.
type Screen string

const (
	ScreenLoading  Screen = "loading"  // before anything is known
	ScreenLogin    Screen = "login"    // no account yet, or logged out
	ScreenChats    Screen = "chats"    // inbox, and the open chat beside it
	ScreenContacts Screen = "contacts" // roster and subscription requests
)

// App is the whole app view.
type App struct {
	Screen     Screen
	Self       string // the account's bare JID; "" before login
	Connection Connection
	Login      Login
	Inbox      Inbox
	Chat       *Chat // nil: no conversation open
	Contacts   Contacts
	Notice     string // one-line message for the user (an error, "Logged out"), "" for none
	Update     bool   // a new version is installed: offer "Reload to update"
	Follower   bool   // another tab holds the session; this one follows it
}

// Connection is the connection bar.
type Connection struct {
	State      string // "connecting", "online" or "offline"
	Path       string // how the session came up: "resumed", "token", "password", "legacy", ...
	RoundTrips int
	Ms         int
	// Text is the line shown, e.g. "Connected", "Offline — messages will be
	// sent later", "Connecting…"; Detail is the measured figure shown on
	// hover, e.g. "connected in 38 ms · 1 round trip (resumed)".
	Text, Detail string
}

// Login is the login form.
type Login struct {
	Domain string // the deployment's fixed XMPP domain
	JID    string // what was typed (kept after an error), never the password
	Error  string // why the last attempt failed, for people
	Busy   bool   // a login is in progress
}

// Inbox is the conversation list, newest activity first.
type Inbox struct {
	Rows   []ConversationRow
	Active string // JID of the open conversation, "" for none
	// Today is the local midnight of the current day, set by whoever builds
	// the view (components never read the clock): rows of today show the
	// time, older rows the date. Zero: every row shows date and time.
	Today time.Time
}

// ConversationRow is one conversation in the inbox.
type ConversationRow struct {
	JID      string
	Name     string // roster name, or the JID's local part
	Preview  string // last message, plain text
	Time     time.Time
	Unread   int
	Presence string // "available", "away", "dnd", "xa", "chat" or "" (offline/unknown)
}

// Chat is the open conversation.
type Chat struct {
	JID      string
	Name     string
	Presence string
	Items    []ChatItem // oldest first
	// Older: the archive may hold older messages (show "load older" and
	// fetch on scroll); Loading: a fetch is running.
	Older, Loading bool
	Draft          string // composer text kept across renders
}

// ItemKind says what a ChatItem is.
type ItemKind uint8

const (
	ItemMessage ItemKind = iota
	ItemDay              // a day separator: Day holds the date
	ItemGap              // the archive could not provide what lies here (expired or not yet fetched)
)

// ChatItem is one row of the message list.
type ChatItem struct {
	Kind    ItemKind
	Day     time.Time // ItemDay: the day (local midnight)
	Gap     string    // ItemGap: the reason, for people
	Message Message   // ItemMessage
}

// Message is one message as shown.
type Message struct {
	Key       string // store key: the element id is "m-" + Key
	ID        string // origin-id or archive id (data-id)
	Outbound  bool
	From      string // sender's bare JID
	Body      string // plain text; styled by XEP-0393 rules when rendered
	Time      time.Time
	State     string // outbound: "queued", "sent", "acked", "delivered", "read"; inbound: "received"
	Edited    bool
	Retracted bool
	Reactions []Reaction
	// Unstyled: the sender asked for the body not to be styled (XEP-0393's
	// <unstyled xmlns='urn:xmpp:styling:0'/> hint); links are still made.
	Unstyled bool
}

// Reaction is one emoji with the number of people who reacted with it.
type Reaction struct {
	Emoji string
	Count int
	Mine  bool
}

// Contacts is the contacts screen.
type Contacts struct {
	Contacts []Contact
	Requests []string // bare JIDs asking to see our presence
	Error    string
}

// Contact is one roster entry.
type Contact struct {
	JID          string
	Name         string
	Subscription string // none, to, from, both
	Pending      bool   // our request is waiting for an answer
	Presence     string
}
