//go:build !js

package history_test

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// cpuTimes is CPU time (user + system, in seconds) by process group:
// "prosody", "ejabberd", "chromium-renderer", "chromium-browser" (where
// Chromium keeps IndexedDB's backend and the network), "chromium-other",
// and "go" (this process: the bridge, the driver, the native rows'
// client).
type cpuTimes map[string]float64

// cpuNow reads the CPU time of this process and of its descendants (the
// servers and browsers the benchmark started) from /proc, by group; nil
// where there is no /proc. A process that has exited is no longer
// counted: take both snapshots while the parts run.
func cpuNow() cpuTimes {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	type proc struct {
		ppid  int
		secs  float64
		group string
	}
	procs := map[int]proc{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// After the command's closing parenthesis: state, ppid, ... utime
		// and stime are fields 14 and 15 of proc(5).
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		procs[pid] = proc{ppid: ppid, secs: (ut + st) / clockTicks, group: cpuGroup(string(cmd))}
	}
	self := os.Getpid()
	out := cpuTimes{}
	for pid, p := range procs {
		// Only this process and its descendants.
		q, ok := pid, false
		for range 64 {
			if q == self {
				ok = true
				break
			}
			pp, found := procs[q]
			if !found || pp.ppid == 0 {
				break
			}
			q = pp.ppid
		}
		if !ok {
			continue
		}
		g := p.group
		if pid == self {
			g = "go"
		}
		out[g] += p.secs
	}
	return out
}

// clockTicks is USER_HZ, 100 on Linux everywhere this runs.
const clockTicks = 100

// cpuGroup names the group of a process by its command line (NUL-separated
// arguments; Chromium's helpers may have rewritten theirs with spaces).
func cpuGroup(cmdline string) string {
	switch c := strings.ReplaceAll(cmdline, "\x00", " "); {
	case strings.Contains(c, "prosody"):
		return "prosody"
	case strings.Contains(c, "ejabberd") || strings.Contains(c, "beam"):
		return "ejabberd"
	case strings.Contains(c, "chrom"):
		switch {
		case strings.Contains(c, "--type=renderer"):
			return "chromium-renderer"
		case !strings.Contains(c, "--type="):
			return "chromium-browser"
		}
		return "chromium-other"
	}
	return "other"
}

// since is the CPU time spent from before to t, by group.
func (t cpuTimes) since(before cpuTimes) cpuTimes {
	d := cpuTimes{}
	for g, s := range t {
		if v := s - before[g]; v > 0 {
			d[g] = v
		}
	}
	return d
}

// add adds d to t.
func (t cpuTimes) add(d cpuTimes) {
	for g, s := range d {
		t[g] += s
	}
}

// total is the CPU time of all groups.
func (t cpuTimes) total() float64 {
	sum := 0.0
	for _, s := range t {
		sum += s
	}
	return sum
}

// perMsg formats t as CPU microseconds per message, by group, the
// largest first, with the total.
func (t cpuTimes) perMsg(msgs int) string {
	if len(t) == 0 || msgs == 0 {
		return "–"
	}
	gs := make([]string, 0, len(t))
	for g := range t {
		gs = append(gs, g)
	}
	sort.Slice(gs, func(i, j int) bool { return t[gs[i]] > t[gs[j]] })
	parts := []string{fmt.Sprintf("**%.0f**", t.total()*1e6/float64(msgs))}
	for _, g := range gs {
		if us := t[g] * 1e6 / float64(msgs); us >= 1 {
			parts = append(parts, fmt.Sprintf("%s %.0f", g, us))
		}
	}
	return strings.Join(parts, ", ")
}

func TestCPUGroup(t *testing.T) {
	for _, tt := range []struct{ cmdline, want string }{
		{"lua5.4\x00/usr/bin/prosody\x00--config\x00/tmp/x/prosody.cfg.lua", "prosody"},
		{"/usr/lib/erlang/erts-13/bin/beam.smp\x00--\x00-root", "ejabberd"},
		{"/usr/lib/chromium/chromium\x00--headless\x00--no-sandbox", "chromium-browser"},
		{"/usr/lib/chromium/chromium --type=renderer --lang=en-US", "chromium-renderer"},
		{"/usr/lib/chromium/chromium\x00--type=gpu-process", "chromium-other"},
		{"/tmp/go-build/history.test\x00-test.bench=CatchUp", "other"},
	} {
		if got := cpuGroup(tt.cmdline); got != tt.want {
			t.Errorf("cpuGroup(%q) = %q, want %q", tt.cmdline, got, tt.want)
		}
	}
}
