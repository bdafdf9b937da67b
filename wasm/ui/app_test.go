package ui

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/a-h/templ"
	"golang.org/x/net/html"
)

// appElements and appAttrs are every element and attribute the app's
// components may write; anything else in their output is a hole.
var (
	appElements = set("div", "section", "header", "nav", "ul", "ol", "li", "p", "h2", "h3",
		"button", "form", "label", "input", "textarea", "details", "summary",
		"span", "bdi", "time", "em", "strong", "s", "code", "pre", "blockquote", "a")
	appAttrs = set("id", "class", "role", "tabindex", "title", "hidden", "dir",
		"type", "name", "value", "placeholder", "autocomplete", "inputmode", "autocapitalize",
		"spellcheck", "required", "disabled", "rows", "enterkeyhint", "method", "for", "datetime",
		"href", "rel", "target",
		"aria-label", "aria-live", "aria-hidden", "aria-current", "aria-busy", "aria-describedby", "aria-labelledby",
		"data-testid", "data-action", "data-jid", "data-unread", "data-state", "data-path",
		"data-round-trips", "data-ms", "data-screen", "data-id", "data-dir", "data-hue", "data-presence",
		"data-edited", "data-retracted", "data-mine", "data-subscription", "data-pending")
)

func renderHTML(t testing.TB, c templ.Component) string {
	t.Helper()
	var sb strings.Builder
	if err := c.Render(context.Background(), &sb); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return sb.String()
}

// render renders c and parses it as innerHTML would.
func render(t testing.TB, c templ.Component) *html.Node {
	t.Helper()
	return parseFragment(t, renderHTML(t, c))
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// findAll returns the elements below n for which match is true, in
// document order.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
		out = append(out, findAll(c, match)...)
	}
	return out
}

// byAttr returns the elements below n whose attribute key is val.
func byAttr(n *html.Node, key, val string) []*html.Node {
	return findAll(n, func(e *html.Node) bool {
		v, ok := attr(e, key)
		return ok && v == val
	})
}

// one returns the single element below n whose attribute key is val.
func one(t testing.TB, n *html.Node, key, val string) *html.Node {
	t.Helper()
	es := byAttr(n, key, val)
	if len(es) != 1 {
		t.Fatalf("%d elements with %s=%q, want 1", len(es), key, val)
	}
	return es[0]
}

// wantAttrs checks attributes of e; "" for an attribute present with any
// value is written as "*".
func wantAttrs(t testing.TB, e *html.Node, want map[string]string) {
	t.Helper()
	for k, v := range want {
		got, ok := attr(e, k)
		switch {
		case !ok:
			t.Errorf("<%s> lacks %s (want %q)", e.Data, k, v)
		case v != "*" && got != v:
			t.Errorf("<%s> %s=%q, want %q", e.Data, k, got, v)
		}
	}
}

// checkAllowed reports every element, attribute or link outside the
// allowed sets, and any link without rel=noopener.
func checkAllowed(t testing.TB, root *html.Node, what string) {
	t.Helper()
	for _, e := range findAll(root, func(*html.Node) bool { return true }) {
		if !appElements[e.Data] || e.Namespace != "" {
			t.Errorf("%s: element <%s> is not allowed", what, e.Data)
		}
		for _, a := range e.Attr {
			if !appAttrs[a.Key] || a.Namespace != "" {
				t.Errorf("%s: attribute %s=%q on <%s> is not allowed", what, a.Key, a.Val, e.Data)
			}
			if a.Key == "href" && (e.Data != "a" || !safeHref(a.Val)) {
				t.Errorf("%s: <%s href=%q> is not an https: or xmpp: link", what, e.Data, a.Val)
			}
		}
		if e.Data == "a" {
			if rel, _ := attr(e, "rel"); rel != "noopener noreferrer" {
				t.Errorf("%s: link without rel=noopener noreferrer: %q", what, rel)
			}
		}
	}
}

var loc = time.FixedZone("UTC+1", 3600)

// sample is a view of every screen's content.
func sample() App {
	day1 := time.Date(2026, 1, 2, 0, 0, 0, 0, loc)
	day2 := time.Date(2026, 1, 3, 0, 0, 0, 0, loc)
	return App{
		Screen:     ScreenChats,
		Self:       "alice@example.org",
		Connection: Connection{State: "online", Path: "resumed", RoundTrips: 1, Ms: 38, Text: "Connected", Detail: "connected in 38 ms · 1 round trip (resumed)"},
		Login:      Login{Domain: "example.org", JID: "alice", Error: "Wrong password"},
		Inbox: Inbox{
			Rows: []ConversationRow{
				{JID: "bob@example.org", Name: "Bob", Preview: "see you", Time: day2.Add(15*time.Hour + 4*time.Minute), Unread: 3, Presence: "away"},
				{JID: "carol@example.org", Preview: "ok", Time: day1.Add(9 * time.Hour), Presence: ""},
			},
			Active: "bob@example.org",
			Today:  day2,
		},
		Chat: &Chat{
			JID: "bob@example.org", Name: "Bob", Presence: "away", Older: true, Draft: "half a thought",
			Items: []ChatItem{
				{Kind: ItemGap, Gap: "Older messages are no longer kept by the server."},
				{Kind: ItemDay, Day: day1},
				{Message: Message{Key: "k1", ID: "o1", From: "bob@example.org", Body: "hi *there*", Time: day1.Add(23*time.Hour + 59*time.Minute), State: "received"}},
				{Kind: ItemDay, Day: day2},
				{Message: Message{Key: "k2", ID: "o2", Outbound: true, From: "alice@example.org", Body: "hello", Time: day2.Add(time.Minute), State: "read"}},
			},
		},
		Contacts: Contacts{
			Contacts: []Contact{
				{JID: "bob@example.org", Name: "Bob", Subscription: "both", Presence: "available"},
				{JID: "dan@example.org", Subscription: "none", Pending: true},
			},
			Requests: []string{"eve@example.org"},
		},
		Notice: "",
	}
}

func withScreen(v App, s Screen) App {
	v.Screen = s
	return v
}

// TestAppViewRegions: each screen renders its regions, and only those.
func TestAppViewRegions(t *testing.T) {
	t.Parallel()
	all := []string{"connection", "nav", "inbox", "chat-header", "messages", "composer-area", "contacts", "login", "notice"}
	noChat := sample()
	noChat.Chat = nil
	tests := []struct {
		name string
		v    App
		want []string
	}{
		{"loading", withScreen(sample(), ScreenLoading), []string{"connection", "notice"}},
		{"login", withScreen(sample(), ScreenLogin), []string{"connection", "login", "notice"}},
		{"chats", sample(), []string{"connection", "nav", "inbox", "chat-header", "messages", "composer-area", "notice"}},
		{"chats without a chat", noChat, []string{"connection", "nav", "inbox", "chat-header", "messages", "composer-area", "notice"}},
		{"contacts", withScreen(sample(), ScreenContacts), []string{"connection", "nav", "contacts", "notice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := render(t, AppView(tt.v))
			checkAllowed(t, root, tt.name)
			wantAttrs(t, one(t, root, "class", "app"), map[string]string{"data-screen": string(tt.v.Screen)})
			for _, id := range all {
				n := len(byAttr(root, "id", id))
				want := 0
				for _, w := range tt.want {
					if w == id {
						want = 1
					}
				}
				if n != want {
					t.Errorf("#%s appears %d times, want %d", id, n, want)
				}
			}
		})
	}
}

// TestRegionsMatchAppView: a region rendered alone is the region inside
// AppView, so swapping it in changes nothing else.
func TestRegionsMatchAppView(t *testing.T) {
	t.Parallel()
	v := sample()
	regions := []struct {
		screen Screen
		id     string
		c      templ.Component
	}{
		{ScreenChats, "connection", ConnectionBar(v.Connection)},
		{ScreenChats, "nav", Nav(v)},
		{ScreenChats, "inbox", InboxList(v.Inbox)},
		{ScreenChats, "chat-header", ChatHeader(v.Chat)},
		{ScreenChats, "messages", Messages(v.Chat)},
		{ScreenChats, "composer-area", ComposerArea(v.Chat)},
		{ScreenChats, "notice", NoticeView(v.Notice)},
		{ScreenContacts, "contacts", ContactsView(v.Contacts)},
		{ScreenLogin, "login", LoginForm(v.Login)},
	}
	for _, r := range regions {
		whole := render(t, AppView(withScreen(v, r.screen)))
		inApp := one(t, whole, "id", r.id)
		alone := render(t, r.c)
		if alone.FirstChild == nil || alone.FirstChild != alone.LastChild {
			t.Errorf("#%s: the component does not render one root element", r.id)
			continue
		}
		if got, _ := attr(alone.FirstChild, "id"); got != r.id {
			t.Errorf("#%s: the component's root has id %q", r.id, got)
		}
		var a, b strings.Builder
		if err := html.Render(&a, inApp); err != nil {
			t.Fatal(err)
		}
		if err := html.Render(&b, alone.FirstChild); err != nil {
			t.Fatal(err)
		}
		if a.String() != b.String() {
			t.Errorf("#%s differs between AppView and the component:\n%s\n%s", r.id, a.String(), b.String())
		}
	}
}

// TestContract checks each hook of the DOM contract in views.go.
func TestContract(t *testing.T) {
	t.Parallel()
	v := sample()
	chats := render(t, AppView(v))

	conn := one(t, chats, "data-testid", "connection")
	wantAttrs(t, conn, map[string]string{"id": "connection", "data-state": "online", "data-path": "resumed",
		"data-round-trips": "1", "data-ms": "38", "title": v.Connection.Detail, "role": "status"})
	if txt := textContent(conn); !strings.Contains(txt, "Connected") || !strings.Contains(txt, "38 ms") {
		t.Errorf("connection bar text %q lacks the state or the figure", txt)
	}

	wantAttrs(t, one(t, chats, "id", "inbox"), map[string]string{"data-testid": "inbox"})
	rows := byAttr(chats, "data-testid", "conversation")
	if len(rows) != 2 {
		t.Fatalf("%d conversation rows, want 2", len(rows))
	}
	wantAttrs(t, rows[0], map[string]string{"data-jid": "bob@example.org", "data-unread": "3", "data-action": "open", "aria-current": "true", "type": "button"})
	wantAttrs(t, rows[1], map[string]string{"data-jid": "carol@example.org", "data-unread": "0", "data-action": "open"})
	if _, ok := attr(rows[1], "aria-current"); ok {
		t.Errorf("an inactive row is aria-current")
	}
	if txt := textContent(rows[0]); !strings.Contains(txt, "Bob") || !strings.Contains(txt, "see you") || !strings.Contains(txt, "15:04") {
		t.Errorf("row text %q lacks name, preview or time of today", txt)
	}
	if txt := textContent(rows[1]); !strings.Contains(txt, "carol@example.org") || !strings.Contains(txt, "2 Jan") {
		t.Errorf("row text %q lacks the JID (no name) or the date of an older day", txt)
	}
	if p := one(t, rows[0], "class", "avatar"); true {
		wantAttrs(t, p, map[string]string{"data-presence": "away", "aria-hidden": "true"})
	}

	chat := one(t, chats, "data-testid", "chat")
	wantAttrs(t, chat, map[string]string{"id": "messages", "data-jid": "bob@example.org", "role": "log", "aria-live": "polite"})
	wantAttrs(t, one(t, chat, "data-action", "older"), map[string]string{"data-testid": "older", "type": "button", "data-jid": "bob@example.org"})
	list := one(t, chat, "id", "message-list")
	if list.Data != "ol" {
		t.Errorf("#message-list is <%s>, want <ol>", list.Data)
	}
	if n := len(findAll(list, func(e *html.Node) bool { return e.Data == "li" && e.Parent == list })); n != len(v.Chat.Items) {
		t.Errorf("#message-list holds %d items, want %d", n, len(v.Chat.Items))
	}
	msgs := byAttr(chat, "data-testid", "message")
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	wantAttrs(t, msgs[0], map[string]string{"id": "m-k1", "data-id": "o1", "data-state": "received", "data-dir": "in"})
	wantAttrs(t, msgs[1], map[string]string{"id": "m-k2", "data-id": "o2", "data-state": "read", "data-dir": "out"})
	if gaps := byAttr(chat, "data-testid", "gap"); len(gaps) != 1 || !strings.Contains(textContent(gaps[0]), "no longer kept") {
		t.Errorf("gap markers %d, want 1 with its reason", len(gaps))
	}
	if len(byAttr(chats, "data-action", "back")) != 1 {
		t.Errorf("no back button")
	}

	form := one(t, chats, "data-action", "send")
	wantAttrs(t, form, map[string]string{"data-jid": "bob@example.org"})
	if form.Data != "form" {
		t.Errorf("data-action=send is on <%s>, want <form>", form.Data)
	}
	ta := one(t, form, "data-testid", "composer")
	wantAttrs(t, ta, map[string]string{"name": "body", "id": "composer"})
	if ta.Data != "textarea" || textContent(ta) != "half a thought" {
		t.Errorf("composer is <%s> holding %q, want a textarea holding the draft", ta.Data, textContent(ta))
	}
	wantAttrs(t, one(t, form, "data-testid", "send"), map[string]string{"type": "submit"})

	navs := byAttr(chats, "data-action", "nav")
	if len(navs) != 2 {
		t.Fatalf("%d nav buttons, want 2", len(navs))
	}
	for i, s := range []string{"chats", "contacts"} {
		wantAttrs(t, navs[i], map[string]string{"data-screen": s, "type": "button"})
	}
	wantAttrs(t, navs[0], map[string]string{"aria-current": "page"})
	logout := one(t, chats, "data-action", "logout")
	if logout.Data != "form" {
		t.Errorf("data-action=logout is on <%s>, want <form>", logout.Data)
	}
	wantAttrs(t, one(t, logout, "name", "wipe"), map[string]string{"type": "checkbox"})
	if !strings.Contains(textContent(one(t, chats, "id", "nav")), "alice@example.org") {
		t.Errorf("nav does not show the own JID")
	}

	contacts := render(t, AppView(withScreen(v, ScreenContacts)))
	wantAttrs(t, one(t, contacts, "id", "contacts"), map[string]string{"data-testid": "contacts"})
	add := one(t, contacts, "data-action", "add-contact")
	if add.Data != "form" {
		t.Errorf("add-contact is on <%s>, want <form>", add.Data)
	}
	one(t, add, "name", "jid")
	one(t, add, "name", "name")
	req := one(t, contacts, "data-testid", "request")
	wantAttrs(t, req, map[string]string{"data-jid": "eve@example.org"})
	wantAttrs(t, one(t, req, "data-action", "accept"), map[string]string{"data-jid": "eve@example.org", "type": "button"})
	wantAttrs(t, one(t, req, "data-action", "deny"), map[string]string{"data-jid": "eve@example.org", "type": "button"})
	cs := byAttr(contacts, "data-testid", "contact")
	if len(cs) != 2 {
		t.Fatalf("%d contacts, want 2", len(cs))
	}
	wantAttrs(t, cs[1], map[string]string{"data-jid": "dan@example.org", "data-subscription": "none", "data-pending": "true"})
	wantAttrs(t, one(t, cs[0], "data-action", "remove"), map[string]string{"data-jid": "bob@example.org", "type": "button"})
	wantAttrs(t, one(t, cs[0], "data-action", "open"), map[string]string{"data-jid": "bob@example.org"})
	if !strings.Contains(textContent(cs[1]), "waiting for an answer") {
		t.Errorf("a pending contact does not say so: %q", textContent(cs[1]))
	}

	login := render(t, AppView(withScreen(v, ScreenLogin)))
	lf := one(t, login, "data-testid", "login")
	wantAttrs(t, lf, map[string]string{"data-action": "login"})
	if lf.Data != "form" {
		t.Errorf("login is <%s>, want <form>", lf.Data)
	}
	wantAttrs(t, one(t, lf, "name", "jid"), map[string]string{"autocomplete": "username", "value": "alice"})
	wantAttrs(t, one(t, lf, "name", "password"), map[string]string{"autocomplete": "current-password", "type": "password"})
	if al := one(t, lf, "role", "alert"); textContent(al) != "Wrong password" {
		t.Errorf("alert says %q", textContent(al))
	}
	if !strings.Contains(textContent(lf), "example.org") {
		t.Errorf("the login form does not show the domain")
	}
}

// TestNoticeAndConnectionHidden: empty regions stay in the page (to be
// swapped) but hidden.
func TestNoticeAndConnectionHidden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		c      templ.Component
		hidden bool
	}{
		{"no notice", NoticeView(""), true},
		{"notice", NoticeView("Logged out"), false},
		{"no connection state", ConnectionBar(Connection{}), true},
		{"offline", ConnectionBar(Connection{State: "offline"}), false},
	}
	for _, tt := range tests {
		root := render(t, tt.c)
		if _, ok := attr(root.FirstChild, "hidden"); ok != tt.hidden {
			t.Errorf("%s: hidden=%v, want %v", tt.name, ok, tt.hidden)
		}
	}
	if got := textContent(render(t, ConnectionBar(Connection{State: "offline"}))); !strings.Contains(got, "Offline — messages will be sent later") {
		t.Errorf("offline bar says %q", got)
	}
}

// TestMessageStates: each state reaches data-state, outbound messages carry
// a labelled tick, inbound ones none.
func TestMessageStates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		state    string
		outbound bool
		label    string
	}{
		{"queued", true, "Not sent yet"},
		{"sent", true, "Sending"},
		{"acked", true, "Sent"},
		{"delivered", true, "Delivered"},
		{"read", true, "Read"},
		{"received", false, ""},
	}
	for _, tt := range tests {
		root := render(t, ChatItemView(ChatItem{Message: Message{Key: "k", ID: "i", Outbound: tt.outbound, Body: "b", State: tt.state}}))
		li := one(t, root, "data-testid", "message")
		if li.Data != "li" {
			t.Errorf("%s: message is <%s>, want <li>", tt.state, li.Data)
		}
		wantAttrs(t, li, map[string]string{"data-state": tt.state})
		ticks := byAttr(root, "class", "tick")
		if !tt.outbound {
			if len(ticks) != 0 {
				t.Errorf("%s: an inbound message has a tick", tt.state)
			}
			continue
		}
		if len(ticks) != 1 {
			t.Fatalf("%s: %d ticks, want 1", tt.state, len(ticks))
		}
		wantAttrs(t, ticks[0], map[string]string{"data-state": tt.state, "aria-label": tt.label, "role": "img"})
	}
}

// TestDaysAndTimes: day separators and times are formatted in the time's
// own location.
func TestDaysAndTimes(t *testing.T) {
	t.Parallel()
	tokyo := time.FixedZone("UTC+9", 9*3600)
	at := time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC) // 08:30 on 2 March in Tokyo
	c := &Chat{JID: "b@x", Items: []ChatItem{
		{Kind: ItemDay, Day: time.Date(2026, 3, 2, 0, 0, 0, 0, tokyo)},
		{Message: Message{Key: "1", Body: "a", Time: at.In(tokyo), State: "received"}},
		{Kind: ItemDay, Day: time.Date(2026, 3, 3, 0, 0, 0, 0, tokyo)},
		{Message: Message{Key: "2", Body: "b", Time: at.Add(24 * time.Hour).In(tokyo), State: "received"}},
	}}
	root := render(t, Messages(c))
	days := byAttr(root, "data-testid", "day")
	if len(days) != 2 {
		t.Fatalf("%d day separators, want 2", len(days))
	}
	for i, want := range []string{"Monday, 2 March 2026", "Tuesday, 3 March 2026"} {
		if got := strings.TrimSpace(textContent(days[i])); got != want {
			t.Errorf("day %d says %q, want %q", i, got, want)
		}
	}
	tm := findAll(one(t, root, "id", "m-1"), func(e *html.Node) bool { return e.Data == "time" })
	if len(tm) != 1 || textContent(tm[0]) != "08:30" {
		t.Fatalf("message time %v, want 08:30 (its own location)", tm)
	}
	wantAttrs(t, tm[0], map[string]string{"datetime": "2026-03-02T08:30:00+09:00"})

	// The separators sit between the days' messages.
	var order []string
	for _, e := range findAll(root, func(e *html.Node) bool { return e.Data == "li" }) {
		if id, ok := attr(e, "data-testid"); ok {
			order = append(order, id)
		}
	}
	if got := strings.Join(order, " "); got != "day message day message" {
		t.Errorf("items in order: %s", got)
	}
}

// TestRowTime: today shows the time, this year the date, other years the
// year too; no Today shows date and time.
func TestRowTime(t *testing.T) {
	t.Parallel()
	today := time.Date(2026, 5, 10, 0, 0, 0, 0, loc)
	tests := []struct {
		t     time.Time
		today time.Time
		want  string
	}{
		{today.Add(8 * time.Hour), today, "08:00"},
		{today, today, "00:00"},
		{today.Add(-time.Minute), today, "9 May"},
		{time.Date(2025, 12, 31, 12, 0, 0, 0, loc), today, "31 Dec 2025"},
		{today.Add(8 * time.Hour), time.Time{}, "10 May 08:00"},
	}
	for _, tt := range tests {
		if got := rowTime(tt.t, tt.today); got != tt.want {
			t.Errorf("rowTime(%v, %v) = %q, want %q", tt.t, tt.today, got, tt.want)
		}
	}
}

// TestUnreadBadge: no badge without unread messages; at most "99+".
func TestUnreadBadge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		unread int
		badge  string // "" for none
	}{
		{0, ""},
		{1, "1"},
		{42, "42"},
		{99, "99"},
		{100, "99+"},
		{12345, "99+"},
	}
	for _, tt := range tests {
		root := render(t, InboxList(Inbox{Rows: []ConversationRow{{JID: "a@x", Unread: tt.unread}}}))
		row := one(t, root, "data-testid", "conversation")
		wantAttrs(t, row, map[string]string{"data-unread": strconv.Itoa(tt.unread)})
		badges := byAttr(row, "data-testid", "unread")
		switch {
		case tt.badge == "" && len(badges) != 0:
			t.Errorf("unread %d: a badge", tt.unread)
		case tt.badge != "" && (len(badges) != 1 || textContent(badges[0]) != tt.badge):
			t.Errorf("unread %d: badges %d, want one saying %q", tt.unread, len(badges), tt.badge)
		case tt.badge != "":
			wantAttrs(t, badges[0], map[string]string{"aria-label": unreadLabel(tt.unread)})
		}
	}
}

// TestComposerDraft: the draft survives the HTML parser, leading newline
// included.
func TestComposerDraft(t *testing.T) {
	t.Parallel()
	for _, d := range []string{"", "x", "\nstarts with a newline", "\n\n", "</textarea><script>alert(1)</script>"} {
		root := render(t, ComposerArea(&Chat{JID: "a@x", Draft: d}))
		if got := textContent(one(t, root, "data-testid", "composer")); got != d {
			t.Errorf("draft %q came back as %q", d, got)
		}
	}
	if root := render(t, ComposerArea(nil)); len(byAttr(root, "data-testid", "composer")) != 0 {
		t.Errorf("a composer without a conversation")
	}
}

// TestEscaping: hostile values are text wherever they appear.
func TestEscaping(t *testing.T) {
	t.Parallel()
	const evil = `"><script>alert(1)</script><img src=x onerror=alert(2)>`
	v := sample()
	v.Self = evil
	v.Notice = evil
	v.Connection.Text, v.Connection.Detail, v.Connection.Path = evil, evil, evil
	v.Inbox.Rows[0].Name, v.Inbox.Rows[0].Preview, v.Inbox.Rows[0].JID = evil, evil, evil
	v.Chat.Name, v.Chat.JID, v.Chat.Draft = evil, evil, evil
	v.Chat.Items[0].Gap = evil
	v.Chat.Items[2].Message.Body, v.Chat.Items[2].Message.Key, v.Chat.Items[2].Message.ID = evil, evil, evil
	v.Contacts.Contacts[0].Name, v.Contacts.Requests[0], v.Contacts.Error = evil, evil, evil
	v.Login.Domain, v.Login.JID, v.Login.Error = evil, evil, evil
	for _, s := range []Screen{ScreenChats, ScreenContacts, ScreenLogin} {
		root := render(t, AppView(withScreen(v, s)))
		checkAllowed(t, root, string(s))
	}
	root := render(t, AppView(v))
	one(t, root, "id", "m-"+evil)
	if got := textContent(one(t, root, "id", "notice")); got != evil {
		t.Errorf("notice text %q", got)
	}
}

// payloads reads the XSS corpus.
func payloads(t testing.TB) []string {
	t.Helper()
	f, err := os.Open("testdata/xss.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if sc.Text() != "" {
			out = append(out, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// xmlChar reports whether r may appear in an XMPP stanza (XML 1.0 Char).
func xmlChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// TestXSSCorpusSendable: every payload can be sent in a message body, so
// the end-to-end test can deliver all of them.
func TestXSSCorpusSendable(t *testing.T) {
	t.Parallel()
	ps := payloads(t)
	if len(ps) < 200 {
		t.Errorf("%d payloads, want at least 200", len(ps))
	}
	seen := make(map[string]bool)
	for i, p := range ps {
		if seen[p] {
			t.Errorf("payload %d is a duplicate: %.60q", i+1, p)
		}
		seen[p] = true
		if !utf8.ValidString(p) {
			t.Errorf("payload %d is not UTF-8", i+1)
		}
		for _, r := range p {
			if !xmlChar(r) {
				t.Errorf("payload %d holds %U, which XML forbids", i+1, r)
				break
			}
		}
		if len(p) > 16000 {
			t.Errorf("payload %d is %d bytes: escaped it may pass the 64 KiB a browser sends in one frame", i+1, len(p))
		}
	}
}

// TestXSSCorpus renders every payload as a message body (styled and not),
// a contact's name and JID, a preview, a draft and every other text of the
// app, and checks that the parsed HTML holds only allowed elements and
// attributes, no link but https: and xmpp:, and the payload as text.
func TestXSSCorpus(t *testing.T) {
	t.Parallel()
	for i, p := range payloads(t) {
		v := sample()
		v.Self = p
		v.Notice = p
		v.Connection.Text, v.Connection.Detail = p, p
		r := &v.Inbox.Rows[0]
		r.JID, r.Name, r.Preview = p, p, p
		v.Chat.JID, v.Chat.Name, v.Chat.Draft = p, p, p
		v.Chat.Items[0].Gap = p
		m := &v.Chat.Items[2].Message
		m.Body, m.From, m.Key, m.ID = p, p, p, p
		m.Reactions = []Reaction{{Emoji: p, Count: 1}}
		v.Chat.Items = append(v.Chat.Items, ChatItem{Message: Message{Key: "u", Body: p, Unstyled: true, Outbound: true, State: p}})
		v.Contacts.Contacts[0].JID, v.Contacts.Contacts[0].Name = p, p
		v.Contacts.Requests[0] = p
		v.Contacts.Error = p
		v.Login.Domain, v.Login.JID, v.Login.Error = p, p, p

		checkStyled(t, p)
		want := parsedText(p)
		for _, s := range []Screen{ScreenChats, ScreenContacts, ScreenLogin} {
			root := render(t, AppView(withScreen(v, s)))
			checkAllowed(t, root, "payload "+strconv.Itoa(i+1)+" on "+string(s))
			if t.Failed() {
				t.Fatalf("payload %d: %q", i+1, p)
			}
			switch s {
			case ScreenChats:
				bodies := byAttr(root, "class", "body")
				if len(bodies) != 3 {
					t.Fatalf("payload %d: %d message bodies, want 3", i+1, len(bodies))
				}
				for _, b := range []*html.Node{bodies[0], bodies[2]} {
					if got := textContent(b); got != want {
						t.Errorf("payload %d: body text %q, want the payload", i+1, got)
					}
				}
				if got := textContent(byAttr(root, "class", "preview")[0]); got != want {
					t.Errorf("payload %d: preview text %q", i+1, got)
				}
				if got := textContent(one(t, root, "data-testid", "composer")); got != want {
					t.Errorf("payload %d: draft %q", i+1, got)
				}
				one(t, root, "id", "m-"+want)
			case ScreenContacts:
				c := byAttr(root, "data-testid", "contact")[0]
				if got, _ := attr(c, "data-jid"); got != want {
					t.Errorf("payload %d: contact data-jid %q", i+1, got)
				}
				if got := textContent(one(t, c, "class", "name")); got != want {
					t.Errorf("payload %d: contact name %q", i+1, got)
				}
			case ScreenLogin:
				if got, _ := attr(one(t, root, "name", "jid"), "value"); got != want {
					t.Errorf("payload %d: login value %q", i+1, got)
				}
			}
		}
	}
}

// recorder is a testing.TB that keeps what is reported.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestCheckAllowedCatches: the allow-list check finds what it is for.
func TestCheckAllowedCatches(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{
		`<img src=x onerror=alert(1)>`,
		`<script>alert(1)</script>`,
		`<a href="javascript:alert(1)" rel="noopener noreferrer">x</a>`,
		`<a href=" javascript:alert(1)" rel="noopener noreferrer">x</a>`,
		`<a href="https://example.org">no rel</a>`,
		`<div style="color:red">x</div>`,
		`<span onclick="x">x</span>`,
		`<svg><a href="https://example.org" rel="noopener noreferrer">x</a></svg>`,
		`<form action="https://evil.example"></form>`,
	} {
		r := &recorder{TB: t}
		checkAllowed(r, parseFragment(t, bad), "control")
		if len(r.errs) == 0 {
			t.Errorf("%s passed the check", bad)
		}
	}
	r := &recorder{TB: t}
	checkAllowed(r, parseFragment(t, `<a href="https://example.org" rel="noopener noreferrer" target="_blank">ok</a>`), "control")
	if len(r.errs) != 0 {
		t.Errorf("a safe link failed the check: %q", r.errs)
	}
}
