package history

import (
	"context"
	"errors"
	"testing"
)

// StoredCount (client.CountStorer) says which XEP-0198 count the handler
// call that has just returned stored with what it committed, so that the
// client acknowledges it without saving its state again: a live message's
// count, and an archive page's answer's, committed with the page; not an
// archive result's, which waits in memory for its page, nor anything a
// failed commit held.
func TestStoredCount(t *testing.T) {
	e, st := newCrashEngine(t)
	ctx := context.Background()
	want := func(what string, h uint32, ok bool) {
		t.Helper()
		got, gotOK := e.StoredCount()
		if gotOK != ok || (ok && got != h) {
			t.Fatalf("after %s: StoredCount() = %d, %v; want %d, %v", what, got, gotOK, h, ok)
		}
		if ok && inbound(t, st) != h {
			t.Fatalf("after %s: the store holds the count %d, StoredCount says %d", what, inbound(t, st), h)
		}
	}
	handle := func(raw string, h uint32) {
		t.Helper()
		if err := e.HandleStanza(ctx, []byte(raw), h); err != nil {
			t.Fatal(err)
		}
	}
	handle(chat("bob@x/a", "m1", "o1", "hello", self, "S1"), 1)
	want("a live message", 1, true)

	q := bindQuery(t, e)
	page := append(mamPage(q, "A1", "A2"), mamFin(q, true))
	for i, s := range page[:len(page)-1] {
		handle(s, uint32(2+i))
		want("an archive result", 0, false)
	}
	handle(page[len(page)-1], 4)
	want("the page's answer", 4, true)

	// A batch ends with what its last stanza did.
	n, err := e.HandleStanzas(ctx, [][]byte{[]byte(chat("bob@x/a", "m2", "o2", "two", self, "S2")), []byte(chat("bob@x/a", "m3", "o3", "three", self, "S3"))}, 5)
	if n != 2 || err != nil {
		t.Fatalf("HandleStanzas = %d, %v", n, err)
	}
	want("a batch of live messages", 6, true)
	q = bindQuery(t, e)
	n, err = e.HandleStanzas(ctx, [][]byte{[]byte(chat("bob@x/a", "m4", "o4", "four", self, "S4")), []byte(mamPage(q, "A9")[0])}, 7)
	if n != 2 || err != nil {
		t.Fatalf("HandleStanzas = %d, %v", n, err)
	}
	// The live message's count, not the batch's last (8): the client
	// saves its state before acknowledging 8.
	want("a batch ending with an archive result", 7, true)

	st.crash = func(w writes) bool { return w.messages > 0 }
	if err := e.HandleStanza(ctx, []byte(chat("bob@x/a", "m5", "o5", "five", self, "S5")), 9); !errors.Is(err, errCrash) {
		t.Fatalf("HandleStanza = %v, want the crash", err)
	}
	want("a failed commit", 0, false)
}
