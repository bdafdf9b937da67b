//go:build !js

package client_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/wasm/client"
)

// TestIntegrationResumeAfterBurst: the link drops right after a burst of stanzas, while the
// server is still reading it; the next connection resumes (SASL2 inline <resume/>) and sends at
// once. Round after round, the resumed session must stay up and everything must arrive once.
//
// Prosody 0.12.3 reads a resumed session's new connection with the parser of the connection the
// session began on (TestProsodyResumeFeedsFirstParser in internal/xmppd), and that parser must
// not stop in the middle of an element (bridge/handover.go). It did when the relay closed the
// upstream at once (Prosody's next write, an <a/>, drew a reset, and it disconnected without
// reading the rest of the burst: "Broken pipe"), and when the resumption arrived while Prosody
// was still reading the burst (it then closes the old connection): the first bytes after
// <resumed/> ended the session with <not-well-formed/> or "XML stanza is too big".
func TestIntegrationResumeAfterBurst(t *testing.T) {
	t.Parallel()
	e := setup(t, xmppd.Prosody, xmppd.Options{InlineSM: true})
	bob := &device{}
	bs := e.connect(t, "bob", bob, client.Credentials{Password: "bob-pw"})
	if err := bs.Send(ctxT(t), presence()); err != nil {
		t.Fatal(err)
	}
	alice := &device{}
	s := e.connect(t, "alice", alice, client.Credentials{Password: "alice-pw"})
	pad := strings.Repeat("w", 2000)
	var want []string
	const rounds, burst = 8, 40
	for round := range rounds {
		for i := range burst {
			body := fmt.Sprintf("r%d-%02d %s", round, i, pad)
			want = append(want, body)
			if err := s.Send(ctxT(t), message("bob@"+e.srv.Domain, fmt.Sprintf("r%dm%d", round, i), body)); err != nil {
				t.Fatalf("round %d: send %d: %v", round, i, err)
			}
		}
		s.Drop() // while the server is still reading the burst
		s = e.connect(t, "alice", alice, client.Credentials{Password: "alice-pw"})
		if st := s.Stats(); st.Path != client.PathResumed {
			t.Fatalf("round %d: path %s (%s), want resumed", round, st.Path, st.Reason)
		}
		body := fmt.Sprintf("r%d-after", round)
		want = append(want, body)
		if err := s.Send(ctxT(t), message("bob@"+e.srv.Domain, fmt.Sprintf("r%dafter", round), body)); err != nil {
			t.Fatalf("round %d: send after resuming: %v", round, err)
		}
		// The resumed session reads its first stanza without a stream error.
		deadline := time.Now().Add(20 * time.Second)
		for !contains(bob.received(), body) {
			select {
			case <-s.Done():
				t.Fatalf("round %d: the resumed session ended: %v", round, s.Serve(context.Background()))
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %q not delivered", round, body)
			}
		}
	}
	// Everything arrives once, in order (stanzas re-sent after a resumption keep their place).
	deadline := time.Now().Add(20 * time.Second)
	for len(bob.received()) < len(want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := bob.received()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		short := func(l []string) (out []string) {
			for _, s := range l {
				out = append(out, s[:min(len(s), 8)])
			}
			return out
		}
		t.Fatalf("bob received %d, want %d:\n%q\nwant\n%q", len(got), len(want), short(got), short(want))
	}
	select {
	case <-s.Done():
		t.Fatalf("alice's session ended: %v", s.Serve(context.Background()))
	default:
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
