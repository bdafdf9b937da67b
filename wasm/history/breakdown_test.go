package history_test

// Where a catch-up's store time goes, by kind of transaction and, inside
// the engine's page commits, by call: printed by the catch-up benchmarks
// as a "catch-up-detail:" line after their figures.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/waxwing-im/waxwing/store"
)

// spyStore counts and times the transactions of a store by kind: "page"
// (an Update that stores archive coverage: the engine's page commit),
// "update" (any other Update), "state" (UpdateState: the client's session
// state, the XEP-0198 counts), "archive" (the read-only Archive), "read"
// (other reads); and, inside page commits, the Tx calls by method, the
// rest ("page:rest") being the commit itself and the engine's own work.
type spyStore struct {
	store.Store
	mu sync.Mutex
	by map[string]*spyStat
}

type spyStat struct {
	n int
	d time.Duration
}

func newSpyStore(st store.Store) *spyStore { return &spyStore{Store: st, by: map[string]*spyStat{}} }

// bump adds n transactions or calls of d in all to by[k].
func bump(by map[string]*spyStat, k string, n int, d time.Duration) {
	st := by[k]
	if st == nil {
		st = &spyStat{}
		by[k] = st
	}
	st.n += n
	st.d += d
}

func (s *spyStore) add(kind string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bump(s.by, kind, 1, d)
}

func (s *spyStore) Update(ctx context.Context, f func(store.Tx) error) error {
	t0 := time.Now()
	tx := &spyTx{s: s}
	err := s.Store.Update(ctx, func(inner store.Tx) error {
		tx.Tx = inner
		return f(tx)
	})
	d := time.Since(t0)
	if tx.page {
		s.add("page", d)
		s.add("page:rest", d-tx.calls)
		s.mu.Lock()
		for k, v := range tx.by {
			bump(s.by, "page:"+k, v.n, v.d)
		}
		s.mu.Unlock()
	} else {
		s.add("update", d)
	}
	return err
}

func (s *spyStore) UpdateState(ctx context.Context, f func(*store.Session) error) error {
	defer s.since("state", time.Now())
	return s.Store.UpdateState(ctx, f)
}

func (s *spyStore) Archive(ctx context.Context, jid string) (store.Archive, error) {
	defer s.since("archive", time.Now())
	return s.Store.Archive(ctx, jid)
}

func (s *spyStore) LoadState(ctx context.Context) (store.Session, error) {
	defer s.since("read", time.Now())
	return s.Store.LoadState(ctx)
}

func (s *spyStore) Version(ctx context.Context) (uint64, error) {
	defer s.since("read", time.Now())
	return s.Store.Version(ctx)
}

func (s *spyStore) since(kind string, t0 time.Time) { s.add(kind, time.Since(t0)) }

// line sums the figures up: "kind=count/seconds ...", kinds sorted.
func (s *spyStore) line() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var kinds []string
	for k := range s.by {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var sb strings.Builder
	for _, k := range kinds {
		fmt.Fprintf(&sb, " %s=%d/%.3fs", k, s.by[k].n, s.by[k].d.Seconds())
	}
	return strings.TrimSpace(sb.String())
}

// spyTx times the calls of the engine's page commits.
type spyTx struct {
	store.Tx
	s     *spyStore
	page  bool
	calls time.Duration
	by    map[string]*spyStat
}

func (x *spyTx) time(name string, t0 time.Time) {
	d := time.Since(t0)
	x.calls += d
	if x.by == nil {
		x.by = map[string]*spyStat{}
	}
	bump(x.by, name, 1, d)
}

func (x *spyTx) MessageByArchiveID(by, id string) (store.Message, bool, error) {
	defer x.time("MessageByArchiveID", time.Now())
	return x.Tx.MessageByArchiveID(by, id)
}

func (x *spyTx) EditByArchiveID(by, id string) (store.Edit, bool, error) {
	defer x.time("EditByArchiveID", time.Now())
	return x.Tx.EditByArchiveID(by, id)
}

func (x *spyTx) MessagesByOriginID(from, originID string) ([]store.Message, error) {
	defer x.time("MessagesByOriginID", time.Now())
	return x.Tx.MessagesByOriginID(from, originID)
}

func (x *spyTx) LookUpMessages(by string, ids []string, origins []store.OriginKey) (store.Lookup, error) {
	defer x.time("LookUpMessages", time.Now())
	return x.Tx.LookUpMessages(by, ids, origins)
}

func (x *spyTx) PutMessage(m store.Message) (uint64, error) {
	defer x.time("PutMessage", time.Now())
	return x.Tx.PutMessage(m)
}

func (x *spyTx) Conversation(peer string) (store.Conversation, bool, error) {
	defer x.time("Conversation", time.Now())
	return x.Tx.Conversation(peer)
}

func (x *spyTx) PutConversation(c store.Conversation) (uint64, error) {
	defer x.time("PutConversation", time.Now())
	return x.Tx.PutConversation(c)
}

func (x *spyTx) CountInbound(conv string, after store.Pos) (int, error) {
	defer x.time("CountInbound", time.Now())
	return x.Tx.CountInbound(conv, after)
}

func (x *spyTx) LastMessage(conv string) (store.Message, bool, error) {
	defer x.time("LastMessage", time.Now())
	return x.Tx.LastMessage(conv)
}

func (x *spyTx) Archive(jid string) (store.Archive, error) {
	defer x.time("Archive", time.Now())
	return x.Tx.Archive(jid)
}

func (x *spyTx) PutArchive(a store.Archive) (uint64, error) {
	x.page = true
	defer x.time("PutArchive", time.Now())
	return x.Tx.PutArchive(a)
}
