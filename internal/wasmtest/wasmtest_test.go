//go:build !js

package wasmtest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/cdproto/runtime"
)

// TestRun runs one program in Chromium per outcome: a pass, a failed test,
// a panic and a hang must each be told apart.
func TestRun(t *testing.T) {
	chromium := findChromium(t)
	dir := t.TempDir()
	wasm, err := build(t.Context(), "./testdata/prog", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		test    string
		timeout time.Duration
		err     string   // "" for success
		out     []string // in the output
	}{
		{"TestPass", time.Minute, "", []string{"stdout: ünïcode ✓\n", "stderr: no newline\n", "args: [-test.v -test.run ^TestPass$]", "--- PASS: TestPass", "\nPASS\n"}},
		{"TestFail", time.Minute, "exited with status 1", []string{"failing on purpose", "--- FAIL: TestFail"}},
		{"TestPanic", time.Minute, "exited with status 2", []string{"panic: panicking on purpose"}},
		{"TestHang", 5 * time.Second, "did not finish within 5s", nil},
		{"TestLateEvent", time.Minute, "", []string{"--- PASS: TestLateEvent"}},
	} {
		t.Run(tc.test, func(t *testing.T) {
			var lines []string
			r := run{
				chromium: chromium, wasm: wasm, dir: t.TempDir(), timeout: tc.timeout,
				args:    []string{"-test.v", "-test.run", "^" + tc.test + "$"},
				logLine: func(s string) { lines = append(lines, s) },
			}
			out, err := r.do(t.Context())
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("err = %v, want none; output:\n%s", err, out)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("err = %v, want %q; output:\n%s", err, tc.err, out)
			}
			for _, s := range tc.out {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
			if joined := strings.Join(lines, "\n"); strings.TrimRight(out, "\n") != joined {
				t.Errorf("logged lines differ from the output:\n%q\n%q", joined, out)
			}
		})
	}
}

func TestHasFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"-test.timeout=1m"}, true},
		{[]string{"--test.timeout", "1m"}, true},
		{[]string{"-test.timeoutx=1"}, false},
		{[]string{"-test.run=timeout"}, false},
	} {
		if got := hasFlag(tc.args, "test.timeout"); got != tc.want {
			t.Errorf("hasFlag(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

// TestSummarizeProfile: self time goes to the sampled function, total time
// to every function on its stack, once per sample.
func TestSummarizeProfile(t *testing.T) {
	frame := func(name string) *runtime.CallFrame {
		return &runtime.CallFrame{FunctionName: name, URL: "http://x/test.wasm"}
	}
	p := &profiler.Profile{
		Nodes: []*profiler.ProfileNode{
			{ID: 1, CallFrame: frame("(root)"), Children: []int64{2, 4}},
			{ID: 2, CallFrame: frame("main.work"), Children: []int64{3}},
			{ID: 3, CallFrame: frame("main.parse")},
			{ID: 4, CallFrame: frame("(idle)")},
		},
		// The time of a sample is the delta to the next one.
		Samples:    []int64{3, 3, 2, 4, 4},
		TimeDeltas: []int64{0, 1000, 1000, 2000, 4000},
	}
	got := SummarizeProfile(p, 10)
	for _, want := range []string{
		"5 samples, 0.01 s",
		"   0.002 s  25.0%  main.parse", // self: 1 + 1 ms
		"   0.002 s  25.0%  main.work",  // self
		"   0.004 s  50.0%  main.work",  // total: its own 2 ms and parse's 2 ms
		"   0.008 s 100.0%  (root)",     // total
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the summary lacks %q:\n%s", want, got)
		}
	}
}

// TestAwaitEndExitBeforeException: an exception reported after the
// program's exit (an event reaching the exited program) does not fail the
// run; one without an exit before it does.
func TestAwaitEndExitBeforeException(t *testing.T) {
	zero := 0
	for range 20 {
		msgs, bad := make(chan message, 2), make(chan error, 1)
		msgs <- message{Out: "PASS\n"}
		msgs <- message{Exit: &zero}
		bad <- errors.New("the page threw: Uncaught Error: Go program has already exited")
		handle := func(m message) (bool, error) { return m.Exit != nil, nil }
		if err := (&run{}).awaitEnd(t.Context(), msgs, bad, nil, handle); err != nil {
			t.Fatalf("exit, then an exception: %v", err)
		}
	}
	bad := make(chan error, 1)
	bad <- errors.New("the page threw: boom")
	err := (&run{}).awaitEnd(t.Context(), make(chan message), bad, nil, func(message) (bool, error) { return false, nil })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("an exception alone: %v, want it", err)
	}
}
