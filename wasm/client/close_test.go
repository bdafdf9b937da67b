//go:build !js

package client_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/wasm/client"
)

// Closing a session while the server is still answering it: the serve loop
// may read an <a/> counting stanzas whose counts Close has already cleared
// (here the answer to an <r/> sent just before), or the server's own end of
// the stream before Close has finished. Neither is an error (the session
// used to end with "the server acknowledged 3 stanzas; 0 were sent", and
// Close with "use of closed network connection"), and the session is ended
// on the server: the next connection logs in with the token.
func TestIntegrationCloseWhileAnswered(t *testing.T) {
	t.Parallel()
	e := setup(t, xmppd.Prosody, xmppd.Options{})
	alice := &device{}
	s := e.connect(t, "alice", alice, client.Credentials{Password: "alice-pw"})
	for round := range 8 {
		for i := range 3 {
			id := fmt.Sprintf("r%dm%d", round, i)
			if err := s.Send(ctxT(t), message("bob@"+e.srv.Domain, id, id)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RequestAck(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("round %d: close: %v", round, err)
		}
		select {
		case <-s.Done():
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: the session is still served after Close", round)
		}
		if err := s.Serve(context.Background()); client.KindOf(err) == client.ErrProtocol {
			t.Fatalf("round %d: the session ended with %v", round, err)
		}
		if err := s.Send(ctxT(t), message("bob@"+e.srv.Domain, "late", "late")); err == nil {
			t.Fatalf("round %d: a closed session sent a stanza", round)
		}
		s = e.connect(t, "alice", alice, client.Credentials{})
		if st := s.Stats(); st.Path != client.PathToken {
			t.Fatalf("round %d: path %s after Close, want %s (%s)", round, st.Path, client.PathToken, st.Reason)
		}
	}
}
