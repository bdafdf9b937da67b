package history

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// A burst of live messages is stored in one transaction with the count of
// the last (a group commit); anything else in the batch is applied on its
// own, in order, with its own count.
func TestHandleStanzasGroupCommit(t *testing.T) {
	ctx := context.Background()
	ping := "<iq xmlns='jabber:client' type='get' id='p1' from='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"
	receipt := "<message xmlns='jabber:client' from='bob@x/a' to='" + self + "/web'><received xmlns='urn:xmpp:receipts' id='x'/></message>"
	var burst []string
	for i := range 20 {
		burst = append(burst, chat("bob@x/a", fmt.Sprint("m", i), fmt.Sprint("o", i), fmt.Sprint("hello ", i)))
	}
	for _, tc := range []struct {
		name    string
		raws    []string
		txs     int // store transactions
		stored  int // messages from bob
		inbound uint32
	}{
		{"burst", burst, 1, 20, 20},
		{"one", burst[:1], 1, 1, 1},
		// An iq answered (no store change) splits the burst: two commits.
		{"iq in between", append(append(append([]string{}, burst[:3]...), ping), burst[3:6]...), 2, 6, 7},
		// A receipt commits on its own (its state change), in order.
		{"receipt in between", append(append(append([]string{}, burst[:2]...), receipt), burst[2:4]...), 3, 4, 5},
		{"malformed in between", append(append(append([]string{}, burst[:2]...), "<message xmlns='jabber:client'><body>"), burst[2:4]...), 1, 4, 5},
		{"the same message twice", []string{burst[0], burst[0]}, 1, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, st := newCrashEngine(t)
			var raws [][]byte
			for _, r := range tc.raws {
				raws = append(raws, []byte(r))
			}
			txs := 0
			st.crash = func(writes) bool { txs++; return false }
			n, err := e.HandleStanzas(ctx, raws, 1)
			if err != nil || n != len(raws) {
				t.Fatalf("HandleStanzas = %d, %v; want %d, nil", n, err, len(raws))
			}
			if txs != tc.txs {
				t.Errorf("%d transactions, want %d", txs, tc.txs)
			}
			if got := len(all(t, st.Memory, "bob@x")); got != tc.stored {
				t.Errorf("%d messages stored, want %d", got, tc.stored)
			}
			if h := inbound(t, st); h != tc.inbound {
				t.Errorf("stored inbound count %d, want %d", h, tc.inbound)
			}
		})
	}
}

// A group commit that crashes stores and counts nothing of its batch; what
// was applied before it stays, and HandleStanzas says how far it got, so
// the client core counts only that and the server sends the rest again.
func TestHandleStanzasCrash(t *testing.T) {
	ctx := context.Background()
	e, st := newCrashEngine(t)
	receipt := "<message xmlns='jabber:client' from='bob@x/a' to='" + self + "/web'><received xmlns='urn:xmpp:receipts' id='x'/></message>"
	raws := [][]byte{
		[]byte(chat("bob@x/a", "m1", "o1", "one")),
		[]byte(chat("bob@x/a", "m2", "o2", "two")),
		[]byte(receipt),
		[]byte(chat("bob@x/a", "m3", "o3", "three")),
		[]byte(chat("bob@x/a", "m4", "o4", "four")),
	}
	tx := 0
	st.crash = func(writes) bool { tx++; return tx == 3 } // the second burst
	n, err := e.HandleStanzas(ctx, raws, 1)
	if !errors.Is(err, errCrash) || n != 3 {
		t.Fatalf("HandleStanzas = %d, %v; want 3 and the crash", n, err)
	}
	if got, h := bodies(all(t, st.Memory, "bob@x")), inbound(t, st); got != "one two" || h != 3 {
		t.Fatalf("after the crash the store holds %q with inbound count %d; want \"one two\" and 3", got, h)
	}
	// The server sends the rest again after a resumption.
	st.crash = nil
	if n, err := e.HandleStanzas(ctx, raws[3:], 4); err != nil || n != 2 {
		t.Fatalf("HandleStanzas = %d, %v", n, err)
	}
	if got, h := bodies(all(t, st.Memory, "bob@x")), inbound(t, st); got != "one two three four" || h != 5 {
		t.Fatalf("the store holds %q with inbound count %d", got, h)
	}
}
