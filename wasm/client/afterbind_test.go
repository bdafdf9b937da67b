//go:build !js

package client_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/wasm/client"
)

// TestIntegrationAfterBind: what a new session needs (roster with its
// version, initial presence, the first archive query) goes out in the same
// flight as the bind, costs no round trip, is counted for XEP-0198 exactly
// as the server counts it, and is not sent again on a resumption.
func TestIntegrationAfterBind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		kind xmppd.Kind
		opts xmppd.Options
		path client.Path
	}{
		{"prosody", xmppd.Prosody, xmppd.Options{}, client.PathFresh},
		{"prosody-inline-sm", xmppd.Prosody, xmppd.Options{InlineSM: true}, client.PathFresh},
		{"prosody-nosasl2", xmppd.Prosody, xmppd.Options{NoSASL2: true}, client.PathLegacy},
		{"ejabberd", xmppd.Ejabberd, xmppd.Options{}, client.PathLegacy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, tc.kind, tc.opts)
			pw := client.Credentials{Password: "alice-pw"}

			// The anchor: the same server, the default (presence only).
			plain := e.connect(t, "alice", &device{}, pw)
			if p := plain.Stats().Path; p != tc.path {
				t.Fatalf("path %s, want %s (%s)", p, tc.path, plain.Stats().Reason)
			}
			plain.Drop()

			alice := &device{}
			n := 0
			cfg := e.config("alice", alice)
			cfg.AfterBind = func(context.Context, client.Bound) ([][]byte, error) {
				n++
				id := fmt.Sprintf("roster%d", n)
				return [][]byte{
					[]byte("<iq xmlns='jabber:client' type='get' id='" + id + "'><query xmlns='jabber:iq:roster' ver=''/></iq>"),
					presence(),
				}, nil
			}
			rec := &recorder{device: alice}
			cfg.Handler = rec
			s := e.connectConfig(t, cfg, pw)
			t.Cleanup(s.Drop)
			if got, want := s.Stats().RoundTrips, plain.Stats().RoundTrips; got != want {
				t.Fatalf("%d round trips with the pipelined requests, %d without: they must cost none", got, want)
			}
			rec.wait(t, "<iq", "roster1", "type='result'")

			// Counting: a message then an ack request. A miscount (the
			// server acknowledging more than the client sent) ends the
			// session with a protocol error; the ack must clear the queue.
			if err := s.Send(ctxT(t), message("bob@"+e.srv.Domain, "m1", "counted")); err != nil {
				t.Fatal(err)
			}
			waitState(t, alice, func(st client.State) bool { return len(st.SM.Unacked) == 0 && st.SM.ID != "" })
			select {
			case <-s.Done():
				t.Fatalf("the session ended: %v", s.Serve(context.Background()))
			default:
			}

			// A resumption keeps roster and presence: AfterBind is not asked.
			s.Drop()
			s2, err := client.Connect(ctxT(t), cfg, pw)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s2.Drop)
			if p := s2.Stats().Path; p != client.PathResumed {
				t.Fatalf("path %s (%s)", p, s2.Stats().Reason)
			}
			if n != 1 {
				t.Fatalf("AfterBind called %d times; a resumption must not call it", n)
			}
		})
	}
}

// recorder records every inbound stanza of a device.
type recorder struct {
	*device
	mu  sync.Mutex
	all []string
}

func (r *recorder) HandleStanza(ctx context.Context, raw []byte, h uint32) error {
	r.mu.Lock()
	r.all = append(r.all, string(raw))
	r.mu.Unlock()
	return r.device.HandleStanza(ctx, raw, h)
}

// wait waits for a stanza containing every one of parts.
func (r *recorder) wait(t *testing.T, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r.mu.Lock()
		for _, s := range r.all {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(s, p)
			}
			if ok {
				r.mu.Unlock()
				return
			}
		}
		all := strings.Join(r.all, "\n")
		r.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no stanza with %q; got:\n%s", parts, all)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitState(t *testing.T, d *device, ok func(client.State) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, _ := d.LoadState(context.Background())
		if ok(st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("state not reached: %+v", st.SM)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestIntegrationServeEndsWithContext: Serve returns when its context ends,
// even on a quiet link (the read it blocks in does not watch ctx), and
// called again returns the same.
func TestIntegrationServeEndsWithContext(t *testing.T) {
	t.Parallel()
	e := setup(t, xmppd.Prosody, xmppd.Options{})
	s, err := client.Connect(ctxT(t), e.config("alice", &device{}), client.Credentials{Password: "alice-pw"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	cancel()
	var first error
	select {
	case first = <-done:
	case <-time.After(10 * time.Second):
		s.Drop()
		t.Fatal("Serve did not return after its context ended")
	}
	// Serve called again (a caller asking why the session ended) returns
	// the same error; it used to panic, closing Done a second time.
	if again := s.Serve(context.Background()); again != first {
		t.Fatalf("Serve again = %v, want the first call's %v", again, first)
	}
}
