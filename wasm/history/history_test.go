//go:build !js

package history_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/store"
)

// TestIntegrationHistory walks the basic paths on each server: a new device
// catches up from the archive, sends (state follows the server's ack and
// the peer's receipt), a second device converges on the same history
// including what the first one sent, and read state follows XEP-0490.
func TestIntegrationHistory(t *testing.T) {
	t.Parallel()
	for _, kind := range []xmppd.Kind{xmppd.Prosody, xmppd.Ejabberd} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, kind, xmppd.Options{}, "alice", "bob")
			alice, bob := w.jid("alice"), w.jid("bob")
			b := w.device(t, "bob", "bob")
			b.waitOnline(t)
			for i := range 3 {
				if _, err := b.engine().Send(ctxT(t, 10*time.Second), alice, fmt.Sprintf("before %d", i)); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, "bob's messages acked", 15*time.Second, func() (bool, string) {
				ms := b.messages(t, alice)
				for _, m := range ms {
					if m.State < store.StateAcked {
						return false, fmt.Sprintf("%s is %s", m.Body, m.State)
					}
				}
				return len(ms) == 3, fmt.Sprint(len(ms), " messages")
			})

			a1 := w.device(t, "a1", "alice")
			a1.waitOnline(t)
			if err := a1.engine().Sync(ctxT(t, 15*time.Second)); err != nil {
				t.Fatal(err)
			}
			if got := bodies(a1.messages(t, bob)); got != "before 0|before 1|before 2" {
				t.Fatalf("a1 after catch-up: %q", got)
			}
			sent, err := a1.engine().Send(ctxT(t, 10*time.Second), bob, "hello bob")
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "bob receives a1's message; a1 sees it delivered", 15*time.Second, func() (bool, string) {
				got := bodies(b.messages(t, alice))
				m, _ := find(a1.messages(t, bob), sent.Key)
				return got == "before 0|before 1|before 2|hello bob" && m.State >= store.StateDelivered,
					fmt.Sprintf("bob has %q; a1's copy is %s", got, m.State)
			})

			a2 := w.device(t, "a2", "alice")
			a2.waitOnline(t)
			for _, d := range []*device{a1, a2} {
				if err := d.engine().Sync(ctxT(t, 15*time.Second)); err != nil {
					t.Fatal(err)
				}
			}
			h1, l1 := a1.digest(t)
			h2, l2 := a2.digest(t)
			if h1 != h2 || len(l1) != 4 {
				t.Fatalf("a1 %s:\n%s\na2 %s:\n%s", h1, join(l1), h2, join(l2))
			}

			unread := func(d *device) int {
				cs, _ := d.st.Conversations(ctxT(t, 5*time.Second))
				for _, c := range cs {
					if c.Peer == bob {
						return c.Unread
					}
				}
				return -1
			}
			if u := unread(a2); u != 3 {
				t.Fatalf("a2 unread %d, want 3", u)
			}
			if err := a1.engine().MarkRead(ctxT(t, 5*time.Second), bob); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "read on a1 → read on a2 (XEP-0490)", 15*time.Second, func() (bool, string) {
				return unread(a1) == 0 && unread(a2) == 0, fmt.Sprintf("a1 %d, a2 %d", unread(a1), unread(a2))
			})
		})
	}
}

func bodies(ms []store.Message) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Body)
	}
	return join(s)
}

func join(s []string) string { return strings.Join(s, "|") }

func find(ms []store.Message, key string) (store.Message, bool) {
	for _, m := range ms {
		if m.Key == key {
			return m, true
		}
	}
	return store.Message{}, false
}
