package history

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/store"
)

func TestSettledBy(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC)
	const settle = 30 * time.Second
	tests := []struct {
		name  string
		a     store.Archive
		asked time.Time
		last  time.Time
		want  time.Time
	}{
		{"no clock: the page's newest time", store.Archive{}, t0.Add(time.Hour), t0, t0.Add(-settle)},
		{"clock ahead by an hour, asked a minute after the newest", store.Archive{ClockLead: time.Hour, ClockKnown: true}, t0.Add(time.Hour + time.Minute), t0, t0.Add(time.Minute - settle)},
		{"clock behind the archive's", store.Archive{ClockLead: -2 * time.Second, ClockKnown: true}, t0.Add(40 * time.Second), t0, t0.Add(42*time.Second - settle)},
		{"the page is newer than the clock tells", store.Archive{ClockLead: time.Hour, ClockKnown: true}, t0, t0, t0.Add(-settle)},
		{"nothing stamped, no clock", store.Archive{}, t0, time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		if got := settledBy(tt.a, tt.asked, tt.last, settle); !got.Equal(tt.want) {
			t.Errorf("%s: settledBy = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestObserveClock(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC)
	var a store.Archive
	observeClock(&a, t0.Add(time.Hour), time.Time{})
	if a.ClockKnown {
		t.Fatal("a page without times told the clock")
	}
	for _, o := range []struct {
		now, last time.Time
		want      time.Duration
	}{
		{t0.Add(time.Hour), t0, time.Hour},
		{t0.Add(2 * time.Hour), t0, time.Hour}, // an old page: the least lead stays
		{t0.Add(time.Hour + time.Second), t0.Add(2 * time.Second), time.Hour - time.Second},
	} {
		observeClock(&a, o.now, o.last)
		if !a.ClockKnown || a.ClockLead != o.want {
			t.Errorf("after a page of %v arriving at %v: lead %v (%v), want %v", o.last, o.now, a.ClockLead, a.ClockKnown, o.want)
		}
	}
}

func TestRecheckAfter(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	just := func(s int) time.Time { return at(s).Add(time.Nanosecond) }
	var zero time.Time
	tests := []struct {
		name              string
		s                 settleStep
		recheck, wantMark time.Time
	}{
		{"a new device's newest page, asked at once: all of it unsettled",
			settleStep{kind: latest, first: at(0), last: at(10), by: at(-20), complete: true, top: at(10)}, at(0), at(0)},
		{"a new device's newest page of old entries: settled",
			settleStep{kind: latest, first: at(0), last: at(10), by: at(100), complete: true, top: at(10)}, zero, just(10)},
		{"a new device's newest page, partly settled",
			settleStep{kind: latest, first: at(0), last: at(40), by: at(10), complete: true, top: at(40)}, just(10), just(10)},
		{"forward from just after the newest held, nothing new, asked long after",
			settleStep{kind: forward, base: just(10), first: at(8), last: at(10), by: at(60), complete: true, top: at(10)}, zero, just(10)},
		{"forward, new entries within Settle: unsettled from the first not settled",
			settleStep{kind: forward, base: just(10), first: at(8), last: at(50), by: at(25), complete: true, top: at(50)}, just(25), just(25)},
		{"forward from a recheck, more pages to come: the watermark is kept",
			settleStep{kind: forward, cur: at(5), base: at(5), first: at(0), last: at(20), by: at(40), top: at(20)}, just(20), just(20)},
		{"the next page of it completes, settled",
			settleStep{kind: forward, cur: just(20), base: at(5), mark: just(20), first: at(21), last: at(30), by: at(40), complete: true, top: at(30)}, zero, just(30)},
		{"the watermark never moves back",
			settleStep{kind: forward, cur: at(20), base: at(5), mark: at(20), first: at(0), last: at(10), by: at(-30), complete: true, top: at(30)}, at(20), at(20)},
		{"a recheck an older page set below where the catch-up started stays",
			settleStep{kind: forward, cur: at(2), base: at(5), first: at(4), last: at(30), by: at(40), complete: true, top: at(30)}, at(2), just(30)},
		{"an older page of old entries: nothing changes",
			settleStep{kind: older, cur: at(50), first: at(-100), last: at(-90), by: at(20)}, at(50), zero},
		{"an older page of fresh entries: unsettled from what it did not settle",
			settleStep{kind: older, cur: at(50), first: at(0), last: at(10), by: at(5)}, just(5), zero},
		{"an older page of fresh entries, nothing settled: from its first",
			settleStep{kind: older, first: at(0), last: at(10), by: at(-20)}, at(0), zero},
		{"an older page above the recheck: the recheck stays",
			settleStep{kind: older, cur: at(-10), first: at(0), last: at(10), by: at(-20)}, at(-10), zero},
		{"no archive times",
			settleStep{kind: forward, cur: zero, complete: true}, zero, zero},
	}
	for _, tt := range tests {
		recheck, mark := recheckAfter(tt.s)
		if !recheck.Equal(tt.recheck) || !mark.Equal(tt.wantMark) {
			t.Errorf("%s: recheckAfter = %v, %v; want %v, %v", tt.name, recheck, mark, tt.recheck, tt.wantMark)
		}
	}
}

// Bind 2's archive metadata saying the archive ends where the store does
// spares the catch-up, unless what is held may still gain a late entry:
// a late entry does not change the archive's end.
func TestBind2MetadataAndUnsettled(t *testing.T) {
	for _, unsettled := range []bool{false, true} {
		e, _ := newTestEngine(t)
		ctx := context.Background()
		t0 := time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC)
		err := e.cfg.Store.Update(ctx, func(tx store.Tx) error {
			a := store.Archive{JID: self, Ranges: []store.Range{{First: "A1", Last: "A9", FirstPos: timeKey(t0), LastPos: timeKey(t0.Add(8 * time.Second))}},
				Below: []store.GapReason{store.GapStart}}
			if unsettled {
				a.Recheck = t0.Add(5 * time.Second)
			}
			_, err := tx.PutArchive(a)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		b := clientBound()
		b.ArchiveMetadata = []byte("<iq xmlns='jabber:client' type='result' id='md'><metadata xmlns='urn:xmpp:mam:2'>" +
			"<start id='A1' timestamp='2026-11-21T11:00:00Z'/><end id='A9' timestamp='2026-11-21T11:00:08Z'/></metadata></iq>")
		out, err := e.afterBind(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		var q string
		for _, o := range out {
			if isMAMQuery(o) {
				q = string(o)
			}
		}
		switch {
		case !unsettled && q != "":
			t.Errorf("settled, the archive ends at A9: a catch-up was asked: %s", q)
		case unsettled && !strings.Contains(q, "<value>2026-11-21T11:00:00Z</value>"):
			t.Errorf("unsettled from 11:00:05: the catch-up must page again from 11:00:00, got %q", q)
		}
	}
}
