//go:build !js

package e2e

// BenchmarkWebApp: issue 5's benchmark. Waxwing's web app and Converse.js
// (the anchor) in the same run, in the same headless Chromium, against the
// same Prosody, each through the same `waxwing serve`, in the same scenario:
//
//   - an account whose archive holds 1,000 messages with one contact (real
//     sends between two native sessions, so Prosody archived them);
//   - cold: a fresh browser profile, on an empty page of another site (as
//     a person comes from another site or a new tab), opens the app; the
//     in-page harness (testdata/harness.js) types the login as soon as the
//     form shows and opens the contact's chat as soon as its row shows;
//   - reload: the same tab is reloaded (profile, cache and storage kept);
//   - burst: the contact, a native session, sends 200 messages as fast as it
//     can into the open chat.
//
// Every time is measured in the page (animation frames after DOM changes,
// performance.now since the navigation started), never by sleeping. Each
// round uses new accounts for each app, so every round starts from the same
// state, and the order of the apps alternates between rounds. Between the
// two apps, each round measures the anchor: the first paint of a static
// page of one heading, opened the same way.
//
//	go test -run '^$' -bench BenchmarkWebApp -benchtime 3x -timeout 30m ./internal/e2e/
//
// WAXWING_BENCH_APPS=converse (or waxwing) measures one app alone.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/internal/xmppd/xmppdtest"
)

//go:embed testdata/harness.js
var harnessJS string

const (
	benchArchive = 1000 // messages in the archive before the app opens
	benchBurst   = 200  // messages the contact sends into the open chat

	coldTimeout   = 90 * time.Second  // navigation → latest message visible
	reloadTimeout = 60 * time.Second  // reload → latest message visible
	burstTimeout  = 180 * time.Second // first send → all shown
)

// appSpec describes a web app's DOM to the in-page harness.
type appSpec struct {
	Name string
	URL  string // the page to open
	// LoginForm is the login form; JIDInput and PasswordInput are its
	// inputs, looked up inside it.
	LoginForm, JIDInput, PasswordInput string
	// Fatal, if not "", is an element that means the app failed to start.
	Fatal string
	// Row, Chat and Message give, for the contact's bare JID, its row in
	// the list, its open chat, and the message elements (or their text)
	// inside that chat.
	Row, Chat, Message func(peer string) string
}

// waxwingApp describes Waxwing's app through its DOM contract
// (wasm/ui/views.go).
func waxwingApp(url string) appSpec {
	return appSpec{
		Name:          "waxwing",
		URL:           url,
		Fatal:         "#app[data-boot=failed]", // static/boot.js
		LoginForm:     "[data-testid=login]",
		JIDInput:      "input[name=jid]",
		PasswordInput: "input[name=password]",
		Row:           func(peer string) string { return `[data-testid=conversation][data-jid="` + peer + `"]` },
		Chat:          func(peer string) string { return `[data-testid=chat][data-jid="` + peer + `"]` },
		Message: func(peer string) string {
			return `[data-testid=chat][data-jid="` + peer + `"] [data-testid=message]`
		},
	}
}

// harness returns the script injected into every document of the app's
// tab: the harness with its configuration for this pair of accounts.
func (a appSpec) harness(p *benchPair) string {
	peer := p.peerJID.String()
	cfg := map[string]any{
		"login": map[string]string{
			"form": a.LoginForm, "jid": a.JIDInput, "password": a.PasswordInput,
			"user": p.readerJID.String(), "pass": p.pass,
		},
		"row":     a.Row(peer),
		"chat":    a.Chat(peer),
		"message": a.Message(peer),
		"latest":  p.latest,
		"fatal":   a.Fatal,
	}
	return "window.__benchConfig = " + JS(cfg) + ";\n" + harnessJS
}

// benchPair is the two accounts of one app in one round: the reader (who
// logs in in the browser) and the contact (a native session).
type benchPair struct {
	tag                string // unique in the run
	readerJID, peerJID jid.JID
	pass               string
	latest             string // text only the latest archived message holds
	peer               *nativeClient
}

// sample is what one round measured of one app. Times are ms: since the
// navigation started (cold, reload) or since the burst's first send.
type sample struct {
	FirstPaint, FCP, LoginForm, Latest float64
	ReloadFirstPaint, ReloadLatest     float64
	ReloadShowedLogin                  bool
	BurstFirst, Burst                  float64
	Cold, Reload                       download
}

// download is what the page fetched over HTTP.
type download struct {
	Requests int // that fetched a body (not from the cache, not 304)
	// Wire: bytes received for the requests, headers included, as sent
	// (CDP encodedDataLength); Decoded: the bodies after Content-Encoding
	// was removed (CDP dataLength).
	Wire, Decoded int64
	// Raw, Gzip, Brotli: the same bodies fetched again uncompressed and
	// compressed here with gzip -9 and brotli -q 11, each body on its own.
	Raw, Gzip, Brotli int64
	Pending           int   // requests still unfinished when counted
	WebSocketIn       int64 // WebSocket payload bytes received (not in Wire)
}

func randomID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// benchEnv is the shared setup: Prosody, waxwing serve, the Converse page.
type benchEnv struct {
	srv    *xmppd.Server
	serve  *serve
	apps   []appSpec
	sizes  *bodySizes
	listed map[string]bool // apps whose cold requests were logged
	pages  benchPages
}

// benchPages are the two pages the benchmark serves itself.
type benchPages struct {
	// Start is where each cold tab is before it opens an app: an empty
	// page of another site (localhost, while the apps are on 127.0.0.1),
	// so that every app is opened as a person opens it from another site
	// or a new tab: by a cross-site navigation, into a renderer process of
	// its own. A tab left on about:blank handed its process to a page
	// without Cross-Origin-Opener-Policy, which saved that page a process
	// (Converse), while a page with it (Waxwing's same-origin) had to wait
	// for another one once its response had arrived.
	Start string
	// Heading is the anchor: a static page of one heading, on the apps'
	// site, whose first paint is what this browser, machine and load allow
	// any page. HeadingCOOP is the same page with Waxwing's
	// Cross-Origin-Opener-Policy (BenchmarkFirstPaint).
	Heading, HeadingCOOP string
}

// serveBenchPages serves the start page and the one-heading page until tb
// ends.
func serveBenchPages(tb testing.TB) benchPages {
	tb.Helper()
	page := func(html, coop string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			if coop != "" {
				w.Header().Set("Cross-Origin-Opener-Policy", coop)
			}
			fmt.Fprint(w, html)
		}
	}
	const heading = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Heading</title></head><body><h1>Waxwing</h1></body></html>`
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", page(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Start</title></head><body></body></html>`, ""))
	mux.HandleFunc("GET /heading", page(heading, ""))
	mux.HandleFunc("GET /heading-coop", page(heading, "same-origin"))
	ln := ListenLoopback(tb)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	return benchPages{
		Start:       fmt.Sprintf("http://localhost:%d/", port),
		Heading:     fmt.Sprintf("http://127.0.0.1:%d/heading", port),
		HeadingCOOP: fmt.Sprintf("http://127.0.0.1:%d/heading-coop", port),
	}
}

// openCold starts a fresh browser (a new profile: cold) and opens a tab
// with the harness script on start ("": about:blank), ready for a cold
// navigation; nothing the start page fetched is counted.
func openCold(tb testing.TB, harness, start string) (*Browser, *Page) {
	tb.Helper()
	br := Launch(tb, LaunchOptions{})
	pg := br.NewPage(tb, harness)
	if start != "" {
		pg.Navigate(tb, start)
		pg.ResetNetwork()
	}
	return br, pg
}

// idleHarness is the harness with nothing to find: on a page that is no
// app it costs what it costs an app until the app's elements show.
var idleHarness = "window.__benchConfig = " + JS(map[string]any{"row": "#none", "chat": "#none", "message": "#none", "latest": "none"}) + ";\n" + harnessJS

// paintTimes waits until the page has had its first contentful paint and
// returns its Paint Timing entries (first-paint, first-contentful-paint).
func paintTimes(pg *Page) (map[string]float64, error) {
	return Eval[map[string]float64](pg, Step, `new Promise(resolve => {
		const done = () => { const p = window.__bench.paint(); if (p['first-contentful-paint'] !== undefined) { resolve(p); return true; } return false; };
		if (!done()) { new PerformanceObserver(() => done()).observe({type: 'paint'}); }
	})`)
}

// anchor measures the first paint of the one-heading page as measure does
// an app's: a fresh browser, the harness (finding nothing to do), the same
// start page.
func (e *benchEnv) anchor(b *testing.B) (sample, error) {
	var s sample
	br, pg := openCold(b, idleHarness, e.pages.Start)
	defer br.Close()
	pg.Navigate(b, e.pages.Heading)
	paint, err := paintTimes(pg)
	if err != nil {
		return s, fmt.Errorf("the one-heading page's first paint: %w", err)
	}
	s.FirstPaint, s.FCP = paint["first-paint"], paint["first-contentful-paint"]
	return s, nil
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	ChromiumPath(b)
	want := strings.Split(os.Getenv("WAXWING_BENCH_APPS"), ",")
	if os.Getenv("WAXWING_BENCH_APPS") == "" {
		want = []string{"waxwing", "converse"}
	}
	for _, w := range want {
		if w != "waxwing" && w != "converse" {
			b.Fatalf("WAXWING_BENCH_APPS=%q: the apps are waxwing and converse", os.Getenv("WAXWING_BENCH_APPS"))
		}
	}
	e := &benchEnv{sizes: &bodySizes{m: map[string]bodySize{}}, listed: map[string]bool{}}
	e.srv = xmppdtest.Start(b, xmppd.Prosody, xmppd.Options{Logf: func(string, ...any) {}})
	var dist string
	if slices.Contains(want, "converse") {
		dist = converseDist(b)
	}
	converseLn := ListenLoopback(b)
	e.serve = startServe(b, e.srv, "http://"+converseLn.Addr().String())
	for _, w := range want {
		switch w {
		case "waxwing":
			e.apps = append(e.apps, waxwingApp(e.serve.URL))
		case "converse":
			e.apps = append(e.apps, converseApp(serveConverse(b, converseLn, dist, e.serve.WSURL, e.srv.Domain)))
		}
	}
	e.pages = serveBenchPages(b)
	warmUp(b)
	return e
}

// warmUp starts Chromium once and opens a blank page before anything is
// measured: the first browser of a run reads its files from a cold disk
// cache, which made whichever app came first in round 1 slower at
// everything (Waxwing's first paint 564 ms there, 112–212 ms after).
func warmUp(b *testing.B) {
	b.Helper()
	br := Launch(b, LaunchOptions{})
	defer br.Close()
	br.NewPage(b).Navigate(b, "about:blank")
}

// pair registers and seeds the accounts of app for one round: the reader's
// archive holds benchArchive messages with the contact, whose native
// session stays online for the burst.
func (e *benchEnv) pair(b *testing.B, app string, round int) (*benchPair, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tag := fmt.Sprintf("%s%d-%s", app[:1], round, randomID())
	p := &benchPair{tag: tag, pass: "pw-" + randomID(), latest: "latest-" + tag}
	users := [2]string{fmt.Sprintf("%s-r%d-reader", app, round), fmt.Sprintf("%s-r%d-contact", app, round)}
	for _, u := range users {
		if err := e.srv.Register(ctx, u, p.pass); err != nil {
			return nil, err
		}
	}
	reader, err := dialNative(ctx, e.srv, users[0], p.pass)
	if err != nil {
		return nil, err
	}
	defer reader.close()
	if p.peer, err = dialNative(ctx, e.srv, users[1], p.pass); err != nil {
		return nil, err
	}
	b.Cleanup(p.peer.close)
	p.readerJID, p.peerJID = reader.addr.Bare(), p.peer.addr.Bare()
	prefix := "seed " + tag
	body := func(i int) string {
		s := fmt.Sprintf("%s %04d: archived message %d of %d", prefix, i+1, i+1, benchArchive)
		if i == benchArchive-1 {
			s += " " + p.latest
		}
		return s
	}
	t0 := time.Now()
	if err := seedHistory(ctx, reader, p.peer, benchArchive, body, prefix); err != nil {
		return nil, fmt.Errorf("seeding %s: %w", users[0], err)
	}
	b.Logf("%s: %d messages archived with %s in %v", p.readerJID, benchArchive, p.peerJID, time.Since(t0).Round(time.Millisecond))
	return p, nil
}

// marks is what the harness reports.
type marks struct {
	Marks map[string]float64 `json:"marks"`
	Paint map[string]float64 `json:"paint"`
}

// waitMark waits until the harness has set the mark name and returns all
// marks and paint timings of the document.
func waitMark(p *Page, name string, d time.Duration) (marks, error) {
	expr := fmt.Sprintf("window.__bench.when(%s, %d).then(() => ({marks: window.__bench.marks, paint: window.__bench.paint()}))",
		JS(name), d.Milliseconds())
	return Eval[marks](p, d+Step, expr)
}

// measure runs one round of the scenario for app with the accounts of p.
func (e *benchEnv) measure(b *testing.B, app appSpec, p *benchPair) (sample, error) {
	var s sample
	if app.Name == "waxwing" && !e.serve.WasmBuilt {
		return s, errors.New("waxwing serve has no browser program (static/dist/app.wasm was not built): run make build")
	}
	br, pg := openCold(b, app.harness(p), e.pages.Start)
	defer br.Close()
	fail := func(what string, err error) (sample, error) {
		pg.SaveScreenshot(b, "bench-"+app.Name+"-"+strings.Join(strings.FieldsFunc(what, func(r rune) bool {
			return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
		}), "-"))
		return s, fmt.Errorf("%s, %s: %w\nconsole:\n%s", app.Name, what, err, tailLines(pg.Console(), 30))
	}

	pg.Navigate(b, app.URL)
	m, err := waitMark(pg, "latest", coldTimeout)
	if err != nil {
		return fail("cold navigation → latest message", err)
	}
	s.FirstPaint, s.FCP = m.Paint["first-paint"], m.Paint["first-contentful-paint"]
	s.LoginForm, s.Latest = m.Marks["login"], m.Marks["latest"]
	if s.Cold, err = e.download(pg); err != nil {
		return s, err
	}
	if !e.listed[app.Name] {
		e.listed[app.Name] = true
		b.Logf("%s: cold navigation fetched:\n%s", app.Name, listRequests(pg.Requests()))
	}

	// A person who reloads does not type the password again: if the app
	// shows the login form on the way back, that is noted, not filled.
	pg.AddOnNewDocument(b, "if (window.__benchConfig) { window.__benchConfig.login.user = ''; }")
	pg.ResetNetwork()
	pg.Reload(b)
	if m, err = waitMark(pg, "latest", reloadTimeout); err != nil {
		return fail("reload → latest message", err)
	}
	s.ReloadFirstPaint, s.ReloadLatest = m.Paint["first-paint"], m.Marks["latest"]
	_, s.ReloadShowedLogin = m.Marks["login"]
	if s.Reload, err = e.download(pg); err != nil {
		return s, err
	}

	prefix := "burst " + p.tag + " #"
	start, err := Eval[float64](pg, Step, fmt.Sprintf("window.__bench.burst('burst', %s, %d)", JS(prefix), benchBurst))
	if err != nil {
		return fail("starting the burst", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Step)
	defer cancel()
	for i := 1; i <= benchBurst; i++ {
		body := fmt.Sprintf("%s%03d of %d", prefix, i, benchBurst)
		if err := p.peer.send(ctx, p.readerJID, fmt.Sprintf("burst-%s-%d", p.tag, i), body); err != nil {
			return s, fmt.Errorf("%s: burst message %d: %w", app.Name, i, err)
		}
	}
	if m, err = waitMark(pg, "burst", burstTimeout); err != nil {
		return fail("200-message burst", err)
	}
	s.BurstFirst, s.Burst = m.Marks["burst-first"]-start, m.Marks["burst"]-start
	return s, nil
}

// download counts what the page fetched over HTTP since the network log
// was last reset, once the network has been idle for 2 s (at most 30 s):
// what an app loads right after showing the chat (Converse: emoji data,
// OMEMO library and its wasm) is part of its download.
func (e *benchEnv) download(pg *Page) (download, error) {
	var d download
	d.Pending = len(pg.WaitNetworkIdle(2*time.Second, 30*time.Second))
	d.WebSocketIn = pg.WebSocketBytesIn()
	for _, r := range pg.Requests() {
		if !strings.HasPrefix(r.URL, "http") || !r.Finished || r.Failed != "" {
			continue
		}
		d.Wire += r.Wire
		d.Decoded += r.Decoded
		if r.FromCache || r.Status == http.StatusNotModified {
			continue // no body crossed the wire
		}
		d.Requests++
		sz, err := e.sizes.of(r.URL)
		if err != nil {
			return d, err
		}
		d.Raw += sz.raw
		d.Gzip += sz.gzip
		d.Brotli += sz.brotli
	}
	return d, nil
}

// listRequests renders requests one per line: status, bytes on the wire,
// decoded bytes, encoding, URL (or the error).
func listRequests(reqs []Request) string {
	var lines []string
	for _, r := range reqs {
		status := fmt.Sprint(r.Status)
		if r.Failed != "" {
			status = r.Failed
		} else if r.FromCache {
			status += " (cache)"
		}
		lines = append(lines, fmt.Sprintf("%-8s wire %9d  decoded %9d  %-4s %.120s", status, r.Wire, r.Decoded, r.Encoding, r.URL))
	}
	var sb strings.Builder
	for i := 0; i < len(lines); {
		j := i + 1
		for j < len(lines) && lines[j] == lines[i] {
			j++
		}
		fmt.Fprintf(&sb, "  %s", lines[i])
		if j-i > 1 {
			fmt.Fprintf(&sb, "  (×%d)", j-i)
		}
		sb.WriteString("\n")
		i = j
	}
	return sb.String()
}

// bodySize is one response body's size, raw and compressed offline.
type bodySize struct{ raw, gzip, brotli int64 }

// bodySizes fetches response bodies again, uncompressed, and compresses
// each with gzip -9 and brotli -q 11, once per URL and content.
type bodySizes struct {
	mu sync.Mutex
	m  map[string]bodySize // by URL and by content hash
}

func (c *bodySizes) of(url string) (bodySize, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[url]; ok {
		return s, nil
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return bodySize{}, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return bodySize{}, fmt.Errorf("fetching %s again: %w", url, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return bodySize{}, fmt.Errorf("fetching %s again: %w", url, err)
	}
	sum := sha256.Sum256(body)
	key := "sha256:" + hex.EncodeToString(sum[:])
	s, ok := c.m[key]
	if !ok {
		s.raw = int64(len(body))
		if s.gzip, err = compressedSize(body, "gzip", "-9", "-n", "-c"); err != nil {
			return s, err
		}
		if s.brotli, err = compressedSize(body, "brotli", "-q", "11", "-c"); err != nil {
			return s, err
		}
		c.m[key] = s
	}
	c.m[url] = s
	return s, nil
}

// compressedSize runs a compressor that reads stdin and writes stdout.
func compressedSize(body []byte, name string, args ...string) (int64, error) {
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(body)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s %s: %v %s (apt-get install gzip brotli)", name, strings.Join(args, " "), err, stderr.String())
	}
	return int64(out.Len()), nil
}

// BenchmarkWebApp measures Waxwing's web app beside Converse.js; see the
// top of this file. Each iteration is one round of both apps.
func BenchmarkWebApp(b *testing.B) {
	e := newBenchEnv(b)
	samples := map[string][]sample{}
	failed := map[string]error{}
	round := 0
	for b.Loop() {
		round++
		b.StopTimer()
		order := slices.Clone(e.apps)
		if round%2 == 0 {
			slices.Reverse(order)
		}
		pairs := map[string]*benchPair{}
		for _, app := range order {
			if failed[app.Name] != nil {
				continue
			}
			p, err := e.pair(b, app.Name, round)
			if err != nil {
				b.Fatal(err)
			}
			pairs[app.Name] = p
		}
		b.StartTimer()
		for i, app := range order {
			if i == 1 || len(order) == 1 {
				// The anchor, between the apps: as near to each in time.
				s, err := e.anchor(b)
				if err != nil {
					b.Fatal(err)
				}
				samples[anchorName] = append(samples[anchorName], s)
				fmt.Printf("round %d %-8s FP %.0f ms, FCP %.0f ms\n", round, anchorName, s.FirstPaint, s.FCP)
			}
			if failed[app.Name] != nil {
				continue
			}
			s, err := e.measure(b, app, pairs[app.Name])
			if err != nil {
				failed[app.Name] = err
				b.Logf("round %d: %v", round, err)
				continue
			}
			samples[app.Name] = append(samples[app.Name], s)
			fmt.Printf("round %d %-8s %s\n", round, app.Name, s)
		}
	}
	rows := summarize(samples)
	for _, r := range rows {
		for _, app := range []string{"waxwing", "converse"} {
			if v, ok := r.median[app]; ok {
				b.ReportMetric(v, app+"-"+r.unit)
			}
		}
		if ratio, ok := r.ratio(); ok {
			b.ReportMetric(ratio, "ratio-"+r.unit)
		}
	}
	if v, ok := firstPaintRow(rows).median[anchorName]; ok {
		b.ReportMetric(v, anchorName+"-first-paint-ms")
	}
	fmt.Print(formatTable(rows, len(samples["waxwing"]), len(samples["converse"])))
	fmt.Print(formatAnchor(rows, len(samples[anchorName])))
	for _, app := range e.apps {
		if err := failed[app.Name]; err != nil {
			b.Errorf("%s could not be measured: %v", app.Name, err)
		}
	}
}

func (s sample) String() string {
	return fmt.Sprintf("FP %.0f ms, FCP %.0f ms, login form %.0f ms, cold→latest %.0f ms, reload→latest %.0f ms (login form shown: %v), "+
		"burst first %.0f ms, all %d %.0f ms; cold download %d requests, wire %.1f KiB, raw %.1f KiB, gzip %.1f KiB, brotli %.1f KiB, WebSocket in %.1f KiB; reload wire %.1f KiB",
		s.FirstPaint, s.FCP, s.LoginForm, s.Latest, s.ReloadLatest, s.ReloadShowedLogin, s.BurstFirst, benchBurst, s.Burst,
		s.Cold.Requests, kib(s.Cold.Wire), kib(s.Cold.Raw), kib(s.Cold.Gzip), kib(s.Cold.Brotli), kib(s.Cold.WebSocketIn), kib(s.Reload.Wire))
}

func kib(n int64) float64 { return float64(n) / 1024 }

// metric is one row of the comparison: how to read it from a sample.
type metric struct {
	name string // for people
	unit string // for b.ReportMetric (the app's name is put before it)
	get  func(sample) float64
}

var metrics = []metric{
	{"download, wire (as served)", "download-wire-KiB", func(s sample) float64 { return kib(s.Cold.Wire) }},
	{"download, raw (decoded)", "download-raw-KiB", func(s sample) float64 { return kib(s.Cold.Raw) }},
	{"download, gzip -9", "download-gzip-KiB", func(s sample) float64 { return kib(s.Cold.Gzip) }},
	{"download, brotli -q 11", "download-brotli-KiB", func(s sample) float64 { return kib(s.Cold.Brotli) }},
	{"navigation → first paint", "first-paint-ms", func(s sample) float64 { return s.FirstPaint }},
	{"navigation → first contentful paint", "fcp-ms", func(s sample) float64 { return s.FCP }},
	{"navigation → login form", "login-form-ms", func(s sample) float64 { return s.LoginForm }},
	{"cold navigation → latest message", "cold-latest-ms", func(s sample) float64 { return s.Latest }},
	{"reload → latest message", "reload-latest-ms", func(s sample) float64 { return s.ReloadLatest }},
	{"200-message burst → all shown", "burst-ms", func(s sample) float64 { return s.Burst }},
}

// row is one metric summarised over the rounds, per app.
type row struct {
	metric
	median, min, max map[string]float64
}

// ratio is Waxwing's median over Converse's.
func (r row) ratio() (float64, bool) {
	w, okw := r.median["waxwing"]
	c, okc := r.median["converse"]
	if !okw || !okc || c == 0 {
		return 0, false
	}
	return w / c, true
}

// summarize returns, for every metric, the median, min and max of each app's
// samples.
func summarize(samples map[string][]sample) []row {
	var rows []row
	for _, m := range metrics {
		r := row{metric: m, median: map[string]float64{}, min: map[string]float64{}, max: map[string]float64{}}
		for app, ss := range samples {
			if len(ss) == 0 {
				continue
			}
			vs := make([]float64, len(ss))
			for i, s := range ss {
				vs[i] = m.get(s)
			}
			sort.Float64s(vs)
			r.median[app], r.min[app], r.max[app] = median(vs), vs[0], vs[len(vs)-1]
		}
		rows = append(rows, r)
	}
	return rows
}

// median of sorted values.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// Issue 5's targets for the web app.
const (
	targetReloadRatio     = 0.4     // reload → latest visible ≤ 0.4 × Converse
	targetFirstPaintRatio = 0.2     // first paint ≤ 0.2 × Converse
	targetBurstRatio      = 0.1     // burst → all shown ≤ 0.1 × Converse
	targetDownloadBytes   = 2 << 20 // compressed download ≤ 2 MiB
)

// verdict says whether a row meets its target and why; ok is false and
// reason "" for rows without a target or without both figures.
func verdict(r row) (ok bool, reason string) {
	ratio, both := r.ratio()
	check := func(limit float64, what string) (bool, string) {
		if !both {
			return false, ""
		}
		if ratio <= limit {
			return true, fmt.Sprintf("met: %.2f× ≤ %.1f× Converse", ratio, limit)
		}
		return false, fmt.Sprintf("missed: %.2f× > %.1f× Converse (%s)", ratio, limit, what)
	}
	switch r.unit {
	case "reload-latest-ms":
		return check(targetReloadRatio, "reload")
	case "first-paint-ms":
		return check(targetFirstPaintRatio, "first paint")
	case "burst-ms":
		return check(targetBurstRatio, "burst")
	case "download-wire-KiB":
		w, ok := r.median["waxwing"]
		if !ok {
			return false, ""
		}
		limit := float64(targetDownloadBytes) / 1024
		if w <= limit {
			return true, fmt.Sprintf("met: %.0f KiB ≤ 2 MiB", w)
		}
		return false, fmt.Sprintf("missed: %.0f KiB > 2 MiB", w)
	}
	return false, ""
}

// formatTable renders the comparison as a Markdown table: medians (min–max
// when there were several rounds), the ratio and the target's verdict.
func formatTable(rows []row, nWaxwing, nConverse int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nWeb app vs Converse.js %s: medians over %d (Waxwing) and %d (Converse) rounds\n\n", ConverseVersion, nWaxwing, nConverse)
	sb.WriteString("| metric | Waxwing | Converse.js | ratio | target |\n|---|---:|---:|---:|---|\n")
	cell := func(r row, app string) string {
		v, ok := r.median[app]
		if !ok {
			return "—"
		}
		if r.min[app] == r.max[app] {
			return fmt.Sprintf("%.0f", v)
		}
		return fmt.Sprintf("%.0f (%.0f–%.0f)", v, r.min[app], r.max[app])
	}
	for _, r := range rows {
		ratio := "—"
		if v, ok := r.ratio(); ok {
			ratio = fmt.Sprintf("%.2f", v)
		}
		_, reason := verdict(r)
		fmt.Fprintf(&sb, "| %s (%s) | %s | %s | %s | %s |\n", r.name, unitSuffix(r.unit), cell(r, "waxwing"), cell(r, "converse"), ratio, reason)
	}
	return sb.String()
}

// anchorName keys the one-heading page's samples (benchEnv.anchor).
const anchorName = "heading"

// firstPaintRow is the first-paint row of rows.
func firstPaintRow(rows []row) row {
	for _, r := range rows {
		if r.unit == "first-paint-ms" {
			return r
		}
	}
	return row{}
}

// formatAnchor renders the one-heading page's first paint and first
// contentful paint, and how far above them each app's are, under the table.
func formatAnchor(rows []row, n int) string {
	var parts []string
	for _, r := range rows {
		if r.unit != "first-paint-ms" && r.unit != "fcp-ms" {
			continue
		}
		v, ok := r.median[anchorName]
		if !ok {
			return ""
		}
		part := fmt.Sprintf("%s %.0f ms (%.0f–%.0f)", strings.TrimPrefix(r.name, "navigation → "), v, r.min[anchorName], r.max[anchorName])
		for _, app := range []string{"waxwing", "converse"} {
			if a, ok := r.median[app]; ok {
				part += fmt.Sprintf(", %s %+.0f ms", app, a-v)
			}
		}
		parts = append(parts, part)
	}
	return fmt.Sprintf("\nAnchor, a static page of one heading (%d rounds; same browser, start page and harness): %s\n", n, strings.Join(parts, "; "))
}

// unitSuffix is the unit at the end of a metric's ReportMetric unit.
func unitSuffix(unit string) string {
	return unit[strings.LastIndex(unit, "-")+1:]
}
