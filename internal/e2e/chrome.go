//go:build !js

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Step bounds one browser step: starting Chromium, opening a tab, loading
// a page, evaluating a script.
const Step = 30 * time.Second

// Missing skips tb, or fails it when the environment variable CI is set,
// saying what is missing and how to get it.
func Missing(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s (CI is set, so this is not skipped)", msg)
	}
	tb.Skip(msg)
}

// ChromiumPath returns the Chromium binary: $WAXWING_CHROMIUM, chromium on
// $PATH, or /usr/bin/chromium; it skips tb (fails under CI) when there is
// none.
func ChromiumPath(tb testing.TB) string {
	tb.Helper()
	candidates := []string{"chromium", "/usr/bin/chromium"}
	if p := os.Getenv("WAXWING_CHROMIUM"); p != "" {
		candidates = []string{p}
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	Missing(tb, fmt.Sprintf("Chromium not found (tried %s): apt-get install chromium", strings.Join(candidates, ", ")))
	return ""
}

// unsafePorts are the ports Chromium refuses to connect to
// (net/base/port_util.cc kRestrictedPorts, ERR_UNSAFE_PORT).
var unsafePorts = []int{1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69,
	77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139,
	143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556,
	563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060,
	5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080}

// BrowserSafePort reports whether Chromium may connect to port.
func BrowserSafePort(port int) bool {
	return port > 0 && port < 65536 && !slices.Contains(unsafePorts, port)
}

// ListenLoopback listens on a free 127.0.0.1 port that Chromium may use;
// the listener is closed when tb ends.
func ListenLoopback(tb testing.TB) net.Listener {
	tb.Helper()
	var refused []net.Listener // held, so the kernel does not offer them again
	defer func() {
		for _, l := range refused {
			l.Close()
		}
	}()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		if BrowserSafePort(ln.Addr().(*net.TCPAddr).Port) {
			tb.Cleanup(func() { ln.Close() })
			return ln
		}
		refused = append(refused, ln)
	}
	tb.Fatal("no free loopback port that Chromium accepts")
	return nil
}

// FreeLoopbackAddr returns a 127.0.0.1:port that was free a moment ago and
// that Chromium may use, for a child process to listen on.
func FreeLoopbackAddr(tb testing.TB) string {
	tb.Helper()
	ln := ListenLoopback(tb)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// LogBuffer collects output (logs, a child's stdout) written from several
// goroutines; the zero value is ready to use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Browser is one headless Chromium process with its own profile
// directory.
type Browser struct {
	Profile string // the --user-data-dir
	Version string // e.g. "HeadlessChrome/156.0.8078.79"

	ctx   context.Context // the chromedp context that started it; no deadline
	out   *LogBuffer      // Chromium's stdout and stderr, chromedp's errors
	close sync.Once
	stop  func()
}

// LaunchOptions configures Launch. The zero value is a fresh profile in a
// directory removed when the test ends, and a 1280×800 window.
type LaunchOptions struct {
	// Profile is the --user-data-dir. "" means a fresh one ("cold": no
	// cache, no storage); pass a previous Browser's Profile to start again
	// with its cache and storage (it must have been closed first).
	Profile       string
	Width, Height int
}

// Launch starts Chromium headless with the flags of a clean, quiet
// measurement: no sandbox (root), no background networking, component
// updates, sync or first-run UI. It is closed when tb ends, or earlier by
// Close.
func Launch(tb testing.TB, o LaunchOptions) *Browser {
	tb.Helper()
	if o.Profile == "" {
		o.Profile = tb.TempDir()
	}
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = 1280, 800
	}
	b := &Browser{Profile: o.Profile, out: &LogBuffer{}}
	logf := func(format string, args ...any) { fmt.Fprintf(b.out, "chromedp: "+format+"\n", args...) }
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath(tb)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.DisableGPU,
		chromedp.UserDataDir(o.Profile),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(o.Width, o.Height),
		chromedp.CombinedOutput(b.out),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(logf), chromedp.WithErrorf(logf))
	b.ctx = ctx
	b.stop = func() {
		// Close gracefully, so that no child process still writes in the
		// profile when it is reused or removed.
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		if err := chromedp.Cancel(cctx); err != nil {
			logf("closing the browser: %v", err)
		}
		ccancel()
		cancel()
		acancel() // waits until the process has exited
	}
	tb.Cleanup(func() {
		b.Close()
		if tb.Failed() {
			tb.Logf("chromium output:\n%s", b.out.String())
		}
	})
	firstRun(tb, ctx, cancel, "starting Chromium", b.out)
	vctx, vcancel := context.WithTimeout(ctx, Step)
	defer vcancel()
	v, err := chromedp.CallBrowser(vctx, browser.GetVersion, cdp.Empty{})
	if err != nil {
		tb.Fatalf("Chromium did not answer: %v\n%s", err, b.out.String())
	}
	b.Version = v.Product
	return b
}

// Close stops the browser and waits for its process to exit; later calls do
// nothing.
func (b *Browser) Close() { b.close.Do(b.stop) }

// Output returns what Chromium and chromedp logged, for failure messages.
func (b *Browser) Output() string { return b.out.String() }

// firstRun runs the first action on a chromedp context, which starts the
// browser or opens the tab and binds its life to ctx: ctx carries no
// deadline, so a timer cancels it instead when that takes longer than Step.
func firstRun(tb testing.TB, ctx context.Context, cancel context.CancelFunc, what string, out *LogBuffer) {
	tb.Helper()
	timer := time.AfterFunc(Step, cancel)
	err := chromedp.Do(ctx)
	if !timer.Stop() {
		tb.Fatalf("%s: no answer within %v\n%s", what, Step, out.String())
	}
	if err != nil {
		tb.Fatalf("%s: %v\n%s", what, err, out.String())
	}
}

// Request is one HTTP request of a page as the Network domain reported it.
type Request struct {
	ID       network.RequestID
	URL      string
	Type     network.ResourceType
	Status   int64 // 0 until the response has arrived
	MimeType string
	Encoding string          // the Content-Encoding header, "" for none
	Headers  network.Headers // of the response (read them with HeaderValue)
	// FromCache: served from the memory or disk cache or by a service
	// worker (nothing or only a revalidation crossed the wire).
	FromCache bool
	// FromServiceWorker: a service worker answered (a part of FromCache).
	FromServiceWorker bool
	// Decoded is the sum of the body bytes after decoding (dataReceived's
	// dataLength); Body is the body as sent, before its Content-Encoding is
	// removed (loadingFinished's encodedBodyLength); Wire is what crossed
	// the network for this request, headers included (its
	// encodedDataLength).
	Decoded, Body, Wire int64
	Finished            bool // loadingFinished or loadingFailed was seen
	Failed              string
}

// WebSocket is one WebSocket a page created, as the Network domain
// reported it.
type WebSocket struct {
	ID  network.RequestID
	URL string
	// Status and Headers are those of the handshake response; Status is 0
	// until it has arrived.
	Status  int64
	Headers network.Headers
}

// Page is one tab. From its opening on, it records every HTTP request,
// every WebSocket and the bytes of WebSocket messages received, and every
// console message.
type Page struct {
	ctx context.Context // the tab's chromedp context; no deadline

	mu         sync.Mutex
	requests   map[network.RequestID]*Request
	order      []network.RequestID
	webSockets []WebSocket // in creation order
	wsIn       int64       // WebSocket payload bytes received
	console    []chromedp.ConsoleMessage
	syncs      int
}

// Context returns the tab's chromedp context, for the chromedp actions and
// CDP commands that Page does not wrap. It has no deadline: bound each use
// with context.WithTimeout.
func (p *Page) Context() context.Context { return p.ctx }

// NewPage opens a tab on about:blank. Each script in onNewDocument runs
// before any script of every document the tab loads (CDP
// Page.addScriptToEvaluateOnNewDocument; the page's CSP does not apply).
func (b *Browser) NewPage(tb testing.TB, onNewDocument ...string) *Page {
	tb.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	tb.Cleanup(cancel)
	firstRun(tb, ctx, cancel, "opening a tab", b.out)
	p := &Page{ctx: ctx, requests: map[network.RequestID]*Request{}}
	if err := chromedp.Listen(ctx, p.record); err != nil {
		tb.Fatal(err)
	}
	msgs := chromedp.Console(ctx) // subscribed now; read in the background
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m)
			p.mu.Unlock()
		}
	}()
	sctx, scancel := context.WithTimeout(ctx, Step)
	defer scancel()
	for _, s := range onNewDocument {
		if _, err := chromedp.Call(sctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: s}); err != nil {
			tb.Fatal(err)
		}
	}
	return p
}

// AddOnNewDocument adds a script that runs, after those given so far,
// before any script of every document the tab loads from now on.
func (p *Page) AddOnNewDocument(tb testing.TB, script string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Step)
	defer cancel()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script}); err != nil {
		tb.Fatal(err)
	}
}

// record runs on chromedp's reader goroutine for every event of the tab,
// so an event is recorded before the reply to any later command arrives.
func (p *Page) record(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	req := func(id network.RequestID) *Request {
		r, ok := p.requests[id]
		if !ok {
			r = &Request{ID: id}
			p.requests[id] = r
			p.order = append(p.order, id)
		}
		return r
	}
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		r := req(e.RequestID)
		if r.URL != "" && r.URL != e.Request.URL {
			// A redirect reuses the request id: keep the hop as its own
			// entry, under a derived id.
			hop := *r
			hop.ID = network.RequestID(string(e.RequestID) + "#" + strconv.Itoa(len(p.order)))
			hop.Finished = true
			p.requests[hop.ID] = &hop
			p.order = append(p.order, hop.ID)
			*r = Request{ID: e.RequestID}
		}
		r.URL, r.Type = e.Request.URL, e.Type
	case *network.EventResponseReceived:
		r := req(e.RequestID)
		if r.URL == "" {
			r.URL = e.Response.URL
		}
		r.Status, r.MimeType, r.Headers = e.Response.Status, e.Response.MimeType, e.Response.Headers
		r.FromServiceWorker = e.Response.FromServiceWorker
		r.FromCache = e.Response.FromDiskCache || e.Response.FromPrefetchCache || e.Response.FromServiceWorker
		if v, ok := HeaderValue(e.Response.Headers, "Content-Encoding"); ok {
			r.Encoding = v
		}
	case *network.EventRequestServedFromCache:
		req(e.RequestID).FromCache = true
	case *network.EventDataReceived:
		req(e.RequestID).Decoded += e.DataLength
	case *network.EventLoadingFinished:
		r := req(e.RequestID)
		r.Wire, r.Body, r.Finished = int64(e.EncodedDataLength), int64(e.EncodedBodyLength), true
	case *network.EventLoadingFailed:
		r := req(e.RequestID)
		r.Finished, r.Failed = true, e.ErrorText
	case *network.EventWebSocketCreated:
		p.webSockets = append(p.webSockets, WebSocket{ID: e.RequestID, URL: e.URL})
	case *network.EventWebSocketHandshakeResponseReceived:
		i := slices.IndexFunc(p.webSockets, func(w WebSocket) bool { return w.ID == e.RequestID })
		if i < 0 {
			p.webSockets, i = append(p.webSockets, WebSocket{ID: e.RequestID}), len(p.webSockets)
		}
		p.webSockets[i].Status, p.webSockets[i].Headers = e.Response.Status, e.Response.Headers
	case *network.EventWebSocketFrameReceived:
		if e.Response != nil {
			p.wsIn += int64(len(e.Response.PayloadData))
		}
	}
}

// HeaderValue looks a header up case-insensitively in CDP headers.
func HeaderValue(h network.Headers, name string) (string, bool) {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return fmt.Sprint(v), true
		}
	}
	return "", false
}

// Requests returns copies of the requests recorded since the tab opened
// or since the last ResetNetwork, in the order they started.
func (p *Page) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Request, 0, len(p.order))
	for _, id := range p.order {
		out = append(out, *p.requests[id])
	}
	return out
}

// WebSockets returns the WebSockets the page created since the tab opened
// or since the last ResetNetwork, in the order they were created.
func (p *Page) WebSockets() []WebSocket {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.webSockets)
}

// WebSocketBytesIn returns the WebSocket payload bytes received since the
// tab opened or since the last ResetNetwork.
func (p *Page) WebSocketBytesIn() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.wsIn
}

// ResetNetwork forgets the requests, WebSockets and WebSocket bytes
// recorded so far.
func (p *Page) ResetNetwork() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests, p.order, p.webSockets, p.wsIn = map[network.RequestID]*Request{}, nil, nil, 0
}

// WaitNetworkIdle waits until every recorded request has finished and no
// new one has started for quiet, or until max has passed; it returns the
// URLs still pending then. Pages that fetch lazily (fonts, workers, data
// files after login) are then counted whole, whatever the machine's speed.
func (p *Page) WaitNetworkIdle(quiet, max time.Duration) []string {
	deadline := time.Now().Add(max)
	seen, since := -1, time.Now()
	for {
		reqs := p.Requests()
		var pending []string
		for _, r := range reqs {
			if !r.Finished && strings.HasPrefix(r.URL, "http") {
				pending = append(pending, r.URL)
			}
		}
		if len(reqs) != seen || len(pending) > 0 {
			seen, since = len(reqs), time.Now()
		}
		if time.Since(since) >= quiet || time.Now().After(deadline) {
			return pending
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Navigate loads url and waits for its load event.
func (p *Page) Navigate(tb testing.TB, url string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Step)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		tb.Fatalf("navigate %s: %v", url, err)
	}
}

// Reload reloads the page as the reload button does and waits for its load
// event.
func (p *Page) Reload(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Step)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		tb.Fatalf("reload: %v", err)
	}
}

// Eval evaluates a JavaScript expression in the page within d, awaiting it
// if it is a promise, and decodes its JSON value. A thrown exception is an
// error. The evaluation counts as a user gesture.
func Eval[T any](p *Page, d time.Duration, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, d)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise, func(e *runtime.EvaluateParams) {
		e.UserGesture = new(true)
	}))
}

// JS returns v as a JavaScript literal (JSON), for building expressions.
func JS(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("e2e.JS: %v", err)) // only for values the caller built
	}
	return string(b)
}

// Screenshot captures the page as PNG.
func (p *Page) Screenshot() ([]byte, error) {
	ctx, cancel := context.WithTimeout(p.ctx, Step)
	defer cancel()
	return chromedp.Run(ctx, chromedp.CaptureScreenshot())
}

// SaveScreenshot writes the page as name.png into ArtifactsDir, for a
// person to look at; it logs where, or why it could not, and returns that
// error too.
func (p *Page) SaveScreenshot(tb testing.TB, name string) error {
	tb.Helper()
	png, err := p.Screenshot()
	if err == nil {
		dir := ArtifactsDir()
		file := filepath.Join(dir, name+".png")
		if err = os.MkdirAll(dir, 0o755); err == nil {
			if err = os.WriteFile(file, png, 0o644); err == nil {
				tb.Logf("screenshot: %s (%d bytes)", file, len(png))
				return nil
			}
		}
	}
	tb.Logf("screenshot %s: %v", name, err)
	return err
}

// ArtifactsDir is $WAXWING_ARTIFACTS, or artifacts/ at the repository root
// (the directory holding go.mod above the working directory).
func ArtifactsDir() string {
	if d := os.Getenv("WAXWING_ARTIFACTS"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return "artifacts"
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "artifacts")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(wd, "artifacts")
		}
	}
}

// syncMarker starts the console messages that syncConsole writes.
const syncMarker = "e2e-sync "

// syncConsole waits until every console message the page wrote before the
// call has been recorded (chromedp delivers them on another goroutine): it
// writes a marker and waits for it.
func (p *Page) syncConsole(d time.Duration) error {
	p.mu.Lock()
	p.syncs++
	marker := fmt.Sprintf("%s%d", syncMarker, p.syncs)
	p.mu.Unlock()
	if _, err := Eval[chromedp.Void](p, d, "console.debug("+JS(marker)+")"); err != nil {
		return fmt.Errorf("console sync: %w", err)
	}
	for deadline := time.Now().Add(d); ; time.Sleep(5 * time.Millisecond) {
		p.mu.Lock()
		seen := slices.ContainsFunc(p.console, func(m chromedp.ConsoleMessage) bool { return m.Text == marker })
		p.mu.Unlock()
		if seen {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("console sync: %q not seen within %v", marker, d)
		}
	}
}

// messages returns the console messages recorded so far, without the
// markers of syncConsole.
func (p *Page) messages() []chromedp.ConsoleMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(p.console), func(m chromedp.ConsoleMessage) bool {
		return m.Type == chromedp.ConsoleDebug && strings.HasPrefix(m.Text, syncMarker)
	})
}

// Console returns the console messages recorded so far (console.* calls,
// uncaught exceptions, browser log entries), one per line.
func (p *Page) Console() string {
	_ = p.syncConsole(2 * time.Second) // best effort: the page may be gone
	var sb strings.Builder
	for _, m := range p.messages() {
		sb.WriteString(m.String() + "\n")
	}
	return sb.String()
}

// ConsoleErrors returns every console.error and console.assert call,
// uncaught exception and browser log entry of level error (a refused
// request, a CSP violation) that the page has reported so far, each on one
// line. It fails tb when the page does not answer.
func (p *Page) ConsoleErrors(tb testing.TB) []string {
	tb.Helper()
	if err := p.syncConsole(Step); err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, m := range p.messages() {
		switch {
		case m.IsException():
			out = append(out, "exception: "+m.Text)
		case m.Source != "" && m.Type == chromedp.ConsoleError:
			out = append(out, "log "+m.Source+": "+m.Text+" "+m.URL)
		case m.Source == "" && (m.Type == chromedp.ConsoleError || m.Type == "assert"):
			out = append(out, "console."+string(m.Type)+": "+m.Text)
		}
	}
	return out
}
