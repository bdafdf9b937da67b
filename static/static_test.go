package static

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// built is a file system laid out like a package directory after make wasm.
func built() fstest.MapFS {
	return fstest.MapFS{
		"app.css":           {Data: []byte("body{}")},
		"boot.js":           {Data: []byte("'use strict';")},
		"dist/placeholder":  {Data: []byte("keeps //go:embed dist happy\n")},
		"dist/app.wasm":     {Data: []byte("\x00asm raw")},
		"dist/app.wasm.br":  {Data: []byte("brotli bytes")},
		"dist/app.wasm.gz":  {Data: []byte("gzip bytes")},
		"dist/wasm_exec.js": {Data: []byte("class Go {}")},
	}
}

// unbuilt is the same directory before the first wasm build.
func unbuilt() fstest.MapFS {
	return fstest.MapFS{
		"app.css":          {Data: []byte("body{}")},
		"boot.js":          {Data: []byte("'use strict';")},
		"dist/placeholder": {Data: []byte("keeps //go:embed dist happy\n")},
	}
}

func mustAssets(t *testing.T, fsys fstest.MapFS) *assets {
	t.Helper()
	a, err := newAssets(fsys)
	if err != nil {
		t.Fatalf("newAssets: %v", err)
	}
	return a
}

func TestVersion(t *testing.T) {
	t.Parallel()
	hex12 := regexp.MustCompile(`^[0-9a-f]{12}$`)
	base := mustAssets(t, built()).version
	if !hex12.MatchString(base) {
		t.Fatalf("version %q is not 12 lower-case hex digits", base)
	}

	tests := []struct {
		name   string
		change func(fstest.MapFS)
		same   bool
	}{
		{"rebuilt identically", func(fstest.MapFS) {}, true},
		{"placeholder changed", func(m fstest.MapFS) { m["dist/placeholder"] = &fstest.MapFile{Data: []byte("x")} }, true},
		{"css changed", func(m fstest.MapFS) { m["app.css"] = &fstest.MapFile{Data: []byte("body{ }")} }, false},
		{"wasm changed", func(m fstest.MapFS) { m["dist/app.wasm"] = &fstest.MapFile{Data: []byte("\x00asm raw2")} }, false},
		{"only a twin changed", func(m fstest.MapFS) { m["dist/app.wasm.br"] = &fstest.MapFile{Data: []byte("other")} }, false},
		{"file renamed", func(m fstest.MapFS) {
			m["dist/app2.wasm"] = m["dist/app.wasm"]
			delete(m, "dist/app.wasm")
		}, false},
		{"bytes moved between files", func(m fstest.MapFS) {
			m["app.css"] = &fstest.MapFile{Data: []byte("body{}'use")}
			m["boot.js"] = &fstest.MapFile{Data: []byte(" strict';")}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := built()
			tt.change(m)
			got := mustAssets(t, m).version
			if (got == base) != tt.same {
				t.Errorf("version %q, base %q: same = %v, want %v", got, base, got == base, tt.same)
			}
		})
	}
}

func TestWasmBuilt(t *testing.T) {
	t.Parallel()
	noExec := built()
	delete(noExec, "dist/wasm_exec.js")
	onlyTwins := unbuilt()
	onlyTwins["dist/app.wasm.br"] = &fstest.MapFile{Data: []byte("stale")}
	for _, tt := range []struct {
		name string
		fsys fstest.MapFS
		want bool
	}{
		{"built", built(), true},
		{"placeholder only", unbuilt(), false},
		{"no wasm_exec.js", noExec, false},
		{"stale twin without app.wasm", onlyTwins, false},
	} {
		if got := mustAssets(t, tt.fsys).wasmBuilt(); got != tt.want {
			t.Errorf("%s: wasmBuilt() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNewAssetsRejectsNameClash(t *testing.T) {
	t.Parallel()
	m := built()
	m["dist/app.css"] = &fstest.MapFile{Data: []byte("clash")}
	if _, err := newAssets(m); err == nil {
		t.Fatal("newAssets accepted app.css both at the top and in dist/")
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	a := mustAssets(t, built())
	u := mustAssets(t, unbuilt())
	const prefix = "/static/"
	v := "/static/" + a.version + "/"

	type want struct {
		status   int
		body     string // checked when non-empty and the method is GET
		ctype    string
		encoding string // Content-Encoding
		vary     bool
	}
	ok := func(body, ctype string) want { return want{status: 200, body: body, ctype: ctype} }
	wasm := func(body, encoding string) want {
		return want{status: 200, body: body, ctype: "application/wasm", encoding: encoding, vary: true}
	}
	tests := []struct {
		name    string
		assets  *assets
		method  string
		path    string
		accept  string // Accept-Encoding
		headers map[string]string
		want    want
	}{
		{"css", a, "GET", v + "app.css", "", nil, ok("body{}", "text/css; charset=utf-8")},
		{"boot.js", a, "GET", v + "boot.js", "", nil, ok("'use strict';", "text/javascript; charset=utf-8")},
		{"wasm_exec.js", a, "GET", v + "wasm_exec.js", "", nil, ok("class Go {}", "text/javascript; charset=utf-8")},
		{"HEAD", a, "HEAD", v + "app.css", "", nil, want{status: 200, ctype: "text/css; charset=utf-8"}},

		{"wasm without Accept-Encoding", a, "GET", v + "app.wasm", "", nil, wasm("\x00asm raw", "")},
		{"wasm chromium", a, "GET", v + "app.wasm", "gzip, deflate, br, zstd", nil, wasm("brotli bytes", "br")},
		{"wasm gzip only", a, "GET", v + "app.wasm", "gzip, deflate", nil, wasm("gzip bytes", "gzip")},
		{"wasm x-gzip", a, "GET", v + "app.wasm", "x-gzip", nil, wasm("gzip bytes", "gzip")},
		{"wasm br refused", a, "GET", v + "app.wasm", "br;q=0, gzip", nil, wasm("gzip bytes", "gzip")},
		{"wasm all refused", a, "GET", v + "app.wasm", "br;q=0, gzip;q=0", nil, wasm("\x00asm raw", "")},
		{"wasm q=0.000", a, "GET", v + "app.wasm", "br;q=0.000, gzip;Q=0.0", nil, wasm("\x00asm raw", "")},
		{"wasm higher q wins", a, "GET", v + "app.wasm", "br;q=0.5, gzip;q=0.8", nil, wasm("gzip bytes", "gzip")},
		{"wasm star", a, "GET", v + "app.wasm", "*", nil, wasm("brotli bytes", "br")},
		{"wasm star except br", a, "GET", v + "app.wasm", "*;q=1, br;q=0", nil, wasm("gzip bytes", "gzip")},
		{"wasm star refused", a, "GET", v + "app.wasm", "*;q=0", nil, wasm("\x00asm raw", "")},
		{"wasm malformed q", a, "GET", v + "app.wasm", "br;q=2, gzip;q=abc", nil, wasm("\x00asm raw", "")},
		{"wasm identity only", a, "GET", v + "app.wasm", "identity", nil, wasm("\x00asm raw", "")},
		{"wasm HEAD br", a, "HEAD", v + "app.wasm", "br", nil, want{status: 200, ctype: "application/wasm", encoding: "br", vary: true}},

		{"If-None-Match", a, "GET", v + "app.css", "", map[string]string{"If-None-Match": a.files["app.css"].identity.etag}, want{status: 304}},
		{"If-None-Match other encoding", a, "GET", v + "app.wasm", "gzip", map[string]string{"If-None-Match": a.files["app.wasm"].encoded["br"].etag}, wasm("gzip bytes", "gzip")},
		{"If-None-Match br", a, "GET", v + "app.wasm", "br", map[string]string{"If-None-Match": a.files["app.wasm"].encoded["br"].etag}, want{status: 304}},
		{"Range br", a, "GET", v + "app.wasm", "br", map[string]string{"Range": "bytes=0-5"}, want{status: 206, body: "brotli", ctype: "application/wasm", encoding: "br", vary: true}},
		{"Range", a, "GET", v + "app.css", "", map[string]string{"Range": "bytes=0-3"}, want{status: 206, body: "body", ctype: "text/css; charset=utf-8"}},

		{"wrong version", a, "GET", "/static/000000000000/app.css", "", nil, want{status: 404}},
		{"old version of unbuilt", a, "GET", "/static/" + u.version + "/app.css", "", nil, want{status: 404}},
		{"no version", a, "GET", "/static/app.css", "", nil, want{status: 404}},
		{"unknown file", a, "GET", v + "nope.js", "", nil, want{status: 404}},
		{"nested path", a, "GET", v + "dist/app.wasm", "", nil, want{status: 404}},
		{"twin not addressable", a, "GET", v + "app.wasm.br", "br", nil, want{status: 404}},
		{"placeholder not served", a, "GET", v + "placeholder", "", nil, want{status: 404}},
		{"version dir", a, "GET", v, "", nil, want{status: 404}},
		{"other prefix", a, "GET", "/assets/" + a.version + "/app.css", "", nil, want{status: 404}},
		{"POST", a, "POST", v + "app.css", "", nil, want{status: 405}},

		{"unbuilt wasm", u, "GET", "/static/" + u.version + "/app.wasm", "br", nil, want{status: 404}},
		{"unbuilt wasm_exec.js", u, "GET", "/static/" + u.version + "/wasm_exec.js", "", nil, want{status: 404}},
		{"unbuilt css", u, "GET", "/static/" + u.version + "/app.css", "", nil, ok("body{}", "text/css; charset=utf-8")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.accept != "" {
				req.Header.Set("Accept-Encoding", tt.accept)
			}
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			tt.assets.handler(prefix).ServeHTTP(rec, req)
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)
			h := res.Header

			if res.StatusCode != tt.want.status {
				t.Fatalf("status %d, want %d (body %q)", res.StatusCode, tt.want.status, body)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", h.Get("X-Content-Type-Options"))
			}
			switch tt.want.status {
			case 404:
				if cc := h.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("404 Cache-Control = %q, want no-store", cc)
				}
				return
			case 405:
				if h.Get("Allow") != "GET, HEAD" {
					t.Errorf("Allow = %q", h.Get("Allow"))
				}
				return
			}

			if cc := h.Get("Cache-Control"); cc != cacheForever {
				t.Errorf("Cache-Control = %q, want %q", cc, cacheForever)
			}
			if etag := h.Get("ETag"); !regexp.MustCompile(`^"[0-9a-f]{20}"$`).MatchString(etag) {
				t.Errorf("ETag = %q, want a quoted strong tag", etag)
			}
			if tt.want.status == 304 {
				return
			}
			if ct := h.Get("Content-Type"); ct != tt.want.ctype {
				t.Errorf("Content-Type = %q, want %q", ct, tt.want.ctype)
			}
			if ce := h.Get("Content-Encoding"); ce != tt.want.encoding {
				t.Errorf("Content-Encoding = %q, want %q", ce, tt.want.encoding)
			}
			if vary := strings.Join(h.Values("Vary"), ","); tt.want.vary != (vary == "Accept-Encoding") {
				t.Errorf("Vary = %q, want Accept-Encoding: %v", vary, tt.want.vary)
			}
			if tt.method == "HEAD" {
				if len(body) != 0 {
					t.Errorf("HEAD returned a body: %q", body)
				}
				if h.Get("Content-Length") == "" {
					t.Errorf("HEAD lacks Content-Length")
				}
			} else if tt.want.body != "" && string(body) != tt.want.body {
				t.Errorf("body %q, want %q", body, tt.want.body)
			}
			if cl := h.Get("Content-Length"); tt.method == "GET" && cl != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length = %q, body has %d bytes", cl, len(body))
			}
		})
	}
}

func TestETagsDifferPerRepresentation(t *testing.T) {
	t.Parallel()
	w := mustAssets(t, built()).files["app.wasm"]
	seen := map[string]string{w.identity.etag: "identity"}
	for c, r := range w.encoded {
		if prev, dup := seen[r.etag]; dup {
			t.Errorf("%s and %s share ETag %s", c, prev, r.etag)
		}
		seen[r.etag] = c
	}
	if len(seen) != 3 {
		t.Errorf("got %d representations of app.wasm, want 3", len(seen))
	}
}

// TestEmbedded checks the real embedded files, built or not.
func TestEmbedded(t *testing.T) {
	t.Parallel()
	if v := Version(); !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(v) || v != Version() {
		t.Fatalf("Version() = %q, not 12 stable hex digits", v)
	}
	h := Handler("/static/")
	for _, name := range []string{"app.css", "boot.js"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/static/"+Version()+"/"+name, nil))
		if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
			t.Errorf("GET %s: status %d, %d bytes", name, rec.Code, rec.Body.Len())
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/static/"+Version()+"/app.wasm", nil))
	if want := map[bool]int{true: 200, false: 404}[WasmBuilt()]; rec.Code != want {
		t.Errorf("GET app.wasm with WasmBuilt() = %v: status %d, want %d", WasmBuilt(), rec.Code, want)
	}
}
