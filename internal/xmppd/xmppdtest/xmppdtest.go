//go:build !js

// Package xmppdtest starts xmppd test servers from tests: skip (or, under CI, fail) when the
// server is not installed, stop it in t.Cleanup, and dump its log tail when the test failed.
package xmppdtest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
)

// StartTimeout bounds Start. ejabberd needs 1–2 s when idle, but took up to a minute on a
// 2-CPU machine busy with fuzzers and three other ejabberds.
const StartTimeout = 2 * time.Minute

// Start starts a server for t and stops it when t ends. If the server is not installed it calls
// t.Skip with install instructions, or t.Fatal when the environment variable CI is non-empty.
// Server logs go to t.Logf unless o.Logf is set.
func Start(t testing.TB, kind xmppd.Kind, o xmppd.Options) *xmppd.Server {
	t.Helper()
	if err := xmppd.Available(kind); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (CI is set, so this is not skipped)", err)
		}
		t.Skip(err)
	}
	if o.Logf == nil {
		o.Logf = t.Logf
	}
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	s, err := xmppd.Start(ctx, kind, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log tail (%s):\n%s", kind, s.Dir, s.LogTail(40))
		} else if tb := Tracebacks(s); tb != "" {
			t.Logf("%s logged tracebacks:\n%s", kind, tb)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop %s: %v", kind, err)
		}
	})
	return s
}

// Tracebacks returns the server's logged Lua tracebacks and Erlang crash reports, "" if none.
// A shim bug in mod_sasl2_compat012 shows up here.
func Tracebacks(s *xmppd.Server) string {
	var out []string
	for _, l := range strings.Split(s.LogTail(5000), "\n") {
		if strings.Contains(l, "Traceback") || strings.Contains(l, "stack traceback") || strings.Contains(l, "CRASH REPORT") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
