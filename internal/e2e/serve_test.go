//go:build !js

package e2e

// The real `waxwing serve`: the binary built from ./cmd/waxwing with the
// browser program embedded as `make build` left it in static/dist, run as a
// child process in front of a test server.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
)

var (
	serveBinOnce sync.Once
	serveBin     string
	serveBinErr  error
)

// serveBinary builds ./cmd/waxwing once per test binary into a temporary
// directory (go's build cache makes this quick when nothing changed).
func serveBinary(tb testing.TB) string {
	tb.Helper()
	serveBinOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			serveBinErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "waxwing-e2e-bin-")
		if err != nil {
			serveBinErr = err
			return
		}
		bin := filepath.Join(dir, "waxwing")
		cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/waxwing")
		cmd.Dir = filepath.Dir(strings.TrimSpace(string(out)))
		if out, err := cmd.CombinedOutput(); err != nil {
			serveBinErr = fmt.Errorf("go build ./cmd/waxwing: %v\n%s", err, out)
			return
		}
		serveBin = bin
	})
	if serveBinErr != nil {
		tb.Fatal(serveBinErr)
	}
	return serveBin
}

// serve is a running `waxwing serve`.
type serve struct {
	URL   string // the app's page, "http://127.0.0.1:port/"
	WSURL string // its RFC 7395 endpoint
	// WasmBuilt: the binary embeds the browser program (static/dist was
	// built by make build before it was compiled).
	WasmBuilt bool
	Log       string // the file it logs to
}

// startServe runs `waxwing serve` for srv on a loopback port until tb ends.
// Pages of the serve's own origin and of origins may open its WebSocket.
func startServe(tb testing.TB, srv *xmppd.Server, origins ...string) *serve {
	tb.Helper()
	bin := serveBinary(tb)
	addr := FreeLoopbackAddr(tb)
	dir := tb.TempDir()
	s := &serve{URL: "http://" + addr + "/", WSURL: "ws://" + addr + "/xmpp-websocket", Log: filepath.Join(dir, "waxwing.log")}
	logf, err := os.Create(s.Log)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "serve",
		"-domain", srv.Domain,
		"-upstream", srv.C2S,
		"-upstream-ca", srv.CACertFile,
		"-listen", addr,
		"-origin", strings.Join(append([]string{"http://" + addr}, origins...), ","),
		"-data", filepath.Join(dir, "data"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		tb.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if tb.Failed() {
			out, _ := os.ReadFile(s.Log)
			tb.Logf("waxwing serve log:\n%s", tailLines(string(out), 40))
		}
	})
	var health struct {
		Status string `json:"status"`
		Wasm   bool   `json:"wasm"`
	}
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(Step); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-exited:
			out, _ := os.ReadFile(s.Log)
			tb.Fatalf("waxwing serve exited at start:\n%s", out)
		default:
		}
		resp, err := client.Get("http://" + addr + "/healthz")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&health)
			resp.Body.Close()
		}
		if err == nil && health.Status == "ok" {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("waxwing serve on %s not healthy within %v: %v", addr, Step, err)
		}
	}
	s.WasmBuilt = health.Wasm
	return s
}

// tailLines returns the last n lines of s.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
