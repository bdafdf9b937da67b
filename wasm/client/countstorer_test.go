//go:build !js

package client_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/wasm/client"
)

// savesDevice is a device that counts the saves of its session state.
type savesDevice struct {
	*device
	saves atomic.Int64
}

func (d *savesDevice) UpdateState(ctx context.Context, f func(*client.State) error) error {
	d.saves.Add(1)
	return d.device.UpdateState(ctx, f)
}

// storingDevice is a savesDevice whose handler says that it stores the
// inbound count with each stanza (device.HandleStanza does): a
// client.CountStorer.
type storingDevice struct {
	*savesDevice
	last atomic.Uint32
}

func (d *storingDevice) HandleStanza(ctx context.Context, raw []byte, h uint32) error {
	if err := d.device.HandleStanza(ctx, raw, h); err != nil {
		return err
	}
	d.last.Store(h)
	return nil
}

func (d *storingDevice) StoredCount() (uint32, bool) { return d.last.Load(), true }

// ackLog counts the client's "acknowledging" records, by whether the state
// was saved for them.
type ackLog struct {
	mu            sync.Mutex
	saved, stored int
}

func (l *ackLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *ackLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *ackLog) WithGroup(string) slog.Handler            { return l }
func (l *ackLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "acknowledging" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "saved" {
			l.mu.Lock()
			if a.Value.Bool() {
				l.saved++
			} else {
				l.stored++
			}
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

func (l *ackLog) counts() (saved, stored int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.saved, l.stored
}

// An acknowledgement of a count the handler stored itself, with the
// stanza that brought it there, costs no save of the session state (every
// <a/> used to cost one IndexedDB transaction: per message in a chat, two
// or three per archive page in a catch-up); a handler that does not say so
// gets the save. Either way the acknowledged count is the stored one: the
// session resumes with nothing sent twice.
func TestIntegrationAckOfStoredCount(t *testing.T) {
	t.Parallel()
	for _, storing := range []bool{true, false} {
		t.Run(fmt.Sprintf("storing=%v", storing), func(t *testing.T) {
			t.Parallel()
			e := setup(t, xmppd.Prosody, xmppd.Options{})
			sd := &savesDevice{device: &device{}}
			cfg := e.config("alice", sd.device)
			cfg.Store, cfg.Handler = sd, sd
			if storing {
				d := &storingDevice{savesDevice: sd}
				cfg.Handler = d
			}
			log := &ackLog{}
			cfg.Log = slog.New(log)
			s := e.connectConfig(t, cfg, client.Credentials{Password: "alice-pw"})
			if err := s.Send(ctxT(t), presence()); err != nil {
				t.Fatal(err)
			}
			bs := e.connect(t, "bob", &device{}, client.Credentials{Password: "bob-pw"})
			var want []string
			for i := range 20 {
				// One at a time: each is handled on its own and the
				// server's <r/> after it is answered.
				want = append(want, fmt.Sprintf("m%02d", i))
				if err := bs.Send(ctxT(t), message("alice@localhost", want[i], want[i])); err != nil {
					t.Fatal(err)
				}
				waitBodies(t, sd.device, want...)
			}
			// Prosody asks after each of them (<r/>): wait for the answers.
			waitAcks := func() (int, int) {
				deadline := time.Now().Add(15 * time.Second)
				for {
					saved, stored := log.counts()
					if saved+stored >= 10 || time.Now().After(deadline) {
						return saved, stored
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			saved, stored := waitAcks()
			if saved+stored == 0 {
				t.Fatal("no acknowledgement in 15 s")
			}
			t.Logf("acknowledgements: %d with a save, %d of a stored count; %d state saves in all", saved, stored, sd.saves.Load())
			if storing && saved > 0 {
				t.Errorf("%d acknowledgements saved the state, though the handler had stored each count", saved)
			}
			if !storing && stored > 0 {
				t.Errorf("%d acknowledgements without a save, though the handler stored no count", stored)
			}
			s.Drop()
			resume(t, cfg)
			if err := bs.Send(ctxT(t), message("alice@localhost", "after", "after")); err != nil {
				t.Fatal(err)
			}
			waitBodies(t, sd.device, append(want, "after")...)
		})
	}
}
