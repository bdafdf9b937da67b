//go:build !js

package xmppdtest

import (
	"context"
	"log/slog"
	"net"
	"os"
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
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("WAXWING_BRIDGE_LOG") != "" {
		// WAXWING_BRIDGE_LOG=1: the relay's log (why each relay closed).
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("bridge", srv.Domain)
	}
	b, err := bridge.New(bridge.Config{Domain: srv.Domain, Upstream: srv.C2S, UpstreamCA: srv.CACertFile, DataDir: t.TempDir()}, log)
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
