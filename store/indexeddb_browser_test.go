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
	browserBench(b, "BenchmarkIndexedDBPageCommit", "40x", "msgs/s")
}

// BenchmarkBrowserIndexedDBCatchUpPages runs BenchmarkIndexedDBCatchUpPages
// (a 10,000-message archive stored as the sync engine's page commits make
// it, pages of 50 and 250) once in headless Chromium:
//
//	go test ./store -run '^$' -bench BrowserIndexedDBCatchUp
func BenchmarkBrowserIndexedDBCatchUpPages(b *testing.B) {
	browserBench(b, "BenchmarkIndexedDBCatchUpPages", "1x", "msgs/s")
}

// BenchmarkBrowserIndexedDBUpdateState runs BenchmarkIndexedDBUpdateState
// (300 saves of the session state for each durability hint) in
// headless Chromium.
func BenchmarkBrowserIndexedDBUpdateState(b *testing.B) {
	browserBench(b, "BenchmarkIndexedDBUpdateState", "300x", "ms/save")
}

// browserBench runs the js/wasm benchmark name in Chromium and reports the
// figure in unit of each of its sub-benchmarks as its own.
func browserBench(b *testing.B, name, benchtime, unit string) {
	out := wasmtest.Config{Timeout: 5 * time.Minute}.Run(b, ".", "-test.run=^$", "-test.bench=^"+name+"$", "-test.benchtime="+benchtime)
	found := false
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], name+"/") || f[len(f)-1] != unit {
			continue
		}
		v, err := strconv.ParseFloat(f[len(f)-2], 64)
		if err != nil {
			b.Fatalf("%q: %v", line, err)
		}
		found = true
		b.Run(strings.TrimPrefix(f[0], name+"/"), func(b *testing.B) {
			b.ReportMetric(v, unit)
			b.ReportMetric(0, "ns/op")
		})
	}
	if !found {
		b.Fatalf("no %s figure in the output of %s", unit, name)
	}
}
