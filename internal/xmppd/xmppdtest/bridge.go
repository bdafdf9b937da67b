//go:build !js

package xmppdtest

import (
	"context"
	"log/slog"
	"net"
	"testing"

	"github.com/waxwing-im/waxwing/bridge"
	"github.com/waxwing-im/waxwing/internal/xmppd"
)

// Bridge runs `waxwing serve` in process in front of srv for t, and returns
// its WebSocket URL and the Origin its pages have.
func Bridge(t testing.TB, srv *xmppd.Server) (wsURL, origin string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := bridge.New(bridge.Config{Domain: srv.Domain, Upstream: srv.C2S, UpstreamCA: srv.CACertFile, DataDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	addr := ln.Addr().String()
	return "ws://" + addr + bridge.PathWebSocket, "http://" + addr
}
