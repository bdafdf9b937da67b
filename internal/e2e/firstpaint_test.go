//go:build !js

package e2e

// BenchmarkFirstPaint: what a first paint is made of here, apart from any
// app's work. Each round opens, in a fresh browser with the benchmark's
// harness, a static page of one heading (with and without Waxwing's
// Cross-Origin-Opener-Policy) and Waxwing's shell (the bridge's handler in
// this process, with and without that header, and as it was before its
// inline loader: the app's scripts and stylesheet asked for by the markup),
// each from about:blank (as BenchmarkWebApp did until it got a start page)
// and from a page of another site (as it does now), in an order that turns
// between rounds.
//
//	go test -run '^$' -bench BenchmarkFirstPaint -benchtime 10x -timeout 30m ./internal/e2e/

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/waxwing-im/waxwing/bridge"
)

// withoutHeader serves h without the response header name.
type withoutHeader struct {
	h    http.Handler
	name string
}

func (x withoutHeader) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x.h.ServeHTTP(dropHeader{w, x.name}, r)
}

type dropHeader struct {
	http.ResponseWriter
	name string
}

func (d dropHeader) WriteHeader(code int) {
	d.Header().Del(d.name)
	d.ResponseWriter.WriteHeader(code)
}

func (d dropHeader) Write(b []byte) (int, error) {
	d.Header().Del(d.name)
	return d.ResponseWriter.Write(b)
}

// markupLoads serves h's shell as it was before its inline loader
// (ui.ShellScript): wasm_exec.js and boot.js deferred scripts in <head> and
// app.css linked at the end of <body>, all fetched as the markup is parsed.
// boot.js starts at once without the loader's link#app-css, as a deferred
// script that waited for the stylesheet did.
type markupLoads struct{ h http.Handler }

var (
	assetBaseRE = regexp.MustCompile(`data-asset-base="([^"]*)"`)
	inlineJSRE  = regexp.MustCompile(`(?s)<script\b[^>]*>.*?</script>`)
)

func (x markupLoads) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		x.h.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	x.h.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	m := assetBaseRE.FindSubmatch(body)
	if m == nil || !inlineJSRE.Match(body) {
		http.Error(w, "the shell has no asset base or no loader", http.StatusInternalServerError)
		return
	}
	base := string(m[1])
	body = inlineJSRE.ReplaceAll(body, nil)
	body = bytes.Replace(body, []byte("</style>"), []byte(`</style><script src="`+base+`wasm_exec.js" defer></script><script src="`+base+`boot.js" defer></script>`), 1)
	body = bytes.Replace(body, []byte("</body>"), []byte(`<link rel="stylesheet" href="`+base+`app.css"></body>`), 1)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// serveLoopback serves h on a loopback port until tb ends and returns its
// root URL.
func serveLoopback(tb testing.TB, h http.Handler) string {
	tb.Helper()
	ln := ListenLoopback(tb)
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/"
}

func BenchmarkFirstPaint(b *testing.B) {
	ChromiumPath(b)
	pages := serveBenchPages(b)
	dead, err := net.Listen("tcp", "127.0.0.1:0") // an upstream that refuses: the shell is all that is asked for
	if err != nil {
		b.Fatal(err)
	}
	upstream := dead.Addr().String()
	dead.Close()
	srv, err := bridge.New(bridge.Config{Domain: "example.org", Upstream: upstream, DataDir: b.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	type target struct{ key, name, url string }
	targets := []target{
		{"heading", "one heading", pages.Heading},
		{"heading-coop", "one heading, COOP same-origin", pages.HeadingCOOP},
		{"shell", "Waxwing shell (COOP same-origin)", serveLoopback(b, srv.Handler())},
		{"shell-nocoop", "Waxwing shell without COOP", serveLoopback(b, withoutHeader{srv.Handler(), "Cross-Origin-Opener-Policy"})},
		{"shell-markup", "Waxwing shell, app loaded by the markup (as before its loader)", serveLoopback(b, markupLoads{srv.Handler()})},
	}
	starts := []target{{"blank", "about:blank", ""}, {"xsite", "another site", pages.Start}}
	type cell struct{ page, start int }
	var cells []cell
	for p := range targets {
		for s := range starts {
			cells = append(cells, cell{p, s})
		}
	}
	fp := map[cell][]float64{}
	warmUp(b)
	round := 0
	for b.Loop() {
		b.StopTimer()
		for i := range cells {
			c := cells[(i+round)%len(cells)]
			br, pg := openCold(b, idleHarness, starts[c.start].url)
			pg.Navigate(b, targets[c.page].url)
			paint, err := paintTimes(pg)
			br.Close()
			if err != nil {
				b.Fatalf("%s from %s: %v", targets[c.page].name, starts[c.start].name, err)
			}
			fp[c] = append(fp[c], paint["first-paint"])
		}
		round++
		b.StartTimer()
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nFirst paint (ms), fresh browser per load, medians (min–max) of %d rounds\n\n| page | from about:blank | from another site |\n|---|---:|---:|\n", round)
	for p, t := range targets {
		fmt.Fprintf(&sb, "| %s |", t.name)
		for s := range starts {
			vs := slices.Clone(fp[cell{p, s}])
			sort.Float64s(vs)
			fmt.Fprintf(&sb, " %.0f (%.0f–%.0f) |", median(vs), vs[0], vs[len(vs)-1])
			b.ReportMetric(median(vs), t.key+"-from-"+starts[s].key+"-first-paint-ms")
		}
		sb.WriteString("\n")
	}
	fmt.Print(sb.String())
}
