package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		out  string
	}{
		{"no command", nil, nil, exitUsage, "usage: waxwing"},
		{"unknown command", []string{"frobnicate"}, nil, exitUsage, `unknown command "frobnicate"`},
		{"serve without domain", []string{"serve"}, nil, exitUsage, "-domain is required"},
		{"bad value from the environment", []string{"serve"}, map[string]string{"WAXWING_DOMAIN": "example.org", "WAXWING_MAX_DEPTH": "1"}, exitUsage, "-max-depth=1"},
		{"version", []string{"version"}, nil, exitOK, "waxwing "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			code := run(context.Background(), tt.args, func(k string) string { return tt.env[k] }, &out, &out)
			if code != tt.code || !strings.Contains(out.String(), tt.out) {
				t.Fatalf("code %d, output %q; want %d and %q", code, out.String(), tt.code, tt.out)
			}
		})
	}
}

func TestRunServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-listen", addr, "-data", t.TempDir()},
			func(k string) string {
				return map[string]string{"WAXWING_DOMAIN": "example.org", "WAXWING_UPSTREAM": "127.0.0.1:1"}[k]
			},
			io.Discard, io.Discard)
	}()
	ok := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !ok; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			ok = resp.StatusCode == http.StatusOK
			resp.Body.Close()
		}
	}
	if !ok {
		t.Fatal("healthz never answered 200")
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit code %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}
