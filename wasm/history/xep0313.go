package history

// XEP-0313 Message Archive Management: the catch-up after each connection
// (forward from a little before the newest message held, RSM paging,
// XEP-0059), the newest page for a device that holds nothing yet, and older
// history on demand; positions from the archive's own timestamps.

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"time"

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
	id     string
	kind   queryKind
	after  string    // forward: the archive id paged after ("" from the start)
	start  time.Time // forward, the overlap's first page: from this archive time
	before string    // older: the archive id paged before
	// beforeAt is the archive time of before's entry, if known (rsmBound).
	beforeAt time.Time
	expired  bool // forward: the position had expired; a new range starts
	// prev is the position of the archive entry just before the next
	// result (forward; 0: not known, the overlap's first page).
	prev store.Pos

	// The overlap (forward): until a page shows that the archive still
	// holds seek, the newest archive id held when the catch-up began (at
	// seekTime, position seekPos), the catch-up may fall back to paging
	// after it. older: a result at or before seekTime was seen.
	seek     string
	seekTime time.Time
	seekPos  store.Pos
	older    bool

	// waiting are results of a page from a start time that came before
	// any entry held: they are placed (below it) once the first held
	// entry arrives.
	waiting []result

	// Late entries (settle.go): base is where the catch-up's watermark
	// starts (what it pages again from: Archive.Recheck, or the newest
	// held), mark how far what it paged over is settled, recheck the
	// Archive.Recheck its last page left and recheckAt when, by the
	// device's clock, the archive was at recheck (zero: not known); asked
	// is when the page in flight was asked; chain is the session's
	// catch-up and checks this one continues.
	base, mark, recheck time.Time
	recheckAt, asked    time.Time
	chain               settleChain

	complete bool // the last page committed reached the archive's end (older: its start)

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
	q.asked = e.cfg.Now()
	switch q.kind {
	case forward:
		mq.After, mq.Start = rsmBound(q.after, keyTime(q.prev), false), q.start
	case latest:
		mq.LastPage = true
	case older:
		mq.Before = rsmBound(q.before, q.beforeAt, true)
	}
	q.mu.Unlock()
	e.mu.Lock()
	delete(e.queries, old)
	e.queries[id] = q
	e.mu.Unlock()
	return mq.Bytes()
}

// newCatchUp prepares the catch-up of a new session (or, chain.n > 0, a
// check of late entries armSettle scheduled) and returns its first query.
// Bind 2's archive metadata, when the server sends it, tells that there is
// nothing to fetch without asking, unless what is held may still gain late
// entries.
func (e *Engine) newCatchUp(ctx context.Context, meta []byte, chain settleChain) ([]byte, error) {
	arch, err := e.archive(ctx)
	if err != nil {
		return nil, err
	}
	if chain.n == 0 {
		chain.started = e.cfg.Now()
	}
	q := &query{done: make(chan struct{}), chain: chain}
	if r, ok := arch.Latest(); ok {
		q.kind, q.after, q.prev = forward, r.Last, r.LastPos
		if meta != nil && arch.Recheck.IsZero() {
			if md, err := stanza.ParseMAMMetadata(meta); err == nil && (md.Empty || md.End.ID == r.Last) {
				e.log.Debug("catch-up: the archive ends where the store does (Bind 2 metadata)")
				return nil, nil
			}
		}
		q.overlap(r, e.cfg.Overlap)
		if r.LastPos >= timeKey(keyFloor) && r.LastPos < store.Provisional {
			q.base = posTime(r.LastPos).Add(time.Nanosecond)
			if !arch.Recheck.IsZero() {
				q.recheckFrom(arch.Recheck, e.cfg.Overlap, r, arch.Below[len(arch.Below)-1] == store.GapUnfetched)
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

// overlap makes the forward catch-up q start a little before the newest
// entry held (Config.Overlap, by the archive's timestamps, which its
// position keeps), so that what the archive made visible after it is
// fetched too; the apply path deduplicates the rest. Where the held range
// does not reach that far back, it pages after the range's first entry
// instead: never below the range (that is FetchOlder's). Where positions are
// not archive times (a server without timestamps, positions from before they
// were used), it pages after the newest entry, as without overlap.
func (q *query) overlap(r store.Range, overlap time.Duration) {
	floor := timeKey(keyFloor)
	if r.First == r.Last || r.LastPos < floor || r.LastPos >= store.Provisional {
		return
	}
	last := posTime(r.LastPos)
	from := last.Truncate(time.Second).Add(-overlap)
	q.seek, q.seekTime, q.seekPos = r.Last, last, r.LastPos
	// A position keyed by time is at most a second's ties away from its
	// entry's time: a first entry two seconds before the overlap is
	// outside it.
	if r.FirstPos >= floor && r.FirstPos < timeKey(from.Add(-2*time.Second)) {
		q.after, q.start, q.prev = "", from, 0
		return
	}
	q.after, q.prev = r.First, r.FirstPos
}

// recheckFrom makes the forward catch-up q page again from a little (the
// overlap) before at, a range's bottom fetched while it was among the
// newest entries (Archive.Recheck): an entry just below it that the archive
// made visible late is fetched, and placed below it. The pages from there
// come before anything held: their results wait for the first entry held.
//
// Where older history below r, the range paged, is still to fetch
// (unfetchedBelow), what lies below r is FetchOlder's, late entries with
// it: q then pages again from r's first entry, never below it. Paging from
// a start time below a range young enough to be unsettled would otherwise
// fetch everything the archive got in the overlap before it, hold it all
// until the range is reached, and commit it at once (a new device just
// after a burst: thousands of results in one transaction).
func (q *query) recheckFrom(at time.Time, overlap time.Duration, r store.Range, unfetchedBelow bool) {
	q.base = at
	from := at.Truncate(time.Second).Add(-overlap)
	if q.after == "" && !q.start.IsZero() && !q.start.After(from) {
		return // the overlap already starts there
	}
	// As in overlap: a position keyed by time is at most a second's ties
	// away from its entry's time.
	if unfetchedBelow && r.FirstPos >= timeKey(from.Add(-2*time.Second)) {
		q.after, q.start, q.prev = r.First, time.Time{}, r.FirstPos
		return
	}
	q.after, q.start, q.prev = "", from, 0
}

// keyTime is the archive time, to the microsecond, of a position keyed by
// time (timeIDPos: above its key, within the microsecond), or zero for any
// other position.
func keyTime(p store.Pos) time.Time {
	if p < timeKey(keyFloor) || p >= store.Provisional {
		return time.Time{}
	}
	return posTime(p)
}

// rsmBound is the archive id a query pages after (forward) or before
// (older) to page past the entry id, archived at at (zero: not known).
// ejabberd 23.01 takes an entry's id from its time in microseconds, and
// pages by comparing ids (mod_mam_mnesia's filter_by_rsm: id > after,
// id < before; mod_mam_sql: timestamp > after): two entries it gave one id
// (routed in the same microsecond; collisionID) are split by a page
// boundary for good, the second never returned. Where id is its entry's
// time in microseconds, the page is asked after id-1 (before id+1)
// instead, which returns the entry again with any twin; the apply path
// drops the copy. Any other id (Prosody's, and any server's that is not
// its entry's time) is paged by as it is. Pure.
func rsmBound(id string, at time.Time, older bool) string {
	n, ok := timeID(id, at)
	if !ok {
		return id
	}
	if older {
		return strconv.FormatInt(n+1, 10)
	}
	return strconv.FormatInt(n-1, 10)
}

// timeID returns id as a number, and whether it is at, its entry's
// archive time, in microseconds since 1970 (ejabberd's ids). Pure.
func timeID(id string, at time.Time) (int64, bool) {
	if id == "" || at.IsZero() {
		return 0, false
	}
	n, err := strconv.ParseInt(id, 10, 64)
	return n, err == nil && n > 0 && n == at.UnixMicro() && strconv.FormatInt(n, 10) == id
}

// keyFloor: positions below its key are not archive times (page order,
// before positions came from them).
var keyFloor = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

// unseek ends the overlap of q: it pages after the newest message held, as
// a catch-up without overlap does.
func (q *query) unseek() {
	if q.seek != "" {
		q.after, q.prev = q.seek, q.seekPos
	}
	q.start, q.seek = time.Time{}, ""
}

// startCatchUp starts a forward catch-up on the current session unless one
// is in flight (force: even then, a new one; the old one's answers are
// ignored).
func (e *Engine) startCatchUp(ctx context.Context, force bool) error {
	return e.catchUp(ctx, force, settleChain{})
}

// catchUp is startCatchUp; chain is the session's catch-up and checks a
// check of late entries continues (zero: a session's catch-up).
func (e *Engine) catchUp(ctx context.Context, force bool, chain settleChain) error {
	e.mu.Lock()
	if e.cu != nil && !force {
		e.mu.Unlock()
		return nil
	}
	e.mu.Unlock()
	raw, err := e.newCatchUp(ctx, nil, chain)
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
	q := e.claimAhead() // the page below what is held, asked already
	if q == nil {
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
		q = &query{kind: older, before: arch.Ranges[0].First, beforeAt: keyTime(arch.Ranges[0].FirstPos), done: make(chan struct{})}
		if err := e.send(e.request(q)); err != nil {
			return false, err
		}
	}
	select {
	case <-q.done:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	if q.err != nil {
		return false, q.err
	}
	// The page committed the gap below as unfetched, or as the start.
	return !q.complete, nil
}

// archive reads what the store holds of the own archive.
func (e *Engine) archive(ctx context.Context) (store.Archive, error) {
	return e.cfg.Store.Archive(ctx, e.cfg.Self)
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
func (e *Engine) archiveAnswer(ctx context.Context, q *query, raw []byte, iq stanza.IQ, h uint32) error {
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
		q.mu.Lock()
		seeking := q.seek != ""
		if seeking && se.Condition == "item-not-found" {
			// The overlap's first id is gone: page after the newest
			// held, whose absence is the real test of expiry.
			e.log.Info("catch-up: the overlap's start is no longer in the archive; paging after the newest held", "after", q.after)
			q.unseek()
		}
		q.mu.Unlock()
		if seeking && se.Condition == "item-not-found" {
			return e.next(q)
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
	q.mu.Lock()
	seek := q.seek
	if seek != "" {
		v, older, reason := overlapVerdict(results, seek, q.seekTime, q.older, fin.Complete)
		q.older = older
		switch v {
		case overlapLost:
			// Commit nothing: paging after the newest held tells
			// whether it expired (item-not-found: a recorded gap).
			e.log.Info("catch-up: overlap", "verdict", "lost", "reason", reason)
			q.unseek()
			q.mu.Unlock()
			return e.next(q)
		case overlapHeld:
			e.log.Debug("catch-up: overlap", "verdict", "held", "reason", reason)
			q.start, q.seek = time.Time{}, ""
		}
	}
	q.mu.Unlock()
	ahead := e.askAhead(q, results, fin)
	prev, err := e.commitPage(ctx, q, results, fin, h)
	if err != nil {
		e.dropAhead(ahead, err)
		e.endQuery(q, err)
		return err
	}
	q.pages++
	q.mu.Lock()
	q.prev, q.complete = prev, fin.Complete
	q.mu.Unlock()
	e.publishRekeyed(ctx)
	if q.kind == forward && !fin.Complete && len(results) > 0 {
		q.mu.Lock()
		q.after, q.start, q.expired = results[len(results)-1].id, time.Time{}, false
		q.mu.Unlock()
		return e.next(q)
	}
	e.log.Debug("archive query complete", "kind", q.kind, "pages", q.pages)
	q.mu.Lock()
	unsettled := q.kind != older && !q.recheck.IsZero()
	q.mu.Unlock()
	if unsettled {
		e.armSettle(q)
	}
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
// coverage it adds, in one transaction. It returns the position of the
// page's newest result (forward: the prev of the next page).
//
// Positions come from the archive's own order (posAfter, posBefore): its
// timestamps where they tell (ejabberd: microseconds, unique, equal to its
// ids), the archive order where they tie (Prosody: seconds), so a message
// the archive made visible late takes its place among those held, and every
// device gives the same archive entries the same order. What is held keeps
// its position.
func (e *Engine) commitPage(ctx context.Context, qq *query, results []result, fin stanza.MAMFin, h uint32) (store.Pos, error) {
	qq.mu.Lock()
	q := struct {
		kind              queryKind
		expired           bool
		prev              store.Pos
		base, mark, asked time.Time
	}{qq.kind, qq.expired, qq.prev, qq.base, qq.mark, qq.asked}
	if q.kind == forward && q.prev == 0 && len(qq.waiting) > 0 {
		results = append(qq.waiting[:len(qq.waiting):len(qq.waiting)], results...)
	}
	qq.mu.Unlock()
	var newest store.Pos
	var recheck, recheckAt, mark time.Time
	wait := false // nothing held yet: the results wait for the next page
	page := func(tx store.Tx) error {
		wait = false
		tx = newUnreadTx(tx)
		arch, err := tx.Archive(e.cfg.Self)
		if err != nil {
			return err
		}
		arch.JID = e.cfg.Self
		if err := e.lookUpPage(tx, results); err != nil {
			return err
		}
		n := len(results)
		pos := make([]store.Pos, n)
		held := make([]bool, n) // what is held keeps its position
		first := -1             // the first result held
		for i, r := range results {
			if pos[i], held[i], err = e.placedAt(tx, r); err != nil {
				return err
			}
			if held[i] && first < 0 {
				first = i
			}
		}
		var lateAt []int // results placed below the newest held that were not held
		top := store.Pos(0)
		below := 0 // forward from a start time: results placed below the first held
		if q.kind == forward && q.prev == 0 && !q.expired && len(arch.Ranges) > 0 {
			switch {
			case first < 0 && !fin.Complete && n > 0:
				wait = true
				return nil
			case first > 0:
				// Paged again from a start time (the overlap, a
				// recheck): what comes before the first entry held was
				// made visible late, or lies below the range; it goes
				// below that entry, in archive order.
				for i := first - 1; i >= 0; i-- {
					if !held[i] {
						pos[i] = e.placeBefore(pos[i+1], results[i])
					}
				}
				below = first
				for j := range arch.Ranges {
					if arch.Ranges[j].First == results[first].id {
						// The pages are contiguous from the start time:
						// the range reaches down to the first result.
						arch.Ranges[j].First, arch.Ranges[j].FirstPos = results[0].id, pos[0]
					}
				}
			}
		}
		if q.kind == older {
			next := arch.Ranges[0].FirstPos
			for i := n - 1; i >= 0; i-- {
				if !held[i] {
					pos[i] = e.placeBefore(next, results[i])
				}
				next = pos[i]
			}
		} else {
			prev, fallback := q.prev, store.Pos(0)
			switch {
			case len(arch.Ranges) == 0:
				prev = firstPos - 1
			case q.expired:
				prev = arch.Ranges[len(arch.Ranges)-1].LastPos + expiredGap - 1
			default:
				top = arch.Ranges[len(arch.Ranges)-1].LastPos
				fallback = top + 1
			}
			if below > 0 {
				prev = pos[below-1]
			}
			for i, r := range results {
				if i < below {
					continue
				}
				if !held[i] {
					pos[i] = e.placeAfter(prev, r, fallback)
					if pos[i] < top && (r.msg.HasBody || len(r.msg.OOB) > 0) {
						lateAt = append(lateAt, i) // if new (lateEntries)
					}
				}
				prev = pos[i]
			}
			newest = prev
		}
		touched := map[string]bool{}
		for i, r := range results {
			t := stamp(r.msg)
			if t.IsZero() {
				t = e.cfg.Now()
			}
			it := item{msg: r.msg, archiveID: r.id, time: t, pos: pos[i], confirm: true}
			if err := e.apply(tx, it, touched); err != nil {
				return err
			}
		}
		if err := e.lateEntries(tx, results, pos, lateAt, top); err != nil {
			return err
		}
		if n > 0 {
			first, last := results[0].id, results[n-1].id
			switch {
			case q.kind == older:
				arch.Ranges[0].First, arch.Ranges[0].FirstPos = first, pos[0]
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
				arch.Ranges = append(arch.Ranges, store.Range{First: first, Last: last, FirstPos: pos[0], LastPos: pos[n-1]})
				arch.Below = append(arch.Below, below)
			default:
				// The overlap re-pages what is held: the range only
				// grows.
				if l := &arch.Ranges[len(arch.Ranges)-1]; pos[n-1] > l.LastPos {
					l.Last, l.LastPos = last, pos[n-1]
				}
			}
		} else if q.kind == older && fin.Complete {
			arch.Below[0] = store.GapStart
		}
		t0, t1 := pageTimes(results)
		observeClock(&arch, e.cfg.Now(), t1)
		base := q.base
		if q.expired {
			base = time.Time{} // a new range: its watermark starts with it
		}
		step := settleStep{kind: q.kind, cur: arch.Recheck, base: base, mark: q.mark, first: t0, last: t1,
			by: settledBy(arch, q.asked, t1, e.cfg.Settle), complete: fin.Complete}
		if r, ok := arch.Latest(); ok && r.LastPos >= timeKey(keyFloor) && r.LastPos < store.Provisional {
			step.top = posTime(r.LastPos)
		}
		arch.Recheck, mark = recheckAfter(step)
		recheck = arch.Recheck
		if arch.ClockKnown && !recheck.IsZero() {
			recheckAt = recheck.Add(arch.ClockLead)
		}
		if err := e.refresh(tx, touched); err != nil {
			return err
		}
		_, err = tx.PutArchive(arch)
		return err
	}
	err := e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if err := page(tx); err != nil {
			return err
		}
		// The answer's own XEP-0198 count, with what it completes: its
		// acknowledgement then needs no save of the session state.
		return e.commitInbound(tx, h)
	})
	qq.mu.Lock()
	if wait {
		qq.waiting = results
	} else {
		qq.waiting = nil
		if err == nil {
			qq.recheck, qq.recheckAt, qq.mark = recheck, recheckAt, mark
		}
	}
	qq.mu.Unlock()
	return newest, err
}

// placedAt returns the position of what the store holds under a result's
// archive id, if the archive has placed it: an edit (correction,
// retraction, reaction) is looked up among edits, anything else among
// messages (one lookup per result: a catch-up's cost is its lookups).
func (e *Engine) placedAt(tx store.Tx, r result) (store.Pos, bool, error) {
	if isEdit(r.msg) {
		ed, ok, _, err := e.heldEditByArchiveID(tx, r.id, e.senderOf(r.msg), r.msg)
		return ed.Pos, ok && ed.Pos < store.Provisional, err
	}
	m, ok, _, err := e.heldByArchiveID(tx, r.id, e.senderOf(r.msg), r.msg)
	return m.Pos, ok && m.Pos < store.Provisional, err
}

// stamp is a result's archive time (its <forwarded/> delay), or zero.
func stamp(m *stanza.Message) time.Time {
	if m.Delay == nil {
		return time.Time{}
	}
	return m.Delay.Stamp
}

// timeKey is the position an archive time gives (0: none, or outside the
// years 2000–2141): microseconds since 2000 times 1024, the room left for
// entries that share a timestamp. Keys stay below store.Provisional.
func timeKey(t time.Time) store.Pos {
	if t.IsZero() || t.Before(keyEpoch) {
		return 0
	}
	us := t.Sub(keyEpoch).Microseconds() // saturates at about 292 years
	if us >= int64(store.Provisional/keySpread) {
		return 0
	}
	return store.Pos(us) * keySpread
}

var keyEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// posTime is the archive time a position keyed by time stands for.
func posTime(p store.Pos) time.Time {
	return keyEpoch.Add(time.Duration(p/keySpread) * time.Microsecond)
}

const keySpread store.Pos = 1024

// posAfter places the archive entry that follows the one at prev (0: not
// known) in archive order: at its time key when that sorts after prev,
// otherwise right after prev; with neither, at fallback. Pure: every device
// that pages over the same entries gives them the same positions.
func posAfter(prev store.Pos, at time.Time, fallback store.Pos) store.Pos {
	switch k := timeKey(at); {
	case k > prev:
		return k
	case prev > 0:
		return prev + 1
	default:
		return fallback
	}
}

// placeAfter places a result not held that follows the entry at prev in
// archive order (posAfter), or, where its archive id is its time in
// microseconds, at timeIDPos.
func (e *Engine) placeAfter(prev store.Pos, r result, fallback store.Pos) store.Pos {
	if p, ok := e.ownPos(r); ok {
		return p
	}
	return posAfter(prev, stamp(r.msg), fallback)
}

// placeBefore is placeAfter for a result that precedes the entry at next
// (posBefore).
func (e *Engine) placeBefore(next store.Pos, r result) store.Pos {
	if p, ok := e.ownPos(r); ok {
		return p
	}
	return posBefore(next, stamp(r.msg))
}

// ownPos is timeIDPos for a result; the sender and own id are worked out
// only for an archive whose ids are times (not Prosody's: every result of a
// catch-up comes here).
func (e *Engine) ownPos(r result) (store.Pos, bool) {
	at := stamp(r.msg)
	if _, ok := timeID(r.id, at); !ok {
		return 0, false
	}
	return timeIDPos(r.id, at, e.senderOf(r.msg), ownID(r.msg))
}

// ownID is the id the sender gave m: its origin-id, else its id attribute.
func ownID(m *stanza.Message) string {
	if m.OriginID != "" {
		return m.OriginID
	}
	return m.ID
}

// timeIDPos is the position of an entry whose archive id is its time in
// microseconds (ejabberd 23.01: at, id; from and own: its sender and the
// sender's id), and false for any other. Such an archive orders its
// entries by time alone: entries of one microsecond, which it gives one id
// (collisionID), come in either order, and one may show late. So the
// position is the entry's own: its time key, and within the microsecond
// an offset from its sender and own id. Every device gives every entry
// the same position, whatever it saw first, and entries of one microsecond
// the same order, but for two whose offsets tie (one pair of such entries
// in 1,023): those come in the store's order of keys. Pure.
func timeIDPos(id string, at time.Time, from, own string) (store.Pos, bool) {
	k := timeKey(at)
	if _, ok := timeID(id, at); k == 0 || !ok {
		return 0, false
	}
	h := fnv.New32a()
	h.Write([]byte(from + "\x00" + own))
	return k + 1 + store.Pos(h.Sum32()%uint32(keySpread-1)), true
}

// posBefore places the archive entry that precedes the one at next in
// archive order (paging backwards): at its time key when that sorts before
// next, otherwise right before next.
func posBefore(next store.Pos, at time.Time) store.Pos {
	if k := timeKey(at); k > 0 && k < next {
		return k
	}
	return next - 1
}

// overlapState is what a page of the overlap tells of the newest message
// held when the catch-up began.
type overlapState uint8

const (
	overlapPending overlapState = iota // not reached yet: the next page will tell
	overlapHeld                        // the archive still holds it (or what came before it)
	overlapLost                        // passed without it and without anything older: perhaps expired
)

// overlapVerdict judges one page of the overlap (results from a time before
// seek, the newest archive id held, archived at seekTime): held when the
// page has seek, or has passed it after results at or before seekTime (the
// archive still holds older entries, so seek was deleted on its own, not
// expired); lost when it has passed it with nothing older (the archive may
// have expired it and more: paging after seek tells, by item-not-found);
// pending otherwise. older carries over to the next page. A result without
// a timestamp counts as past seek. Pure.
func overlapVerdict(results []result, seek string, seekTime time.Time, older, complete bool) (overlapState, bool, string) {
	passed := complete
	for _, r := range results {
		if r.id == seek {
			return overlapHeld, true, "the page holds the newest message held"
		}
		if t := stamp(r.msg); t.IsZero() || t.After(seekTime) {
			passed = true
		} else {
			older = true
		}
	}
	switch {
	case !passed:
		return overlapPending, older, "the newest message held is further on"
	case older:
		return overlapHeld, older, "the newest message held is gone, what came before it is not: deleted, not expired"
	}
	return overlapLost, older, "past the newest message held without it or anything older"
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
