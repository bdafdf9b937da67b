//go:build !js

package client_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/wasm/client"
	"github.com/waxwing-im/waxwing/wasm/stanza"
)

// TestIntegrationResumeOverflow: a client that falls further behind than the
// server's Stream Management queue loses stanzas at the server, by the
// server's rule, and the archive still has them. Prosody 0.12 keeps at most
// smacks_max_queue_size (500) unacknowledged stanzas in a ring: the oldest
// are overwritten, the next resumption is refused (<failed/>, "Too many
// unacked stanzas remaining"), and the rest go to offline storage, which
// delivers them to the next session. The client must notice (the session
// is not resumed, so the sync engine catches up from the archive) and
// deliver what does come exactly once.
func TestIntegrationResumeOverflow(t *testing.T) {
	t.Parallel()
	const n = 600 // more than Prosody's 500
	for _, tc := range []struct {
		name string
		opts xmppd.Options
	}{
		{"prosody", xmppd.Options{}},
		{"prosody-inline-sm", xmppd.Options{InlineSM: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, xmppd.Prosody, tc.opts)
			alice, bob, s, bs := e.pair(t)

			s.Drop()
			want := make([]string, n)
			for i := range want {
				want[i] = fmt.Sprintf("o%04d", i+1)
				if err := bs.Send(ctxT(t), message("alice@localhost", want[i], want[i])); err != nil {
					t.Fatal(err)
				}
			}
			waitAcked(t, bob) // all of them are in alice's hibernating session

			// Prosody closes the stream right after an overflow <failed/>
			// on the classic path: the next attempt binds anew.
			var paths []client.Path
			for attempt := 0; ; attempt++ {
				s2, err := client.Connect(ctxT(t), e.config("alice", alice), client.Credentials{})
				if err != nil {
					if attempt == 3 {
						t.Fatalf("reconnect: %v", err)
					}
					t.Logf("attempt %d: %v", attempt, err)
					paths = append(paths, "error")
					continue
				}
				e.mu.Lock()
				e.sessions = append(e.sessions, s2)
				e.mu.Unlock()
				go s2.Serve(context.Background())
				s = s2
				paths = append(paths, s2.Stats().Path)
				break
			}
			if slices.Contains(paths, client.PathResumed) {
				t.Fatalf("resumed a session whose queue overflowed: %v", paths)
			}

			// Offline storage delivers what the server kept.
			got := waitStable(t, alice)
			dups, lost := diff(want, got)
			if len(dups) > 0 {
				t.Fatalf("duplicates: %v", dups)
			}
			_, lost = diffAll(want, got)
			if len(lost) == 0 || len(lost) > n-400 || !slices.Equal(lost, want[:len(lost)]) {
				t.Fatalf("lost %d: want the oldest beyond the server's queue of 500, got %v", len(lost), lost)
			}
			if !slices.Equal(got, want[len(lost):]) {
				t.Fatalf("what came is not the rest, in order: %v", got)
			}

			// The archive has every one of them.
			archived := fetchArchive(t, s, alice, "bob@localhost")
			for _, l := range lost {
				if !slices.Contains(archived, l) {
					t.Fatalf("%s lost by the server and not in the archive (%d archived)", l, len(archived))
				}
			}
			t.Logf("paths %v: the server dropped the oldest %d of %d unacknowledged messages (%s … %s) and refused the resumption; %d came from offline storage, in order, once; the archive has all %d lost",
				paths, len(lost), n, lost[0], lost[len(lost)-1], len(got), len(lost))
		})
	}
}

// TestIntegrationUnknownSMID: a link that dies after a new session is bound
// but before the client has read <enabled/> leaves a session the client
// cannot resume (it never learnt its id) holding what the server queued
// there. The next session binds the same resource, so the server replaces
// that session and hands its queue to offline storage, which delivers it;
// with another resource it would wait for smacks_hibernation_time (600 s).
func TestIntegrationUnknownSMID(t *testing.T) {
	t.Parallel()
	e := setup(t, xmppd.Prosody, xmppd.Options{})
	alice, bob, s, bs := e.pair(t)

	// A resumption that fails (the classic path on Prosody 0.12 without
	// inline SM): the client binds a resource the RFC 6120 way and enables
	// SM, and the link dies before the <enabled/> is read.
	s.Drop()
	st, _ := alice.LoadState(ctxT(t))
	st.SM.ID = "no-such-session"
	_ = client.SaveState(ctxT(t), alice, st)
	s2, err := client.Connect(ctxT(t), e.config("alice", alice), client.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	if p := s2.Stats().Path; p != client.PathRebound {
		t.Fatalf("path %s (%s)", p, s2.Stats().Reason)
	}
	s2.Drop()
	if st, _ := alice.LoadState(ctxT(t)); st.SM.ID != "" {
		t.Skip("the <enabled/> was read before the drop")
	}

	if err := bs.Send(ctxT(t), message("alice@localhost", "u1", "queued in a session never resumed")); err != nil {
		t.Fatal(err)
	}
	waitAcked(t, bob)
	s3 := e.connect(t, "alice", alice, client.Credentials{})
	t.Logf("next session: %v (%s)", s3.Stats(), s3.JID())
	waitBodies(t, alice, "queued in a session never resumed")
}

// pair connects alice and bob, both available, with the server having
// handled alice's presence.
func (e *env) pair(t *testing.T) (alice, bob *device, as, bs *client.Session) {
	t.Helper()
	alice, bob = &device{}, &device{}
	as = e.connect(t, "alice", alice, client.Credentials{Password: "alice-pw"})
	_ = as.Send(ctxT(t), presence())
	bs = e.connect(t, "bob", bob, client.Credentials{Password: "bob-pw"})
	_ = bs.Send(ctxT(t), presence())
	waitHandled(t, as)
	return alice, bob, as, bs
}

// waitHandled waits until the server has acknowledged what s sent.
func waitHandled(t *testing.T, s *client.Session) {
	t.Helper()
	if err := s.RequestAck(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); s.AckOverdue(time.Now(), 0); {
		if time.Now().After(deadline) {
			t.Fatal("no acknowledgement")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitAcked waits until the server has acknowledged every stanza d queued.
func waitAcked(t *testing.T, d *device) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		st, _ := d.LoadState(ctxT(t))
		if len(st.SM.Unacked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d stanzas never acknowledged", len(st.SM.Unacked))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitStable returns what d received once something came and then nothing
// more for two seconds.
func waitStable(t *testing.T, d *device) []string {
	t.Helper()
	got, since := d.received(), time.Now()
	for deadline := time.Now().Add(30 * time.Second); len(got) == 0 || time.Since(since) < 2*time.Second; {
		if time.Now().After(deadline) {
			t.Fatal("messages kept coming for 30 s")
		}
		time.Sleep(50 * time.Millisecond)
		if now := d.received(); len(now) != len(got) {
			got, since = now, time.Now()
		}
	}
	return got
}

// fetchArchive pages through the account's archive of messages with with.
func fetchArchive(t *testing.T, s *client.Session, d *device, with string) []string {
	t.Helper()
	after := ""
	for page := 0; ; page++ {
		id := fmt.Sprintf("mam%d", page)
		q := stanza.MAMQuery{ID: id, QueryID: id, With: with, After: after, Max: 100}
		if err := s.SendTransient(q.Bytes()); err != nil {
			t.Fatal(err)
		}
		var raw []byte
		for deadline := time.Now().Add(15 * time.Second); raw == nil; {
			if time.Now().After(deadline) {
				t.Fatalf("no answer to archive query %s", id)
			}
			time.Sleep(10 * time.Millisecond)
			d.mu.Lock()
			raw = d.iqs[id]
			d.mu.Unlock()
		}
		fin, err := stanza.ParseMAMFin(raw)
		if err != nil {
			t.Fatalf("archive query: %v: %s", err, raw)
		}
		if fin.Complete || fin.Set.Last == "" || page > 50 {
			break
		}
		after = fin.Set.Last
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Fields(strings.Join(d.archived, " "))
}

// diffAll returns what got has more than once and what it lacks of want.
func diffAll(want, got []string) (dups, missing []string) {
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
		if seen[g] == 2 {
			dups = append(dups, g)
		}
	}
	for _, w := range want {
		if seen[w] == 0 {
			missing = append(missing, w)
		}
	}
	return dups, missing
}
