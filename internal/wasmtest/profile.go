//go:build !js

package wasmtest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/chromedp"
)

// ProfileEnv names the environment variable that makes Run record a CPU
// profile of each run into the directory it names.
const ProfileEnv = "WAXWING_WASMTEST_CPUPROFILE"

// startProfile starts the DevTools CPU profiler of the page.
func startProfile(ctx context.Context) error {
	if _, err := chromedp.Call(ctx, profiler.Enable, cdp.Empty{}); err != nil {
		return err
	}
	if _, err := chromedp.Call(ctx, profiler.SetSamplingInterval, profiler.SetSamplingIntervalParams{Interval: 500}); err != nil {
		return err
	}
	_, err := chromedp.Call(ctx, profiler.Start, cdp.Empty{})
	return err
}

// stopProfile stops the profiler and writes the profile and its summary
// into dir.
func stopProfile(ctx context.Context, dir string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	res, err := chromedp.Call(ctx, profiler.Stop, cdp.Empty{})
	if err != nil {
		return fmt.Errorf("stopping the profiler: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(dir, time.Now().Format("20060102-150405.000"))
	b, err := json.Marshal(res.Profile)
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".cpuprofile", b, 0o644); err != nil {
		return err
	}
	return os.WriteFile(base+".txt", []byte(SummarizeProfile(res.Profile, 40)), 0o644)
}

// SummarizeProfile lists the n functions of a DevTools CPU profile with the
// most self time, and the n with the most total time (time with the
// function anywhere on the stack), each with its share of all samples.
func SummarizeProfile(p *profiler.Profile, n int) string {
	if p == nil || len(p.Samples) == 0 {
		return "no samples\n"
	}
	parent := map[int64]int64{}
	byID := map[int64]*profiler.ProfileNode{}
	for _, nd := range p.Nodes {
		byID[int64(nd.ID)] = nd
		for _, c := range nd.Children {
			parent[c] = int64(nd.ID)
		}
	}
	name := func(nd *profiler.ProfileNode) string {
		if nd.CallFrame == nil {
			return "?"
		}
		f := nd.CallFrame.FunctionName
		if f == "" {
			f = "(anonymous)"
		}
		if u := nd.CallFrame.URL; u != "" && !strings.HasSuffix(u, ".wasm") {
			f += " " + filepath.Base(u)
		}
		return f
	}
	self, total := map[string]int64{}, map[string]int64{}
	var all int64
	for i, id := range p.Samples {
		d := int64(1)
		if i+1 < len(p.TimeDeltas) {
			d = p.TimeDeltas[i+1] // the time until the next sample
		}
		all += d
		nd := byID[id]
		if nd == nil {
			continue
		}
		self[name(nd)] += d
		seen := map[string]bool{}
		for cur, ok := id, true; ok; cur, ok = parent[cur] {
			if x := byID[cur]; x != nil {
				if f := name(x); !seen[f] {
					seen[f] = true
					total[f] += d
				}
			}
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d samples, %.2f s\n", len(p.Samples), float64(all)/1e6)
	for _, part := range []struct {
		title string
		m     map[string]int64
	}{{"self", self}, {"total", total}} {
		type fn struct {
			name string
			us   int64
		}
		var fs []fn
		for k, v := range part.m {
			fs = append(fs, fn{k, v})
		}
		slices.SortFunc(fs, func(a, b fn) int { return cmp.Or(cmp.Compare(b.us, a.us), strings.Compare(a.name, b.name)) })
		fmt.Fprintf(&sb, "\n%s time:\n", part.title)
		for _, f := range fs[:min(n, len(fs))] {
			fmt.Fprintf(&sb, "%8.3f s %5.1f%%  %s\n", float64(f.us)/1e6, 100*float64(f.us)/float64(all), f.name)
		}
	}
	return sb.String()
}
