package app

import (
	"testing"
	"time"
)

func TestMarkThrottle(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type step struct {
		at    int    // ms; < 0: the timer fires (due) at -at
		jid   string // asked to mark ("" with a timer: what is due)
		mark  string // marked now
		after time.Duration
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"first mark is immediate", []step{{0, "bob", "bob", 0}}},
		{"a burst: one now, the newest at the end of the interval", []step{
			{0, "bob", "bob", 0},
			{100, "bob", "", 900 * time.Millisecond},
			{200, "bob", "", 0}, // already due
			{700, "bob", "", 0},
			{-1000, "", "bob", 0},
			{1500, "bob", "", 500 * time.Millisecond},
			{-2000, "", "bob", 0},
			{3100, "bob", "bob", 0},
		}},
		{"another chat while one waits: the waiting one is marked now", []step{
			{0, "bob", "bob", 0},
			{100, "bob", "", 900 * time.Millisecond},
			{200, "carol", "bob", time.Second},
			{-1200, "", "carol", 0},
		}},
		{"a clock that went back marks now", []step{
			{5000, "bob", "bob", 0},
			{1000, "bob", "bob", 0},
		}},
		{"a timer with nothing due marks nothing", []step{
			{0, "bob", "bob", 0},
			{-1000, "", "", 0},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var th markThrottle
			for i, s := range tc.steps {
				if s.at < 0 {
					if got := th.due(at(-s.at)); got != s.mark {
						t.Fatalf("step %d: due = %q, want %q", i, got, s.mark)
					}
					continue
				}
				v := th.decide(at(s.at), s.jid)
				if v.Mark != s.mark || v.After != s.after || v.Reason == "" {
					t.Fatalf("step %d: %+v, want mark %q after %v", i, v, s.mark, s.after)
				}
			}
		})
	}
}
