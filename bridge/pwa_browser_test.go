//go:build !js

package bridge_test

// The PWA tier in real Chromium (W3C Web Application Manifest, Service
// Workers): the shell is installable, its service worker makes the next
// visits start offline, a new build offers "Reload to update", and a saved
// render of the app is painted before the wasm arrives. The XMPP server is
// not needed: the bridge dials an upstream that refuses, so the app boots
// and reports the server unreachable. Each subtest serves the app on a port
// of its own, so that it has an origin of its own: its own service worker,
// caches and localStorage, in one Chromium.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/waxwing-im/waxwing/bridge"
	"github.com/waxwing-im/waxwing/internal/e2e"
	"github.com/waxwing-im/waxwing/static"
)

// pwaNextBuild is the version a pwaServer claims once next is set.
const pwaNextBuild = "0000nextbuild"

// pwaServer is the bridge's handler on a loopback port behind a switchboard
// that the tests turn: down (the server is gone), next (a different build),
// and a gate that holds app.wasm back.
type pwaServer struct {
	addr string
	srv  *http.Server
	h    http.Handler

	next atomic.Bool
	// shells counts the requests for the shell, preloads those of them
	// that were a service worker's navigation preload.
	shells, preloads atomic.Int32

	mu      sync.Mutex
	gate    chan struct{} // while non-nil, requests for app.wasm wait for it to close
	waiting chan struct{} // closed when a request for app.wasm waits at the gate
}

func startPWAServer(t *testing.T) *pwaServer {
	t.Helper()
	// An upstream that refuses at once.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	upstream := dead.Addr().String()
	dead.Close()

	logs := &e2e.LogBuffer{}
	b, err := bridge.New(bridge.Config{Domain: "pwa.example", Upstream: upstream, DataDir: t.TempDir(), DialTimeout: 2 * time.Second},
		slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln := e2e.ListenLoopback(t)
	s := &pwaServer{addr: ln.Addr().String(), h: b.Handler()}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: e2e.Step}
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() {
		s.release()
		s.down()
		if t.Failed() {
			t.Logf("bridge log:\n%s", logs.String())
		}
	})
	return s
}

func (s *pwaServer) origin() string { return "http://" + s.addr }

// down stops the server: every connection is closed and nothing listens.
func (s *pwaServer) down() { _ = s.srv.Close() }

// hold makes requests for app.wasm wait until release.
func (s *pwaServer) hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate, s.waiting = make(chan struct{}), make(chan struct{})
}

func (s *pwaServer) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
}

// waitHeld waits until a request for app.wasm waits at the gate.
func (s *pwaServer) waitHeld(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	w := s.waiting
	s.mu.Unlock()
	select {
	case <-w:
	case <-time.After(e2e.Step):
		t.Fatalf("app.wasm was not requested within %v", e2e.Step)
	}
}

func (s *pwaServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" {
		s.shells.Add(1)
		if r.Header.Get("Service-Worker-Navigation-Preload") != "" {
			s.preloads.Add(1)
		}
	}
	if strings.HasSuffix(r.URL.Path, "/app.wasm") {
		s.mu.Lock()
		gate, waiting := s.gate, s.waiting
		s.mu.Unlock()
		if gate != nil {
			select {
			case <-waiting:
			default:
				close(waiting)
			}
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
	}
	if !s.next.Load() || (r.URL.Path != "/" && r.URL.Path != bridge.PathServiceWorker) {
		s.h.ServeHTTP(w, r)
		return
	}
	// The next build: the shell and the worker say another version. Its
	// assets are this build's, which is all the worker needs.
	// A validator of this build's script would get 304 for the next's.
	r.Header.Del("If-None-Match")
	r.Header.Del("If-Modified-Since")
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, r)
	body := rec.Body.String()
	v := static.Version()
	body = strings.Replace(body, `"version":"`+v+`"`, `"version":"`+pwaNextBuild+`"`, 1)
	body = strings.Replace(body, `data-version="`+v+`"`, `data-version="`+pwaNextBuild+`"`, 1)
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.Header().Del("ETag")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set(bridge.HeaderVersion, pwaNextBuild)
	w.WriteHeader(rec.Code)
	_, _ = io.WriteString(w, body)
}

// pwaDocCounter counts the documents a tab has loaded on each origin, so
// that a test sees whether a page reloaded.
const pwaDocCounter = `try { sessionStorage.setItem('pwa:docs', String(Number(sessionStorage.getItem('pwa:docs') || 0) + 1)); } catch (e) {}`

// pwaState is what the tests read of a page.
type pwaState struct {
	Docs       int     `json:"docs"`
	Boot       *string `json:"boot"`
	Version    *string `json:"version"`
	Painted    *string `json:"painted"`
	Update     *string `json:"update"`
	BannerShow bool    `json:"bannerShown"`
	View       string  `json:"view"`
	Controlled bool    `json:"controlled"`
	Marks      map[string]float64
}

const pwaStateJS = `(function () {
  var a = document.getElementById('app'), b = document.getElementById('update'), v = document.getElementById('view');
  var marks = {};
  performance.getEntriesByType('mark').forEach(function (m) { if (m.name.indexOf('waxwing:') === 0) { marks[m.name] = m.startTime; } });
  return {docs: Number(sessionStorage.getItem('pwa:docs') || 0),
    boot: a && a.getAttribute('data-boot'), version: a && a.getAttribute('data-version'),
    painted: a && a.getAttribute('data-painted'), update: a && a.getAttribute('data-update'),
    bannerShown: !!b && b.getClientRects().length > 0 && getComputedStyle(b).visibility !== 'hidden', view: v ? v.innerHTML : '<no #view>',
    controlled: !!navigator.serviceWorker.controller, Marks: marks};
})()`

// pwaWait polls the page until cond (a JavaScript expression) is true,
// through reloads, and returns the page's state then.
func pwaWait(t *testing.T, p *e2e.Page, what, cond string) pwaState {
	t.Helper()
	deadline := time.Now().Add(2 * e2e.Step)
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := e2e.Eval[bool](p, 2*time.Second, "!!("+cond+")")
		if err == nil && ok {
			s, err := e2e.Eval[pwaState](p, e2e.Step, pwaStateJS)
			if err == nil {
				return s
			}
			lastErr = err
		} else if err != nil {
			lastErr = err // a page between documents: try again
		}
		time.Sleep(50 * time.Millisecond)
	}
	s, err := e2e.Eval[pwaState](p, e2e.Step, pwaStateJS)
	t.Fatalf("%s: not within %v (last error %v); state %+v (%v)\nconsole:\n%s", what, 2*e2e.Step, lastErr, s, err, p.Console())
	return s
}

// pwaControlled waits until a service worker controls the page and its
// install (the precache) is complete.
func pwaControlled(t *testing.T, p *e2e.Page) pwaState {
	t.Helper()
	return pwaWait(t, p, "a service worker controls the page",
		`navigator.serviceWorker.controller && navigator.serviceWorker.controller.state === 'activated' && document.getElementById('app').getAttribute('data-boot') === 'ready'`)
}

// pwaInstallabilityErrors is CDP Page.getInstallabilityErrors, which
// cdproto no longer lists but Chromium still answers: what Chromium finds
// missing for the page to be installable as an app.
var pwaInstallabilityErrors = cdp.Command[cdp.Empty, struct {
	Errors []struct {
		ErrorID   string `json:"errorId"`
		Arguments []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"errorArguments"`
	} `json:"installabilityErrors"`
}]{Method: "Page.getInstallabilityErrors"}

func TestBrowserPWA(t *testing.T) {
	e2e.ChromiumPath(t) // skips at once, before any server starts
	btRequireWasm(t)
	b := e2e.Launch(t, e2e.LaunchOptions{})

	t.Run("installable", func(t *testing.T) {
		s := startPWAServer(t)
		p := b.NewPage(t, btCSPRecorder, pwaDocCounter)
		p.Navigate(t, s.origin()+"/")
		st := pwaControlled(t, p)
		if st.Docs != 1 {
			t.Errorf("the page loaded %d times: the first install must not reload it", st.Docs)
		}
		if st.BannerShow || st.Update != nil {
			t.Errorf("the first install offers an update: banner shown %v, data-update %q", st.BannerShow, deref(st.Update))
		}

		ctx, cancel := context.WithTimeout(p.Context(), e2e.Step)
		defer cancel()
		m, err := chromedp.Call(ctx, page.GetAppManifest, page.GetAppManifestParams{})
		if err != nil {
			t.Fatalf("Page.getAppManifest: %v", err)
		}
		t.Logf("manifest %s", m.URL)
		if want := s.origin() + "/static/" + static.Version() + "/manifest.webmanifest"; m.URL != want {
			t.Errorf("manifest URL %q, want %q", m.URL, want)
		}
		for _, e := range m.Errors {
			t.Errorf("manifest error at %d:%d (critical %d): %s", e.Line, e.Column, e.Critical, e.Message)
		}
		inst, err := chromedp.Call(ctx, pwaInstallabilityErrors, cdp.Empty{})
		if err != nil {
			t.Fatalf("Page.getInstallabilityErrors: %v", err)
		}
		for _, e := range inst.Errors {
			t.Errorf("installability error %s %+v", e.ErrorID, e.Arguments)
		}
		t.Logf("Chromium reports %d installability errors", len(inst.Errors))

		// Every icon of the manifest loads as an image of its declared size.
		icons, err := e2e.Eval[[]struct {
			Src, Sizes, Got, Error string
		}](p, e2e.Step, `(async function () {
  var link = document.querySelector('link[rel=manifest]');
  var m = await (await fetch(link.href)).json();
  return Promise.all(m.icons.map(async function (icon) {
    var src = new URL(icon.src, link.href).href;
    try {
      var img = new Image();
      img.src = src;
      await img.decode();
      return {Src: src, Sizes: icon.sizes, Got: icon.sizes === 'any' ? 'any' : img.naturalWidth + 'x' + img.naturalHeight, Error: ''};
    } catch (e) {
      return {Src: src, Sizes: icon.sizes, Got: '', Error: String(e)};
    }
  }));
})()`)
		if err != nil {
			t.Fatal(err)
		}
		if len(icons) < 4 {
			t.Errorf("%d icons in the manifest", len(icons))
		}
		for _, ic := range icons {
			if ic.Error != "" || ic.Got != ic.Sizes {
				t.Errorf("icon %s: loaded %q, declared %q, error %q", ic.Src, ic.Got, ic.Sizes, ic.Error)
			}
		}
		if v := violations(t, p); len(v) != 0 {
			t.Errorf("%d CSP violations: %+v", len(v), v)
		}
	})

	t.Run("offline reload", func(t *testing.T) {
		s := startPWAServer(t)
		p := b.NewPage(t, btCSPRecorder, pwaDocCounter)
		p.Navigate(t, s.origin()+"/")
		pwaControlled(t, p)

		s.down()
		if _, err := http.Get(s.origin() + "/"); err == nil {
			t.Fatalf("the server still answers")
		}
		p.Navigate(t, s.origin()+"/")
		st := pwaWait(t, p, "the wasm boots offline", `document.getElementById('app').getAttribute('data-boot') === 'ready'`)
		if st.Docs != 2 || deref(st.Version) != static.Version() {
			t.Errorf("after the offline reload: %d documents, version %s", st.Docs, deref(st.Version))
		}

		// The shell and the wasm came from the worker, the shell with its
		// CSP, the wasm as application/wasm.
		var shells, wasms []e2e.Request
		for _, r := range p.Requests() {
			switch {
			case r.Status == 0: // no response
			case r.URL == s.origin()+"/":
				shells = append(shells, r)
			case strings.HasSuffix(r.URL, "/app.wasm"):
				wasms = append(wasms, r)
			}
		}
		if len(shells) != 2 || len(wasms) != 2 {
			t.Fatalf("%d shell and %d app.wasm responses, want 2 each", len(shells), len(wasms))
		}
		online, offline := wasms[0], wasms[1]
		if ce, _ := e2e.HeaderValue(online.Headers, "Content-Encoding"); ce != "br" {
			t.Errorf("online app.wasm: Content-Encoding %q, want br", ce)
		}
		if !shells[1].FromServiceWorker || !offline.FromServiceWorker {
			t.Errorf("offline: shell from the worker %v, app.wasm from the worker %v", shells[1].FromServiceWorker, offline.FromServiceWorker)
		}
		csp, _ := e2e.HeaderValue(shells[1].Headers, "Content-Security-Policy")
		if online, _ := e2e.HeaderValue(shells[0].Headers, "Content-Security-Policy"); csp == "" || csp != online {
			t.Errorf("the cached shell's CSP %q, the network's %q", csp, online)
		}
		if offline.Status != http.StatusOK || offline.MimeType != "application/wasm" {
			t.Errorf("offline app.wasm: %d %s", offline.Status, offline.MimeType)
		}
		if ce, _ := e2e.HeaderValue(offline.Headers, "Content-Encoding"); ce != "" {
			t.Errorf("the cached app.wasm says Content-Encoding %q over a decoded body", ce)
		}

		// The cached copy is the identity body, byte for byte.
		raw := httptest.NewRecorder()
		static.Handler(bridge.PathStatic).ServeHTTP(raw, httptest.NewRequest("GET", bridge.PathStatic+static.Version()+"/app.wasm", nil))
		size, err := e2e.Eval[int](p, e2e.Step, `caches.open('waxwing-`+static.Version()+`').then(function (c) {
  return c.match('/static/`+static.Version()+`/app.wasm'); }).then(function (r) { return r.arrayBuffer(); }).then(function (b) { return b.byteLength; })`)
		if err != nil {
			t.Fatal(err)
		}
		if size != raw.Body.Len() {
			t.Errorf("cached app.wasm has %d bytes, the identity file %d", size, raw.Body.Len())
		}

		// The cached shell's CSP is enforced: an image from another origin
		// is refused.
		if _, err := e2e.Eval[chromedp.Void](p, e2e.Step, `(function () { var i = new Image(); i.src = 'http://127.0.0.2:9/x.png'; document.body.appendChild(i); })()`); err != nil {
			t.Fatal(err)
		}
		pwaWait(t, p, "the CSP refuses a foreign image", `window.__cspViolations.some(function (v) { return v.effectiveDirective === 'img-src'; })`)
		t.Logf("offline: shell and %d-byte app.wasm from the worker, wasm booted; marks (ms since navigation) %v", size, st.Marks)
	})

	t.Run("navigation preload", func(t *testing.T) {
		s := startPWAServer(t)
		p := b.NewPage(t, btCSPRecorder, pwaDocCounter)
		p.Navigate(t, s.origin()+"/")
		pwaControlled(t, p)
		on, err := e2e.Eval[bool](p, e2e.Step, `navigator.serviceWorker.ready.then(function (r) { return r.navigationPreload.getState(); }).then(function (st) { return st.enabled; })`)
		if err != nil || !on {
			t.Fatalf("navigation preload enabled: %v (%v)", on, err)
		}

		// A reload asks for the shell once, as the navigation preload,
		// which the worker answers with.
		s.shells.Store(0)
		s.preloads.Store(0)
		p.ResetNetwork()
		p.Reload(t)
		st := pwaWait(t, p, "the reloaded page boots", `sessionStorage.getItem('pwa:docs') === '2' && document.getElementById('app').getAttribute('data-boot') === 'ready'`)
		if n, pre := s.shells.Load(), s.preloads.Load(); n != 1 || pre != 1 {
			t.Errorf("the reload asked for the shell %d times, %d of them as the navigation preload: want once, preloaded", n, pre)
		}
		for _, r := range p.Requests() {
			if r.URL == s.origin()+"/" && (!r.FromServiceWorker || r.Status != http.StatusOK) {
				t.Errorf("the shell: %d, from the worker %v", r.Status, r.FromServiceWorker)
			}
		}
		if deref(st.Version) != static.Version() || st.Docs != 2 {
			t.Errorf("after the reload: version %s, %d documents", deref(st.Version), st.Docs)
		}

		// Another page of the origin opened in the tab comes from the
		// network, through the worker.
		p.Navigate(t, s.origin()+bridge.PathHealth)
		body, err := e2e.Eval[string](p, e2e.Step, `document.body.innerText`)
		if err != nil || !strings.Contains(body, `"status":"ok"`) {
			t.Errorf("%s in the tab: %q (%v)", bridge.PathHealth, body, err)
		}
		if v := violations(t, p); len(v) != 0 {
			t.Errorf("%d CSP violations: %+v", len(v), v)
		}
	})

	t.Run("reload to update", func(t *testing.T) {
		s := startPWAServer(t)
		p := b.NewPage(t, btCSPRecorder, pwaDocCounter)
		p.Navigate(t, s.origin()+"/")
		pwaControlled(t, p)

		s.next.Store(true)
		// What boot.js does every hour and when the network comes back.
		if _, err := e2e.Eval[chromedp.Void](p, e2e.Step, `navigator.serviceWorker.getRegistration().then(function (r) { return r.update(); })`); err != nil {
			t.Fatal(err)
		}
		st := pwaWait(t, p, "the update banner", `document.getElementById('app').getAttribute('data-update') === 'ready'`)
		if !st.BannerShow || st.Docs != 1 || deref(st.Version) != static.Version() {
			t.Fatalf("banner shown %v, documents %d, version %s: want the banner over the running build", st.BannerShow, st.Docs, deref(st.Version))
		}
		text, err := e2e.Eval[string](p, e2e.Step, `document.querySelector('[data-testid=update] button').textContent`)
		if err != nil || text != "Reload to update" {
			t.Errorf("button %q (%v)", text, err)
		}

		ctx, cancel := context.WithTimeout(p.Context(), e2e.Step)
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid=update] button`))); err != nil {
			t.Fatalf("click: %v", err)
		}
		st = pwaWait(t, p, "the reload into the next build",
			`sessionStorage.getItem('pwa:docs') === '2' && document.getElementById('app').getAttribute('data-boot') === 'ready'`)
		if deref(st.Version) != pwaNextBuild || !st.Controlled || st.BannerShow {
			t.Errorf("after the reload: version %s, controlled %v, banner shown %v", deref(st.Version), st.Controlled, st.BannerShow)
		}
		// The new worker dropped the old build's cache.
		pwaWait(t, p, "the old cache is dropped", `(function () {
  return caches.keys().then(function (k) { return k.length === 1 && k[0] === 'waxwing-`+pwaNextBuild+`'; });
})()`)
		if v := violations(t, p); len(v) != 0 {
			t.Errorf("%d CSP violations: %+v", len(v), v)
		}
	})

	t.Run("snapshot painted before the wasm", func(t *testing.T) {
		const html = `<section data-testid="inbox"><p data-testid="conversation" data-jid="alice@pwa.example">Alice &lt;3</p></section>`
		tests := []struct {
			name   string
			stored string // localStorage["waxwing:paint"] before boot.js runs
			paint  bool
			kept   bool // the key is still there afterwards
		}{
			{"saved view", e2e.JS(map[string]any{"v": 1, "html": html}), true, true},
			{"malformed JSON", `{"v":1,"html":`, false, false},
			{"no html", `{"v":1}`, false, false},
			{"another format", `{"v":2,"html":"<p>x</p>"}`, false, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := startPWAServer(t)
				s.hold()
				set := `if (location.protocol === 'http:') { localStorage.setItem('waxwing:paint', ` + e2e.JS(tt.stored) + `); }`
				p := b.NewPage(t, btCSPRecorder, pwaDocCounter, set)
				p.Navigate(t, s.origin()+"/")
				s.waitHeld(t)

				// app.wasm is on its way and held: the wasm has not run.
				st, err := e2e.Eval[pwaState](p, e2e.Step, pwaStateJS)
				if err != nil {
					t.Fatal(err)
				}
				stored, err := e2e.Eval[*string](p, e2e.Step, `localStorage.getItem('waxwing:paint')`)
				if err != nil {
					t.Fatal(err)
				}
				if deref(st.Boot) != "loading" {
					t.Fatalf("data-boot %s while app.wasm is held", deref(st.Boot))
				}
				_, marked := st.Marks["waxwing:snapshot-painted"]
				if tt.paint {
					if deref(st.Painted) != "snapshot" || st.View != html || !marked {
						t.Errorf("before the wasm: data-painted %s, mark %v, #view %q", deref(st.Painted), marked, st.View)
					}
					if st.Marks["waxwing:snapshot-painted"] > st.Marks["waxwing:wasm-fetch"] {
						t.Errorf("painted at %v ms, after the wasm fetch started at %v ms", st.Marks["waxwing:snapshot-painted"], st.Marks["waxwing:wasm-fetch"])
					}
				} else if st.Painted != nil || st.View != "" || marked {
					t.Errorf("painted %q: data-painted %s, mark %v, #view %q", tt.stored, deref(st.Painted), marked, st.View)
				}
				if (stored != nil) != tt.kept {
					t.Errorf("the saved value was kept: %v, want %v", stored != nil, tt.kept)
				}
				if _, ok := st.Marks["waxwing:boot"]; !ok {
					t.Errorf("no waxwing:boot mark: %v", st.Marks)
				}

				s.release()
				st = pwaWait(t, p, "the wasm boots", `document.getElementById('app').getAttribute('data-boot') === 'ready'`)
				run, ok := st.Marks["waxwing:wasm-run"]
				if !ok || run < st.Marks["waxwing:wasm-fetch"] {
					t.Errorf("marks %v", st.Marks)
				}
				if painted, ok := st.Marks["waxwing:snapshot-painted"]; tt.paint && (!ok || painted > run) {
					t.Errorf("snapshot painted at %v ms, the wasm ran at %v ms", painted, run)
				}
				t.Logf("marks (ms since navigation): %v", st.Marks)
				if v := violations(t, p); len(v) != 0 {
					t.Errorf("%d CSP violations: %+v", len(v), v)
				}
			})
		}
	})

	// A saved chat is painted as the app shows it: scrolled to its newest
	// message, so that it is on screen before the wasm runs.
	t.Run("saved chat scrolled to the newest message", func(t *testing.T) {
		var items strings.Builder
		for i := range 200 {
			fmt.Fprintf(&items, `<li class="msg" data-testid="message" data-id="m%d"><div class="bubble"><div class="body">message %d</div></div></li>`, i, i)
		}
		chat := `<div class="app" data-screen="chats"><div class="panes"><section class="chat-pane">` +
			`<div id="messages" class="messages" role="log" data-testid="chat"><ol id="message-list" class="items">` + items.String() +
			`</ol></div></section></div></div>`
		s := startPWAServer(t)
		s.hold()
		set := `if (location.protocol === 'http:') { localStorage.setItem('waxwing:paint', ` + e2e.JS(e2e.JS(map[string]any{"v": 1, "html": chat})) + `); }`
		p := b.NewPage(t, btCSPRecorder, pwaDocCounter, set)
		p.Navigate(t, s.origin()+"/")
		s.waitHeld(t)
		type scroll struct {
			Top, Height, Client float64
			Boot                string
		}
		got, err := e2e.Eval[scroll](p, e2e.Step, `(function () {
  var m = document.getElementById('messages');
  return {Top: m.scrollTop, Height: m.scrollHeight, Client: m.clientHeight, Boot: document.getElementById('app').getAttribute('data-boot')};
})()`)
		s.release()
		if err != nil {
			t.Fatal(err)
		}
		if got.Boot != "loading" {
			t.Fatalf("data-boot %q: the wasm was not held", got.Boot)
		}
		if got.Height <= got.Client {
			t.Fatalf("the saved chat does not scroll (scrollHeight %v, clientHeight %v): the check proves nothing", got.Height, got.Client)
		}
		if got.Top+got.Client < got.Height-1 {
			t.Errorf("painted at scrollTop %v of %v (client %v): the newest message is not on screen", got.Top, got.Height, got.Client)
		}
	})
}
