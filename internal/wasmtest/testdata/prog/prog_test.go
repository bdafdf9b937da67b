// Package prog is the program wasmtest's own tests run in Chromium: one test
// per outcome, chosen with -test.run.
package prog

import (
	"fmt"
	"os"
	"runtime"
	"syscall/js"
	"testing"
)

func TestPass(t *testing.T) {
	if runtime.GOOS != "js" {
		t.Fatalf("GOOS is %s", runtime.GOOS)
	}
	fmt.Println("stdout: ünïcode ✓")
	fmt.Fprint(os.Stderr, "stderr: no newline")
	fmt.Fprintln(os.Stderr)
	t.Log("args:", os.Args[1:])
}

func TestFail(t *testing.T) { t.Error("failing on purpose") }

func TestPanic(t *testing.T) { panic("panicking on purpose") }

func TestHang(t *testing.T) { select {} }

// TestLateEvent passes, and leaves a timer that calls into the program
// once it has exited (as a WebSocket's close event may): the page then
// throws "Go program has already exited", which must not fail the run.
func TestLateEvent(t *testing.T) {
	f := js.FuncOf(func(js.Value, []js.Value) any { return nil })
	js.Global().Call("setTimeout", f, 0)
}
