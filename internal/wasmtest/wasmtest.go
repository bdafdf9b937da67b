//go:build !js

// Package wasmtest runs a package's tests, compiled for GOOS=js GOARCH=wasm,
// inside headless Chromium, from a native test: the browser-only code
// (IndexedDB, the DOM) is then tested by plain `go test ./...`.
//
// Run builds the package's test binary (`go test -c`), serves it on a
// loopback HTTP server with the Go distribution's wasm_exec.js and a small
// page that passes the arguments to the program, drives Chromium over the
// DevTools protocol (chromedp, --remote-debugging-pipe) and streams what the
// program writes into the test's log. The test fails when the program exits
// with a non-zero status (a failed test, a panic), when the page throws, or
// when the program does not finish in time.
//
// With $WAXWING_WASMTEST_CPUPROFILE set to a directory, each run also
// records a CPU profile of the page (the DevTools Profiler: wasm and
// JavaScript, sampled every 500 µs) from loading the page to the program's
// exit, and writes it there as <time>.cpuprofile (DevTools' Performance
// panel loads it) with <time>.txt, the functions taking the most time (see
// SummarizeProfile).
//
// Chromium is $WAXWING_CHROMIUM, or chromium on $PATH, or /usr/bin/chromium.
// When it is missing the test is skipped with the command that installs it,
// or fails when the environment variable CI is set.
package wasmtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// DefaultTimeout bounds a run when Config.Timeout is zero.
const DefaultTimeout = 2 * time.Minute

// Config says how Run runs a program. Its zero value is the defaults.
type Config struct {
	// Timeout bounds the run in the browser, from starting Chromium to the
	// program's exit (the build is not counted); 0 means DefaultTimeout.
	// Unless the arguments set -test.timeout, the program gets one a little
	// shorter, so that a hung test panics with its goroutines' stacks.
	Timeout time.Duration
	// Quiet stops Run from copying the program's output into the log; the
	// output is still returned, and logged when the run fails.
	Quiet bool
}

// Run is Config{}.Run.
func Run(t testing.TB, pkg string, args ...string) string {
	t.Helper()
	return Config{}.Run(t, pkg, args...)
}

// Run builds the test binary of pkg (a package path or a directory, as `go
// test` takes it, relative to the test's working directory) for js/wasm,
// runs it in headless Chromium with args as its arguments (-test.v,
// -test.run, -test.bench, …) and returns everything it wrote to standard
// output and standard error. Lines are logged as they come unless c.Quiet.
// t fails, and Run does not return, when the program fails or times out.
func (c Config) Run(t testing.TB, pkg string, args ...string) string {
	t.Helper()
	chromium := findChromium(t)
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if !hasFlag(args, "test.timeout") {
		args = append(args, "-test.timeout="+(timeout*9/10).String())
	}
	dir := t.TempDir()
	wasm, err := build(t.Context(), pkg, dir)
	if err != nil {
		t.Fatal(err)
	}
	var logLine func(string)
	if !c.Quiet {
		logLine = func(s string) { t.Log(s) }
	}
	r := run{chromium: chromium, wasm: wasm, dir: dir, args: args, timeout: timeout, logLine: logLine}
	out, err := r.do(t.Context())
	if err != nil {
		if c.Quiet {
			t.Logf("output of %s:\n%s", pkg, out)
		}
		if s := r.browserLog(); s != "" {
			t.Logf("chromium:\n%s", s)
		}
		t.Fatalf("%s in Chromium: %v", pkg, err)
	}
	return out
}

// hasFlag reports whether args set the flag name (-name or --name).
func hasFlag(args []string, name string) bool {
	for _, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// findChromium returns the browser's path, or skips t (fails it under CI).
func findChromium(t testing.TB) string {
	t.Helper()
	missing := func(msg string) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s (CI is set, so this is not skipped)", msg)
		}
		t.Skip(msg)
	}
	if p := os.Getenv("WAXWING_CHROMIUM"); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			missing(fmt.Sprintf("WAXWING_CHROMIUM=%q: %v; unset it or apt-get install chromium", p, err))
		}
		return path
	}
	for _, p := range []string{"chromium", "/usr/bin/chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	missing("browser tests need Chromium, which is not installed: apt-get install chromium")
	return ""
}

// build compiles the test binary of pkg for js/wasm into dir and returns its
// path. It also opens the directories of every package the binary is made
// of, so that go test's cache, which knows only the native test binary,
// runs the test again when one of their files changes.
func build(ctx context.Context, pkg, dir string) (string, error) {
	goCmd := func(args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
		return cmd
	}
	wasm := filepath.Join(dir, "test.wasm")
	if out, err := goCmd("test", "-c", "-o", wasm, pkg).CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the tests of %s for js/wasm: %v\n%s", pkg, err, out)
	}
	if _, err := os.Stat(wasm); err != nil {
		return "", fmt.Errorf("%s has no tests to run: %v", pkg, err)
	}
	out, err := goCmd("list", "-deps", "-test", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", pkg).Output()
	if err != nil {
		return "", fmt.Errorf("listing the packages of %s: %v", pkg, err)
	}
	for _, d := range strings.Fields(string(out)) {
		if f, err := os.Open(d); err == nil {
			f.Close()
		}
	}
	return wasm, nil
}

// wasmExecJS returns the Go distribution's wasm_exec.js.
func wasmExecJS(ctx context.Context) ([]byte, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOROOT: %v", err)
	}
	return os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "lib", "wasm", "wasm_exec.js"))
}

// binding is the function the page calls to report, one JSON message each.
const binding = "__wasmtest"

// message is what the page reports through the binding.
type message struct {
	Out   string `json:"out,omitempty"`   // output of the program (stdout or stderr)
	Exit  *int   `json:"exit,omitempty"`  // the program exited with this status
	Error string `json:"error,omitempty"` // the page failed to run the program
}

// page runs test.wasm with the arguments in its query string.
const page = `<!doctype html>
<meta charset="utf-8">
<title>wasmtest</title>
<script src="wasm_exec.js"></script>
<script src="run.js"></script>
`

// runJS sends the program's output and its exit status through the binding.
const runJS = `"use strict";
(async () => {
  const report = (m) => globalThis.` + binding + `(JSON.stringify(m));
  try {
    const decoders = {};
    const writeSync = globalThis.fs.writeSync;
    globalThis.fs.writeSync = (fd, buf) => {
      if (fd !== 1 && fd !== 2) return writeSync(fd, buf);
      decoders[fd] ??= new TextDecoder("utf-8");
      report({out: decoders[fd].decode(buf, {stream: true})});
      return buf.length;
    };
    const go = new Go();
    go.argv = ["test.wasm", ...JSON.parse(new URLSearchParams(location.search).get("args") || "[]")];
    go.exit = (code) => report({exit: code});
    const {instance} = await WebAssembly.instantiateStreaming(fetch("test.wasm"), go.importObject);
    await go.run(instance);
  } catch (e) {
    report({error: String(e && e.stack || e)});
  }
})();
`

// run is one run of a program in a fresh Chromium.
type run struct {
	chromium, wasm string
	dir            string // for the browser's profile and its output
	args           []string
	timeout        time.Duration
	logLine        func(string) // nil: do not log
}

// browserLog returns what Chromium and chromedp said, for diagnostics.
func (r *run) browserLog() string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "chromium.log"))
	return string(b)
}

// do runs the program and returns its output.
func (r *run) do(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	execJS, err := wasmExecJS(ctx)
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	serve := func(path, typ string, body []byte) {
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", typ)
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write(body)
		})
	}
	serve("/{$}", "text/html; charset=utf-8", []byte(page))
	serve("/wasm_exec.js", "text/javascript", execJS)
	serve("/run.js", "text/javascript", []byte(runJS))
	mux.HandleFunc("/test.wasm", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/wasm")
		http.ServeFile(w, req, r.wasm)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	browserOut, err := os.Create(filepath.Join(r.dir, "chromium.log"))
	if err != nil {
		return "", err
	}
	defer browserOut.Close()

	// The browser's life is bound to bctx, which has no deadline (chromedp
	// kills the browser when the first action's context ends); ctx's
	// deadline cancels it instead.
	port := ln.Addr().(*net.TCPAddr).Port
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(r.chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(filepath.Join(r.dir, "profile")),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("explicitly-allowed-ports", strconv.Itoa(port)), // a random port may be on Chromium's unsafe list
		chromedp.CombinedOutput(browserOut),
	)
	actx, acancel := chromedp.NewExecAllocator(context.WithoutCancel(ctx), opts...)
	defer acancel() // waits until the browser has exited
	logf := func(format string, a ...any) { fmt.Fprintf(browserOut, "chromedp: "+format+"\n", a...) }
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(logf), chromedp.WithErrorf(logf))
	defer bcancel()
	stop := context.AfterFunc(ctx, bcancel)
	defer stop()
	defer func() {
		cctx, ccancel := context.WithTimeout(bctx, 5*time.Second)
		_ = chromedp.Cancel(cctx) // close the browser gracefully before its profile is removed
		ccancel()
	}()

	msgs := make(chan message, 1024)
	bad := make(chan error, 1)
	if err := chromedp.Listen(bctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventBindingCalled:
			if ev.Name != binding {
				return
			}
			var m message
			if err := json.Unmarshal([]byte(ev.Payload), &m); err != nil {
				m = message{Error: fmt.Sprintf("bad report %q: %v", ev.Payload, err)}
			}
			msgs <- m // never blocks for long: do reads it until the end
		case *runtime.EventExceptionThrown:
			select {
			case bad <- fmt.Errorf("the page threw: %s", exceptionText(ev.ExceptionDetails)):
			default:
			}
		}
	}); err != nil {
		return "", r.startErr(ctx, "starting Chromium", err)
	}
	if _, err := chromedp.Call(bctx, runtime.AddBinding, runtime.AddBindingParams{Name: binding}); err != nil {
		return "", r.startErr(ctx, "adding the binding", err)
	}
	profDir := os.Getenv(ProfileEnv)
	if profDir != "" {
		if err := startProfile(bctx); err != nil {
			return "", r.startErr(ctx, "starting the profiler", err)
		}
	}
	argsJSON, err := json.Marshal(r.args)
	if err != nil {
		return "", err
	}
	pageURL := fmt.Sprintf("http://127.0.0.1:%d/?args=%s", port, url.QueryEscape(string(argsJSON)))
	navErr := make(chan error, 1)
	go func() { navErr <- chromedp.Do(bctx, chromedp.Navigate(pageURL)) }()

	var out strings.Builder
	var line []byte
	emit := func(s string) {
		out.WriteString(s)
		if r.logLine == nil {
			return
		}
		line = append(line, s...)
		for {
			i := bytes.IndexByte(line, '\n')
			if i < 0 {
				break
			}
			r.logLine(string(line[:i]))
			line = line[i+1:]
		}
	}
	flush := func() {
		if r.logLine != nil && len(line) > 0 {
			r.logLine(string(line))
		}
	}
	defer flush()
	// handle takes one report; done says the program has ended.
	handle := func(m message) (done bool, err error) {
		emit(m.Out)
		switch {
		case m.Error != "":
			return true, fmt.Errorf("the page could not run the program: %s", m.Error)
		case m.Exit != nil && *m.Exit != 0:
			return true, fmt.Errorf("the program exited with status %d", *m.Exit)
		case m.Exit != nil:
			if profDir != "" {
				if err := stopProfile(bctx, profDir); err != nil {
					return true, err
				}
			}
			return true, nil
		}
		return false, nil
	}
	err = r.awaitEnd(ctx, msgs, bad, navErr, handle)
	return out.String(), err
}

// awaitEnd waits for the program's end (handle says done), the page's
// failure or the timeout. The program's reports come in order, and an
// exception after them: when both are there, the reports decide. An event
// that reaches the program once it has exited (a WebSocket's close event)
// throws "Go program has already exited", which changes nothing.
func (r *run) awaitEnd(ctx context.Context, msgs <-chan message, bad, navErr <-chan error, handle func(message) (bool, error)) error {
	for {
		select {
		case m := <-msgs:
			if done, err := handle(m); done {
				return err
			}
		case err := <-navErr:
			if err != nil {
				return r.startErr(ctx, "loading the page", err)
			}
		case err := <-bad:
			for {
				select {
				case m := <-msgs:
					if done, merr := handle(m); done {
						return merr
					}
					continue
				default:
				}
				break
			}
			return err
		case <-ctx.Done():
			return fmt.Errorf("the program did not finish within %v", r.timeout)
		}
	}
}

// startErr words an error of the browser, telling a timeout apart.
func (r *run) startErr(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: no answer within %v", what, r.timeout)
	}
	return fmt.Errorf("%s: %v", what, err)
}

// exceptionText returns an exception's message and where it was thrown.
func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "unknown exception"
	}
	s := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		s += " " + d.Exception.Description
	}
	return fmt.Sprintf("%s (%s:%d:%d)", s, d.URL, d.LineNumber, d.ColumnNumber)
}
