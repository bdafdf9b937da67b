package history_test

// The engine on IndexedDB in the browser, against a real server: run in
// headless Chromium by TestBrowserHistory and BenchmarkCatchUp
// (browser_test.go, bench_test.go), which pass the account as arguments.
// Under Node (make test-wasm) there is neither IndexedDB nor an account:
// these skip.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strings"
	"syscall/js"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/store"
)

var (
	flagControl  = flag.String("history.control", "", "URL that answers the bridge's WebSocket URL for this page (set by the native driver)")
	flagJID      = flag.String("history.jid", "", "bare JID of the account whose archive is caught up")
	flagPassword = flag.String("history.password", "", "its password")
	flagPeer     = flag.String("history.peer", "", "bare JID of the peer the archive's messages are exchanged with")
	flagWant     = flag.Int("history.want", 0, "messages the archive holds")
	flagStore    = flag.String("history.store", "indexeddb", "what BenchmarkIndexedDBCatchUp catches up into: indexeddb, memory (the engine on the memory store, in wasm) or raw (the bare fetch, no engine nor store)")
)

// browserAccount returns the account the native driver passed, or skips
// tb where there is no IndexedDB (Node) or no driver.
func browserAccount(tb testing.TB) account {
	tb.Helper()
	if js.Global().Get("indexedDB").IsUndefined() {
		tb.Skip("no IndexedDB here (Node?): TestBrowserHistory runs this in Chromium")
	}
	if *flagControl == "" || *flagJID == "" || *flagWant <= 0 {
		tb.Skip("no account given: TestBrowserHistory and BenchmarkCatchUp run this with one")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *flagControl, nil)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("asking for the WebSocket URL: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("asking for the WebSocket URL: %s %q %v", resp.Status, body, err)
	}
	return account{URL: strings.TrimSpace(string(body)), JID: *flagJID, Password: *flagPassword}
}

// mark tells the native driver that a timed catch-up starts or ends
// (what: "start" or "end"), where it notes the CPU time of the parts.
func mark(tb testing.TB, what string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *flagControl+"?mark="+what, nil)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("marking the %s: %v", what, err)
	}
	resp.Body.Close()
}

// warnings logs what the engine and the client warn about to the output.
func warnings() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// openDB opens a new IndexedDB database for tb, deleted when tb ends.
func openDB(ctx context.Context, tb testing.TB, name string) *store.IndexedDB {
	tb.Helper()
	st, err := store.OpenIndexedDB(ctx, name)
	if err != nil {
		tb.Fatalf("OpenIndexedDB: %v", err)
	}
	return st
}

// deleteDB closes st (if it is not already) and deletes its database.
func deleteDB(tb testing.TB, st *store.IndexedDB, name string) {
	if err := st.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
		tb.Errorf("Close: %v", err)
	}
	if err := store.DeleteIndexedDB(context.Background(), name); err != nil {
		tb.Errorf("DeleteIndexedDB: %v", err)
	}
}

// TestIndexedDBHistory: a new device catches up the whole archive into
// IndexedDB, sends a message and sees the server acknowledge it, is
// reloaded (engine and client gone, the database closed and opened again,
// then a new engine and client: the session resumes), and then holds
// exactly what the archive holds, in archive order, each message once.
func TestIndexedDBHistory(t *testing.T) {
	acct := browserAccount(t)
	want, peer := *flagWant, *flagPeer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := fmt.Sprintf("waxwing-history-%d", time.Now().UnixNano())
	st := openDB(ctx, t, name)
	defer func() { deleteDB(t, st, name) }()

	r, err := startRig(acct, st, "chromium", warnings())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.waitOnline(ctx); err != nil {
		r.stop()
		t.Fatal(err)
	}
	pages, err := catchUp(ctx, r.eng)
	if err != nil {
		r.stop()
		t.Fatal(err)
	}
	if _, n, err := stored(ctx, st); err != nil || n != want {
		r.stop()
		t.Fatalf("after the catch-up (%d older pages) the store holds %d messages (%v), want %d", pages, n, err, want)
	}
	t.Logf("caught up %d messages, %d older pages", want, pages)

	sent, err := r.eng.Send(ctx, peer, "sent from Chromium")
	if err != nil {
		r.stop()
		t.Fatal(err)
	}
	state := func(st store.Store) (store.Message, error) {
		ms, err := st.Messages(ctx, peer, math.MaxInt64, 0)
		if err != nil {
			return store.Message{}, err
		}
		for _, m := range ms {
			if m.Key == sent.Key {
				return m, nil
			}
		}
		return store.Message{}, fmt.Errorf("message %s is not in the store", sent.Key)
	}
	for {
		m, err := state(st)
		if err != nil {
			r.stop()
			t.Fatal(err)
		}
		if m.State >= store.StateAcked {
			break
		}
		select {
		case <-ctx.Done():
			r.stop()
			t.Fatalf("the sent message is still %s", m.State)
		case <-time.After(20 * time.Millisecond):
		}
	}

	// A reload: the tab goes (the link drops, the session hibernates), the
	// database is closed and opened again by a new engine and client.
	r.stop()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openDB(ctx, t, name)
	r, err = startRig(acct, st, "chromium", warnings())
	if err != nil {
		t.Fatal(err)
	}
	defer r.stop()
	if err := r.waitOnline(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.eng.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if m, err := state(st); err != nil || m.State < store.StateAcked || m.ArchiveID == "" {
		t.Errorf("after the reload the sent message is %+v (%v); want it acknowledged, with its archive id", m, err)
	}
	byPeer, n, err := stored(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(byPeer) != 1 || n != want+1 {
		t.Errorf("after the reload the store holds %d messages in %d conversations, want %d in 1", n, len(byPeer), want+1)
	}
	arch, _, err := rawFetch(ctx, acct, 250)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameHistory(byPeer[peer], arch); err != nil {
		t.Error(err)
	}
}

// BenchmarkIndexedDBCatchUp: a new device catches up the whole archive
// into a new IndexedDB database. Each iteration prints its figures as
// "catch-up: msgs=N secs=S pages=P store-secs=T txs=X" (T: the time spent
// in X store transactions) for the native driver, then where the store
// time went ("catch-up-detail:", spyStore); only the
// catch-up is timed (from starting the client to the archive's start in
// the store), not opening, checking or deleting the database.
//
// -history.store=memory runs the engine on the memory store instead and
// -history.store=raw the bare fetch (rawFetch): the anchors of the same
// page, which say what the wasm's own work allows without IndexedDB.
func BenchmarkIndexedDBCatchUp(b *testing.B) {
	acct := browserAccount(b)
	want := *flagWant
	i := 0
	for b.Loop() {
		b.StopTimer()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		if *flagStore == "raw" {
			mark(b, "start")
			b.StartTimer()
			t0 := time.Now()
			got, pages, err := rawFetch(ctx, acct, history250)
			secs := time.Since(t0).Seconds()
			mark(b, "end")
			b.StopTimer()
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			if len(got) != want {
				b.Fatalf("the archive holds %d messages, want %d", len(got), want)
			}
			fmt.Printf("catch-up: msgs=%d secs=%.6f pages=%d store-secs=%.6f txs=%d\n", want, secs, pages, 0.0, 0)
			b.ReportMetric(float64(want)/secs, "msgs/s")
			i++
			b.StartTimer()
			continue
		}
		var st store.Store
		var idb *store.IndexedDB
		name := fmt.Sprintf("waxwing-catchup-%d-%d", time.Now().UnixNano(), i)
		switch *flagStore {
		case "indexeddb":
			idb = openDB(ctx, b, name)
			st = idb
		case "memory":
			st = store.NewMemory()
		default:
			b.Fatalf("-history.store=%q: want indexeddb, memory or raw", *flagStore)
		}
		spy := newSpyStore(st)
		ts := &timedStore{Store: spy}
		mark(b, "start")
		b.StartTimer()
		t0 := time.Now()
		r, err := startRig(acct, ts, fmt.Sprintf("chromium-%d", i), warnings())
		if err != nil {
			b.Fatal(err)
		}
		pages := 0
		if err = r.waitOnline(ctx); err == nil {
			pages, err = catchUp(ctx, r.eng)
		}
		secs := time.Since(t0).Seconds()
		b.StopTimer()
		mark(b, "end")
		r.stop()
		if err != nil {
			b.Fatal(err)
		}
		if _, n, err := stored(ctx, st); err != nil || n != want {
			b.Fatalf("the store holds %d messages (%v), want %d", n, err, want)
		}
		if idb != nil {
			deleteDB(b, idb, name)
		}
		cancel()
		txs, spent := ts.total()
		fmt.Printf("catch-up: msgs=%d secs=%.6f pages=%d store-secs=%.6f txs=%d\n", want, secs, pages, spent.Seconds(), txs)
		fmt.Printf("catch-up-detail: %s\n", spy.line())
		b.ReportMetric(float64(want)/secs, "msgs/s")
		i++
		b.StartTimer()
	}
}
