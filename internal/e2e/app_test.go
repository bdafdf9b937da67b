//go:build !js

package e2e

// TestApp: issue 5's end-to-end tests of the web app, in headless Chromium
// against a real Prosody through the real `waxwing serve`, driven as a
// person drives it (typing, Enter, clicks) through the DOM contract of
// wasm/ui/views.go, one scenario after the other in one browser:
//
//   - login (a wrong password first), the inbox;
//   - contacts: add (the peer approves), a request accepted, a request
//     denied, a contact removed, each checked on the other side too;
//   - chat: send → the native peer receives it; the peer sends → it appears;
//     the same at phone width;
//   - reload: the inbox and chat are painted from IndexedDB before the
//     WebSocket is created (probe.js looks at the page inside the
//     WebSocket constructor), then the session is resumed;
//   - offline (DevTools network emulation): three messages composed are
//     queued; online again, each reaches the peer exactly once (live, and
//     in the archive);
//   - two tabs: the server sees one session (the serve's relay count; the
//     second tab creates no WebSocket at all);
//   - the leader tab closed: the follower takes the session over without a
//     login and receives a message sent meanwhile;
//   - manifest and service worker: no installability errors; with the
//     server unreachable and the network offline, a reload still shows the
//     history.
//
// Screenshots of each screen go to $WAXWING_ARTIFACTS/screenshots (default
// test-artifacts/screenshots at the repository root).

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"mellium.im/xmpp/jid"
)

func TestApp(t *testing.T) {
	top := t
	e := newAppEnv(t, appUsers("alice", "bob", "carol", "dave"), 1)
	g := e.gates[0]
	domain := e.srv.Domain
	alice, bob, carol := "alice@"+domain, "bob@"+domain, "carol@"+domain
	bp := e.peer(t, "bob")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	a := e.openTab(t, "tab1", g.URL)
	var b *tab // the second tab
	useB := func(t *testing.T) {
		t.Helper()
		if b == nil {
			t.Skip("needs the second tab (subtest \"two tabs\")")
		}
		b.t = t
	}
	// The scenarios run in order, each on what the previous ones left; the
	// first that fails ends the test.
	failed := false
	step := func(name string, f func(t *testing.T)) {
		if !failed && !t.Run(name, f) {
			failed = true
		}
	}

	step("login", func(t *testing.T) {
		a.t = t
		a.wait("the login form", `document.querySelector('[data-testid=login] input[name=jid]')`)
		a.screenshot("login")
		a.do("typing a wrong password",
			chromedp.SendKeys(`[data-testid=login] input[name=jid]`, "alice", chromedp.NodeVisible),
			typeEnter(`[data-testid=login] input[name=password]`, "wrong"))
		a.wait("the wrong-password error", `document.querySelector('[data-testid=login] [role=alert]')`)
		msg := evalIn[string](a, `document.querySelector('[data-testid=login] [role=alert]').textContent`)
		t.Logf("a wrong password says: %s", strings.TrimSpace(msg))
		// No account is logged in: the bar says so, not that messages will
		// be sent later.
		bar := evalIn[string](a, `(function (c) { return c.dataset.state + ': ' + c.querySelector('.text').textContent.trim(); })(document.querySelector('[data-testid=connection]'))`)
		if bar != "offline: Not connected" {
			t.Errorf("after a wrong password the connection bar says %q, want \"offline: Not connected\"", bar)
		}
		a.screenshot("login-error")
		a.do("typing the password",
			typeEnter(`[data-testid=login] input[name=password]`, "pw-alice"))
		a.wait("online with the inbox", `document.querySelector('[data-testid=connection][data-state=online]') && document.querySelector('[data-testid=inbox]')`)
		conn := evalIn[map[string]string](a, `Object.assign({}, document.querySelector('[data-testid=connection]').dataset)`)
		t.Logf("connection bar after login: %v", conn)
		if conn["path"] == "" || conn["roundTrips"] == "" || conn["ms"] == "" {
			t.Errorf("the connection bar lacks its figures: %v", conn)
		}
		a.screenshot("inbox-empty")
		if n := e.relays(t); n != 1 {
			t.Errorf("the serve holds %d relays after login, want 1", n)
		}
	})

	step("contacts", func(t *testing.T) {
		a.t = t
		cp, dp := e.peer(t, "carol"), e.peer(t, "dave")
		contact := func(j string) string { return `[data-testid=contact][data-jid="` + j + `"]` }
		request := func(j string) string { return `[data-testid=request][data-jid="` + j + `"]` }
		has := func(sel string) string { return `document.querySelector(` + JS(sel) + `)` }

		a.click("opening the contacts", `[data-testid=nav-contacts]`)
		a.wait("the contacts screen", has("[data-testid=contacts]"))

		// Add bob, who approves (his session approves every request).
		a.do("adding bob",
			chromedp.SendKeys(`[data-testid=add-contact] input[name=jid]`, "bob", chromedp.NodeVisible),
			typeEnter(`[data-testid=add-contact] input[name=name]`, "Bob B"))
		a.wait("bob approved in the roster", has(contact(bob)+`:is([data-subscription=to],[data-subscription=both]):not([data-pending])`))
		if name := evalIn[string](a, has(contact(bob))+`.querySelector('.name').textContent`); name != "Bob B" {
			t.Errorf("bob is shown as %q, want the name given, Bob B", name)
		}

		// Carol asks; alice accepts: carol sees alice's presence.
		if err := cp.raw(ctx, fmt.Sprintf("<presence xmlns='jabber:client' to='%s' type='subscribe'/>", alice)); err != nil {
			t.Fatal(err)
		}
		a.wait("carol's request", has(request(carol)))
		// Dave asks too (denied below); the screen then shows two requests.
		dave := "dave@" + domain
		if err := dp.raw(ctx, fmt.Sprintf("<presence xmlns='jabber:client' to='%s' type='subscribe'/>", alice)); err != nil {
			t.Fatal(err)
		}
		a.wait("dave's request", has(request(dave)))
		a.screenshot("contacts")
		a.click("accepting carol", request(carol)+` [data-action=accept]`)
		a.wait("carol accepted", `!`+has(request(carol))+` && `+has(contact(carol)+`:is([data-subscription=from],[data-subscription=both])`))
		waitSubscription(t, cp, jid.MustParse(alice), "to", "both")

		// Dave is denied: no request, no contact.
		a.click("denying dave", request(dave)+` [data-action=deny]`)
		a.wait("dave's request gone", `!`+has(request(dave))+` && !`+has(contact(dave)))
		waitSubscription(t, dp, jid.MustParse(alice), "none", "")

		// Carol is removed: gone here, and carol no longer sees alice.
		a.click("removing carol", contact(carol)+` [data-action=remove]`)
		a.wait("carol removed", `!`+has(contact(carol)))
		waitSubscription(t, cp, jid.MustParse(alice), "none", "")
		a.screenshot("contacts-after")
	})

	step("chat", func(t *testing.T) {
		a.t = t
		a.click("messaging bob from the contacts", `[data-testid=contact][data-jid="`+bob+`"] [data-action=open]`)
		a.wait("bob's chat", `document.querySelector('[data-testid=chat][data-jid="`+bob+`"]') && document.querySelector('[data-testid=composer]')`)
		a.do("typing to bob", typeEnter(`[data-testid=composer]`, "hello bob"))
		if err := bp.waitReceived(ctx, "hello bob", 1); err != nil {
			t.Fatal(err)
		}
		a.wait("hello bob acknowledged", sentTo("hello bob"))
		if v := evalIn[string](a, `document.querySelector('[data-testid=composer]').value`); v != "" {
			t.Errorf("the composer still holds %q after Enter", v)
		}

		if err := bp.send(ctx, jid.MustParse(alice), "e2e-hi", "hi alice"); err != nil {
			t.Fatal(err)
		}
		a.wait("bob's message in the chat", messageIs("hi alice", "in"))
		a.wait("bob's row in the inbox", `(document.querySelector('[data-testid=conversation][data-jid="`+bob+`"] .preview') || {}).textContent === 'hi alice'`)
		a.screenshot("chat")

		// Phone width: one pane at a time.
		a.do("phone width", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		a.screenshot("chat-phone")
		a.click("back to the inbox", `[data-testid=back]`)
		a.wait("the inbox without a chat", `!document.querySelector('[data-testid=chat]') && document.querySelector('[data-testid=conversation]')`)
		a.screenshot("inbox-phone")
		a.do("desktop width", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
			return err
		}))
		if w := evalIn[int](a, `innerWidth`); w < 1000 {
			t.Errorf("the window is %d px wide after the phone width", w)
		}
		a.click("opening bob's chat", `[data-testid=conversation][data-jid="`+bob+`"]`)
		a.wait("bob's chat again", messageIs("hi alice", "in"))
	})

	step("reload", func(t *testing.T) {
		a.t = t
		before := a.sockets.Load()
		a.Reload(t)
		a.wait("the session back", `window.__e2e.sockets.length > 0 && document.getElementById('view').dataset.painted === 'store' && document.querySelector('[data-testid=connection][data-state=online]')`)
		pr := a.probe()
		ws := pr.Sockets[0]
		t.Logf("at the WebSocket's creation (%.0f ms): %d rows, %d messages shown, painted %q, snapshot %q", ws.At, ws.Rows, ws.Messages, ws.Painted, ws.Snapshot)
		if !ws.StoreMark || ws.Painted != "store" || ws.Rows < 1 || ws.Messages < 2 {
			t.Errorf("the inbox and chat were not painted from the store before the WebSocket was created: %+v", ws)
		}
		snap, store, wsMark := a.mark("waxwing:snapshot-painted"), a.mark("waxwing:store-painted"), a.mark("e2e:ws-created")
		t.Logf("after the reload: saved view painted at %.0f ms, store at %.0f ms, WebSocket created at %.0f ms", snap, store, wsMark)
		if snap < 0 || store < 0 || !(snap <= store && store <= wsMark) {
			t.Errorf("marks out of order: snapshot %.0f, store %.0f, WebSocket %.0f", snap, store, wsMark)
		}
		if ws.Snapshot != "snapshot" {
			t.Errorf("boot.js did not paint the saved view (data-painted %q)", ws.Snapshot)
		}
		if n := a.sockets.Load() - before; n != 1 {
			t.Errorf("CDP saw %d WebSockets created after the reload, want 1", n)
		}
		if pr.LoginShown != nil {
			t.Errorf("the login form was shown after the reload (at %.0f ms)", *pr.LoginShown)
		}
		conn := evalIn[map[string]string](a, `Object.assign({}, document.querySelector('[data-testid=connection]').dataset)`)
		t.Logf("connection bar after the reload: %v\n%s", conn, strings.Join(a.logged("msg=connected"), "\n"))
		if conn["path"] != "resumed" {
			t.Errorf("after the reload the session came back by %q, want resumed (XEP-0198); WebSocket:\n%s", conn["path"], a.wsLog())
		}
		a.wait("bob's chat", messageIs("hi alice", "in"))
		a.screenshot("inbox-reloaded")
		e.waitRelays(t, 1)
	})

	step("offline", func(t *testing.T) {
		a.t = t
		a.setOffline(true)
		a.wait("the offline bar", `document.querySelector('[data-testid=connection][data-state=offline]')`)
		// What the page sees: the app dropped its link. (The emulation
		// holds the socket's frames, its close frame included, without
		// cutting the TCP connection, so the serve may keep the relay until
		// the network returns: the server's view proves nothing here.)
		a.wait("the WebSocket closed", `window.__e2e.openSockets() === 0`)
		t.Logf("offline: the serve holds %d relays", e.relays(t))
		bodies := []string{"offline one", "offline two", "offline three"}
		for _, body := range bodies {
			a.do("typing "+body, typeEnter(`[data-testid=composer]`, body))
		}
		for _, body := range bodies {
			a.wait(body+" queued", messageIs(body, "out", "queued"))
		}
		a.screenshot("offline")
		if got := bp.count("offline "); got != 0 {
			t.Fatalf("bob received %d offline messages while the browser was offline", got)
		}
		a.setOffline(false)
		if err := bp.waitReceived(ctx, "offline ", len(bodies)); err != nil {
			t.Fatal(err)
		}
		for _, body := range bodies {
			a.wait(body+" acknowledged", sentTo(body))
		}
		a.wait("online", `document.querySelector('[data-testid=connection][data-state=online]')`)
		conn := evalIn[map[string]string](a, `Object.assign({}, document.querySelector('[data-testid=connection]').dataset)`)
		t.Logf("connection bar back online: %v", conn)
		if conn["path"] != "resumed" {
			t.Errorf("back online the session came back by %q, want resumed (XEP-0198)", conn["path"])
		}
		checkOnce(t, a, bp, jid.MustParse(alice), "hello bob", "hi alice", "offline one", "offline two", "offline three")
	})

	step("two tabs", func(t *testing.T) {
		a.t = t
		b = e.openTab(top, "tab2", g.URL) // lives on after this subtest
		b.t = t
		b.wait("the follower painted and online", `document.getElementById('view').dataset.painted === 'store' && document.querySelector('.follower') && document.querySelector('[data-testid=connection][data-state=online]')`)
		b.wait("bob's chat in the follower", sentTo("offline three"))
		b.screenshot("follower")
		if n := len(b.probe().Sockets); n != 0 || b.sockets.Load() != 0 {
			t.Errorf("the follower created %d WebSockets (CDP: %d), want none", n, b.sockets.Load())
		}
		if n := e.relays(t); n != 1 {
			t.Errorf("with two tabs the serve holds %d relays, want 1", n)
		}
		b.do("typing in the follower", typeEnter(`[data-testid=composer]`, "from tab two"))
		if err := bp.waitReceived(ctx, "from tab two", 1); err != nil {
			t.Fatal(err)
		}
		a.wait("the leader shows the follower's message", sentTo("from tab two"))
		b.wait("the follower shows its message acknowledged", sentTo("from tab two"))
		if n := e.relays(t); n != 1 {
			t.Errorf("after the follower sent, the serve holds %d relays, want 1", n)
		}
	})

	step("takeover", func(t *testing.T) {
		useB(t)
		sockets := b.sockets.Load()
		a.close()
		if err := bp.send(ctx, jid.MustParse(alice), "e2e-meanwhile", "sent while the leader closed"); err != nil {
			t.Fatal(err)
		}
		b.wait("the follower leading, online", `!document.querySelector('.follower') && document.querySelector('[data-testid=connection][data-state=online]')`)
		b.wait("the message sent meanwhile", messageIs("sent while the leader closed", "in"))
		conn := evalIn[map[string]string](b, `Object.assign({}, document.querySelector('[data-testid=connection]').dataset)`)
		t.Logf("connection bar after the takeover: %v\n%s", conn, strings.Join(b.logged("msg=connected"), "\n"))
		if conn["path"] != "resumed" {
			t.Errorf("the takeover came up by %q, want resumed (XEP-0198): no new login, no new session; WebSocket:\n%s", conn["path"], b.wsLog())
		}
		if pr := b.probe(); pr.LoginShown != nil {
			t.Errorf("the follower showed the login form at %.0f ms", *pr.LoginShown)
		}
		if n := b.sockets.Load() - sockets; n < 1 {
			t.Errorf("the new leader created no WebSocket")
		}
		e.waitRelays(t, 1)
		b.do("typing after the takeover", typeEnter(`[data-testid=composer]`, "after the takeover"))
		if err := bp.waitReceived(ctx, "after the takeover", 1); err != nil {
			t.Fatal(err)
		}
		b.wait("after the takeover acknowledged", sentTo("after the takeover"))
		b.screenshot("takeover")
		checkOnce(t, b, bp, jid.MustParse(alice), "hello bob", "hi alice", "offline one", "offline two", "offline three",
			"from tab two", "sent while the leader closed", "after the takeover")
	})

	step("installable", func(t *testing.T) {
		useB(t)
		b.wait("a service worker controlling the page", `navigator.serviceWorker.controller && navigator.serviceWorker.controller.state === 'activated'`)
		ictx, icancel := context.WithTimeout(b.ctx, Step)
		defer icancel()
		res, err := chromedp.Call(ictx, page.GetInstallabilityErrors, cdp.Empty{})
		if err != nil {
			t.Fatal(err)
		}
		for _, ie := range res.InstallabilityErrors {
			var args []string
			for _, a := range ie.ErrorArguments {
				args = append(args, a.Name+"="+a.Value)
			}
			t.Errorf("installability error %s %v", ie.ErrorID, args)
		}
	})

	step("offline reload", func(t *testing.T) {
		useB(t)
		g.setDown(true)
		b.setOffline(true)
		defer func() {
			b.setOffline(false)
			g.setDown(false)
		}()
		refused := g.refusals()
		b.Reload(t)
		b.wait("the history, offline", `document.getElementById('view').dataset.painted === 'store' && document.querySelector('[data-testid=connection]:is([data-state=offline],[data-state=connecting])')`)
		b.wait("the history", sentTo("after the takeover"))
		if !evalIn[bool](b, `!!navigator.serviceWorker.controller`) {
			t.Error("the offline page is not controlled by the service worker")
		}
		b.wait("the offline bar", `document.querySelector('[data-testid=connection][data-state=offline]')`)
		b.screenshot("offline-reload")
		n := len(evalIn[[]string](b, `window.__e2e.bodies()`))
		bar := evalIn[string](b, `document.querySelector('[data-testid=connection]').dataset.state + ': ' + document.querySelector('[data-testid=connection]').textContent.trim()`)
		t.Logf("offline reload: %d messages shown, connection bar %q; the gate refused %d connections meanwhile", n, bar, g.refusals()-refused)
	})

	step("logout with wipe", func(t *testing.T) {
		useB(t)
		b.wait("online again", `document.querySelector('[data-testid=connection][data-state=online]')`)
		evalIn[bool](b, `(function () {
  var f = document.querySelector('[data-testid=logout]');
  f.querySelector('[name=wipe]').checked = true;
  f.requestSubmit();
  return true;
})()`)
		b.wait("the login form", `document.querySelector('[data-testid=login] input[name=jid]')`)
		b.wait("the account forgotten", `localStorage.getItem('waxwing:account') === null && localStorage.getItem('waxwing:paint') === null`)
		dbs := "indexedDB.databases().then(function (dbs) { return dbs.some(function (d) { return d.name === " + JS("waxwing:"+alice) + "; }); })"
		for deadline := time.Now().Add(appWait); evalIn[bool](b, dbs); time.Sleep(25 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.fail("waiting for the history to be deleted", fmt.Errorf("the database waxwing:%s is still there after %v", alice, appWait))
			}
		}
		b.screenshot("logged-out")
	})
	checkPage(t, b)
}

// sentTo is a condition: the open chat shows the outbound message body,
// acknowledged by the server (or further).
func sentTo(body string) string { return messageIs(body, "out", "acked", "delivered", "read") }

// messageIs is a condition: the open chat shows exactly one message whose
// text is body, in direction dir ("in", "out"), in one of states (any
// state if none).
func messageIs(body, dir string, states ...string) string {
	if states == nil {
		states = []string{}
	}
	return fmt.Sprintf(`((ms) => ms.length === 1 && ms[0].dir === %s && (%s.length === 0 || %s.includes(ms[0].state)))(window.__e2e.messages(%s))`,
		JS(dir), JS(states), JS(states), JS(body))
}

// waitSubscription waits until c's roster shows subscription to other in
// one of states ("" for no roster item).
func waitSubscription(t *testing.T, c *nativeClient, other jid.JID, states ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), appWait)
	defer cancel()
	var got string
	for {
		var err error
		if got, err = c.subscription(ctx, other); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(states, got) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%v's subscription to %v is %q, want one of %q", c.addr.Bare(), other, got, states)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// count returns how many chat messages c received whose body starts with
// prefix.
func (c *nativeClient) count(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, b := range c.bodies {
		if strings.HasPrefix(b, prefix) {
			n++
		}
	}
	return n
}

// checkOnce checks that each of bodies (all the messages exchanged with
// the peer) is shown once in tb's open chat, that the peer received each
// it was sent once (live), and that the peer's archive of the
// conversation holds exactly len(bodies) messages.
func checkOnce(t *testing.T, tb *tab, peer *nativeClient, with jid.JID, bodies ...string) {
	t.Helper()
	shown := evalIn[[]string](tb, `window.__e2e.bodies()`)
	for _, body := range bodies {
		if n := countOf(shown, body); n != 1 {
			t.Errorf("%q is shown %d times", body, n)
		}
	}
	peer.mu.Lock()
	received := slices.Clone(peer.bodies)
	peer.mu.Unlock()
	for _, body := range received {
		if n := countOf(received, body); n != 1 {
			t.Errorf("the peer received %q %d times", body, n)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), appWait)
	defer cancel()
	n, err := peer.archiveCount(ctx, with)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(bodies) {
		t.Errorf("the peer's archive holds %d messages with %v, want %d", n, with, len(bodies))
	}
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// checkPage checks what probe.js saw in a tab: no CSP violation, no
// uncaught exception, no dialog.
func checkPage(t *testing.T, tb *tab) {
	t.Helper()
	if tb == nil || tb.closed.Load() {
		return
	}
	pr := tb.probe()
	if len(pr.CSP) > 0 {
		t.Errorf("%s: CSP violations: %+v", tb.name, pr.CSP)
	}
	if len(pr.Errors) > 0 {
		t.Errorf("%s: uncaught exceptions: %q", tb.name, pr.Errors)
	}
	if n := tb.dialogs.Load(); n > 0 {
		t.Errorf("%s: %d JavaScript dialogs opened", tb.name, n)
	}
}
