//go:build !js

package bridge_test

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/bridge"
)

// serveBridge runs `waxwing serve` (bridge.New(cfg)) on ln until t ends;
// dump shows what log recorded when t has failed.
func serveBridge(t testing.TB, cfg bridge.Config, ln net.Listener, log *slog.Logger, dump func() string) {
	t.Helper()
	s, err := bridge.New(cfg, log)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("bridge Serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("the bridge did not shut down")
		}
		if t.Failed() {
			t.Logf("bridge log:\n%s", dump())
		}
	})
}
