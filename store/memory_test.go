package store_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/store/storetest"
)

func openMemory(t *testing.T) store.Store {
	s := store.NewMemory()
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestMemory(t *testing.T) { storetest.Run(t, openMemory) }

// TestMemoryReadsDuringUpdate: a transaction in progress blocks no reader,
// and readers see only committed data.
func TestMemoryReadsDuringUpdate(t *testing.T) {
	ctx := context.Background()
	s := store.NewMemory()
	err := s.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.PutMessage(store.Message{Key: "m1", Conversation: "a@example.org", Pos: 1}); err != nil {
			return err
		}
		ms, err := s.Messages(ctx, "a@example.org", math.MaxInt64, 0) // would deadlock if f held the data lock
		if err != nil || len(ms) != 0 {
			t.Errorf("Messages during the Update = %+v, %v; want nothing yet", ms, err)
		}
		if v, err := s.Version(ctx); err != nil || v != 0 {
			t.Errorf("Version during the Update = %d, %v; want 0", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ms, err := s.Messages(ctx, "a@example.org", math.MaxInt64, 0); err != nil || len(ms) != 1 {
		t.Errorf("Messages after the Update = %+v, %v", ms, err)
	}
}

// TestMemoryLarge: 10,000 messages in one conversation, imported in pages
// and then changed live many times (which exercises the change log's
// compaction); paging and the change feed stay exact.
func TestMemoryLarge(t *testing.T) {
	const conv, n, page = "a@example.org", 10000, 500
	ctx := context.Background()
	s := store.NewMemory()
	key := func(i int) string { return fmt.Sprintf("m%05d", i) }
	putAll := func(f func(i int) store.Message, from, to int) {
		t.Helper()
		if err := s.Update(ctx, func(tx store.Tx) error {
			for i := from; i < to; i++ {
				if _, err := tx.PutMessage(f(i)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	archived := func(i int) store.Message {
		return store.Message{Key: key(i), Conversation: conv, ArchiveBy: "me@example.org", ArchiveID: "A" + key(i), From: conv, Body: key(i), Pos: store.Pos(i), State: store.StateReceived}
	}
	for from := n - page; from >= 0; from -= page { // MAM pages, newest first
		putAll(archived, from, from+page)
	}
	v0, _ := s.Version(ctx)

	// Live changes: every tenth message read, one at a time.
	for i := 0; i < n; i += 10 {
		putAll(func(i int) store.Message { m := archived(i); m.State = store.StateRead; return m }, i, i+1)
	}
	since, _, err := s.MessagesSince(ctx, conv, v0)
	if err != nil || len(since) != n/10 {
		t.Fatalf("MessagesSince = %d messages, %v; want %d", len(since), err, n/10)
	}
	for j, m := range since {
		if m.Key != key(j*10) || m.State != store.StateRead {
			t.Fatalf("MessagesSince[%d] = %s in state %v", j, m.Key, m.State)
		}
	}

	start := time.Now()
	var got []string
	for before := store.Pos(math.MaxInt64); ; {
		ms, err := s.Messages(ctx, conv, before, 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			break
		}
		for j := len(ms) - 1; j >= 0; j-- {
			got = append(got, ms[j].Key)
		}
		before = ms[0].Pos
	}
	t.Logf("paged through %d messages, 50 at a time, in %v", len(got), time.Since(start))
	if len(got) != n || got[0] != key(n-1) || got[n-1] != key(0) {
		t.Fatalf("paging backwards gave %d messages, from %s to %s", len(got), got[0], got[len(got)-1])
	}
	err = s.Update(ctx, func(tx store.Tx) error {
		if c, err := tx.CountInbound(conv, n-101); err != nil || c != 100 {
			t.Errorf("CountInbound = %d, %v; want 100", c, err)
		}
		if m, ok, err := tx.MessageByArchiveID("me@example.org", "A"+key(1234)); err != nil || !ok || m.Key != key(1234) {
			t.Errorf("MessageByArchiveID = %s, %v, %v", m.Key, ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMemoryChangeFeedCompaction: records changed over and over (their
// older change log entries dropped along the way) come back once each, with
// their latest version.
func TestMemoryChangeFeedCompaction(t *testing.T) {
	ctx := context.Background()
	s := store.NewMemory()
	const n, rounds = 40, 20
	var mid uint64 // the version after round rounds/2
	for r := range rounds {
		err := s.Update(ctx, func(tx store.Tx) error {
			for i := range n {
				if _, err := tx.PutMessage(store.Message{Key: fmt.Sprint("m", i), Conversation: "a@example.org", Pos: store.Pos(i), Body: fmt.Sprint(r)}); err != nil {
					return err
				}
				if _, err := tx.PutConversation(store.Conversation{Peer: fmt.Sprint("p", i), Preview: fmt.Sprint(r)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if r == rounds/2 {
			mid, _ = s.Version(ctx)
		}
		sinces := []uint64{0}
		if r > rounds/2 {
			sinces = append(sinces, mid)
		}
		for _, since := range sinces {
			ms, _, err := s.MessagesSince(ctx, "a@example.org", since)
			if len(ms) != n || err != nil || ms[0].Body != fmt.Sprint(r) {
				t.Fatalf("round %d: MessagesSince(%d) = %d messages, %v; want %d of this round", r, since, len(ms), err, n)
			}
			cs, _, err := s.ConversationsSince(ctx, since)
			if len(cs) != n || err != nil || cs[0].Preview != fmt.Sprint(r) {
				t.Fatalf("round %d: ConversationsSince(%d) = %d, %v; want %d of this round", r, since, len(cs), err, n)
			}
		}
	}
}
