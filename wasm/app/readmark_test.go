package app

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/store"
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

// busLog records what an app posts on the tab bus.
type busLog struct {
	mu   sync.Mutex
	msgs []Msg
}

func (b *busLog) Post(m Msg) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, m)
}

// reads returns the chats the app asked the leader to mark read, in order.
func (b *busLog) reads() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.msgs {
		if m.T == msgRead {
			out = append(out, m.JID)
		}
	}
	return out
}

// TestRefreshMarksReadThrottled: the refresh wires the throttle in. A
// follower tab (which hands each mark to the leader over the bus) with a
// chat open, refreshed after each of a burst of messages, marks the chat
// read once at once and once more at the end of the interval, and at once
// again once the interval has passed; without the throttle it would mark it
// after every message, without the wiring never.
func TestRefreshMarksReadThrottled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // stops a pending mark's timer
	const self, peer = "me@x", "b@x"
	t0 := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	var clock struct {
		mu  sync.Mutex
		now time.Time
	}
	clock.now = t0
	at := func(ms int) {
		clock.mu.Lock()
		clock.now = t0.Add(time.Duration(ms) * time.Millisecond)
		clock.mu.Unlock()
	}
	now := func() time.Time { clock.mu.Lock(); defer clock.mu.Unlock(); return clock.now }

	mem := store.NewMemory()
	bus := &busLog{}
	a := chatApp(t, Config{Stores: racyStores{mem}, View: &viewLog{}, Bus: bus, Now: now}, self, peer)
	n := 0
	// arrive stores the contact's next message, unread, as the sync engine
	// does, and refreshes the tab as the change feed would.
	arrive := func() {
		t.Helper()
		n++
		err := mem.Update(ctx, func(tx store.Tx) error {
			m := store.Message{Key: fmt.Sprintf("k%d", n), Conversation: peer, From: peer, Direction: store.Inbound,
				Body: fmt.Sprintf("m%d", n), Time: now(), State: store.StateReceived}
			if _, err := tx.PutMessage(m); err != nil {
				return err
			}
			_, err := tx.PutConversation(store.Conversation{Peer: peer, LastActivity: m.Time, LastKey: m.Key, Preview: m.Body, Unread: n})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		a.refresh(ctx)
	}
	want := func(when string, marks int) {
		t.Helper()
		got := bus.reads()
		if len(got) != marks {
			t.Fatalf("%s: the chat was marked read %d times (%v), want %d", when, len(got), got, marks)
		}
		for _, j := range got {
			if j != peer {
				t.Fatalf("%s: marked %v, want only %s", when, got, peer)
			}
		}
	}

	arrive()
	want("the first message", 1)
	for _, ms := range []int{100, 200, 300} {
		at(ms)
		arrive()
	}
	want("three more within the interval", 1)
	// The newest is marked at the end of the interval (a real timer of
	// 700 ms: the clock the throttle reads stays at 300 ms meanwhile).
	deadline := time.Now().Add(10 * time.Second)
	for len(bus.reads()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	want("the end of the interval", 2)
	at(2500)
	arrive()
	want("a message after the interval", 3)
}
