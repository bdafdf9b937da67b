package app

// Building the view models (package ui) from the store: pure functions, so
// that what the person sees is tested without a browser.

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/client"
	"github.com/waxwing-im/waxwing/wasm/ui"
)

// Connection states of the bar.
const (
	stateConnecting = client.LinkConnecting
	stateOnline     = client.LinkOnline
	stateOffline    = client.LinkOffline
)

// connectionView is the connection bar for a link state, the last
// connection's measurements and the last error. account says that an
// account is logged in on this device, so that what is composed offline
// is sent later; without one (before the first login succeeds, after a
// failed one, after logout) the bar only says that nothing is connected.
func connectionView(state string, stats *client.Stats, err error, account bool) ui.Connection {
	c := ui.Connection{State: state}
	switch state {
	case stateOnline:
		c.Text = "Connected"
		if stats != nil {
			c.Path = string(stats.Path)
			c.RoundTrips = stats.RoundTrips
			c.Ms = int(stats.Duration.Milliseconds())
			c.Detail = stats.String()
		}
	case stateConnecting:
		c.Text = "Connecting…"
	default:
		c.State = stateOffline
		c.Text = "Offline — messages will be sent later"
		if !account {
			c.Text = "Not connected"
		}
	}
	if err != nil && state != stateOnline {
		c.Detail = errorText(err)
	}
	return c
}

// errorText is an error as a sentence for people.
func errorText(err error) string {
	var ce *client.ConnectError
	if errors.As(err, &ce) {
		return ce.Message()
	}
	return err.Error()
}

// displayName is a contact's roster name, or the local part of the JID.
func displayName(jid string, contacts map[string]store.Contact) string {
	if c, ok := contacts[jid]; ok && strings.TrimSpace(c.Name) != "" {
		return c.Name
	}
	if local, _, ok := strings.Cut(jid, "@"); ok && local != "" {
		return local
	}
	return jid
}

// inboxRows lists the conversations by last activity, newest first (ties:
// JID), with names and presence.
func inboxRows(convs map[string]store.Conversation, contacts map[string]store.Contact, pres map[string]string) []ui.ConversationRow {
	rows := make([]ui.ConversationRow, 0, len(convs))
	for _, c := range convs {
		rows = append(rows, ui.ConversationRow{
			JID: c.Peer, Name: displayName(c.Peer, contacts), Preview: c.Preview,
			Time: c.LastActivity.Local(), Unread: c.Unread, Presence: pres[c.Peer],
		})
	}
	slices.SortFunc(rows, func(x, y ui.ConversationRow) int {
		if c := y.Time.Compare(x.Time); c != 0 {
			return c
		}
		return cmp.Compare(x.JID, y.JID)
	})
	return rows
}

// messageView is one stored message as shown.
func messageView(m store.Message) ui.Message {
	v := ui.Message{
		Key: m.Key, ID: messageID(m), Outbound: m.Direction == store.Outbound,
		From: m.From, Body: m.Body, Time: m.Time.Local(), State: m.State.String(),
		Edited: m.Corrected, Retracted: m.Retracted,
	}
	for emoji, who := range m.Reactions {
		v.Reactions = append(v.Reactions, ui.Reaction{Emoji: emoji, Count: len(who)})
	}
	slices.SortFunc(v.Reactions, func(x, y ui.Reaction) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Emoji, y.Emoji))
	})
	return v
}

// messageID is what data-id carries: the origin-id when the sender gave
// one (stable from the first moment on every device), else the archive id.
func messageID(m store.Message) string {
	return cmp.Or(m.OriginID, m.ArchiveID, m.StanzaID, m.Key)
}

// Gap texts.
const (
	gapExpired = "Older messages are no longer kept by the server."
	gapMissing = "Some messages here have not been loaded yet."
)

// chatItems lays out the messages of a chat (in Pos order) with day
// separators (in loc) and markers where the archive has a gap: between two
// placed messages held in different ranges (the stretch between ranges was
// never fetched, or has expired: Below of the newer range says which), and
// above the oldest one when the archive has expired what lies beneath. all
// says that msgs starts at the conversation's oldest stored message.
//
// A placed message outside every range (coverage read before the page
// that placed it) tells nothing about a gap: no marker.
func chatItems(msgs []store.Message, arch store.Archive, all bool, loc *time.Location) []ui.ChatItem {
	items := make([]ui.ChatItem, 0, len(msgs)+8)
	if all && len(msgs) > 0 {
		if r := rangeOf(arch, msgs[0].Pos); r >= 0 && r < len(arch.Below) && arch.Below[r] == store.GapExpired {
			items = append(items, ui.ChatItem{Kind: ui.ItemGap, Gap: gapExpired})
		}
	}
	var lastDay time.Time
	for i, m := range msgs {
		if i > 0 && placed(msgs[i-1].Pos) && placed(m.Pos) {
			if r, next := rangeOf(arch, msgs[i-1].Pos), rangeOf(arch, m.Pos); r >= 0 && next > r {
				gap := gapMissing
				if next < len(arch.Below) && arch.Below[next] == store.GapExpired {
					gap = gapExpired
				}
				items = append(items, ui.ChatItem{Kind: ui.ItemGap, Gap: gap})
			}
		}
		t := m.Time.In(loc)
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
		if !day.Equal(lastDay) {
			items = append(items, ui.ChatItem{Kind: ui.ItemDay, Day: day})
			lastDay = day
		}
		mv := messageView(m)
		mv.Time = t
		items = append(items, ui.ChatItem{Kind: ui.ItemMessage, Message: mv})
	}
	return items
}

// placed reports whether a position was given by the archive (not a
// provisional one of a message seen live and not yet placed).
func placed(p store.Pos) bool { return p > 0 && p < store.Provisional }

// rangeOf returns the index of the range holding position p, or -1.
func rangeOf(a store.Archive, p store.Pos) int {
	for i, r := range a.Ranges {
		if p >= r.FirstPos && p <= r.LastPos {
			return i
		}
	}
	return -1
}

// mayHaveOlder reports whether "load older" can bring more: the store holds
// more than is shown, or the archive has not been read down to its start.
func mayHaveOlder(shown, limit int, arch store.Archive) bool {
	if shown >= limit {
		return true
	}
	if len(arch.Ranges) == 0 {
		return false // nothing fetched yet: the catch-up comes first
	}
	return len(arch.Below) == 0 || arch.Below[0] == store.GapUnfetched
}

// contactsView splits the roster into contacts and pending requests.
func contactsView(cs []store.Contact, pres map[string]string) ui.Contacts {
	var v ui.Contacts
	for _, c := range cs {
		if c.Incoming {
			v.Requests = append(v.Requests, c.JID)
		}
		if c.Subscription == "" {
			continue
		}
		v.Contacts = append(v.Contacts, ui.Contact{
			JID: c.JID, Name: c.Name, Subscription: c.Subscription, Pending: c.Ask, Presence: pres[c.JID],
		})
	}
	return v
}

// presenceShow is the presence shown for a contact's availability: "" when
// unavailable, else the show value, "available" for none.
func presenceShow(typ, show string) string {
	switch {
	case typ == "unavailable":
		return ""
	case show == "":
		return "available"
	}
	return show
}
