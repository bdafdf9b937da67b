//go:build !js

package bridge

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/waxwing-im/waxwing/static"
)

func get(t *testing.T, h http.Handler, target string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestRoutes(t *testing.T) {
	srv, err := New(Config{Domain: testDomain, DataDir: t.TempDir(), TrustedProxies: []string{"198.51.100.0/24"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()

	t.Run("shell", func(t *testing.T) {
		resp := get(t, h, "http://chat.example.test/", nil)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "connect-src 'self' ws://chat.example.test/xmpp-websocket", "frame-ancestors 'none'",
			"manifest-src 'self'", "worker-src 'self'", "img-src 'self' data:"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "'unsafe-eval'") {
			t.Errorf("CSP allows inline or eval: %q", csp)
		}
		// The one inline style (the shell's, for a first paint that waits
		// for no request) and the one inline script (its loader, which
		// fetches the app once the shell has been painted) are allowed by
		// their hashes, and only they.
		for tag, directive := range map[string]string{"style": "style-src 'self'", "script": "script-src 'self' 'wasm-unsafe-eval'"} {
			_, inline, ok := strings.Cut(string(body), "<"+tag)
			if _, inline, ok = strings.Cut(inline, ">"); !ok {
				t.Errorf("the shell has no inline %s", tag)
				continue
			}
			inline, _, _ = strings.Cut(inline, "</"+tag+">")
			sum := sha256.Sum256([]byte(inline))
			if want := directive + " 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "';"; !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q, the hash of the shell's %s", csp, want, tag)
			}
		}
		if v := resp.Header.Get(HeaderVersion); v != static.Version() {
			t.Errorf("%s = %q, want %q", HeaderVersion, v, static.Version())
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("Cache-Control = %q, want no-cache", cc)
		}
		for _, want := range []string{`data-ws-url="ws://chat.example.test/xmpp-websocket"`, `data-domain="` + testDomain + `"`, `data-version="`,
			`<link rel="manifest" href="/static/` + static.Version() + `/manifest.webmanifest">`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("shell lacks %s", want)
			}
		}
	})
	t.Run("shell behind a trusted TLS proxy", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "http://chat.example.test/", nil)
		req.RemoteAddr = "198.51.100.7:4000"
		req.Header.Set("X-Forwarded-Proto", "https")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "wss://chat.example.test/xmpp-websocket") {
			t.Fatalf("CSP %q", csp)
		}
	})
	t.Run("X-Forwarded-Proto from an untrusted peer is ignored", func(t *testing.T) {
		resp := get(t, h, "http://chat.example.test/", map[string]string{"X-Forwarded-Proto": "https"})
		if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "wss://") {
			t.Fatalf("CSP %q", csp)
		}
	})
	t.Run("host-meta", func(t *testing.T) {
		resp := get(t, h, "http://chat.example.test/.well-known/host-meta", nil)
		body, _ := io.ReadAll(resp.Body)
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Content-Type"), "xrd+xml") {
			t.Fatalf("headers %v", resp.Header)
		}
		want := `<Link rel="urn:xmpp:alt-connections:websocket" href="ws://chat.example.test/xmpp-websocket"></Link>`
		if !strings.Contains(string(body), want) || !strings.Contains(string(body), `xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0"`) {
			t.Fatalf("body %s", body)
		}
	})
	t.Run("host-meta.json", func(t *testing.T) {
		resp := get(t, h, "http://chat.example.test/.well-known/host-meta.json", nil)
		var doc struct {
			Links []struct{ Rel, Href string } `json:"links"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Links) != 1 || doc.Links[0].Rel != "urn:xmpp:alt-connections:websocket" || doc.Links[0].Href != "ws://chat.example.test/xmpp-websocket" {
			t.Fatalf("links %+v", doc.Links)
		}
	})
	t.Run("healthz", func(t *testing.T) {
		resp := get(t, h, "/healthz", nil)
		var doc map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != 200 || doc["status"] != "ok" {
			t.Fatalf("status %d, %v, %v", resp.StatusCode, doc, err)
		}
	})
	t.Run("unknown path", func(t *testing.T) {
		if resp := get(t, h, "/nope", nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("public url", func(t *testing.T) {
		srv, err := New(Config{Domain: testDomain, DataDir: t.TempDir(), PublicURL: "https://chat.example.org/"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp := get(t, srv.Handler(), "http://127.0.0.1:8080/.well-known/host-meta.json", nil)
		body, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(body), "wss://chat.example.org/xmpp-websocket") {
			t.Fatalf("body %s", body)
		}
		if !srv.origins["https://chat.example.org"] {
			t.Fatalf("origins %v", srv.origins)
		}
	})
	t.Run("manifest", func(t *testing.T) {
		resp := get(t, h, "/static/"+static.Version()+"/manifest.webmanifest", nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/manifest+json" {
			t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
}

// TestServiceWorkerRoute checks /sw.js: a script at the root (so that its
// scope is the whole app), revalidated on every update check, under the
// shell's CSP, configured with this build's version and the URL of every
// asset, each of which the server serves.
func TestServiceWorkerRoute(t *testing.T) {
	srv, err := New(Config{Domain: testDomain, DataDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	resp := get(t, h, "http://chat.example.test"+PathServiceWorker, nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	shell := get(t, h, "http://chat.example.test/", nil)
	for name, want := range map[string]string{
		"Content-Type":            "text/javascript; charset=utf-8",
		"Cache-Control":           "no-cache",
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": shell.Header.Get("Content-Security-Policy"),
		HeaderVersion:             static.Version(),
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if resp.Header.Get("Service-Worker-Allowed") != "" {
		t.Errorf("Service-Worker-Allowed is set: the root scope needs none")
	}

	first, rest, _ := strings.Cut(string(body), "\n")
	obj, ok := strings.CutPrefix(first, "self.WAXWING = ")
	if !ok || !strings.HasSuffix(obj, ";") {
		t.Fatalf("first line %q does not configure the worker", first)
	}
	var cfg static.WorkerConfig
	if err := json.Unmarshal([]byte(strings.TrimSuffix(obj, ";")), &cfg); err != nil {
		t.Fatalf("first line %q: %v", first, err)
	}
	if cfg.Version != static.Version() || cfg.Base != PathStatic+static.Version()+"/" {
		t.Errorf("config %+v, want version %s under %s", cfg, static.Version(), PathStatic)
	}
	if !strings.Contains(rest, "addEventListener('fetch'") {
		t.Errorf("the script after its configuration is not sw.js")
	}
	if len(cfg.Assets) < 4 {
		t.Fatalf("only %d assets precached: %q", len(cfg.Assets), cfg.Assets)
	}
	for _, u := range cfg.Assets {
		if r := get(t, h, u, map[string]string{"Accept-Encoding": "br, gzip"}); r.StatusCode != http.StatusOK {
			t.Errorf("precached %s: status %d", u, r.StatusCode)
		}
	}

	t.Run("revalidation", func(t *testing.T) {
		r := get(t, h, PathServiceWorker, map[string]string{"If-None-Match": resp.Header.Get("ETag")})
		if r.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match %s: status %d, want 304", resp.Header.Get("ETag"), r.StatusCode)
		}
	})
	t.Run("only GET", func(t *testing.T) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, PathServiceWorker, nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("POST: status %d", rec.Code)
		}
	})
	t.Run("not under /static/", func(t *testing.T) {
		if r := get(t, h, PathStatic+static.Version()+"/sw.js", nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("status %d: a worker there would be scoped to /static/", r.StatusCode)
		}
	})
}
