package history

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/waxwing-im/waxwing/store"
)

// Ack before persist (Monal #295): a device must never tell the server it
// has a stanza before the stanza is stored. These tests crash the store's
// transaction after its writes and before its commit, as a tab killed at
// that moment does, and check that nothing was counted or covered that was
// not stored, and that the copy the server sends again is stored once.

var errCrash = errors.New("simulated crash before the commit")

// crashStore is a Memory store whose transactions crash before they commit
// when crash says so, after f has made all its writes: the transaction is
// then aborted whole, as IndexedDB aborts one whose tab dies.
type crashStore struct {
	*store.Memory
	crash   func(w writes) bool
	crashes int
}

// writes counts what a transaction wrote.
type writes struct{ messages, archive, session int }

// recTx counts the writes of a transaction.
type recTx struct {
	store.Tx
	w *writes
}

func (t recTx) PutMessage(m store.Message) (uint64, error) {
	t.w.messages++
	return t.Tx.PutMessage(m)
}

func (t recTx) PutArchive(a store.Archive) (uint64, error) {
	t.w.archive++
	return t.Tx.PutArchive(a)
}

func (t recTx) PutSession(s store.Session) error {
	t.w.session++
	return t.Tx.PutSession(s)
}

func (s *crashStore) Update(ctx context.Context, f func(store.Tx) error) error {
	return s.Memory.Update(ctx, func(tx store.Tx) error {
		var w writes
		if err := f(recTx{tx, &w}); err != nil {
			return err
		}
		if s.crash != nil && s.crash(w) {
			s.crashes++
			return errCrash
		}
		return nil
	})
}

func newCrashEngine(t *testing.T) (*Engine, *crashStore) {
	t.Helper()
	st := &crashStore{Memory: store.NewMemory()}
	e, err := New(Config{Store: st, Self: self, Now: newTestNow()})
	if err != nil {
		t.Fatal(err)
	}
	return e, st
}

func inbound(t *testing.T, st store.Store) uint32 {
	t.Helper()
	s, err := st.LoadState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s.SM.Inbound
}

// A live message whose transaction crashes is neither stored nor counted
// (the error reaches the client core, which then does not count it and
// drops the link, so the server sends it again); the copy sent again is
// stored once, and a further copy (an acknowledgement lost with the link)
// is recognised.
func TestCrashBeforeCommitLive(t *testing.T) {
	for _, tc := range []struct {
		name, conv, raw string
		again           bool // a third copy is recognised (it carries an id)
	}{
		{"archive id", "bob@x", chat("bob@x/a", "m1", "o1", "hello", self, "S1"), true},
		{"origin-id only", "bob@x", chat("bob@x/a", "m1", "o1", "hello"), true},
		{"no id at all", "bob@x", chat("bob@x/a", "m1", "", "hello"), false},
		{"carbon of our own message", "carol@x", "<message xmlns='jabber:client' from='" + self + "' to='" + self + "/web'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>" +
			"<message xmlns='jabber:client' type='chat' from='" + self + "/phone' to='carol@x' id='c1'><body>sent elsewhere</body><origin-id xmlns='urn:xmpp:sid:0' id='oc1'/></message>" +
			"</forwarded></sent><stanza-id xmlns='urn:xmpp:sid:0' by='" + self + "' id='S9'/></message>", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, st := newCrashEngine(t)
			ctx := context.Background()
			st.crash = func(w writes) bool { return w.messages > 0 }
			if err := e.HandleStanza(ctx, []byte(tc.raw), 1); !errors.Is(err, errCrash) {
				t.Fatalf("HandleStanza = %v; the crash must reach the client core so that it does not count the stanza", err)
			}
			if st.crashes != 1 {
				t.Fatalf("%d crashes, want 1", st.crashes)
			}
			if n, h := len(all(t, st.Memory, tc.conv)), inbound(t, st); n != 0 || h != 0 {
				t.Fatalf("after the crash: %d messages stored, inbound count %d; want 0 and 0", n, h)
			}
			st.crash = nil
			// The server sends it again under the same count.
			if err := e.HandleStanza(ctx, []byte(tc.raw), 1); err != nil {
				t.Fatal(err)
			}
			if n, h := len(all(t, st.Memory, tc.conv)), inbound(t, st); n != 1 || h != 1 {
				t.Fatalf("after the copy sent again: %d messages, inbound count %d; want 1 and 1", n, h)
			}
			if !tc.again {
				return
			}
			if err := e.HandleStanza(ctx, []byte(tc.raw), 2); err != nil {
				t.Fatal(err)
			}
			if n, h := len(all(t, st.Memory, tc.conv)), inbound(t, st); n != 1 || h != 2 {
				t.Fatalf("after a further copy: %d messages, inbound count %d; want 1 and 2", n, h)
			}
		})
	}
}

// An archive page whose transaction crashes moves nothing: neither the
// coverage nor the messages; the next catch-up asks again from before the
// page and stores each message once.
func TestCrashBeforePageCommit(t *testing.T) {
	e, st := newCrashEngine(t)
	ctx := context.Background()
	q := bindQuery(t, e)
	feed(t, e, append(mamPage(q, "A1", "A2"), mamFin(q, true))...)
	if r, _ := latestRange(t, e); r.Last != "A2" {
		t.Fatalf("first page: coverage ends at %q", r.Last)
	}

	st.crash = func(w writes) bool { return w.messages > 0 }
	raw, err := e.newCatchUp(ctx, nil, settleChain{})
	if err != nil {
		t.Fatal(err)
	}
	q2 := firstQuery(t, [][]byte{raw})
	page := append(mamPage(q2, "A2", "A3", "A4"), mamFin(q2, true))
	for i, s := range page {
		err := e.HandleStanza(ctx, []byte(s), uint32(10+i))
		if i < len(page)-1 && err != nil {
			t.Fatalf("result %d: %v", i, err)
		}
		if i == len(page)-1 && !errors.Is(err, errCrash) {
			t.Fatalf("the page's answer = %v; the crash must reach the client core", err)
		}
	}
	if r, _ := latestRange(t, e); r.Last != "A2" {
		t.Fatalf("after the crash the coverage ends at %q: it moved past messages not stored", r.Last)
	}
	if got := bodies(all(t, st.Memory, "bob@x")); got != "m-A1 m-A2" {
		t.Fatalf("after the crash: %q", got)
	}
	e.mu.Lock()
	cu := e.cu
	e.mu.Unlock()
	if cu != nil {
		t.Fatal("the failed catch-up is still in flight: the next connection would not start one")
	}

	st.crash = nil
	raw, err = e.newCatchUp(ctx, nil, settleChain{})
	if err != nil {
		t.Fatal(err)
	}
	if s := string(raw); !strings.Contains(s, "<after>A1</after>") && !strings.Contains(s, "<after>A2</after>") &&
		!strings.Contains(s, "<field var='start'>") {
		t.Fatalf("the next catch-up must ask from before A3 again: %s", raw)
	}
	q3 := firstQuery(t, [][]byte{raw})
	feed(t, e, append(mamPage(q3, "A2", "A3", "A4"), mamFin(q3, true))...)
	if r, _ := latestRange(t, e); r.Last != "A4" {
		t.Fatalf("coverage ends at %q, want A4", r.Last)
	}
	if got := bodies(all(t, st.Memory, "bob@x")); got != "m-A1 m-A2 m-A3 m-A4" {
		t.Fatalf("after the page was fetched again: %q", got)
	}
}
