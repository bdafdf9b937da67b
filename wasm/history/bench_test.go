//go:build !js

package history_test

// The catch-up benchmark of issue 4 (XEP-0313): a fresh device brings a
// 10,000-message archive into its store, against real Prosody through the
// real `waxwing serve`, on the memory store natively and on IndexedDB in
// Chromium, with the raw fetch of the same archive (no store) as anchor.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/bridge"
	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/internal/xmppd/xmppdtest"
	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/client"
	"github.com/waxwing-im/waxwing/wasm/stanza"
	"github.com/waxwing-im/waxwing/wasm/xmppws"
)

// catchUpN is the size of the archive the benchmark catches up;
// WAXWING_BENCH_CATCHUP_N changes it.
func catchUpN() int {
	if n, err := strconv.Atoi(os.Getenv("WAXWING_BENCH_CATCHUP_N")); err == nil && n > 0 {
		return n
	}
	return 10_000
}

// catchUpServer is the server the benchmark runs against: Prosody, or
// the one WAXWING_BENCH_CATCHUP_SERVER names ("ejabberd").
func catchUpServer() xmppd.Kind {
	if k := xmppd.Kind(os.Getenv("WAXWING_BENCH_CATCHUP_SERVER")); k != "" {
		return k
	}
	return xmppd.Prosody
}

// catchUpStorage is where Prosody keeps the archive: "sql" (SQLite through
// mod_storage_sql, as production servers keep MAM) unless
// WAXWING_BENCH_CATCHUP_STORAGE=internal (the files of the test suite's
// servers, which load the whole archive for every query).
func catchUpStorage() string {
	if os.Getenv("WAXWING_BENCH_CATCHUP_STORAGE") == "internal" {
		return "internal"
	}
	return "sql"
}

// catchUpGC is Prosody's garbage collector mode: generational by default
// (Prosody's incremental default spent 170-350 µs per archived message of
// this machine's two cores, which the browser shares, against 120-150);
// WAXWING_BENCH_CATCHUP_GC=incremental keeps Prosody's default.
func catchUpGC() string {
	if os.Getenv("WAXWING_BENCH_CATCHUP_GC") == "incremental" {
		return ""
	}
	return "generational"
}

// catchUpMaxResults is Prosody's max_archive_query_results: by default the
// engine's page size, so that each query gets what the engine asks for;
// WAXWING_BENCH_CATCHUP_MAX sets another (50 is Prosody's default).
func catchUpMaxResults() int {
	if n, err := strconv.Atoi(os.Getenv("WAXWING_BENCH_CATCHUP_MAX")); err == nil && n > 0 {
		return n
	}
	return history250
}

// catchUpRow is what one way of catching up measured, over all iterations.
type catchUpRow struct {
	msgs, pages int
	secs        float64 // the catch-up, from starting the client
	storeSecs   float64 // of which in store transactions (0: no store)
	txs         int     // store transactions
	wire        int64
	cpu         cpuTimes // CPU time of the parts during the catch-ups, by process group
}

func (r catchUpRow) rate() float64   { return float64(r.msgs) / r.secs }
func (r catchUpRow) perMsg() float64 { return float64(r.wire) / float64(r.msgs) }

// storeRate is the rate the store alone would allow: messages per second
// of time spent in its transactions.
func (r catchUpRow) storeRate() float64 {
	if r.storeSecs == 0 {
		return 0
	}
	return float64(r.msgs) / r.storeSecs
}

func (r catchUpRow) report(b *testing.B, iterations int) {
	b.ReportMetric(r.rate(), "msgs/s")
	b.ReportMetric(r.perMsg(), "wire-B/msg")
	b.ReportMetric(float64(r.pages)/float64(iterations), "pages")
	if r.storeSecs > 0 {
		b.ReportMetric(r.storeRate(), "store-msgs/s")
		b.ReportMetric(float64(r.txs)/float64(iterations), "txs")
	}
}

// BenchmarkCatchUp measures the catch-up of a whole archive by a fresh
// device: messages per second into the store, and bytes on the wire per
// message (the WebSocket between the device and `waxwing serve`, HTTP
// upgrade and framing included, both ways, counted by a TCP proxy; the
// connection and everything the session says besides the archive pages are
// counted too). The archive (catchUpN messages, a third sent by the account
// from another device, the rest received) is seeded once, then:
//
//   - raw-mam: the anchor; a bare session pages through the archive the
//     engine's way and keeps nothing (rawFetch).
//   - memory: the engine on the memory store, natively.
//   - raw-mam-chromium and memory-chromium: the same two in wasm, in
//     headless Chromium: the browser's anchors, what the wasm's parsing and
//     engine allow without IndexedDB.
//   - indexeddb-chromium: the engine on IndexedDB in headless Chromium
//     (BenchmarkIndexedDBCatchUp in indexeddb_js_test.go), through its own
//     bridge and proxy, as each Chromium row.
//
// After the rows it prints a table with the ratios of this run. The server
// is Prosody with its archive in SQLite (storage = "sql"),
// max_archive_query_results = 250, the engine's page size, and generational
// GC (catchUpGC); WAXWING_BENCH_CATCHUP_GC=incremental keeps Prosody's GC,
// WAXWING_BENCH_CATCHUP_STORAGE=internal and WAXWING_BENCH_CATCHUP_MAX=50
// give the test suite's configuration, WAXWING_BENCH_CATCHUP_SERVER=ejabberd
// runs it on ejabberd, WAXWING_BENCH_CATCHUP_N sets another archive size.
//
//	go test ./wasm/history -run '^$' -bench BenchmarkCatchUp -benchtime 2x
func BenchmarkCatchUp(b *testing.B) {
	n := catchUpN()
	srv := xmppdtest.Start(b, catchUpServer(), xmppd.Options{
		Users:                  map[string]string{"alice": "alice-pw", "bob": "bob-pw"},
		SQL:                    catchUpStorage() == "sql",
		MaxArchiveQueryResults: catchUpMaxResults(),
		GC:                     catchUpGC(),
		Logf:                   func(string, ...any) {},
	})
	url, _ := xmppdtest.Bridge(b, srv)
	w := newWire(b, strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), bridge.PathWebSocket))
	alice := account{URL: w.url(), Dial: w.dial(), JID: "alice@" + srv.Domain, Password: "alice-pw"}
	bob := account{URL: w.url(), Dial: w.dial(), JID: "bob@" + srv.Domain, Password: "bob-pw"}
	start := time.Now()
	if err := seed(b.Context(), alice, bob, n); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d messages in %v", n, time.Since(start).Round(time.Millisecond))

	rows := map[string]catchUpRow{}
	b.Run("raw-mam", func(b *testing.B) {
		var row catchUpRow
		iterations := 0
		row.cpu = cpuTimes{}
		for b.Loop() {
			before := w.total()
			c0 := cpuNow()
			t0 := time.Now()
			got, pages, err := rawFetch(b.Context(), alice, history250)
			row.secs += time.Since(t0).Seconds()
			row.cpu.add(cpuNow().since(c0))
			if err != nil {
				b.Fatal(err)
			}
			if len(got) != n {
				b.Fatalf("the archive holds %d messages, want %d", len(got), n)
			}
			row.msgs, row.pages, row.wire = row.msgs+n, row.pages+pages, row.wire+w.total()-before
			iterations++
		}
		row.report(b, iterations)
		rows["raw-mam"] = row
	})
	b.Run("memory", func(b *testing.B) {
		var row catchUpRow
		iterations := 0
		row.cpu = cpuTimes{}
		for b.Loop() {
			b.StopTimer()
			before := w.total()
			st := store.NewMemory()
			spy := newSpyStore(st)
			ts := &timedStore{Store: spy}
			b.StartTimer()
			c0 := cpuNow()
			t0 := time.Now()
			r, err := startRig(alice, ts, fmt.Sprintf("bench-%d", iterations), nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
			err = r.waitOnline(ctx)
			pages := 0
			if err == nil {
				pages, err = catchUp(ctx, r.eng)
			}
			row.secs += time.Since(t0).Seconds()
			row.cpu.add(cpuNow().since(c0))
			b.StopTimer()
			txs, spent := ts.total()
			row.txs, row.storeSecs = row.txs+txs, row.storeSecs+spent.Seconds()
			fmt.Printf("catch-up-detail (memory): %s\n", spy.line())
			r.stop()
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			if _, got, err := stored(b.Context(), st); err != nil || got != n {
				b.Fatalf("the store holds %d messages (%v), want %d", got, err, n)
			}
			row.msgs, row.pages, row.wire = row.msgs+n, row.pages+pages, row.wire+w.total()-before
			iterations++
			b.StartTimer()
		}
		row.report(b, iterations)
		rows["memory"] = row
	})
	// The browser's rows: the anchors first (the bare fetch, then the engine
	// on the memory store, both in wasm), then IndexedDB.
	for _, into := range []string{"raw", "memory", "indexeddb"} {
		name := into + "-chromium"
		if into == "raw" {
			name = "raw-mam-chromium"
		}
		b.Run(name, func(b *testing.B) {
			row := catchUpRow{cpu: cpuTimes{}}
			iterations := 0
			for b.Loop() {
				// Each run's page has an origin of its own: a bridge of its own.
				pb := newPageBridge(b, srv)
				fig := runBrowserCatchUp(b, pb, into, alice.JID, alice.Password, n)
				row.msgs, row.pages, row.secs = row.msgs+fig.msgs, row.pages+fig.pages, row.secs+fig.secs
				row.txs, row.storeSecs = row.txs+fig.txs, row.storeSecs+fig.storeSecs
				row.wire += pb.total()
				row.cpu.add(pb.cpuSpent())
				pb.close()
				iterations++
			}
			row.report(b, iterations)
			rows[name] = row
		})
	}
	printCatchUpTable(n, rows)
}

func printCatchUpTable(n int, rows map[string]catchUpRow) {
	if len(rows) == 0 {
		return
	}
	var sb strings.Builder
	server := string(catchUpServer())
	if catchUpServer() == xmppd.Prosody {
		gc := catchUpGC()
		if gc == "" {
			gc = "incremental, Prosody's default"
		}
		server += fmt.Sprintf(" (storage %s, max_archive_query_results %d, gc %s)", catchUpStorage(), catchUpMaxResults(), gc)
	}
	fmt.Fprintf(&sb, "\nCatch-up of a %d-message archive on %s by a fresh device; ratios to the rows of this run:\n\n", n, server)
	sb.WriteString("| row | msgs/s | wire B/msg | pages | store msgs/s | store txs | msgs/s ÷ raw-mam | msgs/s ÷ raw-mam-chromium | msgs/s ÷ memory | store msgs/s ÷ memory | wire ÷ raw-mam |\n")
	sb.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	ratio := func(x float64, anchor string, f func(catchUpRow) float64) string {
		a, ok := rows[anchor]
		if !ok || f(a) == 0 || x == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f", x/f(a))
	}
	for _, name := range []string{"raw-mam", "memory", "raw-mam-chromium", "memory-chromium", "indexeddb-chromium"} {
		r, ok := rows[name]
		if !ok || r.msgs == 0 {
			continue
		}
		per := float64(n) / float64(r.msgs) // per catch-up
		storeRate, txs := "–", "–"
		if r.storeSecs > 0 {
			storeRate, txs = fmt.Sprintf("%.0f", r.storeRate()), fmt.Sprintf("%.0f", float64(r.txs)*per)
		}
		fmt.Fprintf(&sb, "| %s | %.0f | %.1f | %.0f | %s | %s | %s | %s | %s | %s | %s |\n", name, r.rate(), r.perMsg(), float64(r.pages)*per,
			storeRate, txs, ratio(r.rate(), "raw-mam", catchUpRow.rate), ratio(r.rate(), "raw-mam-chromium", catchUpRow.rate),
			ratio(r.rate(), "memory", catchUpRow.rate),
			ratio(r.storeRate(), "memory", catchUpRow.storeRate), ratio(r.perMsg(), "raw-mam", catchUpRow.perMsg))
	}
	// Where the CPU went: on a machine whose cores the server, the bridge
	// and the browser share, the sum of these bounds the rate.
	sb.WriteString("\nCPU during the catch-ups, µs per message (total, then by process; chromium-browser holds IndexedDB's backend):\n\n")
	sb.WriteString("| row | CPU µs/msg | CPU busy (cores) |\n|---|---|---:|\n")
	for _, name := range []string{"raw-mam", "memory", "raw-mam-chromium", "memory-chromium", "indexeddb-chromium"} {
		r, ok := rows[name]
		if !ok || r.msgs == 0 || len(r.cpu) == 0 {
			continue
		}
		fmt.Fprintf(&sb, "| %s | %s | %.2f |\n", name, r.cpu.perMsg(r.msgs), r.cpu.total()/r.secs)
	}
	// Straight to stdout: a parent benchmark's b.Log is not shown when it
	// passes.
	fmt.Print(sb.String())
}

// seed fills the archive of acct with n chat messages exchanged with peer,
// a third of them sent by acct (as from another device of the account),
// the rest received. Both accounts are online while it runs, so nothing
// goes to offline storage: the archive holds the messages, once each. At
// most 200 are in flight at a time.
func seed(ctx context.Context, acct, peer account, n int) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	recv := make(chan struct{}, n)
	counting := client.HandlerFunc(func(_ context.Context, raw []byte, _ uint32) error {
		if m, err := stanza.ParseMessage(raw); err == nil && m.Body != "" && m.MAM == nil && m.Carbon == stanza.NotCarbon {
			recv <- struct{}{}
		}
		return nil
	})
	var sessions []*client.Session
	var served sync.WaitGroup
	defer func() {
		for _, s := range sessions {
			_ = s.Close()
		}
		served.Wait()
	}()
	for _, a := range []account{acct, peer} {
		cfg := client.Config{URL: a.URL, JID: a.JID, Software: "waxwing-seed", Device: "seed", Dial: a.Dial,
			Store: store.NewMemory(), Handler: counting}
		s, err := client.Connect(ctx, cfg, client.Credentials{Password: a.Password})
		if err != nil {
			return fmt.Errorf("seed: connecting %s: %w", a.JID, err)
		}
		sessions = append(sessions, s)
		served.Add(1)
		go func() { defer served.Done(); _ = s.Serve(ctx) }()
	}
	const window = 200
	inflight := 0
	wait := func() error {
		select {
		case <-recv:
			inflight--
			return nil
		case <-time.After(time.Minute):
			return fmt.Errorf("seed: %d messages sent but not received for a minute", inflight)
		}
	}
	for i := range n {
		from, to := sessions[1], acct.JID // received by the account
		if i%3 == 0 {
			from, to = sessions[0], peer.JID // sent by the account
		}
		body := fmt.Sprintf("%05d Grüße, a message of ordinary length 😀 <&> %s", i, strings.Repeat("lorem ipsum ", 3))
		if err := from.SendTransient(stanza.ChatMessage(to, fmt.Sprintf("seed-%d", i), body)); err != nil {
			return fmt.Errorf("seed: sending message %d: %w", i, err)
		}
		inflight++
		for inflight >= window {
			if err := wait(); err != nil {
				return err
			}
		}
	}
	for inflight > 0 {
		if err := wait(); err != nil {
			return err
		}
	}
	return nil
}

// wire is a TCP proxy in front of a bridge that counts the bytes it
// forwards both ways: what a WebSocket costs on the wire.
type wire struct {
	ln     net.Listener
	target string
	n      atomic.Int64
	mu     sync.Mutex
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

// newWire proxies to target ("host:port") until tb ends.
func newWire(tb testing.TB, target string) *wire {
	tb.Helper()
	w, err := listenWire(target)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(w.close)
	return w
}

// listenWire starts a proxy to target; close stops it.
func listenWire(target string) (*wire, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	w := &wire{ln: ln, target: target, conns: map[net.Conn]bool{}}
	w.wg.Add(1)
	go w.accept()
	return w, nil
}

func (w *wire) addr() string { return w.ln.Addr().String() }

// url is the bridge's WebSocket URL through the proxy.
func (w *wire) url() string { return "ws://" + w.addr() + bridge.PathWebSocket }

// dial carries the Origin of pages served through the proxy, which a
// bridge with the default origin policy accepts.
func (w *wire) dial() *xmppws.Options {
	return &xmppws.Options{HTTPHeader: http.Header{"Origin": {"http://" + w.addr()}}}
}

// total is the number of bytes forwarded so far, both ways.
func (w *wire) total() int64 { return w.n.Load() }

func (w *wire) track(c net.Conn, on bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conns == nil {
		c.Close()
		return false
	}
	if on {
		w.conns[c] = true
	} else {
		delete(w.conns, c)
	}
	return true
}

func (w *wire) accept() {
	defer w.wg.Done()
	for {
		c, err := w.ln.Accept()
		if err != nil {
			return
		}
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.forward(c)
		}()
	}
}

// forward copies between c and a new connection to the target until
// either side closes.
func (w *wire) forward(c net.Conn) {
	up, err := net.Dial("tcp", w.target)
	if err != nil {
		c.Close()
		return
	}
	if !w.track(c, true) || !w.track(up, true) {
		c.Close()
		up.Close()
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(countingWriter{dst, &w.n}, src)
		// Half-close: the other direction may still carry the close
		// handshake.
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
	for _, x := range []net.Conn{c, up} {
		x.Close()
		w.track(x, false)
	}
}

func (w *wire) close() {
	w.ln.Close()
	w.mu.Lock()
	for c := range w.conns {
		c.Close()
	}
	w.conns = nil
	w.mu.Unlock()
	w.wg.Wait()
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}
