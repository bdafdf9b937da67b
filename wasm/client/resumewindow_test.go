//go:build !js

package client_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/wasm/client"
)

// TestIntegrationResumeWindowFromLastHeard: the server keeps a session for
// resumption for its window (XEP-0198 max) from when it sees the link
// gone, so the client counts that window from when it last heard the
// server on the session, not from the server's last acknowledgement. A
// server busy reading a backlog acknowledges late while it keeps sending;
// a link lost then is resumed, not replaced by a new session that sends
// every unacknowledged stanza again (the convergence test under load:
// each such re-send added to the backlog that delayed the acknowledgements).
// On an injected clock: the session is enabled, time passes without an
// acknowledgement, bob's message arrives, the link drops, and the client
// connects again, at once or after longer than the window.
func TestIntegrationResumeWindowFromLastHeard(t *testing.T) {
	t.Parallel()
	const window = 60 * time.Second
	e := setup(t, xmppd.Prosody, xmppd.Options{SMTimeout: window})
	bob := e.connect(t, "bob", &device{}, client.Credentials{Password: "bob-pw"})
	if err := bob.Send(ctxT(t), presence()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		quiet time.Duration // on the session, then bob's message reaches alice
		gone  time.Duration // between the drop and the next connection
		want  client.Path
	}{
		{"heard after a long spell without acknowledgement: resumed", 2 * window, time.Second, client.PathResumed},
		{"nothing heard for longer than the window: a new session", 0, 2 * window, client.PathToken},
	}
	for i, tt := range tests {
		alice := &device{}
		clk := &clock{t: time.Now()}
		cfg := e.config("alice", alice)
		cfg.Now = clk.Now
		s := e.connectConfig(t, cfg, client.Credentials{Password: "alice-pw"})
		waitState(t, alice, func(st client.State) bool { return st.SM.ID != "" }) // <enabled/> read
		clk.advance(tt.quiet)                                                     // alice sends nothing: no <r/>, so no <a/>
		body := fmt.Sprintf("from bob %d", i)
		// To this session's full JID: to the bare JID, a server that has
		// not yet read this session's initial presence (under load) routes
		// it to the previous case's session, which it still holds for
		// resumption, and this one never gets it.
		if err := bob.Send(ctxT(t), message(s.JID(), fmt.Sprintf("q%d", i), body)); err != nil {
			t.Fatal(err)
		}
		waitBodies(t, alice, body)
		s.Drop()
		clk.advance(tt.gone)
		s2, err := client.Connect(ctxT(t), cfg, client.Credentials{Password: "alice-pw"})
		if err != nil {
			t.Fatalf("%s: reconnect: %v", tt.name, err)
		}
		if p := s2.Stats().Path; p != tt.want {
			t.Errorf("%s: path %s (%s), want %s", tt.name, p, s2.Stats().Reason, tt.want)
		}
		s2.Drop()
	}
}
