//go:build !js

package e2e

// Unit tests of the benchmark's pure parts: statistics, target verdicts,
// the table, and the port filter of the browser helpers.

import (
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{5}, 5},
		{[]float64{1, 3}, 2},
		{[]float64{1, 2, 10}, 2},
		{[]float64{1, 2, 3, 100}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	samples := map[string][]sample{
		"waxwing":  {{ReloadLatest: 300}, {ReloadLatest: 100}, {ReloadLatest: 200}},
		"converse": {{ReloadLatest: 500}},
	}
	for _, r := range summarize(samples) {
		if r.unit != "reload-latest-ms" {
			continue
		}
		if r.median["waxwing"] != 200 || r.min["waxwing"] != 100 || r.max["waxwing"] != 300 {
			t.Errorf("waxwing: median %v min %v max %v, want 200 100 300", r.median["waxwing"], r.min["waxwing"], r.max["waxwing"])
		}
		if ratio, ok := r.ratio(); !ok || ratio != 0.4 {
			t.Errorf("ratio = %v, %v; want 0.4, true", ratio, ok)
		}
		return
	}
	t.Fatal("no reload-latest-ms row")
}

func TestVerdict(t *testing.T) {
	mk := func(unit string, waxwing, converse float64) row {
		r := row{metric: metric{unit: unit}, median: map[string]float64{}}
		if waxwing >= 0 {
			r.median["waxwing"] = waxwing
		}
		if converse >= 0 {
			r.median["converse"] = converse
		}
		return r
	}
	for _, tc := range []struct {
		name   string
		r      row
		ok     bool
		reason string // a substring of the reason; "" means the reason is ""
	}{
		{"reload met", mk("reload-latest-ms", 200, 500), true, "met: 0.40×"},
		{"reload missed", mk("reload-latest-ms", 250, 500), false, "missed: 0.50× > 0.4×"},
		{"first paint met", mk("first-paint-ms", 100, 800), true, "met: 0.12×"},
		{"first paint missed", mk("first-paint-ms", 400, 800), false, "missed"},
		{"burst met", mk("burst-ms", 1000, 11000), true, "met"},
		{"burst missed", mk("burst-ms", 2000, 11000), false, "missed: 0.18× > 0.1×"},
		{"download met", mk("download-wire-KiB", 1900, -1), true, "met: 1900 KiB ≤ 2 MiB"},
		{"download missed", mk("download-wire-KiB", 2100, 2337), false, "missed: 2100 KiB > 2 MiB"},
		{"no waxwing figure", mk("reload-latest-ms", -1, 500), false, ""},
		{"no converse figure", mk("burst-ms", 100, -1), false, ""},
		{"converse zero", mk("burst-ms", 100, 0), false, ""},
		{"no target", mk("cold-latest-ms", 100, 1000), false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := verdict(tc.r)
			if ok != tc.ok || (tc.reason == "") != (reason == "") || !strings.Contains(reason, tc.reason) {
				t.Errorf("verdict = %v, %q; want %v and a reason containing %q", ok, reason, tc.ok, tc.reason)
			}
		})
	}
}

func TestFormatTable(t *testing.T) {
	rows := summarize(map[string][]sample{
		"converse": {{Burst: 11000}, {Burst: 12000}},
	})
	out := formatTable(rows, 0, 2)
	for _, want := range []string{
		"| metric | Waxwing | Converse.js | ratio | target |",
		"| 200-message burst → all shown (ms) | — | 11500 (11000–12000) | — |  |",
		"over 0 (Waxwing) and 2 (Converse) rounds",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestFormatAnchor(t *testing.T) {
	if out := formatAnchor(summarize(map[string][]sample{"waxwing": {{FirstPaint: 100}}}), 0); out != "" {
		t.Errorf("without anchor samples: %q", out)
	}
	rows := summarize(map[string][]sample{
		anchorName: {{FirstPaint: 60, FCP: 60}, {FirstPaint: 80, FCP: 84}},
		"waxwing":  {{FirstPaint: 120, FCP: 120}},
		"converse": {{FirstPaint: 600, FCP: 700}},
	})
	out := formatAnchor(rows, 2)
	for _, want := range []string{
		"(2 rounds;",
		"first paint 70 ms (60–80), waxwing +50 ms, converse +530 ms",
		"first contentful paint 72 ms (60–84), waxwing +48 ms, converse +628 ms",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("anchor line lacks %q:\n%s", want, out)
		}
	}
	if v := firstPaintRow(rows).median[anchorName]; v != 70 {
		t.Errorf("the anchor's first-paint median %v, want 70", v)
	}
}

func TestListRequestsGroupsRepeats(t *testing.T) {
	reqs := []Request{
		{URL: "http://x/a.js", Status: 200, Wire: 10, Decoded: 8},
		{URL: "http://x/b.wasm", Status: 200, FromCache: true},
		{URL: "http://x/b.wasm", Status: 200, FromCache: true},
		{URL: "https://far/logo.png", Failed: "net::ERR_NAME_NOT_RESOLVED"},
	}
	out := listRequests(reqs)
	if n := strings.Count(out, "\n"); n != 3 {
		t.Errorf("%d lines, want 3:\n%s", n, out)
	}
	for _, want := range []string{"200 (cache)", "(×2)", "net::ERR_NAME_NOT_RESOLVED", "http://x/a.js"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
}

func TestBrowserSafePort(t *testing.T) {
	for _, tc := range []struct {
		port int
		ok   bool
	}{
		{0, false}, {22, false}, {6000, false}, {10080, false}, {65536, false},
		{8080, true}, {40000, true}, {65535, true},
	} {
		if got := BrowserSafePort(tc.port); got != tc.ok {
			t.Errorf("BrowserSafePort(%d) = %v, want %v", tc.port, got, tc.ok)
		}
	}
}
