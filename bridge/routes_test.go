//go:build !js

package bridge

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
		for _, want := range []string{"default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "connect-src 'self' ws://chat.example.test/xmpp-websocket", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "'unsafe-eval'") {
			t.Errorf("CSP allows inline or eval: %q", csp)
		}
		for _, want := range []string{`data-ws-url="ws://chat.example.test/xmpp-websocket"`, `data-domain="` + testDomain + `"`, `data-version="`} {
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
}
