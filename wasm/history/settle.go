package history

// Late archive entries (XEP-0313): an archive may show an entry only some
// time after its timestamp. ejabberd 23.01 takes a message's archive id
// (its time, in microseconds) before it writes the entry, and under load
// the write comes seconds later. A catch-up that paged over that time
// before the write never sees the entry, and the next one pages after what
// it holds. So what a device holds counts as settled only up to the archive
// time that a page asked at least Config.Settle after it has passed over
// (Archive.Recheck marks where settled ends); forward catch-ups page again
// from there, and a session's catch-up that leaves anything unsettled is
// checked again (up to maxSettleChecks times) once what it may have missed
// shows. How late the archive is when a page is asked comes from the
// device's clock and the least lead it has seen over the archive's times
// (Archive.ClockLead): no clock needs to be right.

import (
	"context"
	"errors"
	"time"

	"github.com/waxwing-im/waxwing/store"
)

// pageTimes returns the earliest and latest archive time of a page's
// results (zero when none is stamped).
func pageTimes(results []result) (first, last time.Time) {
	for _, r := range results {
		t := stamp(r.msg)
		if t.IsZero() {
			continue
		}
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	return first, last
}

// observeClock records what a page that arrived at now, whose latest
// archive time is last, tells of the device's clock: it runs at most
// now-last ahead of the archive's (the page's newest entry was visible, so
// written, before it arrived).
func observeClock(a *store.Archive, now, last time.Time) {
	if last.IsZero() {
		return
	}
	if lead := now.Sub(last); !a.ClockKnown || lead < a.ClockLead {
		a.ClockLead, a.ClockKnown = lead, true
	}
}

// settledBy is the archive time up to which a page asked at (the device's
// clock), whose latest archive time is last, saw every entry the archive
// will ever show, if entries show within settle of their time: the archive
// was at least at last, and at least at asked less the clock's lead. Pure.
func settledBy(a store.Archive, asked, last time.Time, settle time.Duration) time.Time {
	at := last
	if a.ClockKnown && !asked.IsZero() {
		if t := asked.Add(-a.ClockLead); t.After(at) {
			at = t
		}
	}
	if at.IsZero() {
		return at
	}
	return at.Add(-settle)
}

// lateEntries logs the results at lateAt (placed below top, the newest
// position held, and not held before the page) that the page stored as new
// messages: the archive showed them only after a page had passed their
// time. The rest were copies of messages held (an own message archived
// again when re-sent after a failed resumption), not late.
func (e *Engine) lateEntries(tx store.Tx, results []result, pos []store.Pos, lateAt []int, top store.Pos) error {
	late, behind := 0, time.Duration(0)
	for _, i := range lateAt {
		_, held, err := e.placedAt(tx, results[i])
		if err != nil {
			return err
		}
		if held {
			late++
			behind = max(behind, posTime(top).Sub(posTime(pos[i])))
		}
	}
	if late > 0 {
		e.log.Info("catch-up: entries the archive showed late", "count", late, "behind_newest_held", behind)
	}
	return nil
}

// settleStep is what one committed page tells of late entries. Times
// mark where unsettled begins: what is held from there on may still gain
// an entry.
type settleStep struct {
	kind     queryKind
	cur      time.Time // Archive.Recheck before the page
	base     time.Time // where the catch-up's watermark started (forward: Archive.Recheck, or just after the newest held; zero: a new range)
	mark     time.Time // the catch-up's watermark before the page (zero: base)
	first    time.Time // the page's earliest and latest archive times
	last     time.Time
	by       time.Time // settledBy for the page
	complete bool
	top      time.Time // the archive time of the newest entry held after the page
}

// recheckAfter returns Archive.Recheck after a page, and the catch-up's
// watermark: what it has paged again over, from base, is settled up to
// there. A forward catch-up (or a new device's newest page) moves the
// watermark past the earlier of the page's latest time and what the page
// settled; once the archive's end is reached with nothing unsettled,
// Recheck is zero. An older page leaves what it fetched unsettled above
// what it settled. A Recheck below where a catch-up started (an older page
// set it meanwhile) stays. Pure.
func recheckAfter(s settleStep) (recheck, mark time.Time) {
	if s.kind == older {
		if s.last.IsZero() || !s.last.After(s.by) {
			return s.cur, s.mark
		}
		u := later(s.first, s.by.Add(time.Nanosecond))
		if s.cur.IsZero() || u.Before(s.cur) {
			return u, s.mark
		}
		return s.cur, s.mark
	}
	mark = s.mark
	if mark.IsZero() {
		mark = s.base
	}
	if mark.IsZero() {
		mark = s.first // a new range: it starts with this page
	}
	if !s.last.IsZero() {
		mark = later(mark, earlier(s.by, s.last).Add(time.Nanosecond))
	}
	switch {
	case mark.IsZero():
		return s.cur, mark // no archive times: nothing to tell
	case !s.cur.IsZero() && !s.base.IsZero() && s.cur.Before(s.base):
		return s.cur, mark
	case s.complete && mark.After(s.top):
		return time.Time{}, mark
	}
	return mark, mark
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// settleChain is a session's catch-up and the checks of late entries
// that follow it: when the catch-up started, and how many checks there
// have been (0: the catch-up itself).
type settleChain struct {
	started time.Time
	n       int
}

// maxSettleChecks bounds the checks after a session's catch-up: what
// arrives meanwhile arrives live, and a busy conversation would otherwise
// keep a device checking.
const maxSettleChecks = 3

// armSettle schedules a check of late entries after the catch-up q, which
// left what is held unsettled: one more catch-up once every entry q may
// have missed shows, Config.Settle after the session's catch-up started
// and after the archive time where unsettled begins (by the device's
// clock). Only an engine attached to a client has a session to check on.
func (e *Engine) armSettle(q *query) {
	if e.cl == nil || q.chain.n >= maxSettleChecks || q.chain.started.IsZero() {
		return
	}
	at := q.chain.started
	if q.recheckAt.After(at) {
		at = q.recheckAt
	}
	d := max(at.Add(e.cfg.Settle+time.Second).Sub(e.cfg.Now()), time.Second)
	next := settleChain{started: q.chain.started, n: q.chain.n + 1}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.settleTimer != nil {
		e.settleTimer.Stop()
	}
	e.settleTimer = time.AfterFunc(d, func() {
		if err := e.startSettleCheck(context.Background(), next); err != nil && !errors.Is(err, ErrOffline) {
			e.log.Warn("checking for late archive entries", "err", err)
		}
	})
}

// startSettleCheck starts a catch-up that pages again over what is not
// settled, unless a catch-up is in flight (it checks itself).
func (e *Engine) startSettleCheck(ctx context.Context, chain settleChain) error {
	arch, err := e.archive(ctx)
	if err != nil || arch.Recheck.IsZero() {
		return err
	}
	e.log.Debug("catch-up: checking for late archive entries", "from", arch.Recheck, "check", chain.n)
	return e.catchUp(ctx, false, chain)
}
