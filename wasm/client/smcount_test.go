//go:build !js

package client_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/wasm/client"
)

// TestIntegrationCountStartsAtEnabled: XEP-0198 §4 — each side counts the
// stanzas it handles from the <enabled/> on. With Bind 2, carbons are
// enabled inline, so the carbons of the account's other devices flow from
// the SASL2 <success> on, before the <enabled/> answering the <enable/>
// the client sends after it. Counting those too made the client
// acknowledge more than the server had sent, and Prosody ended the session
// ("Client acknowledged more stanzas than sent by server"), which also
// refuses its resumption. Another device of the account sends without
// pause while this one connects afresh again and again; every session must
// live on.
func TestIntegrationCountStartsAtEnabled(t *testing.T) {
	t.Parallel()
	e := setup(t, xmppd.Prosody, xmppd.Options{})
	pw := client.Credentials{Password: "alice-pw"}
	flooder := e.connect(t, "alice", &device{}, pw)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sent atomic.Int64
	floodDone := make(chan struct{})
	go func() {
		defer close(floodDone)
		for i := 0; ctx.Err() == nil; i++ {
			id := fmt.Sprintf("flood%d", i)
			if err := flooder.Send(ctx, message("bob@"+e.srv.Domain, id, id)); err != nil {
				return
			}
			sent.Add(1)
			if i%32 == 31 {
				time.Sleep(time.Millisecond) // let the acks through
			}
		}
	}()
	for round := range 12 {
		d := &device{} // a new device: a fresh session every time
		s := e.connect(t, "alice", d, pw)
		if p := s.Stats().Path; p != client.PathFresh {
			t.Fatalf("path %s, want %s (%s)", p, client.PathFresh, s.Stats().Reason)
		}
		// Enough carbons for acknowledgements to go out (one every 16
		// stanzas, and on the server's requests), then a little more.
		deadline := time.Now().Add(20 * time.Second)
		ended := false
		handled := func() uint32 { st, _ := d.LoadState(ctx); return st.SM.Inbound }
		for !ended && handled() < 64 && time.Now().Before(deadline) {
			select {
			case <-s.Done():
				ended = true
			case <-time.After(10 * time.Millisecond):
			}
		}
		if !ended {
			select {
			case <-s.Done():
				ended = true
			case <-time.After(100 * time.Millisecond):
			}
		}
		if ended {
			err := s.Serve(context.Background())
			if err != nil && strings.Contains(err.Error(), "acknowledged more") {
				t.Fatalf("round %d: the client acknowledged more stanzas than the server sent: %v", round, err)
			}
			t.Fatalf("round %d: the session ended: %v", round, err)
		}
		if n := handled(); n < 64 {
			t.Fatalf("round %d: %d stanzas handled (%d sent by the other device)", round, n, sent.Load())
		}
		s.Drop()
	}
	select {
	case <-flooder.Done():
		t.Fatalf("the sending session ended: %v", flooder.Serve(context.Background()))
	default:
	}
	cancel()
	<-floodDone
}
