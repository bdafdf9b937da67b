//go:build !js

package client_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/wasm/client"
)

// batcher is a device whose handler takes stanzas in batches (a group
// commit): it records the batch sizes, can hold the first batch until told
// (so that a burst piles up behind it), and can fail part-way through one.
type batcher struct {
	*device
	mu      sync.Mutex
	sizes   []int
	hold    chan struct{} // closed to let the first batch through
	held    bool
	failAt  int // if > 0: the batch of this many or more fails at its failAt-th stanza
	failed  bool
	counted []uint32 // h given with each batch
}

func (b *batcher) HandleStanzas(ctx context.Context, raws [][]byte, h uint32) (int, error) {
	b.mu.Lock()
	if !b.held && b.hold != nil {
		b.held = true
		b.mu.Unlock()
		<-b.hold
		b.mu.Lock()
	}
	b.sizes = append(b.sizes, len(raws))
	b.counted = append(b.counted, h)
	fail := !b.failed && b.failAt > 0 && len(raws) > b.failAt
	if fail {
		b.failed = true
	}
	b.mu.Unlock()
	for i, raw := range raws {
		if fail && i == b.failAt {
			return i, errors.New("simulated crash before the commit")
		}
		if err := b.device.HandleStanza(ctx, raw, h+uint32(i)); err != nil {
			return i, err
		}
	}
	return len(raws), nil
}

func (b *batcher) largest() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, s := range b.sizes {
		n = max(n, s)
	}
	return n
}

// A burst that arrives while the handler is busy reaches a BatchHandler in
// batches, counted as the stanzas they hold; a batch that fails part-way
// counts only what was handled, and a resumption delivers the rest once.
func TestIntegrationGroupCommit(t *testing.T) {
	t.Parallel()
	e := setup(t, xmppd.Prosody, xmppd.Options{})
	const n = 60
	alice := &batcher{device: &device{}, hold: make(chan struct{}), failAt: 3}
	cfg := e.config("alice", alice.device)
	cfg.Handler = alice
	s, err := client.Connect(ctxT(t), cfg, client.Credentials{Password: "alice-pw"})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background()) }()
	if err := s.Send(ctxT(t), presence()); err != nil {
		t.Fatal(err)
	}
	_, want := burstFromBob(t, e, n)
	// The whole burst is on its way; alice's handler was busy meanwhile.
	time.Sleep(500 * time.Millisecond)
	close(alice.hold)
	select {
	case err := <-served:
		if err == nil {
			t.Fatal("Serve ended without an error after the handler failed")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the failing batch did not end the session")
	}
	st, _ := alice.device.LoadState(ctxT(t))
	got := alice.received()
	if len(got) == 0 || st.SM.Inbound == 0 {
		t.Fatalf("nothing handled before the failure: %d bodies, inbound count %d", len(got), st.SM.Inbound)
	}
	// The resumption: the server sends again exactly what was not counted.
	resume(t, cfg)
	waitBodies(t, alice.device, want...)
	if l := alice.largest(); l < 2 {
		t.Errorf("the burst came one stanza at a time (largest batch %d): nothing was gathered", l)
	}
	t.Logf("batch sizes %v", alice.sizes)
}

// burstFromBob connects bob, who sends alice n messages ("burst 000", …)
// back to back; it returns his session and their bodies.
func burstFromBob(t *testing.T, e *env, n int) (*client.Session, []string) {
	t.Helper()
	bs := e.connect(t, "bob", &device{}, client.Credentials{Password: "bob-pw"})
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("burst %03d", i)
		if err := bs.Send(ctxT(t), message("alice@localhost", fmt.Sprint("b", i), want[i])); err != nil {
			t.Fatal(err)
		}
	}
	return bs, want
}

// resume resumes the session of cfg (it must: PathResumed) and serves it
// in the background until the test ends.
func resume(t *testing.T, cfg client.Config) *client.Session {
	t.Helper()
	s, err := client.Connect(ctxT(t), cfg, client.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	if p := s.Stats().Path; p != client.PathResumed {
		t.Fatalf("path %s (%s)", p, s.Stats().Reason)
	}
	go s.Serve(context.Background())
	t.Cleanup(s.Drop)
	return s
}
