package app

// Marking the open chat read (XEP-0490 read state, and a displayed marker
// where the account allows it) while messages arrive: at most once per
// markEvery, the last one always sent. During a burst each refresh would
// otherwise publish the read state, and each publish comes back from the
// server as a notification that is stored and shown again: a burst of 200
// messages cost tens of publishes and twice as many transactions.

import (
	"context"
	"sync"
	"time"
)

// markEvery is how often read state is published while messages arrive in
// a chat that is open and visible. Other devices learn of the read within
// it.
const markEvery = time.Second

// markThrottle decides when the open chat is marked read.
type markThrottle struct {
	mu      sync.Mutex
	last    time.Time // when it last marked
	pending string    // a chat to mark when the wait is over ("" none)
}

// markVerdict is what to do with a request to mark a chat read.
type markVerdict struct {
	Mark   string        // the chat to mark now ("" none)
	After  time.Duration // then the pending chat is due (0: nothing to schedule)
	Reason string
}

// decide is the throttle's rule for a request to mark jid read at now.
func (t *markThrottle) decide(now time.Time, jid string) markVerdict {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch since := now.Sub(t.last); {
	case t.pending == jid:
		return markVerdict{Reason: "already due at the end of the interval"}
	case t.pending != "":
		// Another chat was waiting: it was read while it was open.
		other := t.pending
		t.pending, t.last = jid, now
		return markVerdict{Mark: other, After: markEvery, Reason: "another chat was waiting: it is marked now, this one at the end of the interval"}
	case since >= markEvery || since < 0:
		t.last = now
		return markVerdict{Mark: jid, Reason: "not marked within the interval"}
	default:
		t.pending = jid
		return markVerdict{After: markEvery - since, Reason: "marked within the interval: the newest is marked at its end"}
	}
}

// due takes the chat whose wait is over.
func (t *markThrottle) due(now time.Time) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	jid := t.pending
	t.pending = ""
	if jid != "" {
		t.last = now
	}
	return jid
}

// markOpen marks jid read now, or at the end of the interval.
func (a *App) markOpen(ctx context.Context, jid string) {
	v := a.marks.decide(a.cfg.Now(), jid)
	a.log.Debug("marking read", "chat", jid, "now", v.Mark, "after", v.After, "reason", v.Reason)
	if v.Mark != "" {
		a.markRead(ctx, v.Mark)
	}
	if v.After > 0 {
		time.AfterFunc(v.After, func() {
			if ctx.Err() != nil {
				return
			}
			if j := a.marks.due(a.cfg.Now()); j != "" {
				a.markRead(ctx, j)
			}
		})
	}
}
