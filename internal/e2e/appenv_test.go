//go:build !js

package e2e

// The environment of the app's end-to-end tests (app_test.go, xss_test.go):
// one throwaway Prosody, the real `waxwing serve` in front of it (the
// binary, with the browser program embedded), headless Chromium reaching
// the serve through gates, and native XMPP sessions as the people on the
// other side (xmpp_test.go). A gate is a loopback TCP forwarder the test
// can take down, so that "the server is unreachable" is true for the page,
// its service worker and its WebSocket alike; each gate is an origin of its
// own (its own storage, service worker and session lock).

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/internal/xmppd/xmppdtest"
)

//go:embed testdata/probe.js
var probeJS string

// appWait bounds every wait for something the app should show.
const appWait = 45 * time.Second

// appEnv is one Prosody, one `waxwing serve` and one Chromium.
type appEnv struct {
	srv   *xmppd.Server
	serve *serve
	gates []*gate
	br    *Browser
}

// newAppEnv starts the environment with users registered and n gates.
func newAppEnv(t *testing.T, users map[string]string, n int) *appEnv {
	t.Helper()
	ChromiumPath(t)
	e := &appEnv{}
	e.srv = xmppdtest.Start(t, xmppd.Prosody, xmppd.Options{InlineSM: true, Users: users, Debug: true})
	var origins []string
	for range n {
		g := &gate{ln: ListenLoopback(t), conns: map[net.Conn]struct{}{}}
		g.URL = "http://" + g.ln.Addr().String() + "/"
		origins = append(origins, strings.TrimSuffix(g.URL, "/"))
		e.gates = append(e.gates, g)
	}
	e.serve = startServe(t, e.srv, origins...)
	if !e.serve.WasmBuilt {
		t.Fatal("waxwing serve has no browser program (static/dist/app.wasm was not built): run make wasm (make test does)")
	}
	to := strings.TrimSuffix(strings.TrimPrefix(e.serve.URL, "http://"), "/")
	for _, g := range e.gates {
		g.to = to
		go g.run()
		t.Cleanup(g.close)
	}
	e.br = Launch(t, LaunchOptions{})
	return e
}

// relays asks the serve how many WebSocket relays are open: the XMPP
// sessions the browser holds (the native peers log in to Prosody directly).
func (e *appEnv) relays(t *testing.T) int {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(e.serve.URL + "healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h struct {
		Relays *int `json:"relays"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || h.Relays == nil {
		t.Fatalf("healthz: relays missing (%v)", err)
	}
	return *h.Relays
}

// waitRelays waits until the serve holds n relays.
func (e *appEnv) waitRelays(t *testing.T, n int) {
	t.Helper()
	got := -1
	for deadline := time.Now().Add(appWait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = e.relays(t); got == n {
			return
		}
	}
	t.Fatalf("the serve holds %d relays, want %d", got, n)
}

// peer logs user in natively (password "pw-"+user, as appUsers registers).
func (e *appEnv) peer(t *testing.T, user string) *nativeClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), appWait)
	defer cancel()
	c, err := dialNative(ctx, e.srv, user, "pw-"+user)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	return c
}

// appUsers registers each user with the password "pw-"+user.
func appUsers(users ...string) map[string]string {
	m := map[string]string{}
	for _, u := range users {
		m[u] = "pw-" + u
	}
	return m
}

// gate forwards TCP connections to the serve while it is up; while it is
// down it closes every connection it accepts and has closed the open ones.
type gate struct {
	URL string // the app's page through this gate
	ln  net.Listener
	to  string // the serve's address

	mu      sync.Mutex
	down    bool
	conns   map[net.Conn]struct{}
	refused int // connections closed at once while down
}

func (g *gate) run() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		g.mu.Lock()
		if g.down {
			g.refused++
			g.mu.Unlock()
			c.Close()
			continue
		}
		g.conns[c] = struct{}{}
		g.mu.Unlock()
		go g.forward(c)
	}
}

func (g *gate) forward(c net.Conn) {
	defer func() {
		g.mu.Lock()
		delete(g.conns, c)
		g.mu.Unlock()
		c.Close()
	}()
	up, err := net.DialTimeout("tcp", g.to, 10*time.Second)
	if err != nil {
		return
	}
	g.mu.Lock()
	g.conns[up] = struct{}{}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.conns, up)
		g.mu.Unlock()
		up.Close()
	}()
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(up, c)
	go cp(c, up)
	<-done
	<-done
}

// setDown takes the gate down (closing every open connection) or up.
func (g *gate) setDown(down bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.down = down
	if down {
		for c := range g.conns {
			c.Close()
		}
	}
}

// refusals returns how many connections the gate closed while down.
func (g *gate) refusals() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refused
}

func (g *gate) close() {
	g.ln.Close()
	g.setDown(true)
}

// tab is one tab of the app, watched by probe.js and by CDP: JavaScript
// dialogs (dismissed, counted) and WebSockets created.
type tab struct {
	*Page
	t       *testing.T
	name    string
	dialogs atomic.Int32
	sockets atomic.Int32
	closed  atomic.Bool

	framesMu sync.Mutex
	frames   []string // the last WebSocket messages each way, for failure reports
}

// keepFrames is how many WebSocket messages a tab keeps for its failure
// report.
const keepFrames = 60

func (tb *tab) frame(dir, payload string) {
	tb.framesMu.Lock()
	defer tb.framesMu.Unlock()
	tb.frames = append(tb.frames, dir+" "+truncate(payload, 400))
	if len(tb.frames) > keepFrames {
		tb.frames = tb.frames[len(tb.frames)-keepFrames:]
	}
}

// wsLog returns the last WebSocket messages of the tab, one per line.
func (tb *tab) wsLog() string {
	tb.framesMu.Lock()
	defer tb.framesMu.Unlock()
	return strings.Join(tb.frames, "\n")
}

// openTab opens a tab and loads url in it.
func (e *appEnv) openTab(t *testing.T, name, url string) *tab {
	t.Helper()
	tb := &tab{Page: e.br.NewPage(t, probeJS), t: t, name: name}
	if err := chromedp.Listen(tb.ctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventWebSocketFrameSent:
			if e.Response != nil {
				tb.frame("→", string(e.Response.PayloadData))
			}
		case *network.EventWebSocketFrameReceived:
			if e.Response != nil {
				tb.frame("←", string(e.Response.PayloadData))
			}
		case *page.EventJavascriptDialogOpening:
			tb.dialogs.Add(1)
			go func() { // not on the event goroutine: it waits for a reply
				ctx, cancel := context.WithTimeout(tb.ctx, Step)
				defer cancel()
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			}()
		case *network.EventWebSocketCreated:
			tb.sockets.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	tb.Navigate(t, url)
	return tb
}

// do runs chromedp actions in the tab within Step.
func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, Step)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.fail(what, err)
	}
}

// click clicks the element sel once it is in the page. The click is the
// element's click(), dispatched at once: a synthesized mouse press and
// release can straddle a re-render of the region (the app replaces whole
// regions), and then no click happens, for a person as for a test.
func (tb *tab) click(what, sel string) {
	tb.t.Helper()
	tb.wait(what+": "+sel, "document.querySelector("+JS(sel)+")")
	evalIn[chromedp.Void](tb, "document.querySelector("+JS(sel)+").click()")
}

// typeEnter types text into the element sel and presses Enter as a
// keyboard does: one keydown carrying the text "\r", so that a handler that
// prevents the keydown's default also prevents the newline. (chromedp's
// SendKeys sends the newline as a separate char event, which no keydown
// handler can prevent.)
func typeEnter(sel, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.SendKeys(sel, text, chromedp.NodeVisible),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			key := input.DispatchKeyEventParams{
				Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter",
				WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Text: "\r", UnmodifiedText: "\r",
			}
			if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, key); err != nil {
				return err
			}
			key.Type, key.Text, key.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
			_, err := chromedp.Call(ctx, input.DispatchKeyEvent, key)
			return err
		}),
	)
}

// eval evaluates expr in the tab.
func evalIn[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := Eval[T](tb.Page, Step, expr)
	if err != nil {
		tb.fail("evaluating "+expr, err)
	}
	return v
}

// wait polls the JavaScript expression cond until it is truthy (errors,
// such as a navigation replacing the document, count as not yet).
func (tb *tab) wait(what, cond string) {
	tb.t.Helper()
	var last error
	for deadline := time.Now().Add(appWait); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		ok, err := Eval[bool](tb.Page, 5*time.Second, "!!("+cond+")")
		if err == nil && ok {
			return
		}
		last = err
	}
	tb.fail("waiting for "+what, fmt.Errorf("not within %v (last error: %v)", appWait, last))
}

// fail ends the test with what the tab shows and logged.
func (tb *tab) fail(what string, err error) {
	tb.t.Helper()
	if !tb.closed.Load() {
		tb.screenshot("failed-" + tb.name)
		view, _ := Eval[string](tb.Page, 5*time.Second, `(document.getElementById('view') || document.body || {}).outerHTML || ''`)
		stacks, _ := Eval[string](tb.Page, 5*time.Second, `typeof __waxwingStacks === 'function' ? __waxwingStacks() : ''`)
		// How far the page booted: the shell's loader's elements, #app's
		// attributes, the boot marks.
		boot, _ := Eval[string](tb.Page, 5*time.Second, `JSON.stringify({
			loaded: Array.from(document.querySelectorAll('head script[src], head link[rel=stylesheet]')).map(e => e.outerHTML),
			app: Object.fromEntries(Array.from((document.getElementById('app') || {attributes: []}).attributes).map(a => [a.name, a.value])),
			controlled: !!(navigator.serviceWorker && navigator.serviceWorker.controller),
			marks: performance.getEntriesByType('mark').concat(performance.getEntriesByType('paint')).map(m => m.name + ' ' + Math.round(m.startTime)),
			resources: performance.getEntriesByType('resource').map(r => r.name.split('/').pop() + ' ' + Math.round(r.startTime) + '→' + Math.round(r.responseEnd)),
			sheets: document.styleSheets.length,
			styled: typeof window.waxwingStyled,
		})`)
		tb.t.Logf("%s: #view:\n%s\nboot: %s\nconsole:\n%s\nWebSocket:\n%s\ngoroutines:\n%s", tb.name, tailLines(truncate(view, 6000), 80),
			boot, tailLines(tb.Console(), 60), tb.wsLog(), truncate(stacks, 30000))
	}
	tb.t.Fatalf("%s: %s: %v", tb.name, what, err)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// screenshot saves what the tab shows (its viewport: the app scrolls
// inside its panes) as name.png into the screenshots directory of the test
// artifacts. (A full-page capture, CaptureBeyondViewport, did not finish
// within Step once a chat held the XSS corpus.)
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, Step)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err == nil {
		dir := screenshotsDir()
		file := filepath.Join(dir, name+".png")
		if err = os.MkdirAll(dir, 0o755); err == nil {
			if err = os.WriteFile(file, png, 0o644); err == nil {
				tb.t.Logf("screenshot: %s", file)
				return
			}
		}
	}
	tb.t.Logf("screenshot %s: %v", name, err)
}

// screenshotsDir is $WAXWING_ARTIFACTS/screenshots, or
// test-artifacts/screenshots at the repository root.
func screenshotsDir() string {
	if d := os.Getenv("WAXWING_ARTIFACTS"); d != "" {
		return filepath.Join(d, "screenshots")
	}
	wd, err := os.Getwd()
	if err != nil {
		return filepath.Join("test-artifacts", "screenshots")
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "test-artifacts", "screenshots")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(wd, "test-artifacts", "screenshots")
		}
	}
}

// setOffline emulates the network going away (or coming back) in the tab:
// every request and WebSocket of the page and of its service worker fails,
// and navigator.onLine and the online/offline events follow.
func (tb *tab) setOffline(offline bool) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, Step)
	defer cancel()
	rule := &network.Conditions{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}
	_, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		EmulateOfflineServiceWorker: &offline,
		MatchedNetworkConditions:    []*network.Conditions{rule},
	})
	if err == nil {
		_, err = chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline: offline, DownloadThroughput: -1, UploadThroughput: -1,
		})
	}
	if err != nil {
		tb.fail(fmt.Sprintf("network offline=%v", offline), err)
	}
}

// close closes the tab as the person closing it does.
func (tb *tab) close() {
	tb.t.Helper()
	tb.closed.Store(true)
	ctx, cancel := context.WithTimeout(tb.ctx, Step)
	defer cancel()
	if err := chromedp.Cancel(ctx); err != nil && !errors.Is(err, context.Canceled) {
		tb.t.Fatalf("%s: closing: %v", tb.name, err)
	}
}

// logged returns the console lines of the tab that contain substr.
func (tb *tab) logged(substr string) []string {
	var out []string
	for _, l := range strings.Split(tb.Console(), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

// probe is what probe.js recorded in the page.
type probe struct {
	Sockets []struct {
		At        float64 `json:"at"`
		URL       string  `json:"url"`
		Rows      int     `json:"rows"`
		Messages  int     `json:"messages"`
		Painted   string  `json:"painted"`
		Snapshot  string  `json:"snapshot"`
		StoreMark bool    `json:"storeMark"`
	} `json:"sockets"`
	CSP []struct {
		Directive string `json:"directive"`
		Blocked   string `json:"blocked"`
		Sample    string `json:"sample"`
	} `json:"csp"`
	LoginShown *float64 `json:"loginShown"`
	Scripts    []string `json:"scripts"`
	Handlers   []string `json:"handlers"`
	JSURLs     []string `json:"jsURLs"`
	Errors     []string `json:"errors"`
}

func (tb *tab) probe() probe {
	tb.t.Helper()
	return evalIn[probe](tb, "window.__e2e")
}

// mark returns the start time of the first performance mark name, or -1.
func (tb *tab) mark(name string) float64 {
	tb.t.Helper()
	return evalIn[float64](tb, fmt.Sprintf("(performance.getEntriesByName(%s)[0] || {startTime: -1}).startTime", JS(name)))
}
