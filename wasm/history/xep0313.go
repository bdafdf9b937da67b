package history

// XEP-0313 Message Archive Management: the catch-up after each connection
// (forward from the newest archive id held, RSM paging, XEP-0059), the
// newest page for a device that holds nothing yet, and older history on
// demand.

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/stanza"
)

// queryKind says where a query's page goes.
type queryKind uint8

const (
	forward queryKind = iota // after the newest range (or, expired, from the start)
	latest                   // the newest page: the first range of a new device
	older                    // before the oldest range
)

// query is one archive query in flight and its buffered results.
type query struct {
	id      string
	kind    queryKind
	after   string // forward: the archive id paged after ("" from the start)
	before  string // older: the archive id paged before
	expired bool   // forward: the position had expired; a new range starts

	mu      sync.Mutex
	results []result
	done    chan struct{}
	err     error
	once    sync.Once
	pages   int
}

type result struct {
	id  string
	msg *stanza.Message
}

func (q *query) finish(err error) {
	q.once.Do(func() { q.err = err; close(q.done) })
}

// resend asks again for the archive pages and other iqs in flight (except
// skip, the catch-up AfterBind has just sent): a query written just before
// a link died is not in the server's XEP-0198 count and is not re-sent by
// the resumption, and a new session never answers the old one's. Results
// are buffered per query id, so nothing doubles.
func (e *Engine) resend(skip *query) error {
	e.mu.Lock()
	var qs []*query
	seen := map[*query]bool{skip: true}
	for _, q := range e.queries {
		if !seen[q] {
			seen[q] = true
			qs = append(qs, q)
		}
	}
	var calls [][]byte
	for _, p := range e.calls {
		if p.raw != nil {
			calls = append(calls, p.raw)
		}
	}
	e.mu.Unlock()
	for _, q := range qs {
		if err := e.send(e.request(q)); err != nil {
			return err
		}
	}
	for _, raw := range calls {
		if err := e.send(raw); err != nil {
			return err
		}
	}
	return nil
}

// ErrExpired is returned by FetchOlder when the archive no longer holds what
// lies below: the gap is recorded and shown, not fetched.
var ErrExpired = errors.New("history: the archive no longer holds older messages")

func (e *Engine) queryByID(id string) (*query, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	q, ok := e.queries[id]
	return q, ok
}

// request builds the next query for q and registers it.
func (e *Engine) request(q *query) []byte {
	id := e.nextID("mam")
	mq := stanza.MAMQuery{ID: id, QueryID: id, Max: e.cfg.PageSize}
	q.mu.Lock()
	old := q.id
	q.id, q.results = id, nil // a re-sent query: answers to the old id are ignored
	switch q.kind {
	case forward:
		mq.After = q.after
	case latest:
		mq.LastPage = true
	case older:
		mq.Before = q.before
	}
	q.mu.Unlock()
	e.mu.Lock()
	delete(e.queries, old)
	e.queries[id] = q
	e.mu.Unlock()
	return mq.Bytes()
}

// newCatchUp prepares the catch-up of a new session and returns its first
// query. Bind 2's archive metadata, when the server sends it, tells that
// there is nothing to fetch without asking.
func (e *Engine) newCatchUp(ctx context.Context, meta []byte) ([]byte, error) {
	arch, err := e.archive(ctx)
	if err != nil {
		return nil, err
	}
	q := &query{done: make(chan struct{})}
	if r, ok := arch.Latest(); ok {
		q.kind, q.after = forward, r.Last
		if meta != nil {
			if md, err := stanza.ParseMAMMetadata(meta); err == nil && (md.Empty || md.End.ID == r.Last) {
				e.log.Debug("catch-up: the archive ends where the store does (Bind 2 metadata)")
				return nil, nil
			}
		}
	} else {
		q.kind = latest
	}
	e.mu.Lock()
	e.cu = q
	e.mu.Unlock()
	return e.request(q), nil
}

// startCatchUp starts a forward catch-up on the current session unless one
// is in flight (force: even then, a new one; the old one's answers are
// ignored).
func (e *Engine) startCatchUp(ctx context.Context, force bool) error {
	e.mu.Lock()
	if e.cu != nil && !force {
		e.mu.Unlock()
		return nil
	}
	e.mu.Unlock()
	raw, err := e.newCatchUp(ctx, nil)
	if err != nil || raw == nil {
		return err
	}
	if err := e.send(raw); err != nil {
		e.mu.Lock()
		q := e.cu
		e.cu = nil
		e.mu.Unlock()
		q.finish(err)
		return err
	}
	return nil
}

// Sync catches up with the archive now and waits until the store holds
// everything the archive had when the last page was asked for.
func (e *Engine) Sync(ctx context.Context) error {
	if err := e.Wait(ctx); err != nil {
		return err
	}
	if err := e.startCatchUp(ctx, false); err != nil {
		return err
	}
	e.mu.Lock()
	q := e.cu
	e.mu.Unlock()
	if q == nil {
		return nil
	}
	select {
	case <-q.done:
		return q.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// FetchOlder fetches one page of history below the oldest held and waits
// for it to be stored. It reports whether older history remains; at the
// start of the archive it returns false, and ErrExpired where the archive
// has deleted what lies below.
func (e *Engine) FetchOlder(ctx context.Context) (bool, error) {
	arch, err := e.archive(ctx)
	if err != nil {
		return false, err
	}
	if len(arch.Ranges) == 0 {
		if err := e.Sync(ctx); err != nil {
			return false, err
		}
		if arch, err = e.archive(ctx); err != nil || len(arch.Ranges) == 0 {
			return false, err
		}
	}
	switch arch.Below[0] {
	case store.GapStart:
		return false, nil
	case store.GapExpired:
		return false, ErrExpired
	}
	q := &query{kind: older, before: arch.Ranges[0].First, done: make(chan struct{})}
	if err := e.send(e.request(q)); err != nil {
		return false, err
	}
	select {
	case <-q.done:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	if q.err != nil {
		return false, q.err
	}
	arch, err = e.archive(ctx)
	if err != nil {
		return false, err
	}
	return arch.Below[0] == store.GapUnfetched, nil
}

// archive reads what the store holds of the own archive.
func (e *Engine) archive(ctx context.Context) (store.Archive, error) {
	var a store.Archive
	err := e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		a, err = tx.Archive(e.cfg.Self)
		return err
	})
	return a, err
}

// archiveResult buffers one result of a query in flight; results of
// queries this engine did not send (an earlier process's) are ignored.
func (e *Engine) archiveResult(m stanza.Message) {
	if f := bare(m.From); f != "" && f != e.cfg.Self {
		e.log.Info("ignoring an archive result from another entity", "from", m.From)
		return
	}
	q, ok := e.queryByID(m.MAM.QueryID)
	if !ok || m.Inner == nil {
		return
	}
	q.mu.Lock()
	if q.id == m.MAM.QueryID { // not a stale id of a re-sent query
		q.results = append(q.results, result{id: m.MAM.ID, msg: m.Inner})
	}
	q.mu.Unlock()
}

// archiveAnswer completes a page: it commits the buffered results with the
// new coverage in one transaction, then asks for the next page.
func (e *Engine) archiveAnswer(ctx context.Context, q *query, raw []byte, iq stanza.IQ) error {
	e.mu.Lock()
	delete(e.queries, iq.ID)
	e.mu.Unlock()
	q.mu.Lock()
	if q.id != iq.ID {
		// The answer to a query asked again since: the new one counts.
		q.mu.Unlock()
		return nil
	}
	results := q.results
	q.results = nil
	q.mu.Unlock()

	fin, err := stanza.ParseMAMFin(raw)
	var se *stanza.StanzaError
	if errors.As(err, &se) || iq.Error != nil {
		if se == nil {
			se = iq.Error
		}
		if se.Condition == "item-not-found" && q.kind == forward && q.after != "" {
			// The position has expired: a new range starts with the
			// oldest message the archive still has; the gap below it is
			// recorded, never silent.
			e.log.Warn("catch-up: the archive no longer has our position; recording a gap", "after", q.after)
			q.mu.Lock()
			q.after, q.expired = "", true
			q.mu.Unlock()
			return e.next(q)
		}
		if se.Condition == "item-not-found" && q.kind == older {
			err := e.markBelow(ctx, store.GapExpired)
			q.finish(errors.Join(ErrExpired, err))
			return nil
		}
		e.endQuery(q, fmt.Errorf("history: archive query failed: %s %s", se.Condition, se.Text))
		return nil
	}
	if err != nil {
		e.endQuery(q, fmt.Errorf("history: archive answer: %w", err))
		return nil
	}
	if err := e.commitPage(ctx, q, results, fin); err != nil {
		e.endQuery(q, err)
		return err
	}
	q.pages++
	if q.kind == forward && !fin.Complete && len(results) > 0 {
		q.mu.Lock()
		q.after, q.expired = results[len(results)-1].id, false
		q.mu.Unlock()
		return e.next(q)
	}
	e.log.Debug("archive query complete", "kind", q.kind, "pages", q.pages)
	e.endQuery(q, nil)
	return nil
}

// next asks for q's next page.
func (e *Engine) next(q *query) error {
	if err := e.send(e.request(q)); err != nil {
		e.endQuery(q, err)
	}
	return nil
}

func (e *Engine) endQuery(q *query, err error) {
	e.mu.Lock()
	if e.cu == q {
		e.cu = nil
	}
	e.mu.Unlock()
	q.finish(err)
}

// commitPage stores one page of results, in archive order, with the
// coverage it adds, in one transaction.
func (e *Engine) commitPage(ctx context.Context, qq *query, results []result, fin stanza.MAMFin) error {
	qq.mu.Lock()
	q := struct {
		kind    queryKind
		expired bool
	}{qq.kind, qq.expired}
	qq.mu.Unlock()
	return e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		arch, err := tx.Archive(e.cfg.Self)
		if err != nil {
			return err
		}
		arch.JID = e.cfg.Self
		n := store.Pos(len(results))
		var base store.Pos // position of results[0]
		switch {
		case q.kind == older:
			base = arch.Ranges[0].FirstPos - n
		case len(arch.Ranges) == 0:
			base = firstPos
		case q.expired:
			base = arch.Ranges[len(arch.Ranges)-1].LastPos + expiredGap
		default:
			base = arch.Ranges[len(arch.Ranges)-1].LastPos + 1
		}
		touched := map[string]bool{}
		for i, r := range results {
			t := e.cfg.Now()
			if r.msg.Delay != nil && !r.msg.Delay.Stamp.IsZero() {
				t = r.msg.Delay.Stamp
			}
			it := item{msg: r.msg, archiveID: r.id, time: t, pos: base + store.Pos(i), confirm: true}
			if err := e.apply(tx, it, touched); err != nil {
				return err
			}
		}
		if n > 0 {
			first, last := results[0].id, results[n-1].id
			switch {
			case q.kind == older:
				arch.Ranges[0].First, arch.Ranges[0].FirstPos = first, base
				arch.Below[0] = store.GapUnfetched
				if fin.Complete {
					arch.Below[0] = store.GapStart
				}
			case len(arch.Ranges) == 0 || q.expired:
				below := store.GapExpired
				if len(arch.Ranges) == 0 {
					below = store.GapUnfetched
					if q.kind == latest && fin.Complete {
						below = store.GapStart
					}
				}
				arch.Ranges = append(arch.Ranges, store.Range{First: first, Last: last, FirstPos: base, LastPos: base + n - 1})
				arch.Below = append(arch.Below, below)
			default:
				l := &arch.Ranges[len(arch.Ranges)-1]
				l.Last, l.LastPos = last, base+n-1
			}
		} else if q.kind == older && fin.Complete {
			arch.Below[0] = store.GapStart
		}
		if err := e.refresh(tx, touched); err != nil {
			return err
		}
		_, err = tx.PutArchive(arch)
		return err
	})
}

// markBelow records what lies below the oldest range.
func (e *Engine) markBelow(ctx context.Context, r store.GapReason) error {
	return e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		arch, err := tx.Archive(e.cfg.Self)
		if err != nil || len(arch.Ranges) == 0 {
			return err
		}
		arch.Below[0] = r
		_, err = tx.PutArchive(arch)
		return err
	})
}

const (
	// firstPos is where a new device's first range starts: far from zero
	// (ReadPos 0 means "none") and from Provisional, with room below for
	// all the history it may fetch backwards.
	firstPos store.Pos = 1 << 50
	// expiredGap separates a range that starts above an expired gap.
	expiredGap store.Pos = 1 << 32
)

// Wait blocks until no catch-up is in flight.
func (e *Engine) Wait(ctx context.Context) error {
	for {
		e.mu.Lock()
		cu := e.cu
		e.mu.Unlock()
		if cu == nil {
			return nil
		}
		select {
		case <-cu.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
