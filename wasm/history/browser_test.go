//go:build !js

package history_test

// The native side of the engine's runs in Chromium on IndexedDB: a real
// Prosody with a seeded archive, `waxwing serve` for the test page, and the
// package's js/wasm tests run in headless Chromium (internal/wasmtest), with
// the account passed as arguments (indexeddb_js_test.go).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/bridge"
	"github.com/waxwing-im/waxwing/internal/wasmtest"
	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/internal/xmppd/xmppdtest"
	"github.com/waxwing-im/waxwing/wasm/xmppws"
)

// TestBrowserHistory runs TestIndexedDBHistory in Chromium: the engine on
// IndexedDB against Prosody through `waxwing serve` catches up a 300-message
// archive, sends a message that the server acknowledges, survives a
// reload (store closed and opened again, a new engine and client), and
// ends up holding exactly what the archive holds, each message once.
func TestBrowserHistory(t *testing.T) {
	t.Parallel()
	const n = 300
	srv := xmppdtest.Start(t, xmppd.Prosody, xmppd.Options{Users: map[string]string{"alice": "alice-pw", "bob": "bob-pw"}})
	url, origin := xmppdtest.Bridge(t, srv)
	dial := &xmppws.Options{HTTPHeader: http.Header{"Origin": {origin}}}
	alice := account{URL: url, Dial: dial, JID: "alice@" + srv.Domain, Password: "alice-pw"}
	bob := account{URL: url, Dial: dial, JID: "bob@" + srv.Domain, Password: "bob-pw"}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := seed(ctx, alice, bob, n); err != nil {
		t.Fatal(err)
	}
	pb := newPageBridge(t, srv)
	wasmtest.Config{Timeout: 3 * time.Minute}.Run(t, ".", "-test.v", "-test.run=^TestIndexedDBHistory$",
		"-history.control="+pb.controlURL(), "-history.jid="+alice.JID, "-history.password="+alice.Password,
		"-history.peer="+bob.JID, "-history.want="+strconv.Itoa(n))
}

// browserFigures is what one catch-up in Chromium measured.
type browserFigures struct {
	msgs, pages, txs int
	secs, storeSecs  float64
}

// runBrowserCatchUp runs BenchmarkIndexedDBCatchUp once in a fresh
// Chromium (a fresh profile: a new device), catching up into "indexeddb",
// "memory" or "raw" (its -history.store), and returns the figures it
// printed.
func runBrowserCatchUp(b *testing.B, pb *pageBridge, into, jid, password string, n int) browserFigures {
	b.Helper()
	out := wasmtest.Config{Timeout: 10 * time.Minute, Quiet: true}.Run(b, ".", "-test.run=^$",
		"-test.bench=^BenchmarkIndexedDBCatchUp$", "-test.benchtime=1x", "-history.store="+into,
		"-history.control="+pb.controlURL(), "-history.jid="+jid, "-history.password="+password,
		"-history.want="+strconv.Itoa(n))
	fig, err := parseCatchUpLine(out)
	if err != nil {
		b.Fatalf("%v; the output was:\n%s", err, out)
	}
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "catch-up-detail: ") {
			fmt.Print(strings.Replace(line, "catch-up-detail:", "catch-up-detail ("+into+"-chromium):", 1))
		}
	}
	return fig
}

// parseCatchUpLine reads the figures line BenchmarkIndexedDBCatchUp
// prints: "catch-up: msgs=10000 secs=4.2 pages=201 store-secs=2.1 txs=650".
func parseCatchUpLine(out string) (browserFigures, error) {
	for line := range strings.Lines(out) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "catch-up: ")
		if !ok {
			continue
		}
		var f browserFigures
		if _, err := fmt.Sscanf(rest, "msgs=%d secs=%g pages=%d store-secs=%g txs=%d", &f.msgs, &f.secs, &f.pages, &f.storeSecs, &f.txs); err != nil {
			return f, fmt.Errorf("%q: %v", line, err)
		}
		return f, nil
	}
	return browserFigures{}, errors.New("no catch-up figures in the output")
}

// pageBridge is `waxwing serve` for the test page in Chromium, behind a
// counting proxy (wire). The bridge's origin policy admits the page's
// origin, which is known only once the page runs (internal/wasmtest serves
// it on a port of its own), so the bridge starts when the page first asks
// the control endpoint for its WebSocket URL.
type pageBridge struct {
	srv     *xmppd.Server
	dataDir string
	ctl     net.Listener
	hs      *http.Server

	mu     sync.Mutex
	origin string
	w      *wire
	stop   func()
	cpu0   cpuTimes // at the page's "start" mark
	cpu    cpuTimes // from each "start" mark to its "end"
}

func newPageBridge(tb testing.TB, srv *xmppd.Server) *pageBridge {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	pb := &pageBridge{srv: srv, dataDir: tb.TempDir(), ctl: ln}
	hs := &http.Server{Handler: pb, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	pb.hs = hs
	tb.Cleanup(pb.close)
	return pb
}

// close stops the control endpoint and the bridge; the bytes counted stay.
func (pb *pageBridge) close() {
	pb.hs.Close()
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if pb.stop != nil {
		pb.stop()
		pb.stop = nil
	}
}

// controlURL is where the page asks for its WebSocket URL.
func (pb *pageBridge) controlURL() string { return "http://" + pb.ctl.Addr().String() + "/ws" }

// total is the number of bytes the page's WebSockets carried so far.
func (pb *pageBridge) total() int64 {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if pb.w == nil {
		return 0
	}
	return pb.w.total()
}

// ServeHTTP answers the control endpoint with the WebSocket URL of the
// bridge for the asking page's origin (CORS: any page may read it).
func (pb *pageBridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if mark := r.URL.Query().Get("mark"); mark != "" {
		pb.mark(mark)
		return
	}
	url, err := pb.start(r.Header.Get("Origin"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	_, _ = io.WriteString(w, url)
}

// mark notes the CPU time of the parts when the page starts ("start") and
// ends ("end") a timed catch-up.
func (pb *pageBridge) mark(what string) {
	now := cpuNow()
	pb.mu.Lock()
	defer pb.mu.Unlock()
	switch what {
	case "start":
		pb.cpu0 = now
	case "end":
		if pb.cpu0 != nil {
			if pb.cpu == nil {
				pb.cpu = cpuTimes{}
			}
			pb.cpu.add(now.since(pb.cpu0))
			pb.cpu0 = nil
		}
	}
}

// cpuSpent is the CPU time between the page's marks, by process group.
func (pb *pageBridge) cpuSpent() cpuTimes {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	return pb.cpu
}

// start runs the bridge for origin, once; later pages must come from the
// same origin.
func (pb *pageBridge) start(origin string) (string, error) {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if pb.w != nil {
		if origin != pb.origin {
			return "", fmt.Errorf("the bridge serves pages of %s, not %q", pb.origin, origin)
		}
		return pb.w.url(), nil
	}
	if origin == "" {
		return "", errors.New("no Origin: ask from the page")
	}
	b, err := bridge.New(bridge.Config{Domain: pb.srv.Domain, Upstream: pb.srv.C2S, UpstreamCA: pb.srv.CACertFile,
		DataDir: pb.dataDir, Origins: []string{origin}}, slog.New(slog.DiscardHandler))
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	w, err := listenWire(ln.Addr().String())
	if err != nil {
		ln.Close()
		return "", err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx, ln) }()
	pb.origin, pb.w = origin, w
	pb.stop = func() {
		w.close()
		cancel()
		<-done
	}
	return w.url(), nil
}

// TestParseCatchUpLine checks how the driver reads the browser's figures.
func TestParseCatchUpLine(t *testing.T) {
	for _, tc := range []struct {
		out   string
		want  browserFigures
		fails bool
	}{
		{"goos: js\ncatch-up: msgs=10000 secs=4.5 pages=199 store-secs=2.25 txs=650\nPASS\n",
			browserFigures{msgs: 10000, pages: 199, txs: 650, secs: 4.5, storeSecs: 2.25}, false},
		{"  catch-up: msgs=300 secs=0.25 pages=5 store-secs=0.125 txs=20", browserFigures{msgs: 300, pages: 5, txs: 20, secs: 0.25, storeSecs: 0.125}, false},
		{"PASS\n", browserFigures{}, true},
		{"catch-up: msgs=ten secs=1 pages=1 store-secs=1 txs=1\n", browserFigures{}, true},
	} {
		got, err := parseCatchUpLine(tc.out)
		if (err != nil) != tc.fails || !tc.fails && got != tc.want {
			t.Errorf("parseCatchUpLine(%q) = %+v, %v; want %+v (failure %v)", tc.out, got, err, tc.want, tc.fails)
		}
	}
}
