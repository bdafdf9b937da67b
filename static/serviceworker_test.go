package static

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// withWorker is built() plus a service worker and an icon.
func withWorker() fstest.MapFS {
	m := built()
	m["sw.js"] = &fstest.MapFile{Data: []byte("'use strict'; // worker\n")}
	m["icons/icon-192.png"] = &fstest.MapFile{Data: []byte("\x89PNG icon")}
	return m
}

// parseWorker splits a served worker script into its configuration line
// and the rest.
func parseWorker(t *testing.T, script []byte) (WorkerConfig, string) {
	t.Helper()
	first, rest, ok := strings.Cut(string(script), "\n")
	if !ok {
		t.Fatalf("script has no line break: %q", script)
	}
	obj, ok := strings.CutPrefix(first, "self.WAXWING = ")
	if !ok {
		t.Fatalf("first line %q does not set self.WAXWING", first)
	}
	obj, ok = strings.CutSuffix(obj, ";")
	if !ok {
		t.Fatalf("first line %q does not end in ;", first)
	}
	var cfg WorkerConfig
	dec := json.NewDecoder(strings.NewReader(obj))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("first line %q: %v", first, err)
	}
	return cfg, rest
}

func TestServiceWorker(t *testing.T) {
	t.Parallel()
	a := mustAssets(t, withWorker())
	cfg, rest := parseWorker(t, a.serviceWorker("/static/"))
	if rest != "'use strict'; // worker\n" {
		t.Errorf("script after the first line = %q, want sw.js unchanged", rest)
	}
	base := "/static/" + a.version + "/"
	want := []string{
		base + "app.css", base + "app.wasm", base + "boot.js",
		base + "icons/icon-192.png", base + "wasm_exec.js",
	}
	if cfg.Version != a.version || cfg.Base != base || !slices.Equal(cfg.Assets, want) {
		t.Errorf("config %+v\nwant version %s, base %s, assets %q", cfg, a.version, base, want)
	}
	for _, u := range cfg.Assets {
		if strings.HasSuffix(u, "sw.js") || strings.HasSuffix(u, ".br") || strings.HasSuffix(u, ".gz") || strings.HasSuffix(u, placeholder) {
			t.Errorf("asset list holds %s, which is not a served asset", u)
		}
	}
}

func TestServiceWorkerIsNotAnAsset(t *testing.T) {
	t.Parallel()
	a := mustAssets(t, withWorker())
	if _, ok := a.files[workerFile]; ok {
		t.Fatalf("sw.js is served under /static/<version>/: its scope would be that directory")
	}
}

func TestServiceWorkerChangesTheVersion(t *testing.T) {
	t.Parallel()
	base := mustAssets(t, withWorker()).version
	m := withWorker()
	m["sw.js"] = &fstest.MapFile{Data: []byte("'use strict'; // worker 2\n")}
	if v := mustAssets(t, m).version; v == base {
		t.Errorf("a new sw.js kept version %s: its cache would not be renewed", v)
	}
	m = withWorker()
	delete(m, "sw.js")
	if v := mustAssets(t, m).version; v == base {
		t.Errorf("removing sw.js kept version %s", v)
	}
}

func TestServiceWorkerAbsent(t *testing.T) {
	t.Parallel()
	if b := mustAssets(t, built()).serviceWorker("/static/"); b != nil {
		t.Errorf("serviceWorker without sw.js = %q, want nil", b)
	}
}

func TestServiceWorkerHostileNames(t *testing.T) {
	t.Parallel()
	m := withWorker()
	m["icons/a<script>\u2028b.png"] = &fstest.MapFile{Data: []byte("x")}
	script := mustAssets(t, m).serviceWorker("/static/")
	first, _, _ := strings.Cut(string(script), "\n")
	for _, bad := range []string{"<script>", "\u2028"} {
		if strings.Contains(first, bad) {
			t.Errorf("configuration line carries %q raw: %q", bad, first)
		}
	}
	cfg, _ := parseWorker(t, script)
	if !slices.ContainsFunc(cfg.Assets, func(u string) bool { return strings.HasSuffix(u, "icons/a<script>\u2028b.png") }) {
		t.Errorf("the escaped name does not round-trip: %q", cfg.Assets)
	}
}

// TestEmbeddedServiceWorker checks the real sw.js and its configuration.
func TestEmbeddedServiceWorker(t *testing.T) {
	t.Parallel()
	cfg, rest := parseWorker(t, ServiceWorker("/static/"))
	if cfg.Version != Version() || cfg.Base != "/static/"+Version()+"/" {
		t.Errorf("config %+v, version %s", cfg, Version())
	}
	if w := Worker("/static/"); !slices.Equal(w.Assets, cfg.Assets) {
		t.Errorf("Worker assets %q, script's %q", w.Assets, cfg.Assets)
	}
	for _, name := range []string{"app.css", "boot.js", "manifest.webmanifest", "icons/icon-192.png", "icons/maskable-512.png"} {
		if !slices.Contains(cfg.Assets, cfg.Base+name) {
			t.Errorf("the worker does not precache %s: %q", name, cfg.Assets)
		}
	}
	if built := WasmBuilt(); built != slices.Contains(cfg.Assets, cfg.Base+"app.wasm") {
		t.Errorf("WasmBuilt() = %v, but app.wasm precached = %v", built, !built)
	}
	for _, want := range []string{"addEventListener('install'", "addEventListener('activate'", "addEventListener('fetch'", "skip-waiting", "X-Waxwing-Version"} {
		if !strings.Contains(rest, want) {
			t.Errorf("sw.js lacks %q", want)
		}
	}
	if strings.Contains(rest, "eval(") || strings.Contains(rest, "new Function") {
		t.Errorf("sw.js evaluates strings")
	}
}
