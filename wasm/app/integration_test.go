//go:build !js

package app

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/internal/xmppd/xmppdtest"
	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/client"
	"github.com/waxwing-im/waxwing/wasm/history"
	"github.com/waxwing-im/waxwing/wasm/ui"
	"github.com/waxwing-im/waxwing/wasm/xmppws"
)

// peer is a native device of another account: an engine and a client.
type peer struct {
	st  *store.Memory
	eng *history.Engine
}

func startPeer(t *testing.T, url, origin, jid, password string) *peer {
	t.Helper()
	p := &peer{st: store.NewMemory()}
	eng, err := history.New(history.Config{Store: p.st, Self: jid})
	if err != nil {
		t.Fatal(err)
	}
	p.eng = eng
	cfg := client.Config{URL: url, JID: jid, Dial: &xmppws.Options{HTTPHeader: http.Header{"Origin": {origin}}}}
	eng.Wire(&cfg)
	ctx, cancel := context.WithCancel(context.Background())
	online := make(chan struct{}, 1)
	cl := client.NewClient(cfg, client.Credentials{Password: password}, client.Options{
		OnState: func(ls client.LinkState) {
			if ls.State == client.LinkOnline {
				go eng.Online(ctx)
				select {
				case online <- struct{}{}:
				default:
				}
			}
		},
	})
	eng.Attach(cl)
	done := make(chan struct{})
	go func() { defer close(done); cl.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-online:
	case <-time.After(30 * time.Second):
		t.Fatal("peer not online")
	}
	return p
}

func (p *peer) bodies(t *testing.T, conv string) map[string]store.Message {
	t.Helper()
	ms, err := p.st.Messages(context.Background(), conv, math.MaxInt64, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Message{}
	for _, m := range ms {
		out[m.Body] = m
	}
	return out
}

func waitPeer(t *testing.T, p *peer, conv, body string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := p.bodies(t, conv)[body]; ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the peer never received %q", body)
}

// TestIntegrationApp drives the app as a person would, in two tabs of one
// browser, against real Prosody through the real relay: login, send,
// receive, a follower tab sending through the leader, the leader dying and
// the follower taking over the session without a login, wrong password,
// and logout.
func TestIntegrationApp(t *testing.T) {
	t.Parallel()
	srv := xmppdtest.Start(t, xmppd.Prosody, xmppd.Options{InlineSM: true, Users: map[string]string{"alice": "alice-pw", "bob": "bob-pw"}})
	url, origin := xmppdtest.Bridge(t, srv)
	dial := func(c *Config) { c.Dial = &xmppws.Options{HTTPHeader: http.Header{"Origin": {origin}}} }
	alice, bob := "alice@"+srv.Domain, "bob@"+srv.Domain
	bp := startPeer(t, url, origin, bob, "bob-pw")

	br := newBrowser()
	t1 := br.open(t, "tab1", srv.Domain, url, dial)
	waitView(t, t1, "the login form", 5*time.Second, func(v ui.App) bool { return v.Screen == ui.ScreenLogin })

	// A wrong password is said on the form, and nothing is remembered. It
	// is submitted before the tab holds the session lock, as a quick person
	// (or a benchmark) does: the tab carries it out once it leads.
	t1.app.Do(t1.ctx, Action{Name: "login", JID: "alice", Password: "wrong"})
	t1.takeLock()
	v := waitView(t, t1, "the wrong-password message", 20*time.Second, func(v ui.App) bool { return v.Login.Error != "" })
	if v.Screen != ui.ScreenLogin || br.Get(PrefAccount) != "" {
		t.Fatalf("after a wrong password: screen %s, account %q", v.Screen, br.Get(PrefAccount))
	}
	t.Logf("wrong password says: %s; connection bar: %+v", v.Login.Error, v.Connection)
	checkNotConnected(t, v.Connection)

	t1.app.Do(t1.ctx, Action{Name: "login", JID: "alice", Password: "alice-pw"})
	v = waitView(t, t1, "online", 20*time.Second, func(v ui.App) bool {
		return v.Screen == ui.ScreenChats && v.Connection.State == "online"
	})
	if br.Get(PrefAccount) != alice {
		t.Fatalf("account remembered as %q", br.Get(PrefAccount))
	}
	st, _ := br.Open(context.Background(), alice)
	if s, _ := st.LoadState(context.Background()); s.FASTToken == "" {
		t.Error("no FAST token kept after login")
	}
	t.Logf("connection bar: %+v", v.Connection)

	// Send → the native peer receives it, and its state follows the ack.
	t1.app.Do(t1.ctx, Action{Name: "open", JID: bob})
	t1.app.Do(t1.ctx, Action{Name: "send", Body: "hello bob"})
	waitPeer(t, bp, alice, "hello bob")
	waitView(t, t1, "hello bob acked", 20*time.Second, func(v ui.App) bool {
		m, ok := message(v, "hello bob")
		return ok && m.State != "queued" && m.State != "sent"
	})

	// The peer sends → it appears, in the inbox and the chat.
	if _, err := bp.eng.Send(t1.ctx, alice, "hi alice"); err != nil {
		t.Fatal(err)
	}
	waitView(t, t1, "hi alice in the chat", 20*time.Second, func(v ui.App) bool {
		_, ok := message(v, "hi alice")
		return ok && len(v.Inbox.Rows) == 1 && v.Inbox.Rows[0].Preview == "hi alice"
	})

	// A second tab follows: painted from the shared store, sends through
	// the leader.
	t2 := br.open(t, "tab2", srv.Domain, url, dial)
	v = waitView(t, t2, "the follower's inbox", 10*time.Second, func(v ui.App) bool {
		return v.Screen == ui.ScreenChats && v.Chat != nil && len(v.Inbox.Rows) == 1 && v.Connection.State == "online" && v.Follower
	})
	if _, ok := message(v, "hi alice"); !ok {
		t.Fatalf("follower chat: %s", chatSummary(v.Chat))
	}
	t2.app.Do(t2.ctx, Action{Name: "send", Body: "from tab 2"})
	waitPeer(t, bp, alice, "from tab 2")
	waitView(t, t2, "from tab 2 acked, seen by the follower", 20*time.Second, func(v ui.App) bool {
		m, ok := message(v, "from tab 2")
		return ok && m.State != "queued" && m.State != "sent"
	})

	// The leader dies; the follower takes the lock and resumes the
	// session: no login, and a message sent meanwhile arrives.
	t1.crash()
	if _, err := bp.eng.Send(t2.ctx, alice, "while nobody leads"); err != nil {
		t.Fatal(err)
	}
	t2.takeLock()
	v = waitView(t, t2, "the follower leading and online", 20*time.Second, func(v ui.App) bool {
		_, ok := message(v, "while nobody leads")
		return !v.Follower && v.Connection.State == "online" && ok
	})
	if v.Screen != ui.ScreenChats {
		t.Fatalf("takeover showed %s", v.Screen)
	}
	t.Logf("takeover: %+v", v.Connection)
	if p := v.Connection.Path; p != string(client.PathResumed) && p != string(client.PathToken) {
		t.Errorf("takeover path %q; want resumed (or token)", p)
	}
	t2.app.Do(t2.ctx, Action{Name: "send", Body: "after takeover"})
	waitPeer(t, bp, alice, "after takeover")
	for body, m := range bp.bodies(t, alice) {
		_ = m
		if n := countBodies(t, bp, alice, body); n != 1 {
			t.Errorf("the peer holds %q %d times", body, n)
		}
	}

	// Logout with wipe: token and session forgotten, history deleted.
	t2.app.Do(t2.ctx, Action{Name: "logout", Wipe: true})
	v = waitView(t, t2, "logged out", 10*time.Second, func(v ui.App) bool { return v.Screen == ui.ScreenLogin })
	if br.Get(PrefAccount) != "" || br.Get(PrefOpen) != "" {
		t.Errorf("prefs after logout: %v", br.prefs)
	}
	br.mu.Lock()
	_, kept := br.dbs[alice]
	br.mu.Unlock()
	if kept {
		t.Error("the history was not deleted")
	}
	if v.Notice == "" {
		t.Error("no notice after logout")
	}
}

func countBodies(t *testing.T, p *peer, conv, body string) int {
	ms, err := p.st.Messages(context.Background(), conv, math.MaxInt64, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range ms {
		if m.Body == body {
			n++
		}
	}
	return n
}

var _ = fmt.Sprint

// TestIntegrationContactsAndOffline: contacts are added, accepted, denied and
// removed through the app; messages composed while the device is offline are
// queued and each delivered exactly once when it is back.
func TestIntegrationContactsAndOffline(t *testing.T) {
	t.Parallel()
	users := map[string]string{"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw", "dave": "dave-pw"}
	srv := xmppdtest.Start(t, xmppd.Prosody, xmppd.Options{Users: users})
	url, origin := xmppdtest.Bridge(t, srv)
	dial := func(c *Config) { c.Dial = &xmppws.Options{HTTPHeader: http.Header{"Origin": {origin}}} }
	jid := func(u string) string { return u + "@" + srv.Domain }
	bp := startPeer(t, url, origin, jid("bob"), "bob-pw")
	cp := startPeer(t, url, origin, jid("carol"), "carol-pw")
	dp := startPeer(t, url, origin, jid("dave"), "dave-pw")

	br := newBrowser()
	tb := br.open(t, "tab", srv.Domain, url, dial)
	tb.takeLock()
	waitView(t, tb, "the lock", 5*time.Second, func(v ui.App) bool { return !v.Follower })
	tb.app.Do(tb.ctx, Action{Name: "login", JID: "alice", Password: "alice-pw"})
	waitView(t, tb, "online", 20*time.Second, func(v ui.App) bool { return v.Connection.State == "online" })

	contact := func(v ui.App, j string) (ui.Contact, bool) {
		for _, c := range v.Contacts.Contacts {
			if c.JID == j {
				return c, true
			}
		}
		return ui.Contact{}, false
	}
	requested := func(v ui.App, j string) bool {
		for _, r := range v.Contacts.Requests {
			if r == j {
				return true
			}
		}
		return false
	}
	peerAsked := func(p *peer, from string) bool {
		c, ok, err := p.eng.ContactOf(context.Background(), from)
		return err == nil && ok && c.Incoming
	}

	// Add carol: roster item + subscription request; carol accepts and
	// asks back; alice accepts: both ways.
	tb.app.Do(tb.ctx, Action{Name: "add-contact", JID: "carol", Contact: "Carol C"})
	waitView(t, tb, "carol in the roster, pending", 20*time.Second, func(v ui.App) bool {
		c, ok := contact(v, jid("carol"))
		return ok && c.Pending && c.Name == "Carol C"
	})
	waitFor(t, "carol sees the request", func() bool { return peerAsked(cp, jid("alice")) })
	if err := cp.eng.Accept(tb.ctx, jid("alice")); err != nil {
		t.Fatal(err)
	}
	waitView(t, tb, "carol's request back", 20*time.Second, func(v ui.App) bool { return requested(v, jid("carol")) })
	tb.app.Do(tb.ctx, Action{Name: "accept", JID: jid("carol")})
	waitView(t, tb, "carol both ways", 20*time.Second, func(v ui.App) bool {
		c, ok := contact(v, jid("carol"))
		return ok && c.Subscription == "both" && !requested(v, jid("carol"))
	})
	// Once alice may see it, carol's availability (her device is online)
	// is shown: live, never stored.
	waitView(t, tb, "carol available", 20*time.Second, func(v ui.App) bool {
		c, ok := contact(v, jid("carol"))
		return ok && c.Presence == "available"
	})

	// Dave asks; alice denies: the request goes, dave is not a contact.
	if err := dp.eng.AddContact(tb.ctx, jid("alice"), ""); err != nil {
		t.Fatal(err)
	}
	waitView(t, tb, "dave's request", 20*time.Second, func(v ui.App) bool { return requested(v, jid("dave")) })
	tb.app.Do(tb.ctx, Action{Name: "deny", JID: jid("dave")})
	v := waitView(t, tb, "dave's request gone", 20*time.Second, func(v ui.App) bool { return !requested(v, jid("dave")) })
	if c, ok := contact(v, jid("dave")); ok && (c.Subscription == "from" || c.Subscription == "both") {
		t.Errorf("dave after deny: %+v; want no presence granted", c)
	}

	// Remove carol.
	tb.app.Do(tb.ctx, Action{Name: "remove", JID: jid("carol")})
	waitView(t, tb, "carol removed", 20*time.Second, func(v ui.App) bool {
		_, ok := contact(v, jid("carol"))
		return !ok
	})

	// Offline: three messages are queued, shown, and sent once each when
	// the network returns.
	tb.app.Do(tb.ctx, Action{Name: "open", JID: jid("bob")})
	tb.app.SetNetwork(false)
	waitView(t, tb, "offline", 20*time.Second, func(v ui.App) bool { return v.Connection.State == "offline" })
	for i := range 3 {
		tb.app.Do(tb.ctx, Action{Name: "send", Body: fmt.Sprintf("offline %d", i)})
	}
	waitView(t, tb, "three queued", 10*time.Second, func(v ui.App) bool {
		n := 0
		for i := range 3 {
			if m, ok := message(v, fmt.Sprintf("offline %d", i)); ok && m.State == "queued" {
				n++
			}
		}
		return n == 3
	})
	tb.app.SetNetwork(true)
	for i := range 3 {
		waitPeer(t, bp, jid("alice"), fmt.Sprintf("offline %d", i))
	}
	waitView(t, tb, "three acked", 20*time.Second, func(v ui.App) bool {
		for i := range 3 {
			if m, ok := message(v, fmt.Sprintf("offline %d", i)); !ok || m.State == "queued" || m.State == "sent" {
				return false
			}
		}
		return true
	})
	// Exactly once, also in the archive the peer syncs from.
	if err := bp.eng.Sync(tb.ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if n := countBodies(t, bp, jid("alice"), fmt.Sprintf("offline %d", i)); n != 1 {
			t.Errorf("offline %d received %d times", i, n)
		}
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestIntegrationLoginErrors: a first login says on the form why it failed,
// for people: the relay unreachable, the XMPP server without TLS (the relay
// fails closed), and nothing is remembered.
func TestIntegrationLoginErrors(t *testing.T) {
	t.Parallel()
	srv := xmppdtest.Start(t, xmppd.Prosody, xmppd.Options{NoTLS: true, Users: map[string]string{"alice": "alice-pw"}})
	url, origin := xmppdtest.Bridge(t, srv)
	dial := func(c *Config) { c.Dial = &xmppws.Options{HTTPHeader: http.Header{"Origin": {origin}}} }
	for _, tc := range []struct {
		name, url, want string
	}{
		{"relay unreachable", "ws://127.0.0.1:1/xmpp-websocket", "reach"},
		{"server without TLS", url, "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := newBrowser()
			tb := br.open(t, "tab", srv.Domain, tc.url, dial)
			tb.takeLock()
			waitView(t, tb, "the lock", 5*time.Second, func(v ui.App) bool { return !v.Follower })
			tb.app.Do(tb.ctx, Action{Name: "login", JID: "alice", Password: "alice-pw"})
			v := waitView(t, tb, "an error on the form", 30*time.Second, func(v ui.App) bool {
				return v.Screen == ui.ScreenLogin && v.Login.Error != "" && !v.Login.Busy
			})
			t.Logf("%s: %q; connection bar: %+v", tc.name, v.Login.Error, v.Connection)
			checkNotConnected(t, v.Connection)
			if !strings.Contains(strings.ToLower(v.Login.Error), tc.want) {
				t.Errorf("error %q does not mention %q", v.Login.Error, tc.want)
			}
			if br.Get(PrefAccount) != "" {
				t.Error("a failed first login was remembered")
			}
		})
	}
}

// checkNotConnected checks the connection bar after a failed first login:
// no account is logged in, so nothing waits to be sent later.
func checkNotConnected(t *testing.T, c ui.Connection) {
	t.Helper()
	if c.State != "offline" || c.Text != "Not connected" {
		t.Errorf("after a failed first login the connection bar is %q %q, want offline, \"Not connected\"", c.State, c.Text)
	}
}
