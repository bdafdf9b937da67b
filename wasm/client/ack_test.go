//go:build !js

package client_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/wasm/client"
)

// holdDevice is a device whose first stanza waits until hold is closed
// (so that what follows piles up), and that counts its state saves.
type holdDevice struct {
	*device
	hold  chan struct{}
	once  sync.Once
	mu    sync.Mutex
	saves int
}

func (d *holdDevice) HandleStanza(ctx context.Context, raw []byte, h uint32) error {
	d.once.Do(func() { <-d.hold })
	return d.device.HandleStanza(ctx, raw, h)
}

func (d *holdDevice) UpdateState(ctx context.Context, f func(*client.State) error) error {
	d.mu.Lock()
	d.saves++
	d.mu.Unlock()
	return d.device.UpdateState(ctx, f)
}

func (d *holdDevice) savesSoFar() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.saves
}

// Stanzas that have already arrived are acknowledged together: a burst
// read from the buffer costs a few saves of the session state (each
// acknowledgement is made only once its count is stored), not one per 16
// stanzas nor one per <r/> of the server; and what was acknowledged is
// what was stored: the session resumes with nothing sent twice or lost.
func TestIntegrationAckHeldDuringBurst(t *testing.T) {
	t.Parallel()
	e := setup(t, xmppd.Prosody, xmppd.Options{})
	const n = 240
	alice := &holdDevice{device: &device{}, hold: make(chan struct{})}
	cfg := e.config("alice", alice.device)
	cfg.Store, cfg.Handler = alice, alice
	s := e.connectConfig(t, cfg, client.Credentials{Password: "alice-pw"})
	if err := s.Send(ctxT(t), presence()); err != nil {
		t.Fatal(err)
	}
	bs, want := burstFromBob(t, e, n)
	// The burst is on its way while alice's handler is busy.
	time.Sleep(time.Second)
	before := alice.savesSoFar()
	close(alice.hold)
	waitBodies(t, alice.device, want...)
	saves := alice.savesSoFar() - before
	t.Logf("%d state saves for a burst of %d", saves, n)
	if saves >= n/16 {
		t.Errorf("%d state saves for a burst of %d that had arrived: want fewer than one per %d stanzas", saves, n, 16)
	}
	// One more, and nothing after it: the server's <r/> is answered (saved,
	// then acknowledged) once nothing more has come for a moment.
	before = alice.savesSoFar()
	if err := bs.Send(ctxT(t), message("alice@localhost", "one", "one")); err != nil {
		t.Fatal(err)
	}
	want = append(want, "one")
	waitBodies(t, alice.device, want...)
	for deadline := time.Now().Add(5 * time.Second); alice.savesSoFar() == before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a stanza with nothing after it was never acknowledged: no state save in 5 s")
		}
	}

	s.Drop()
	resume(t, cfg)
	if err := bs.Send(ctxT(t), message("alice@localhost", "after", "after")); err != nil {
		t.Fatal(err)
	}
	waitBodies(t, alice.device, append(want, "after")...)
}
