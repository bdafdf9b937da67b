//go:build !js

package store_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/wasmtest"
)

// TestBrowserIndexedDB runs the IndexedDB store's tests, the conformance
// suite among them, in headless Chromium.
func TestBrowserIndexedDB(t *testing.T) {
	wasmtest.Run(t, ".", "-test.v", "-test.run", "^TestIndexedDB")
}

// BenchmarkBrowserIndexedDBPageCommit runs BenchmarkIndexedDBPageCommit in
// headless Chromium (40 pages of 250 messages for each durability hint)
// and reports its figures as its own:
//
//	go test ./store -run '^$' -bench BrowserIndexedDB
func BenchmarkBrowserIndexedDBPageCommit(b *testing.B) {
	const name = "BenchmarkIndexedDBPageCommit"
	out := wasmtest.Config{Timeout: 5 * time.Minute}.Run(b, ".", "-test.run=^$", "-test.bench=^"+name+"$", "-test.benchtime=40x")
	found := false
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], name+"/") || f[len(f)-1] != "msgs/s" {
			continue
		}
		v, err := strconv.ParseFloat(f[len(f)-2], 64)
		if err != nil {
			b.Fatalf("%q: %v", line, err)
		}
		found = true
		b.Run(strings.TrimPrefix(f[0], name+"/"), func(b *testing.B) {
			b.ReportMetric(v, "msgs/s")
			b.ReportMetric(0, "ns/op")
		})
	}
	if !found {
		b.Fatalf("no msgs/s figure in the output of %s", name)
	}
}
