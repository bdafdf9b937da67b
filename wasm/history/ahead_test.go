package history

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/store"
)

// The answer to FetchOlder's page asks for the page below it before it is
// committed, and the next FetchOlder takes that query over instead of
// asking again; a page asked ahead that no FetchOlder takes is committed
// and asks for nothing more. Paged back to the start this way, the store
// holds every archived message, the range reaching the archive's start.
func TestPagesAhead(t *testing.T) {
	a := &modelArchive{now: time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC), rng: rand.New(rand.NewPCG(4, 2)), final: true}
	for range 95 {
		a.add(false)
	}
	st := &readCounter{Memory: store.NewMemory()}
	d := modelDeviceOn(t, st, st.Memory, func() time.Time { return a.now }, nil)
	d.catchUp(t, a) // the newest page
	answer := func(raw []byte) {
		for _, s := range a.answer(raw) {
			d.handle(t, s)
		}
	}
	asked := func(when string, want int) {
		t.Helper()
		if n := len(d.out); n != want {
			t.Fatalf("%s: %d queries asked, want %d", when, n, want)
		}
	}
	for i := range 3 {
		reads := st.reads.Load()
		done := make(chan error, 1)
		go func() {
			_, err := d.e.FetchOlder(context.Background())
			done <- err
		}()
		if i > 0 {
			// The page asked ahead is taken over, not asked again.
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
				d.e.mu.Lock()
				claimed := d.e.aheadClaimed
				d.e.mu.Unlock()
				if claimed {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("page %d: FetchOlder did not take over the page asked ahead", i)
				}
			}
		}
		answer(<-d.out)
		if err := <-done; err != nil {
			t.Fatalf("FetchOlder (page %d): %v", i, err)
		}
		asked("after FetchOlder's page", 1) // the page below, asked before the commit
		if n := st.reads.Load() - reads; i > 0 && n != 0 {
			t.Errorf("page %d: FetchOlder read the coverage %d times; taking over the page asked ahead needs no read", i, n)
		}
	}
	// Nobody takes it: it is committed, and nothing more is asked.
	answer(<-d.out)
	asked("after a page asked ahead that no FetchOlder took", 0)
	d.older(t, a, 100)
	holdsAll(t, d, a)
}

// holdsAll checks that d holds every message of a's archive, its range
// reaching the archive's start.
func holdsAll(t *testing.T, d *modelDevice, a *modelArchive) {
	t.Helper()
	arch, err := d.st.Archive(context.Background(), self)
	if err != nil || len(arch.Ranges) != 1 || arch.Below[0] != store.GapStart || arch.Ranges[0].First != a.entries[0].id {
		t.Fatalf("archive %+v, %v; want one range from the archive's start (%s)", arch, err, a.entries[0].id)
	}
	err = d.st.Update(context.Background(), func(tx store.Tx) error {
		for _, e := range a.entries {
			if e.body == "" || e.copyOf >= 0 {
				continue
			}
			if _, ok, err := tx.MessageByArchiveID(self, e.id); err != nil || !ok {
				t.Errorf("archive entry %s (%q) not stored: %v", e.id, e.body, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A page whose commit fails drops the page asked ahead below it: the range
// does not end where that page starts, and committed below it, the page
// would claim what lies between as held. FetchOlder asks again.
func TestPageAheadDroppedWithFailedCommit(t *testing.T) {
	a := &modelArchive{now: time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC), rng: rand.New(rand.NewPCG(7, 3)), final: true}
	for range 45 {
		a.add(false)
	}
	st := &crashStore{Memory: store.NewMemory()}
	d := modelDeviceOn(t, st, st.Memory, func() time.Time { return a.now }, nil)
	d.catchUp(t, a)
	first := func() string {
		arch, err := d.st.Archive(context.Background(), self)
		if err != nil || len(arch.Ranges) == 0 {
			t.Fatalf("archive %+v, %v", arch, err)
		}
		return arch.Ranges[0].First
	}
	held := first()
	st.crash = func(w writes) bool { return w.archive > 0 }
	done := make(chan error, 1)
	go func() {
		_, err := d.e.FetchOlder(context.Background())
		done <- err
	}()
	page := a.answer(<-d.out)
	for i, s := range page {
		d.h++
		if err := d.e.HandleStanza(context.Background(), []byte(s), d.h); (err != nil) != (i == len(page)-1) {
			t.Fatalf("stanza %d of %d: %v", i, len(page), err)
		}
	}
	if err := <-done; !errors.Is(err, errCrash) {
		t.Fatalf("FetchOlder = %v, want the crash", err)
	}
	if len(d.out) != 1 {
		t.Fatalf("%d queries asked ahead, want 1", len(d.out))
	}
	d.e.mu.Lock()
	ahead, queries := d.e.ahead, len(d.e.queries)
	d.e.mu.Unlock()
	if ahead != nil || queries != 0 {
		t.Fatalf("after the failed commit: page ahead %v, %d queries in flight; want none", ahead != nil, queries)
	}
	// Its answer, had the server sent it, is not committed.
	st.crash = nil
	for _, s := range a.answer(<-d.out) {
		d.handle(t, s)
	}
	if got := first(); got != held {
		t.Fatalf("the range starts at %s after the answer to a dropped page, want %s", got, held)
	}
	d.older(t, a, 100)
	holdsAll(t, d, a)
}

// readCounter counts the read-only Archive reads of a memory store.
type readCounter struct {
	*store.Memory
	reads atomic.Int64
}

func (s *readCounter) Archive(ctx context.Context, jid string) (store.Archive, error) {
	s.reads.Add(1)
	return s.Memory.Archive(ctx, jid)
}
