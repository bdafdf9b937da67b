// Package static embeds the browser assets (app.css, boot.js, the web app
// manifest and its icons, and the build output in dist/: app.wasm, its
// precompressed twins and wasm_exec.js) and serves them under content-hashed,
// immutable URLs. It also holds the service worker, sw.js, which the bridge
// serves at /sw.js (ServiceWorker).
//
// Every asset URL carries the build version, {prefix}{version}/{file}, so a
// response may be cached forever (RFC 9111 max-age plus RFC 8246 immutable)
// and a new build is always fetched fresh. A request for any other version is
// answered 404: a page from an older build must never run newer code.
//
// app.wasm is served precompressed (RFC 9110 §8.4 and §12.5.3): the Makefile
// writes dist/app.wasm.br and dist/app.wasm.gz beside it, and the handler picks
// one by Accept-Encoding.
package static

import (
	"embed"
	"net/http"
	"sync"
)

//go:embed app.css boot.js manifest.webmanifest sw.js icons dist
var embedded embed.FS

// embeddedAssets indexes the embedded files once, on first use.
var embeddedAssets = sync.OnceValue(func() *assets {
	a, err := newAssets(embedded)
	if err != nil {
		// The embedded files are fixed at build time, so this is a build bug.
		panic("static: " + err.Error())
	}
	return a
})

// Version returns the content hash of the embedded assets: the first 12 hex
// digits of a SHA-256 over every served file's name and SHA-256, in name
// order. It is computed once, is the same for identical assets, and changes
// whenever any asset changes.
func Version() string { return embeddedAssets().version }

// WasmBuilt reports whether the browser program was built into dist/ before
// this binary was compiled (app.wasm and wasm_exec.js are both present).
// Without it the page shell cannot boot, and the asset handler answers 404
// for app.wasm and wasm_exec.js.
func WasmBuilt() bool { return embeddedAssets().wasmBuilt() }

// Handler serves GET and HEAD requests for {prefix}{Version()}/{file}, where
// file is app.css, boot.js, manifest.webmanifest, icons/…, app.wasm or
// wasm_exec.js. prefix is the full URL
// path prefix the handler is mounted at, with its trailing slash, such as
// "/static/"; the handler expects r.URL.Path to still carry it.
func Handler(prefix string) http.Handler { return embeddedAssets().handler(prefix) }
