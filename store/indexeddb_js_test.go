package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall/js"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/store/storetest"
)

var dbSeq atomic.Int64

// needIndexedDB skips tb where there is no IndexedDB (Node, as make
// test-wasm runs the portable packages).
func needIndexedDB(tb testing.TB) {
	tb.Helper()
	if js.Global().Get("indexedDB").IsUndefined() {
		tb.Skip("no IndexedDB here (Node?): TestBrowserIndexedDB runs these tests in Chromium")
	}
}

// openIndexedDB opens a fresh database, closed and deleted when tb ends.
func openIndexedDB(tb testing.TB) *store.IndexedDB {
	tb.Helper()
	needIndexedDB(tb)
	ctx := context.Background()
	name := fmt.Sprintf("waxwing-test-%d-%d", time.Now().UnixNano(), dbSeq.Add(1))
	s, err := store.OpenIndexedDB(ctx, name)
	if err != nil {
		tb.Fatalf("OpenIndexedDB: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			tb.Errorf("Close: %v", err)
		}
		if err := store.DeleteIndexedDB(ctx, name); err != nil {
			tb.Errorf("DeleteIndexedDB: %v", err)
		}
	})
	return s
}

// TestIndexedDB runs the conformance suite against IndexedDB.
func TestIndexedDB(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openIndexedDB(t) })
}

// TestIndexedDBReopen checks that what is committed is there after the
// connection is closed and the database opened again.
func TestIndexedDBReopen(t *testing.T) {
	needIndexedDB(t)
	ctx := context.Background()
	name := fmt.Sprintf("waxwing-reopen-%d", time.Now().UnixNano())
	t.Cleanup(func() { _ = store.DeleteIndexedDB(ctx, name) })
	s, err := store.OpenIndexedDB(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	m := store.Message{Key: "m1", Conversation: "a@example.org", From: "a@example.org", Body: "hello", Pos: store.Provisional + 1, ArchiveBy: "me@example.org", ArchiveID: "a1"}
	var v uint64
	if err := s.Update(ctx, func(tx store.Tx) error { v, err = tx.PutMessage(m); return err }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Version(ctx); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Version after Close = %v, want ErrClosed", err)
	}
	if s, err = store.OpenIndexedDB(ctx, name); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.Version(ctx); err != nil || got != v {
		t.Errorf("Version after reopening = %d, %v; want %d", got, err, v)
	}
	ms, err := s.Messages(ctx, "a@example.org", store.Provisional+2, 10)
	if err != nil || len(ms) != 1 || ms[0].Pos != store.Provisional+1 || ms[0].Body != "hello" {
		t.Errorf("Messages after reopening = %+v, %v", ms, err)
	}
}

// TestIndexedDBPositions checks the order of positions the store keeps as
// strings: negative, around Provisional, and the extremes, with limits.
func TestIndexedDBPositions(t *testing.T) {
	ctx := context.Background()
	s := openIndexedDB(t)
	const conv = "a@example.org"
	pos := []store.Pos{-1 << 63, -5, -1, 0, 1, 1 << 53, 1<<53 + 1, store.Provisional - 1, store.Provisional, store.Provisional + 1, 1<<63 - 2}
	if err := s.Update(ctx, func(tx store.Tx) error {
		for i := len(pos) - 1; i >= 0; i-- {
			m := store.Message{Key: fmt.Sprintf("k%02d", i), Conversation: conv, From: conv, Pos: pos[i]}
			if _, err := tx.PutMessage(m); err != nil {
				return err
			}
		}
		// Two messages at one position: ordered by key.
		_, err := tx.PutMessage(store.Message{Key: "k03b", Conversation: conv, From: conv, Pos: 0})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := "k00 k01 k02 k03 k03b k04 k05 k06 k07 k08 k09 k10"
	ms, err := s.Messages(ctx, conv, 1<<63-1, 0)
	if got := keys(ms); err != nil || got != want {
		t.Errorf("Messages = %s, %v; want %s", got, err, want)
	}
	for _, tc := range []struct {
		before store.Pos
		limit  int
		want   string
	}{
		{store.Provisional + 1, 3, "k06 k07 k08"},
		{store.Provisional, 1, "k07"},
		{1, 2, "k03 k03b"},
		{1, 3, "k02 k03 k03b"},
		{0, 100, "k00 k01 k02"},
		{-1 << 63, 5, ""},
		{1<<63 - 1, 1, "k10"},
	} {
		ms, err := s.Messages(ctx, conv, tc.before, tc.limit)
		if got := keys(ms); err != nil || got != tc.want {
			t.Errorf("Messages(before %d, limit %d) = %s, %v; want %s", tc.before, tc.limit, got, err, tc.want)
		}
	}
	if err := s.Update(ctx, func(tx store.Tx) error {
		last, ok, err := tx.LastMessage(conv)
		if err != nil || !ok || last.Key != "k10" {
			t.Errorf("LastMessage = %s, %v, %v; want k10", last.Key, ok, err)
		}
		for after, want := range map[store.Pos]int{-1 << 63: 11, 0: 7, store.Provisional: 2, 1<<63 - 1: 0} {
			if n, err := tx.CountInbound(conv, after); err != nil || n != want {
				t.Errorf("CountInbound(%d) = %d, %v; want %d", after, n, err, want)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestIndexedDBEarlyCommit checks what happens when f waits on something
// else than the store: IndexedDB commits, and the next call says why.
func TestIndexedDBEarlyCommit(t *testing.T) {
	ctx := context.Background()
	s := openIndexedDB(t)
	err := s.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.PutConversation(store.Conversation{Peer: "a@example.org"}); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
		_, err := tx.PutConversation(store.Conversation{Peer: "b@example.org"})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "already committed") {
		t.Errorf("Update that sleeps = %v, want an error saying the transaction had already committed", err)
	}
}

// TestIndexedDBTimeout checks that a context ending while a request is in
// flight ends the call with the context's error, and aborts.
func TestIndexedDBTimeout(t *testing.T) {
	s := openIndexedDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.PutConversation(store.Conversation{Peer: "a@example.org"})
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a canceled context = %v, want context.Canceled", err)
	}
	if v, err := s.Version(context.Background()); err != nil || v != 0 {
		t.Errorf("Version = %d, %v; want 0", v, err)
	}
}

func keys(ms []store.Message) string {
	ks := make([]string, len(ms))
	for i, m := range ms {
		ks[i] = m.Key
	}
	return strings.Join(ks, " ")
}

// pageSize is the number of messages of one MAM page.
const pageSize = 250

// BenchmarkIndexedDBPageCommit commits MAM pages of new messages, the way
// a catch-up does: for each message a lookup by archive id and by
// origin-id (deduplication), then the message; then the conversation and
// the archive's coverage, all in one transaction per page.
func BenchmarkIndexedDBPageCommit(b *testing.B) {
	for _, d := range []string{"relaxed", "default", "strict"} {
		b.Run(d, func(b *testing.B) {
			ctx := context.Background()
			s := openIndexedDB(b)
			store.SetDurability(s, d)
			const own, peer = "me@example.org", "peer@example.org"
			body := strings.Repeat("Grüße, a message of ordinary length 😀 ", 2)
			n := 0
			b.ResetTimer()
			for b.Loop() {
				err := s.Update(ctx, func(tx store.Tx) error {
					first := n
					for range pageSize {
						n++
						m := store.Message{
							Key: fmt.Sprintf("m%08d", n), Conversation: peer, ArchiveBy: own, ArchiveID: fmt.Sprintf("arch-%08d", n),
							OriginID: fmt.Sprintf("orig-%08d", n), StanzaID: fmt.Sprintf("st-%08d", n), From: peer,
							Time: time.Unix(1_700_000_000+int64(n), 0), Body: body, State: store.StateReceived, Pos: store.Pos(n),
						}
						if n%3 == 0 {
							m.From, m.Direction, m.State = own, store.Outbound, store.StateAcked
						}
						if _, ok, err := tx.MessageByArchiveID(m.ArchiveBy, m.ArchiveID); err != nil || ok {
							return fmt.Errorf("MessageByArchiveID: %v, %v", ok, err)
						}
						if ms, err := tx.MessagesByOriginID(m.From, m.OriginID); err != nil || len(ms) != 0 {
							return fmt.Errorf("MessagesByOriginID: %d, %v", len(ms), err)
						}
						if _, err := tx.PutMessage(m); err != nil {
							return err
						}
					}
					c, _, err := tx.Conversation(peer)
					if err != nil {
						return err
					}
					c.Peer, c.LastActivity, c.LastKey, c.Preview = peer, time.Unix(1_700_000_000+int64(n), 0), fmt.Sprintf("m%08d", n), body
					if _, err := tx.PutConversation(c); err != nil {
						return err
					}
					a, err := tx.Archive(own)
					if err != nil {
						return err
					}
					r := store.Range{First: fmt.Sprintf("arch-%08d", first+1), Last: fmt.Sprintf("arch-%08d", n), FirstPos: store.Pos(first + 1), LastPos: store.Pos(n)}
					if len(a.Ranges) == 0 {
						a.Ranges, a.Below = []store.Range{r}, []store.GapReason{store.GapStart}
					} else {
						a.Ranges[0].Last, a.Ranges[0].LastPos = r.Last, r.LastPos
					}
					_, err = tx.PutArchive(a)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
