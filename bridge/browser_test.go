//go:build !js

package bridge_test

// The browser tier: the real bridge, a real Prosody and a real headless
// Chromium, driven over the Chrome DevTools Protocol with chromedp (helpers
// in internal/e2e and browser_helpers_test.go). Each test starts its own Chromium. Without
// Chromium, Prosody or the built browser program the tests skip (and fail
// when CI is set), naming the fix.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/waxwing-im/waxwing/bridge"
	"github.com/waxwing-im/waxwing/internal/e2e"
	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/internal/xmppd/xmppdtest"
	"github.com/waxwing-im/waxwing/wasm/xmppws"
)

// btUsers are the accounts of every browser test (ASCII passwords: the page
// encodes SASL PLAIN with btoa).
var btUsers = map[string]string{"alice": "alice-browser-pw", "bob": "bob-browser-pw"}

// btCSPRecorder records every CSP violation of every document in
// window.__cspViolations. Scripts injected over CDP are not subject to the
// page's CSP.
const btCSPRecorder = `window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push({violatedDirective: e.violatedDirective, effectiveDirective: e.effectiveDirective,
    blockedURI: e.blockedURI, disposition: e.disposition, sourceFile: e.sourceFile, lineNumber: e.lineNumber});
}, true);`

type btViolation struct {
	ViolatedDirective  string `json:"violatedDirective"`
	EffectiveDirective string `json:"effectiveDirective"`
	BlockedURI         string `json:"blockedURI"`
	Disposition        string `json:"disposition"`
	SourceFile         string `json:"sourceFile"`
	LineNumber         int    `json:"lineNumber"`
}

// btShellState reads the DOM contract of the shell and the app.
const btShellState = `(function () {
  var a = document.getElementById('app'), s = document.getElementById('status');
  var login = document.querySelector('#view [data-testid=login]');
  var conn = document.querySelector('#view [data-testid=connection]');
  return {boot: a ? a.getAttribute('data-boot') : null, state: s ? s.getAttribute('data-state') : null,
    text: login ? login.textContent : (s ? s.textContent : null), wsURL: a ? a.getAttribute('data-ws-url') : null,
    login: !!login, conn: conn ? conn.getAttribute('data-state') : null,
    path: conn ? conn.getAttribute('data-path') : null, roundTrips: conn ? conn.getAttribute('data-round-trips') : null};
})()`

type btShell struct {
	Boot       *string `json:"boot"`
	State      *string `json:"state"`
	Text       *string `json:"text"`
	WSURL      *string `json:"wsURL"`
	Login      bool    `json:"login"`
	Conn       *string `json:"conn"`
	Path       *string `json:"path"`
	RoundTrips *string `json:"roundTrips"`
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// btShellSettled is the shell's state once the app booted and shows its
// login form, or once either failed; null (keep polling) before.
const btShellSettled = `(function (s) {
  return (s.boot === 'ready' && s.login) || s.boot === 'failed' || s.state === 'error' ? s : null;
})(` + btShellState + `)`

// waitShellReady polls the shell until the app booted and shows the login
// form; a failed boot ends the wait at once.
func waitShellReady(t *testing.T, p *e2e.Page) btShell {
	t.Helper()
	return waitShell(t, p, btShellSettled, func(s btShell) bool { return deref(s.Boot) == "ready" && s.Login })
}

// btShellOnline is the shell's state once the app is connected.
const btShellOnline = `(function (s) {
  return s.conn === 'online' || s.boot === 'failed' || s.state === 'error' ? s : null;
})(` + btShellState + `)`

// btLoginForm logs in through the app's login form.
const btLoginForm = `(function (jid, password) {
  var f = document.querySelector('#view [data-testid=login]');
  f.querySelector('[name=jid]').value = jid;
  f.querySelector('[name=password]').value = password;
  f.requestSubmit();
  return true;
})`

// loginThroughForm fills the login form and waits until the app is online.
func loginThroughForm(t *testing.T, p *e2e.Page, user, password string) btShell {
	t.Helper()
	if _, err := e2e.Eval[bool](p, e2e.Step, btLoginForm+"("+e2e.JS(user)+","+e2e.JS(password)+")"); err != nil {
		t.Fatalf("filling the login form: %v", err)
	}
	return waitShell(t, p, btShellOnline, func(s btShell) bool { return deref(s.Conn) == "online" })
}

func waitShell(t *testing.T, p *e2e.Page, settled string, ok func(btShell) bool) btShell {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.Context(), e2e.Step+5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Poll[btShell](settled,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(e2e.Step)))
	if errors.Is(err, chromedp.ErrPollingTimeout) {
		s, err = e2e.Eval[btShell](p, e2e.Step, btShellState)
		if err == nil {
			t.Fatalf("app not ready within %v: boot=%s state=%s conn=%s text=%q\nconsole:\n%s",
				e2e.Step, deref(s.Boot), deref(s.State), deref(s.Conn), deref(s.Text), p.Console())
		}
	}
	if err != nil {
		t.Fatalf("reading the shell: %v\nconsole:\n%s", err, p.Console())
	}
	if !ok(s) {
		t.Fatalf("app ended in boot=%s state=%s conn=%s: %q\nconsole:\n%s", deref(s.Boot), deref(s.State), deref(s.Conn), deref(s.Text), p.Console())
	}
	return s
}

func violations(t *testing.T, p *e2e.Page) []btViolation {
	t.Helper()
	v, err := e2e.Eval[[]btViolation](p, e2e.Step, `(function () {
  if (!Array.isArray(window.__cspViolations)) { throw new Error('the CSP recorder is not installed'); }
  return window.__cspViolations;
})()`)
	if err != nil {
		t.Fatalf("reading window.__cspViolations: %v", err)
	}
	return v
}

// TestBrowserShell boots the app in Chromium against the real bridge and
// Prosody: the wasm program starts, shows its login form naming the domain,
// and logs in through the relay, without any CSP violation or console
// error; app.wasm arrives brotli-compressed and immutable, and the
// WebSocket speaks the xmpp subprotocol.
func TestBrowserShell(t *testing.T) {
	e2e.ChromiumPath(t) // skips at once, before any server starts
	btRequireWasm(t)
	t0 := time.Now()
	srv := xmppdtest.Start(t, xmppd.Prosody, xmppd.Options{Users: btUsers})
	br := btStartBridge(t, bridge.Config{Domain: srv.Domain, Upstream: srv.C2S, UpstreamCA: srv.CACertFile})
	b := e2e.Launch(t, e2e.LaunchOptions{})
	p := b.NewPage(t, btCSPRecorder)

	// The screenshot is taken however the test ends, for a person to look at.
	defer func() {
		if err := p.SaveScreenshot(t, "browser-shell"); err != nil {
			t.Errorf("screenshot: %v", err)
		}
	}()

	tNav := time.Now()
	p.Navigate(t, br.origin()+"/")
	s := waitShellReady(t, p)
	t.Logf("servers %v; navigation to login form %v",
		tNav.Sub(t0).Round(time.Millisecond), time.Since(tNav).Round(time.Millisecond))
	if text := deref(s.Text); !strings.Contains(text, srv.Domain) {
		t.Errorf("login form %q does not name the domain %q", text, srv.Domain)
	}
	if want := br.wsURL(); deref(s.WSURL) != want {
		t.Errorf("data-ws-url = %q, want %q", deref(s.WSURL), want)
	}
	tLogin := time.Now()
	s = loginThroughForm(t, p, "alice", btUsers["alice"])
	t.Logf("login → online %v: path %s, %s round trips", time.Since(tLogin).Round(time.Millisecond), deref(s.Path), deref(s.RoundTrips))
	if deref(s.Path) != "fresh" || deref(s.RoundTrips) == "0" {
		t.Errorf("connection bar after login: path %q, round trips %q; want fresh and a count", deref(s.Path), deref(s.RoundTrips))
	}

	// Late network and console events: let them arrive.
	time.Sleep(200 * time.Millisecond)

	// app.wasm: brotli, immutable, application/wasm.
	var wasmSeen int
	for _, r := range p.Requests() {
		if r.Status == 0 || !strings.HasSuffix(r.URL, "/app.wasm") {
			continue // no response, or not app.wasm
		}
		wasmSeen++
		ce, _ := e2e.HeaderValue(r.Headers, "Content-Encoding")
		cc, _ := e2e.HeaderValue(r.Headers, "Cache-Control")
		t.Logf("app.wasm: %d %s, Content-Encoding %q, Cache-Control %q", r.Status, r.MimeType, ce, cc)
		if r.Status != http.StatusOK {
			t.Errorf("app.wasm: status %d", r.Status)
		}
		if ce != "br" {
			t.Errorf("app.wasm: Content-Encoding %q, want br (Chromium offers br)", ce)
		}
		if !strings.Contains(cc, "immutable") {
			t.Errorf("app.wasm: Cache-Control %q lacks immutable", cc)
		}
		if r.MimeType != "application/wasm" {
			t.Errorf("app.wasm: MIME type %q, want application/wasm", r.MimeType)
		}
	}
	if wasmSeen != 1 {
		t.Errorf("saw %d responses for app.wasm, want exactly 1", wasmSeen)
	}

	// The wasm program's WebSocket: to the bridge, asking for batched
	// messages, subprotocol xmpp.
	sockets, handshakes := p.WebSockets(), 0
	for _, ws := range sockets {
		if want := br.wsURL() + "?" + xmppws.BatchParam + "=" + strconv.Itoa(xmppws.DefaultMaxMessageBytes); ws.URL != want {
			t.Errorf("WebSocket to %q, want %q", ws.URL, want)
		}
		if ws.Status == 0 {
			continue // no handshake response (yet)
		}
		handshakes++
		proto, _ := e2e.HeaderValue(ws.Headers, "Sec-WebSocket-Protocol")
		t.Logf("WebSocket handshake: %d, Sec-WebSocket-Protocol %q", ws.Status, proto)
		if ws.Status != http.StatusSwitchingProtocols || proto != "xmpp" {
			t.Errorf("WebSocket handshake: status %d, subprotocol %q; want 101 and xmpp", ws.Status, proto)
		}
	}
	if len(sockets) == 0 || handshakes == 0 {
		t.Errorf("no WebSocket seen (created %d, handshakes %d)", len(sockets), handshakes)
	}

	// No CSP violation, no console error.
	if v := violations(t, p); len(v) != 0 {
		t.Errorf("%d CSP violations: %+v", len(v), v)
	}
	if errs := p.ConsoleErrors(t); len(errs) != 0 {
		t.Errorf("%d console errors:\n%s", len(errs), strings.Join(errs, "\n"))
	}
	if t.Failed() {
		t.Logf("console:\n%s", p.Console())
	}
}

// btForeignWS is a WebSocket server on another origin that accepts anyone,
// so that only the page's CSP can stop a browser from reaching it.
type btForeignWS struct {
	addr     string
	upgrades atomic.Int32
}

func btStartForeignWS(t *testing.T) *btForeignWS {
	t.Helper()
	f := &btForeignWS{}
	ln := e2e.ListenLoopback(t)
	f.addr = ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>foreign</title><p>a page without CSP</p>")
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		f.upgrades.Add(1)
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		_ = c.Close(websocket.StatusNormalClosure, "bye")
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return f
}

// btTryWebSocket opens a WebSocket from the page and reports what happened
// within 5 s: opened, the close code, whether the constructor threw, and
// the CSP violations raised meanwhile.
const btTryWebSocket = `(async function (url, protocols) {
  var before = (window.__cspViolations || []).length;
  var out = {opened: false, closeCode: null, threw: null, violations: []};
  await new Promise(function (resolve) {
    var timer = setTimeout(resolve, 5000);
    var ws;
    try { ws = protocols ? new WebSocket(url, protocols) : new WebSocket(url); } catch (e) { out.threw = String(e); clearTimeout(timer); resolve(); return; }
    ws.onopen = function () { out.opened = true; ws.close(1000); };
    ws.onclose = function (e) { out.closeCode = e.code; clearTimeout(timer); setTimeout(resolve, 100); };
    // A blocked socket raises a violation and never opens; give it 500 ms
    // more to prove it.
    var poll = setInterval(function () {
      if ((window.__cspViolations || []).length > before) { clearInterval(poll); setTimeout(resolve, 500); }
    }, 20);
  });
  out.violations = (window.__cspViolations || []).slice(before);
  return out;
})`

type btTryResult struct {
	Opened     bool          `json:"opened"`
	CloseCode  int           `json:"closeCode"`
	Threw      *string       `json:"threw"`
	Violations []btViolation `json:"violations"`
}

func btTry(t *testing.T, p *e2e.Page, url, protocol string) btTryResult {
	t.Helper()
	r, err := e2e.Eval[btTryResult](p, e2e.Step, btTryWebSocket+"("+e2e.JS(url)+","+e2e.JS(protocol)+")")
	if err != nil {
		t.Fatalf("new WebSocket(%s): %v", url, err)
	}
	return r
}

// TestBrowserCSPBlocksForeignSockets proves that the shell's connect-src is
// enforced: a WebSocket to a willing server on another origin is refused by
// Chromium with a connect-src violation and never reaches that server,
// while the same server is reachable from a page without CSP and the
// shell's own relay stays allowed.
func TestBrowserCSPBlocksForeignSockets(t *testing.T) {
	e2e.ChromiumPath(t) // skips at once, before any server starts
	// The shell's CSP does not depend on the upstream or on the wasm: an
	// unreachable upstream keeps this test free of Prosody.
	dead := e2e.ListenLoopback(t)
	deadAddr := dead.Addr().String()
	dead.Close()
	br := btStartBridge(t, bridge.Config{Domain: "localhost", Upstream: deadAddr})
	foreign := btStartForeignWS(t)
	b := e2e.Launch(t, e2e.LaunchOptions{})
	p := b.NewPage(t, btCSPRecorder)
	p.Navigate(t, br.origin()+"/")

	foreignURL := "ws://" + foreign.addr + "/ws"
	r := btTry(t, p, foreignURL, "")
	t.Logf("shell page → %s: %+v", foreignURL, r)
	if r.Opened {
		t.Errorf("the shell page opened a WebSocket to %s: connect-src is not enforced", foreignURL)
	}
	var hit *btViolation
	for i, v := range r.Violations {
		if v.EffectiveDirective == "connect-src" && strings.HasPrefix(v.BlockedURI, "ws://"+foreign.addr) {
			hit = &r.Violations[i]
		}
	}
	if hit == nil {
		t.Errorf("no connect-src violation for %s; violations: %+v", foreignURL, r.Violations)
	} else {
		if !strings.HasPrefix(hit.ViolatedDirective, "connect-src") || hit.Disposition != "enforce" {
			t.Errorf("violation %+v: want violatedDirective connect-src, disposition enforce", *hit)
		}
	}
	if n := foreign.upgrades.Load(); n != 0 {
		t.Errorf("the foreign server saw %d upgrade requests from the shell page, want 0", n)
	}
	// Chromium also reports the refusal as a console error; that the
	// collector sees it keeps TestBrowserShell's "no console errors" honest.
	if errs := p.ConsoleErrors(t); !strings.Contains(strings.Join(errs, "\n"), foreignURL) {
		t.Errorf("no console error names %s; console errors: %q", foreignURL, errs)
	} else {
		t.Logf("console errors: %q", errs)
	}

	// Control 1: the shell's own relay is allowed by the same policy.
	own := btTry(t, p, br.wsURL(), "xmpp")
	t.Logf("shell page → %s: %+v", br.wsURL(), own)
	if !own.Opened || len(own.Violations) != 0 {
		t.Errorf("the shell page could not open its own relay %s: %+v", br.wsURL(), own)
	}

	// Control 2: without CSP the foreign server is reachable, so the refusal
	// above was the CSP's doing.
	q := b.NewPage(t, btCSPRecorder)
	q.Navigate(t, "http://"+foreign.addr+"/")
	c := btTry(t, q, foreignURL, "")
	t.Logf("page without CSP → %s: %+v", foreignURL, c)
	if !c.Opened || foreign.upgrades.Load() != 1 {
		t.Errorf("control: a page without CSP did not reach %s (opened %v, upgrades %d)", foreignURL, c.Opened, foreign.upgrades.Load())
	}
}

// btBigMessage runs in the page: it logs in over RFC 7395 at p.url with SASL
// PLAIN, binds, and sends one <message/> to p.to whose body is about
// p.bodyBytes of UTF-8 after XML escaping (non-ASCII, astral characters and
// all five XML special characters). It returns the body's SHA-256, the
// stanza's length in UTF-8 and, if p.expectClose, how the server closed the
// socket instead. Every wait has a timeout; failures are returned as
// strings in .error.
const btBigMessage = `(async function (p) {
  var out = {error: null, sha256: null, stanzaBytes: 0, bodyBytes: 0, bodyChars: 0, close: null, steps: []};
  function step(s) { out.steps.push(Math.round(performance.now()) + ' ' + s); }
  var st = {q: [], closed: null, waiter: null, last: ''};
  function connect(url) {
    return new Promise(function (resolve, reject) {
      var ws;
      try { ws = new WebSocket(url, 'xmpp'); } catch (e) { reject(e); return; }
      st.ws = ws;
      var timer = setTimeout(function () { reject(new Error('timeout opening ' + url)); }, p.stepMs);
      ws.onopen = function () {
        clearTimeout(timer);
        if (ws.protocol !== 'xmpp') { reject(new Error('subprotocol ' + JSON.stringify(ws.protocol))); return; }
        resolve();
      };
      ws.onmessage = function (e) { st.q.push(String(e.data)); if (st.waiter) st.waiter(); };
      ws.onclose = function (e) {
        st.closed = {code: e.code, reason: e.reason, wasClean: e.wasClean};
        clearTimeout(timer);
        reject(new Error('closed before open: ' + JSON.stringify(st.closed)));
        if (st.waiter) st.waiter();
      };
    });
  }
  // next resolves with the next message satisfying pred, dropping others.
  function next(pred, what) {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () { st.waiter = null; reject(new Error('timeout waiting for ' + what + '; last message: ' + st.last)); }, p.stepMs);
      function done(f, v) { clearTimeout(timer); st.waiter = null; f(v); }
      st.waiter = function () {
        while (st.q.length) {
          var m = st.q.shift();
          st.last = m.slice(0, 300);
          if (pred(m)) { done(resolve, m); return; }
          if (/^<failure|stream:error|^<close[\s\/>]/.test(m)) { done(reject, new Error('waiting for ' + what + ', got ' + st.last)); return; }
        }
        if (st.closed) { done(reject, new Error('socket closed while waiting for ' + what + ': ' + JSON.stringify(st.closed))); }
      };
      st.waiter();
    });
  }
  function waitClosed(what) {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () { st.waiter = null; reject(new Error('timeout waiting for ' + what)); }, p.stepMs);
      st.waiter = function () {
        while (st.q.length) { st.last = st.q.shift().slice(0, 300); }
        if (st.closed) { clearTimeout(timer); st.waiter = null; resolve(st.closed); }
      };
      st.waiter();
    });
  }
  function esc(s) {
    return s.replace(/[&<>"']/g, function (c) { return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;'}[c]; });
  }
  var features = function (m) { return /^<(stream:)?features[\s>\/]/.test(m); };
  try {
    await connect(p.url);
    step('open');
    var open = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='" + esc(p.domain) + "' version='1.0'/>";
    st.ws.send(open);
    await next(features, 'stream features');
    st.ws.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + btoa('\0' + p.user + '\0' + p.pass) + '</auth>');
    await next(function (m) { return /^<success[\s>\/]/.test(m); }, 'SASL success');
    step('authenticated');
    st.ws.send(open);
    await next(features, 'stream features after SASL');
    st.ws.send("<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
    var bound = await next(function (m) { return /id=['"]b1['"]/.test(m); }, 'bind result');
    if (!/type=['"]result['"]/.test(bound)) { throw new Error('bind failed: ' + bound.slice(0, 300)); }
    step('bound');

    // The body: a deterministic mix, grown until its escaped UTF-8 size
    // reaches p.bodyBytes. No CR (XML parsers normalise it) and no lone
    // surrogates (not representable in UTF-8).
    var pieces = ['Grüße, Jürgen! ', '世界の皆さん ', '😀🦜🎉 ', '<b>bold</b> ', 'a & b && c ', '"double" ', "'single' ",
      ']]> ', '<![CDATA[x]]> ', 'مرحبا بالعالم ', 'Привет ', 'e\u0301 ', '\u00a0nbsp ', '\t', '\n', 'ℤ∑∫≠ ', '&amp; literal ', '<!-- c --> '];
    var enc = new TextEncoder();
    var sizes = pieces.map(function (s) { return enc.encode(esc(s)).length; });
    var parts = [], size = 0, n = 0;
    while (size < p.bodyBytes) {
      var i = (n * 7 + (n >> 3)) % pieces.length;
      var tag = '#' + n + ' ';
      parts.push(tag, pieces[i]);
      size += tag.length + sizes[i];
      n++;
    }
    var body = parts.join('');
    var digest = new Uint8Array(await crypto.subtle.digest('SHA-256', enc.encode(body)));
    out.sha256 = Array.prototype.map.call(digest, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
    out.bodyChars = body.length;
    out.bodyBytes = enc.encode(esc(body)).length;
    var stanza = "<message xmlns='jabber:client' type='chat' id='" + p.id + "' to='" + esc(p.to) + "'><body>" + esc(body) + '</body></message>';
    out.stanzaBytes = enc.encode(stanza).length;
    st.ws.send(stanza);
    step('sent ' + out.stanzaBytes + ' bytes');
    if (p.expectClose) {
      out.close = await waitClosed('the server to close the socket');
      step('closed ' + JSON.stringify(out.close));
      return out;
    }
    // Wait until Chromium has handed the whole message to the socket.
    var t0 = performance.now();
    while (st.ws.bufferedAmount > 0) {
      if (performance.now() - t0 > p.stepMs) { throw new Error('message still buffered: ' + st.ws.bufferedAmount); }
      await new Promise(function (r) { setTimeout(r, 10); });
    }
    step('flushed');
    window.__bigMessageSocket = st;
  } catch (e) {
    out.error = String(e && e.stack ? e.stack : e);
    if (st.closed) { out.close = st.closed; }
  }
  return out;
})`

type btBigParams struct {
	URL         string `json:"url"`
	Domain      string `json:"domain"`
	User        string `json:"user"`
	Pass        string `json:"pass"`
	To          string `json:"to"`
	ID          string `json:"id"`
	BodyBytes   int    `json:"bodyBytes"`
	StepMs      int    `json:"stepMs"`
	ExpectClose bool   `json:"expectClose"`
}

type btBigResult struct {
	Error       *string  `json:"error"`
	SHA256      string   `json:"sha256"`
	StanzaBytes int      `json:"stanzaBytes"`
	BodyBytes   int      `json:"bodyBytes"`
	BodyChars   int      `json:"bodyChars"`
	Steps       []string `json:"steps"`
	Close       *struct {
		Code     int    `json:"code"`
		Reason   string `json:"reason"`
		WasClean bool   `json:"wasClean"`
	} `json:"close"`
}

func btRunBig(t *testing.T, p *e2e.Page, params btBigParams) btBigResult {
	t.Helper()
	arg, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e2e.Eval[btBigResult](p, time.Duration(params.StepMs)*time.Millisecond*8, btBigMessage+"("+string(arg)+")")
	if err != nil {
		t.Fatalf("in the page: %v", err)
	}
	return r
}

// btBodyBytes is the body's size after XML escaping: well above the 131,000
// bytes beyond which Chromium always fragments a message, well below the
// 256 KiB stanza limit of Prosody (and of the bridge).
const btBodyBytes = 200 << 10

// TestBrowserContinuationFrames sends one ~200 KiB stanza from Chromium
// through the bridge. Chromium splits such a message into a text frame and
// continuation frames (a logging proxy between browser and bridge proves
// it); the bridge must reassemble it, and bob, a native client on the same
// bridge, must receive the body byte for byte. As the anchor, the same
// message sent to Prosody's own mod_websocket is refused with close 1003.
func TestBrowserContinuationFrames(t *testing.T) {
	e2e.ChromiumPath(t) // skips at once, before any server starts
	btRequireWasm(t)
	srv := xmppdtest.Start(t, xmppd.Prosody, xmppd.Options{Users: btUsers})
	br := btStartBridge(t, bridge.Config{Domain: srv.Domain, Upstream: srv.C2S, UpstreamCA: srv.CACertFile})
	proxy := btStartProxy(t, br.addr)
	origin := "http://" + proxy.addr()

	ctx, cancel := context.WithTimeout(context.Background(), 3*e2e.Step)
	defer cancel()
	bob, err := dialXMPP(ctx, endpoint{url: br.wsURL(), origin: br.origin()}, srv.Domain, "bob", btUsers["bob"], "browser-test")
	if err != nil {
		t.Fatalf("bob: %v", err)
	}
	defer bob.ws.CloseNow()

	b := e2e.Launch(t, e2e.LaunchOptions{})
	p := b.NewPage(t, btCSPRecorder)
	// The page comes through the proxy too, so that its Origin matches the
	// Host of the WebSocket request and the shell's CSP allows the socket.
	p.Navigate(t, origin+"/")
	shell := waitShellReady(t, p)
	wsURL := deref(shell.WSURL)
	if want := "ws://" + proxy.addr() + bridge.PathWebSocket; wsURL != want {
		t.Fatalf("data-ws-url = %q, want %q", wsURL, want)
	}

	t0 := time.Now()
	r := btRunBig(t, p, btBigParams{
		URL: wsURL, Domain: srv.Domain, User: "alice", Pass: btUsers["alice"],
		To: bob.jid, ID: "big1", BodyBytes: btBodyBytes, StepMs: int(e2e.Step / time.Millisecond),
	})
	t.Logf("page: %d-byte stanza, body %d chars / %d bytes escaped, sha256 %s; steps %v",
		r.StanzaBytes, r.BodyChars, r.BodyBytes, r.SHA256, r.Steps)
	if r.Error != nil {
		t.Fatalf("in the page: %s\nconsole:\n%s", *r.Error, p.Console())
	}
	if r.StanzaBytes < 131072 || r.StanzaBytes > 250000 {
		t.Fatalf("stanza of %d bytes: want between 131,072 (always fragmented) and 250,000 (below the stanza limit)", r.StanzaBytes)
	}

	m, err := bob.readUntil(ctx, "the big message", func(m []byte) bool {
		return regexp.MustCompile(`^<message\b[^>]*\bid=['"]big1['"]`).Match(m)
	})
	if err != nil {
		t.Fatalf("bob: %v\nbridge log:\n%s", err, br.logs.String())
	}
	var msg struct {
		From string `xml:"from,attr"`
		Body string `xml:"body"`
	}
	if err := xml.Unmarshal(m, &msg); err != nil {
		t.Fatalf("bob: message does not parse: %v", err)
	}
	sum := sha256.Sum256([]byte(msg.Body))
	got := hex.EncodeToString(sum[:])
	t.Logf("bob: %d-byte stanza from %s, body %d bytes, sha256 %s, after %v",
		len(m), msg.From, len(msg.Body), got, time.Since(t0).Round(time.Millisecond))
	if got != r.SHA256 {
		t.Errorf("bob's body sha256 %s, the page's %s: the body changed on the way", got, r.SHA256)
	}
	if !strings.HasPrefix(msg.From, "alice@"+srv.Domain+"/") {
		t.Errorf("message from %q, want alice's full JID", msg.From)
	}

	// alice's session survived the big stanza.
	alive, err := e2e.Eval[struct {
		Closed any    `json:"closed"`
		Last   string `json:"last"`
		Queued int    `json:"queued"`
	}](p, e2e.Step, `(function (s) { return {closed: s.closed, last: s.last, queued: s.q.length}; })(window.__bigMessageSocket)`)
	if err != nil {
		t.Fatal(err)
	}
	if alive.Closed != nil {
		t.Errorf("alice's socket was closed after the big stanza: %v", alive.Closed)
	}
	clean, err := e2e.Eval[bool](p, e2e.Step, `(function (s) { return s.q.filter(function (m) { return /stream:error|^<close/.test(m); }).length === 0; })(window.__bigMessageSocket)`)
	if err != nil {
		t.Fatal(err)
	}
	if !clean {
		t.Errorf("alice received a stream error or <close/> after the big stanza (last message %q)", alive.Last)
	}

	// The wire: Chromium sent the stanza as FIN=0 text + continuation frames.
	if frag, _ := btFragmented(proxy.seen(), int64(r.StanzaBytes)); frag == nil {
		t.Errorf("no fragmented message of %d bytes (FIN=0 opcode 1, then opcode 0 up to FIN=1) on the wire; sockets: %+v (proxy errors %v)",
			r.StanzaBytes, proxy.seen(), proxy.errors())
	} else {
		t.Logf("on the wire, Chromium sent the %d-byte stanza to the bridge as %d frames: %v", r.StanzaBytes, len(frag), frag)
	}
	if errs := proxy.errors(); len(errs) != 0 {
		t.Errorf("proxy: %v", errs)
	}
	if v := violations(t, p); len(v) != 0 {
		t.Errorf("%d CSP violations: %+v", len(v), v)
	}

	_, _ = e2e.Eval[chromedp.Void](p, e2e.Step, `window.__bigMessageSocket.ws.send("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")`)

	// The anchor: Prosody's own endpoint refuses the same message. The
	// shell's CSP would block a socket to Prosody, so this runs in a tab
	// without CSP: Prosody's own page at its WebSocket URL, through a second
	// logging proxy (mod_websocket 0.12 does not check Origin).
	t.Run("prosody mod_websocket refuses it", func(t *testing.T) {
		u, err := url.Parse(srv.WebSocketURL)
		if err != nil {
			t.Fatal(err)
		}
		pp := btStartProxy(t, u.Host)
		q := b.NewPage(t)
		q.Navigate(t, "http://"+pp.addr()+u.Path)
		a := btRunBig(t, q, btBigParams{
			URL: "ws://" + pp.addr() + u.Path, Domain: srv.Domain, User: "alice", Pass: btUsers["alice"],
			To: bob.jid, ID: "big2", BodyBytes: btBodyBytes, StepMs: int(e2e.Step / time.Millisecond), ExpectClose: true,
		})
		t.Logf("page: steps %v", a.Steps)
		if a.Error != nil {
			t.Fatalf("in the page: %s", *a.Error)
		}
		// Prosody closes on the first fragment, so the continuation frames
		// may never reach the wire: look for the opening FIN=0 text frame.
		seen := pp.seen()
		if len(seen) != 1 {
			t.Fatalf("%d WebSockets through the proxy, want 1", len(seen))
		}
		ws := seen[0]
		var first *btFrame
		for i, f := range ws.Client {
			if !f.Fin && f.Opcode == 1 && f.Len < int64(a.StanzaBytes) {
				first = &ws.Client[i]
			}
		}
		if first == nil {
			t.Fatalf("Chromium did not fragment the %d-byte stanza to Prosody: %+v", a.StanzaBytes, ws)
		}
		t.Logf("on the wire: Chromium sent %v of %d bytes; Prosody answered close %d %q; the page saw close %+v",
			*first, a.StanzaBytes, ws.CloseCode, ws.CloseReason, a.Close)
		if ws.CloseCode != 1003 || !strings.Contains(ws.CloseReason, "Continuation frames") {
			t.Errorf("Prosody's close frame: %d %q, want 1003 \"Continuation frames are not supported\"", ws.CloseCode, ws.CloseReason)
		}
		if a.Close == nil {
			t.Errorf("the page's socket was not closed")
		}
	})
}
