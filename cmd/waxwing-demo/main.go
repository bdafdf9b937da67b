//go:build !js

// Command waxwing-demo runs the product on one machine: a throwaway Prosody
// (temporary directory, loopback ports, SASL2, Bind 2, FAST, MAM, carbons,
// Stream Management, CSI, MUC and push modules) with two demo accounts, and
// `waxwing serve` in front of it. It prints the URL and the logins, and stops
// everything on Ctrl-C. `make demo` builds the server and runs this.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
)

var demoUsers = []struct{ user, pass string }{
	{"alice", "alice-demo-pw"},
	{"bob", "bob-demo-pw"},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "waxwing-demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("waxwing-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("waxwing", "bin/waxwing", "path of the waxwing server binary")
	listen := fs.String("listen", "127.0.0.1:8080", "address for waxwing serve")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := xmppd.Available(xmppd.Prosody); err != nil {
		return err
	}
	if _, err := os.Stat(*bin); err != nil {
		return fmt.Errorf("%s: %w (run 'make build')", *bin, err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("-listen %s is not free: %w (choose another with -listen)", *listen, err)
	}
	ln.Close()

	users := map[string]string{}
	for _, u := range demoUsers {
		users[u.user] = u.pass
	}
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	srv, err := xmppd.Start(startCtx, xmppd.Prosody, xmppd.Options{Domain: "localhost", Users: users})
	cancel()
	if err != nil {
		return fmt.Errorf("starting Prosody: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := srv.Stop(sctx); err != nil {
			fmt.Fprintln(stderr, "waxwing-demo: stopping Prosody:", err)
		}
	}()

	cmd := exec.Command(*bin, "serve",
		"-domain", srv.Domain,
		"-upstream", srv.C2S,
		"-upstream-ca", srv.CACertFile,
		"-listen", *listen,
		"-data", filepath.Join(srv.Dir, "waxwing-data"))
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
	}()

	url := "http://" + *listen + "/"
	if err := waitHealthy(ctx, url+"healthz", exited); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nWaxwing demo is running.\n\n  open   %s\n", url)
	for _, u := range demoUsers {
		fmt.Fprintf(stdout, "  login  %s@%s  password %s\n", u.user, srv.Domain, u.pass)
	}
	fmt.Fprintf(stdout, "\n  Prosody %s (c2s %s, its files in %s)\n  Press Ctrl-C to stop everything.\n\n", srv.Domain, srv.C2S, srv.Dir)

	select {
	case <-ctx.Done():
		fmt.Fprintln(stdout, "stopping…")
		return nil
	case err := <-exited:
		exited <- err
		return fmt.Errorf("waxwing serve exited: %v", err)
	}
}

func waitHealthy(ctx context.Context, url string, exited chan error) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("waxwing serve exited: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("waxwing serve did not become healthy within 20 s")
}
