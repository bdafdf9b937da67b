//go:build !js

package e2e

// Converse.js, the anchor of the web app benchmark: installed from npm into
// a cache directory outside the repository, served by a local HTTP server
// with a small index page, and driven through the same in-page harness as
// Waxwing.

import (
	"fmt"
	"html/template"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ConverseVersion is the Converse.js release measured as the anchor.
const ConverseVersion = "14.0.0"

// cacheDir is $WAXWING_BENCH_CACHE, or waxwing-bench under the user cache
// directory ($XDG_CACHE_HOME or ~/.cache).
func cacheDir() (string, error) {
	if d := os.Getenv("WAXWING_BENCH_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (set WAXWING_BENCH_CACHE): %w", err)
	}
	return filepath.Join(d, "waxwing-bench"), nil
}

// converseDist returns the dist directory of Converse.js ConverseVersion,
// installing the npm package into the cache directory when it is not there
// yet. Without npm it skips tb (fails under CI).
func converseDist(tb testing.TB) string {
	tb.Helper()
	root, err := cacheDir()
	if err != nil {
		tb.Fatal(err)
	}
	prefix := filepath.Join(root, "converse-"+ConverseVersion)
	dist := filepath.Join(prefix, "node_modules", "converse.js", "dist")
	if _, err := os.Stat(filepath.Join(dist, "converse.min.js")); err == nil {
		return dist
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		Missing(tb, "the Converse.js anchor needs npm to install converse.js@"+ConverseVersion+": apt-get install npm")
	}
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		tb.Fatal(err)
	}
	t0 := time.Now()
	// --ignore-scripts: the package's dist is all that is served; no
	// install script of it or its dependencies runs here.
	cmd := exec.Command(npm, "install", "--prefix", prefix, "--no-audit", "--no-fund", "--ignore-scripts",
		"--omit=dev", "--no-save", "converse.js@"+ConverseVersion)
	cmd.Dir = prefix
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("npm install converse.js@%s into %s: %v\n%s", ConverseVersion, prefix, err, out)
	}
	if _, err := os.Stat(filepath.Join(dist, "converse.min.js")); err != nil {
		tb.Fatalf("npm installed converse.js@%s, but %v", ConverseVersion, err)
	}
	tb.Logf("installed converse.js@%s into %s in %v", ConverseVersion, prefix, time.Since(t0).Round(time.Millisecond))
	return dist
}

// converseIndex is the page that starts Converse: fullscreen, connecting to
// the given WebSocket, with XEP-0156 discovery off (the URL is given), MAM
// on, the login form shown (no auto_login: the harness logs in as a person
// would) and Converse's defaults otherwise — IndexedDB cache and
// reuse_scram_keys, with which a reload logs in again without the password.
var converseIndex = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Converse.js {{.Version}}</title>
<link rel="stylesheet" href="/dist/converse.min.css">
<script type="module" src="/dist/converse.min.js"></script>
<script type="module" src="/init.js"></script>
</head>
<body class="converse-fullscreen">
</body>
</html>
`))

// converseInit is init.js: the settings, as a separate script so that the
// page works under a CSP without 'unsafe-inline'. Converse 14's bundle is an
// ES module that also sets window.converse; module scripts run in document
// order, so it has run when this one does.
func converseInit(wsURL, domain string) string {
	return `window.converse.initialize(` + JS(map[string]any{
		"assets_path":                 "/dist/",
		"websocket_url":               wsURL,
		"discover_connection_methods": false,
		"view_mode":                   "fullscreen",
		"default_domain":              domain,
		"auto_login":                  false,
		"message_archiving":           "always",
		"i18n":                        "en",
		"loglevel":                    "warn",
		"play_sounds":                 false,
		"show_desktop_notifications":  false,
		"auto_away":                   0,
		"auto_xa":                     0,
		"allow_logout":                true,
	}) + ");\n"
}

// serveConverse serves Converse's dist under /dist/, the index page at / and
// its settings at /init.js on ln (from ListenLoopback) until tb ends, and
// returns the page's URL. Files are served as they are, uncompressed, with
// Last-Modified (a reload revalidates them).
func serveConverse(tb testing.TB, ln net.Listener, dist, wsURL, domain string) string {
	tb.Helper()
	var index strings.Builder
	if err := converseIndex.Execute(&index, map[string]string{"Version": ConverseVersion}); err != nil {
		tb.Fatal(err)
	}
	init := converseInit(wsURL, domain)
	mux := http.NewServeMux()
	mux.Handle("GET /dist/", http.StripPrefix("/dist/", http.FileServer(http.Dir(dist))))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		fmt.Fprint(w, index.String())
	})
	mux.HandleFunc("GET /init.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		fmt.Fprint(w, init)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/"
}

// converseApp describes Converse.js 14's DOM to the harness: the login form
// of the control box, the roster entry of the peer, its chat and the message
// texts in it (Converse renders into the light DOM).
func converseApp(url string) appSpec {
	return appSpec{
		Name:          "converse",
		URL:           url,
		LoginForm:     "form#converse-login",
		JIDInput:      "input[name=jid]",
		PasswordInput: "input[name=password]",
		Row:           func(peer string) string { return `converse-roster a.open-chat[data-jid="` + peer + `"]` },
		Chat:          func(peer string) string { return `converse-chat[jid="` + peer + `"]` },
		Message: func(peer string) string {
			return `converse-chat[jid="` + peer + `"] converse-chat-message .chat-msg__text`
		},
	}
}
