package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/client"
	"github.com/waxwing-im/waxwing/wasm/ui"
)

func kinds(items []ui.ChatItem) string {
	var b strings.Builder
	for _, it := range items {
		switch it.Kind {
		case ui.ItemDay:
			b.WriteString("D" + it.Day.Format("02") + " ")
		case ui.ItemGap:
			if it.Gap == gapExpired {
				b.WriteString("X ")
			} else {
				b.WriteString("G ")
			}
		default:
			b.WriteString(it.Message.Body + " ")
		}
	}
	return strings.TrimSpace(b.String())
}

func TestChatItems(t *testing.T) {
	loc := time.FixedZone("X", 2*3600)
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, loc) }
	m := func(body string, pos store.Pos, at time.Time) store.Message {
		return store.Message{Key: body, Body: body, Pos: pos, Time: at.UTC()}
	}
	one := store.Archive{Ranges: []store.Range{{FirstPos: 10, LastPos: 50}}, Below: []store.GapReason{store.GapStart}}
	two := store.Archive{Ranges: []store.Range{{FirstPos: 10, LastPos: 20}, {FirstPos: 40, LastPos: 50}}, Below: []store.GapReason{store.GapExpired, store.GapUnfetched}}
	expired := store.Archive{Ranges: two.Ranges, Below: []store.GapReason{store.GapUnfetched, store.GapExpired}}
	for _, tc := range []struct {
		name string
		msgs []store.Message
		arch store.Archive
		all  bool
		want string
	}{
		{"empty", nil, one, true, ""},
		{"one day", []store.Message{m("a", 10, day(20, 9)), m("b", 11, day(20, 23))}, one, true, "D20 a b"},
		// 23:30 UTC on the 20th is the 21st at 01:30 in loc.
		{"days in the local zone", []store.Message{m("a", 10, day(20, 9)), m("b", 11, time.Date(2026, 11, 20, 23, 30, 0, 0, time.UTC))}, one, true, "D20 a D21 b"},
		{"gap between ranges", []store.Message{m("a", 15, day(20, 9)), m("b", 45, day(20, 10))}, two, false, "D20 a G b"},
		{"expired below the oldest", []store.Message{m("a", 15, day(20, 9)), m("b", 16, day(20, 10))}, two, true, "X D20 a b"},
		{"not all loaded: no expiry marker", []store.Message{m("a", 15, day(20, 9))}, two, false, "D20 a"},
		{"expired between ranges", []store.Message{m("a", 15, day(20, 9)), m("b", 45, day(20, 10))}, expired, false, "D20 a X b"},
		// Coverage read before the page that placed b: no gap is known.
		{"a message beyond the coverage read makes no gap", []store.Message{m("a", 45, day(20, 9)), m("b", 60, day(20, 10))}, two, false, "D20 a b"},
		{"a fresh chat: nothing covered yet", []store.Message{m("a", 45, day(20, 9)), m("b", 46, day(20, 10))}, store.Archive{}, true, "D20 a b"},
		{"provisional messages never make gaps", []store.Message{m("a", 15, day(20, 9)), m("live", store.Provisional+5, day(20, 10))}, two, false, "D20 a live"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kinds(chatItems(tc.msgs, tc.arch, tc.all, loc)); got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

func TestInboxAndContacts(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	convs := map[string]store.Conversation{
		"b@x": {Peer: "b@x", LastActivity: now, Preview: "hi", Unread: 2},
		"a@x": {Peer: "a@x", LastActivity: now},
		"c@x": {Peer: "c@x", LastActivity: now.Add(time.Minute)},
	}
	contacts := map[string]store.Contact{"b@x": {JID: "b@x", Name: "Bob"}}
	rows := inboxRows(convs, contacts, map[string]string{"b@x": "away"})
	var got []string
	for _, r := range rows {
		got = append(got, r.JID+"/"+r.Name+"/"+r.Presence)
	}
	if want := "c@x/c/ a@x/a/ b@x/Bob/away"; strings.Join(got, " ") != want {
		t.Errorf("inbox = %q; want %q (newest first, ties by JID)", strings.Join(got, " "), want)
	}
	cv := contactsView([]store.Contact{
		{JID: "a@x", Subscription: "both"},
		{JID: "r@x", Incoming: true},
		{JID: "s@x", Subscription: "to", Incoming: true},
		{JID: "p@x", Subscription: "none", Ask: true},
	}, map[string]string{"a@x": "available"})
	if len(cv.Contacts) != 3 || strings.Join(cv.Requests, ",") != "r@x,s@x" || cv.Contacts[0].Presence != "available" || !cv.Contacts[2].Pending {
		t.Errorf("contacts view = %+v", cv)
	}
}

func TestConnectionView(t *testing.T) {
	st := &client.Stats{Path: client.PathResumed, RoundTrips: 2, Duration: 38 * time.Millisecond}
	for _, tc := range []struct {
		state      string
		stats      *client.Stats
		err        error
		noAccount  bool
		want, text string
	}{
		{stateOnline, st, nil, false, "online", "Connected"},
		{stateConnecting, nil, nil, false, "connecting", "Connecting…"},
		{stateOffline, nil, &client.ConnectError{Kind: client.ErrUnreachable, Err: errors.New("dial")}, false, "offline", "Offline — messages will be sent later"},
		{"", nil, nil, false, "offline", "Offline — messages will be sent later"},
		// No account logged in (a failed first login): nothing to send later.
		{stateOffline, nil, &client.ConnectError{Kind: client.ErrUnreachable, Err: errors.New("dial")}, true, "offline", "Not connected"},
		{stateConnecting, nil, nil, true, "connecting", "Connecting…"},
	} {
		c := connectionView(tc.state, tc.stats, tc.err, !tc.noAccount)
		if c.State != tc.want || c.Text != tc.text {
			t.Errorf("%s: %+v", tc.state, c)
		}
		if tc.stats != nil && (c.Path != "resumed" || c.RoundTrips != 2 || c.Ms != 38 || !strings.Contains(c.Detail, "38 ms")) {
			t.Errorf("online figures: %+v", c)
		}
		if tc.err != nil && c.Detail == "" {
			t.Errorf("offline with an error has no detail: %+v", c)
		}
	}
}

func TestDiff(t *testing.T) {
	ctx := context.Background()
	msg := func(key, state string) ui.ChatItem {
		return ui.ChatItem{Kind: ui.ItemMessage, Message: ui.Message{Key: key, ID: key, Body: "body " + key, State: state}}
	}
	base := ui.App{Screen: ui.ScreenChats, Self: "me@x", Connection: ui.Connection{State: "online"},
		Chat: &ui.Chat{JID: "b@x", Items: []ui.ChatItem{msg("1", "acked"), msg("2", "queued")}}}
	ops := func(ps []Patch) string {
		var b []string
		for _, p := range ps {
			b = append(b, [...]string{"view", "replace", "append"}[p.Op]+":"+p.ID)
		}
		return strings.Join(b, " ")
	}
	clone := func(v ui.App, f func(*ui.App)) ui.App {
		if v.Chat != nil {
			c := *v.Chat
			c.Items = append([]ui.ChatItem(nil), v.Chat.Items...)
			v.Chat = &c
		}
		f(&v)
		return v
	}
	login := ui.App{Screen: ui.ScreenLogin, Connection: ui.Connection{State: "connecting"}, Follower: true}
	for _, tc := range []struct {
		name string
		old  *ui.App
		new  ui.App
		want string
	}{
		{"first render", nil, base, "view:view"},
		{"nothing changed", &base, clone(base, func(*ui.App) {}), ""},
		{"new message appended", &base, clone(base, func(v *ui.App) { v.Chat.Items = append(v.Chat.Items, msg("3", "received")) }), "append:message-list"},
		{"state change replaces one message", &base, clone(base, func(v *ui.App) { v.Chat.Items[1] = msg("2", "acked") }), "replace:m-2"},
		{"reordered: the list again", &base, clone(base, func(v *ui.App) { v.Chat.Items[0], v.Chat.Items[1] = v.Chat.Items[1], v.Chat.Items[0] }), "replace:messages"},
		{"connection bar", &base, clone(base, func(v *ui.App) { v.Connection.State = "offline" }), "replace:connection"},
		{"another chat", &base, clone(base, func(v *ui.App) { v.Chat.JID = "c@x" }), "replace:chat-header replace:messages replace:composer-area"},
		{"draft alone renders nothing", &base, clone(base, func(v *ui.App) { v.Chat.Draft = "typing" }), ""},
		{"another screen", &base, clone(base, func(v *ui.App) { v.Screen = ui.ScreenContacts }), "view:view"},
		{"login: this tab leads (no #nav to patch)", &login, clone(login, func(v *ui.App) { v.Follower = false }), ""},
		{"login: the form alone", &login, clone(login, func(v *ui.App) { v.Follower = false; v.Login.Error = "wrong" }), "replace:login"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := Diff(ctx, tc.old, tc.new)
			if err != nil {
				t.Fatal(err)
			}
			if got := ops(ps); got != tc.want {
				t.Errorf("patches %q; want %q", got, tc.want)
			}
			for _, p := range ps {
				if p.Op == OpAppend && !strings.Contains(p.HTML, `id="m-3"`) {
					t.Errorf("appended HTML lacks the new message: %s", p.HTML)
				}
				if p.Op == OpReplace && p.ID == "m-2" && !strings.Contains(p.HTML, `data-state="acked"`) {
					t.Errorf("replaced message: %s", p.HTML)
				}
			}
		})
	}
}
