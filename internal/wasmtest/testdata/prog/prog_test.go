// Package prog is the program wasmtest's own tests run in Chromium: one test
// per outcome, chosen with -test.run.
package prog

import (
	"fmt"
	"os"
	"runtime"
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
