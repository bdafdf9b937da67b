package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/ui"
)

// racyStore runs commit once, right after the read named by after returns:
// a sync engine's page committed between two reads of one refresh.
type racyStore struct {
	store.Store
	after  string
	commit func()
}

func (s *racyStore) fire(read string) {
	if s.after == read && s.commit != nil {
		f := s.commit
		s.commit = nil
		f()
	}
}

func (s *racyStore) ConversationsSince(ctx context.Context, v uint64) ([]store.Conversation, uint64, error) {
	cs, n, err := s.Store.ConversationsSince(ctx, v)
	s.fire("ConversationsSince")
	return cs, n, err
}

func (s *racyStore) Contacts(ctx context.Context) ([]store.Contact, error) {
	cs, err := s.Store.Contacts(ctx)
	s.fire("Contacts")
	return cs, err
}

func (s *racyStore) Messages(ctx context.Context, conv string, before store.Pos, limit int) ([]store.Message, error) {
	ms, err := s.Store.Messages(ctx, conv, before, limit)
	s.fire("Messages")
	return ms, err
}

func (s *racyStore) MessagesSince(ctx context.Context, conv string, v uint64) ([]store.Message, uint64, error) {
	ms, n, err := s.Store.MessagesSince(ctx, conv, v)
	s.fire("MessagesSince")
	return ms, n, err
}

func (s *racyStore) Archive(ctx context.Context, jid string) (store.Archive, error) {
	a, err := s.Store.Archive(ctx, jid)
	s.fire("Archive")
	return a, err
}

type racyStores struct{ st store.Store }

func (s racyStores) Open(context.Context, string) (store.Store, error) { return handle{s.st}, nil }
func (s racyStores) Delete(context.Context, string) error              { return nil }

type prefs map[string]string

func (p prefs) Get(k string) string { return p[k] }
func (p prefs) Set(k, v string)     { p[k] = v }
func (p prefs) Delete(k string)     { delete(p, k) }

// chatApp returns an app (of domain x) configured by cfg, logged in as
// self with the chat with peer open, without starting it: the test calls
// refresh itself.
func chatApp(t *testing.T, cfg Config, self, peer string) *App {
	t.Helper()
	cfg.Domain, cfg.URL, cfg.Prefs = "x", "ws://unused", prefs{PrefAccount: self, PrefOpen: peer}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.openAccount(t.Context(), self); err != nil {
		t.Fatal(err)
	}
	a.open = peer
	a.view.Screen = ui.ScreenChats
	return a
}

// viewLog records every view shown.
type viewLog struct{ views []ui.App }

func (l *viewLog) Show(v ui.App) { l.views = append(l.views, v) }
func (l *viewLog) last() ui.App  { return l.views[len(l.views)-1] }
func (l *viewLog) reset()        { l.views = l.views[:0] }

// gaps counts the gap markers of every view shown.
func (l *viewLog) gaps() int {
	n := 0
	for _, v := range l.views {
		if v.Chat != nil {
			for _, it := range v.Chat.Items {
				if it.Kind == ui.ItemGap {
					n++
				}
			}
		}
	}
	return n
}

// TestRefreshCoverage: a chat whose messages all lie in one archive range
// never shows a gap marker, whichever read of a refresh the sync engine's
// next page (new messages and the range grown over them, in one
// transaction) is committed after; and after every refresh each placed
// message shown lies in the coverage the view was built with.
func TestRefreshCoverage(t *testing.T) {
	ctx := context.Background()
	const self, peer = "me@x", "b@x"
	at := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	mem := store.NewMemory()
	n := 0
	// page stores the archive's next message and grows the range over it,
	// as the sync engine's commitPage does.
	page := func() {
		t.Helper()
		err := mem.Update(ctx, func(tx store.Tx) error {
			n++
			arch, err := tx.Archive(self)
			if err != nil {
				return err
			}
			pos := store.Pos(1000 + n)
			id := fmt.Sprintf("a%d", n)
			m := store.Message{Key: fmt.Sprintf("k%d", n), Conversation: peer, From: peer, Direction: store.Inbound,
				ArchiveBy: self, ArchiveID: id, Body: fmt.Sprintf("m%d", n), Time: at.Add(time.Duration(n) * time.Minute), State: store.StateReceived, Pos: pos}
			if _, err := tx.PutMessage(m); err != nil {
				return err
			}
			if len(arch.Ranges) == 0 {
				arch.Ranges, arch.Below = []store.Range{{First: id, Last: id, FirstPos: pos, LastPos: pos}}, []store.GapReason{store.GapStart}
			} else {
				arch.Ranges[0].Last, arch.Ranges[0].LastPos = id, pos
			}
			if _, err := tx.PutArchive(arch); err != nil {
				return err
			}
			_, err = tx.PutConversation(store.Conversation{Peer: peer, LastActivity: m.Time, LastKey: m.Key, Preview: m.Body})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		page()
	}
	rs := &racyStore{Store: mem}
	views := &viewLog{}
	a := chatApp(t, Config{Stores: racyStores{rs}, View: views, Now: func() time.Time { return at.Add(time.Hour) }}, self, peer)
	covered := func(when string) {
		t.Helper()
		a.mu.Lock()
		f := a.feed
		a.mu.Unlock()
		for _, m := range f.msgs {
			if placed(m.Pos) && rangeOf(f.arch, m.Pos) < 0 {
				t.Errorf("%s: %s (position %d) is shown with a coverage that does not hold it: %+v", when, m.Body, m.Pos, f.arch.Ranges)
			}
		}
	}
	a.refresh(ctx)
	covered("first refresh")
	for _, read := range []string{"ConversationsSince", "Contacts", "Messages", "MessagesSince", "Archive", "ConversationsSince"} {
		views.reset()
		// The store moved since the last refresh (a contact), so that
		// this one reads the roster and whatever depends on a change.
		if err := mem.Update(ctx, func(tx store.Tx) error {
			_, err := tx.PutContact(store.Contact{JID: peer, Name: read, Subscription: "both"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		rs.after, rs.commit = read, page
		a.refresh(ctx)
		if rs.commit != nil {
			rs.commit = nil // that read did not happen in this refresh
			page()
		}
		covered("a page committed after " + read)
		a.refresh(ctx)
		covered("the refresh after")
		want := fmt.Sprintf("m%d", n)
		if _, ok := message(views.last(), want); !ok {
			t.Fatalf("after %s: %s is not shown: %s", read, want, chatSummary(views.last().Chat))
		}
		if g := views.gaps(); g > 0 {
			t.Errorf("a page committed after %s: %d gap markers shown in a chat whose messages are all held", read, g)
		}
	}
}
