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

// TestIndexedDBArchiveLookups: within one transaction, lookups by archive
// id after a miss, after a put, and after a put that changes the id (the
// store answers some of these without asking IndexedDB), for messages
// and for edits, with the edits' archive ids read at once and not.
func TestIndexedDBArchiveLookups(t *testing.T) {
	for _, preload := range []int{1024, 0} {
		t.Run(fmt.Sprintf("preload-%d", preload), func(t *testing.T) {
			defer store.SetEditPreload(store.SetEditPreload(preload))
			ctx := context.Background()
			s := openIndexedDB(t)
			const me, peer = "me@example.org", "peer@example.org"
			msg := func(key, id string) store.Message {
				return store.Message{Key: key, Conversation: peer, From: peer, ArchiveBy: me, ArchiveID: id, Body: key, Pos: 5, State: store.StateReceived}
			}
			edit := func(key, id string) store.Edit {
				return store.Edit{Key: key, Conversation: peer, Kind: store.Reaction, Target: "t", From: peer, Reactions: []string{"👍"}, ArchiveBy: me, ArchiveID: id, Pos: 6}
			}
			err := s.Update(ctx, func(tx store.Tx) error {
				if _, err := tx.PutMessage(msg("m0", "x0")); err != nil {
					return err
				}
				_, err := tx.PutEdit(edit("e0", "E0"))
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			msgIs := func(tx store.Tx, id, want string) {
				t.Helper()
				m, ok, err := tx.MessageByArchiveID(me, id)
				if err != nil || ok != (want != "") || m.Key != want {
					t.Errorf("MessageByArchiveID(%s) = %q, %v, %v; want %q", id, m.Key, ok, err, want)
				}
			}
			editIs := func(tx store.Tx, id, want string) {
				t.Helper()
				e, ok, err := tx.EditByArchiveID(me, id)
				if err != nil || ok != (want != "") || e.Key != want {
					t.Errorf("EditByArchiveID(%s) = %q, %v, %v; want %q", id, e.Key, ok, err, want)
				}
			}
			err = s.Update(ctx, func(tx store.Tx) error {
				msgIs(tx, "x1", "")
				editIs(tx, "x1", "")
				if _, err := tx.PutMessage(msg("m1", "x1")); err != nil {
					return err
				}
				msgIs(tx, "x1", "m1")
				if _, err := tx.PutMessage(msg("m1", "x2")); err != nil {
					return err
				}
				msgIs(tx, "x1", "")
				msgIs(tx, "x2", "m1")
				msgIs(tx, "x0", "m0")
				msgIs(tx, "x0", "m0")
				if _, err := tx.PutMessage(msg("m0", "x3")); err != nil {
					return err
				}
				msgIs(tx, "x0", "")
				msgIs(tx, "x3", "m0")
				if _, err := tx.PutMessage(msg("m2", "x0")); err != nil {
					return err
				}
				msgIs(tx, "x0", "m2")

				editIs(tx, "E9", "")
				if _, err := tx.PutEdit(edit("e9", "E9")); err != nil {
					return err
				}
				editIs(tx, "E9", "e9")
				editIs(tx, "E0", "e0")
				if _, err := tx.PutEdit(edit("e0", "E5")); err != nil {
					return err
				}
				editIs(tx, "E0", "")
				editIs(tx, "E5", "e0")
				if _, err := tx.PutEdit(edit("e8", "E0")); err != nil {
					return err
				}
				editIs(tx, "E0", "e8")
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Update(ctx, func(tx store.Tx) error {
				for id, want := range map[string]string{"x0": "m2", "x1": "", "x2": "m1", "x3": "m0"} {
					msgIs(tx, id, want)
				}
				for id, want := range map[string]string{"E0": "e8", "E5": "e0", "E9": "e9", "E1": ""} {
					editIs(tx, id, want)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// benchMessage is the n-th message of the benchmarks' archive of own with
// peer: a third sent by own.
func benchMessage(n int, own, peer, body string) store.Message {
	m := store.Message{
		Key: fmt.Sprintf("m%08d", n), Conversation: peer, ArchiveBy: own, ArchiveID: fmt.Sprintf("arch-%08d", n),
		OriginID: fmt.Sprintf("orig-%08d", n), StanzaID: fmt.Sprintf("st-%08d", n), From: peer,
		Time: time.Unix(1_700_000_000+int64(n), 0), Body: body, State: store.StateReceived, Pos: store.Pos(n),
	}
	if n%3 == 0 {
		m.From, m.Direction, m.State = own, store.Outbound, store.StateAcked
	}
	return m
}

// storeNew stores a new archived message the way the sync engine does
// (wasm/history apply): looked up by archive id and by origin-id, where
// neither may find it, then put.
func storeNew(tx store.Tx, m store.Message) error {
	if _, ok, err := tx.MessageByArchiveID(m.ArchiveBy, m.ArchiveID); err != nil || ok {
		return fmt.Errorf("MessageByArchiveID: %v, %v", ok, err)
	}
	if ms, err := tx.MessagesByOriginID(m.From, m.OriginID); err != nil || len(ms) != 0 {
		return fmt.Errorf("MessagesByOriginID: %d, %v", len(ms), err)
	}
	_, err := tx.PutMessage(m)
	return err
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
						if err := storeNew(tx, benchMessage(n, own, peer, body)); err != nil {
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

// BenchmarkIndexedDBCatchUpPages stores a 10,000-message archive (the
// figure of issue 4) in a new database, page after page, making the calls
// the sync engine makes in its page commit (wasm/history commitPage), in
// the same order: for each result where it is placed (MessageByArchiveID,
// EditByArchiveID), then for each whether it is a copy
// (MessageByArchiveID, MessagesByOriginID) and the message; then the
// conversation's inbox row (Conversation, LastMessage, CountInbound,
// PutConversation) and the coverage (Archive, PutArchive). Between pages,
// the engine's read-only Archive, twice, and the client's saves of its
// XEP-0198 count, one per 16 results (UpdateState). No server, no
// parsing: what the store alone allows, with pages of 50 (Prosody's
// default max_archive_query_results) and of 250 (the engine's ask); the
// "batched" ones first look the page's archive ids and origin-ids up at
// once (LookUpMessages), as the engine does.
func BenchmarkIndexedDBCatchUpPages(b *testing.B) {
	const total, own, peer = 10_000, "me@example.org", "peer@example.org"
	body := strings.Repeat("Grüße, a message of ordinary length 😀 ", 2)
	for _, bench := range []struct {
		size    int
		batched bool
	}{{50, false}, {250, false}, {50, true}, {250, true}} {
		size, name := bench.size, fmt.Sprintf("page-%d", bench.size)
		if bench.batched {
			name += "-batched"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			var stored int
			for b.Loop() {
				b.StopTimer()
				s := openIndexedDB(b)
				b.StartTimer()
				for top := total; top > 0; top -= size {
					if _, err := s.Archive(ctx, own); err != nil {
						b.Fatal(err)
					}
					first := max(1, top-size+1)
					err := s.Update(ctx, func(tx store.Tx) error {
						a, err := tx.Archive(own)
						if err != nil {
							return err
						}
						if bench.batched {
							var ids []string
							var origins []store.OriginKey
							for n := first; n <= top; n++ {
								m := benchMessage(n, own, peer, body)
								ids = append(ids, m.ArchiveID)
								origins = append(origins, store.OriginKey{From: m.From, OriginID: m.OriginID})
							}
							if _, err := tx.LookUpMessages(own, ids, origins); err != nil {
								return err
							}
						}
						for n := first; n <= top; n++ {
							id := fmt.Sprintf("arch-%08d", n)
							if _, ok, err := tx.MessageByArchiveID(own, id); err != nil || ok {
								return fmt.Errorf("MessageByArchiveID: %v, %v", ok, err)
							}
							if _, ok, err := tx.EditByArchiveID(own, id); err != nil || ok {
								return fmt.Errorf("EditByArchiveID: %v, %v", ok, err)
							}
						}
						for n := first; n <= top; n++ {
							if err := storeNew(tx, benchMessage(n, own, peer, body)); err != nil {
								return err
							}
						}
						c, _, err := tx.Conversation(peer)
						if err != nil {
							return err
						}
						last, _, err := tx.LastMessage(peer)
						if err != nil {
							return err
						}
						if c.Unread, err = tx.CountInbound(peer, 0); err != nil {
							return err
						}
						c.Peer, c.LastActivity, c.LastKey, c.Preview = peer, last.Time, last.Key, last.Body
						if _, err := tx.PutConversation(c); err != nil {
							return err
						}
						r := store.Range{First: fmt.Sprintf("arch-%08d", first), Last: fmt.Sprintf("arch-%08d", total), FirstPos: store.Pos(first), LastPos: store.Pos(total)}
						a.Ranges, a.Below = []store.Range{r}, []store.GapReason{store.GapUnfetched}
						_, err = tx.PutArchive(a)
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
					for range (top - first + 1) / 16 {
						if err := s.UpdateState(ctx, func(st *store.Session) error { st.SM.Inbound += 16; return nil }); err != nil {
							b.Fatal(err)
						}
					}
					if _, err := s.Archive(ctx, own); err != nil {
						b.Fatal(err)
					}
					stored += top - first + 1
				}
			}
			b.ReportMetric(float64(stored)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkIndexedDBUpdateState saves the session state with a new
// XEP-0198 count, as the client does before each acknowledgement, for each
// durability hint.
func BenchmarkIndexedDBUpdateState(b *testing.B) {
	for _, d := range []string{"strict", "relaxed"} {
		b.Run(d, func(b *testing.B) {
			ctx := context.Background()
			s := openIndexedDB(b)
			store.SetDurability(s, d)
			if err := s.UpdateState(ctx, func(st *store.Session) error { st.DeviceID, st.SM.ID = "dev", "sm-1"; return nil }); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := s.UpdateState(ctx, func(st *store.Session) error { st.SM.Inbound += 16; return nil }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/save")
		})
	}
}

// TestIndexedDBDedupKeys checks the key set a connection keeps of a store
// that was empty when it opened: lookups of keys it lacks make no request,
// keys it holds are asked for, and once another connection has written it
// answers nothing more (what that connection wrote is found).
func TestIndexedDBDedupKeys(t *testing.T) {
	needIndexedDB(t)
	ctx := context.Background()
	name := fmt.Sprintf("waxwing-dedupkeys-%d-%d", time.Now().UnixNano(), dbSeq.Add(1))
	t.Cleanup(func() { _ = store.DeleteIndexedDB(ctx, name) })
	open := func() *store.IndexedDB {
		t.Helper()
		s, err := store.OpenIndexedDB(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	const own, peer = "me@example.org", "peer@example.org"
	msgs := func(from, to int) ([]store.Message, []string, []store.OriginKey) {
		var ms []store.Message
		var ids []string
		var origins []store.OriginKey
		for n := from; n < to; n++ {
			m := benchMessage(n, own, peer, "hello")
			ms = append(ms, m)
			ids = append(ids, m.ArchiveID)
			origins = append(origins, store.OriginKey{From: m.From, OriginID: m.OriginID})
		}
		return ms, ids, origins
	}
	// lookUp looks up messages [from, to) on s and reports how many of
	// them were found by archive id and by origin-id, and the requests
	// made.
	lookUp := func(s *store.IndexedDB, from, to int, put bool) (byID, byOrigin int, requests int64) {
		t.Helper()
		ms, ids, origins := msgs(from, to)
		before := store.DedupRequests()
		err := s.Update(ctx, func(tx store.Tx) error {
			l, err := tx.LookUpMessages(own, ids, origins)
			if err != nil {
				return err
			}
			byID, byOrigin = len(l.ByArchiveID), 0
			for _, found := range l.ByOrigin {
				byOrigin += len(found)
			}
			for i := range ms {
				if _, ok, err := tx.MessageByArchiveID(own, ms[i].ArchiveID); err != nil || ok != (byID == len(ms)) {
					return fmt.Errorf("MessageByArchiveID(%s) = %v, %v after LookUpMessages found %d of %d", ms[i].ArchiveID, ok, err, byID, len(ms))
				}
				if put {
					if _, err := tx.PutMessage(ms[i]); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return byID, byOrigin, store.DedupRequests() - before
	}
	check := func(what string, s *store.IndexedDB, from, to int, put bool, wantFound int, wantRequests func(int64) bool) {
		t.Helper()
		byID, byOrigin, req := lookUp(s, from, to, put)
		if byID != wantFound || byOrigin != wantFound || !wantRequests(req) {
			t.Errorf("%s: found %d by archive id and %d by origin-id with %d requests; want %d found", what, byID, byOrigin, req, wantFound)
		}
	}
	none := func(n int64) bool { return n == 0 }
	some := func(n int64) bool { return n > 0 }

	a, b := open(), open() // both see an empty store
	check("a new store's first page", a, 0, 10, true, 0, none)
	check("a page after it", a, 10, 20, true, 0, none)
	check("both pages again", a, 0, 20, false, 10+10, func(n int64) bool { return n == 40 })
	check("b, after a wrote", b, 20, 30, true, 0, some)
	check("a, after b wrote", a, 20, 30, false, 10, some)
	check("a, absent keys after b wrote", a, 30, 40, false, 0, some)
	c := open() // the store holds messages: no key set
	check("a connection opened on a store with messages", c, 40, 50, false, 0, some)
}
