//go:build !js

package client_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/internal/xmppd/xmppdtest"
	"github.com/waxwing-im/waxwing/wasm/client"
)

// connectCase is one connect path against one server. Every iteration opens
// a real WebSocket to a real `waxwing serve` in front of a real server and
// must take the path want, or the benchmark fails.
type connectCase struct {
	server string // a key of benchServers
	name   string
	want   client.Path
	reason string // Stats.Reason must contain this: the plan the row is about
	// password: the credentials carry the password (otherwise only the
	// stored token or SM session can be used).
	password bool
	// prime: log in once with the password before the timed iterations, so
	// that the device holds a FAST token, an SM session, or both.
	prime bool
	// before adjusts the stored state before each connection (not timed).
	before func(st *client.State, i int)
	// dropped: end each connection by dropping the link (the server keeps
	// the session for resumption); otherwise close it (the server ends it).
	dropped bool
}

// benchServers are the server configurations, started on first use.
var benchServers = map[string]struct {
	kind xmppd.Kind
	opts xmppd.Options
}{
	"prosody":           {xmppd.Prosody, xmppd.Options{}},
	"prosody-inline-sm": {xmppd.Prosody, xmppd.Options{InlineSM: true}},
	"prosody-nosasl2":   {xmppd.Prosody, xmppd.Options{NoSASL2: true}},
	"ejabberd":          {xmppd.Ejabberd, xmppd.Options{}},
}

// family names the legacy row the ratios of a server's rows are taken to:
// the legacy sequence against the same server software.
func family(server string) string {
	if strings.HasPrefix(server, "prosody") {
		return "prosody-nosasl2/legacy"
	}
	return server + "/legacy"
}

// forget makes the stored SM session one the server no longer knows, as
// after its hibernation timeout or a restart: the id of a session that
// never existed gets the same <failed><item-not-found/></failed>.
func forget(st *client.State, i int) {
	st.SM = client.SMState{ID: fmt.Sprintf("expired-%d-%d", time.Now().UnixNano(), i), Since: time.Now()}
}

var connectCases = []connectCase{
	{server: "prosody", name: "cold", want: client.PathFresh, reason: "Bind 2", password: true,
		before: func(st *client.State, _ int) { *st = client.State{} }}, // a new device: no token, no device id
	{server: "prosody", name: "token", want: client.PathToken, reason: "FAST token valid", prime: true},
	{server: "prosody", name: "resume", want: client.PathResumed, reason: "<resume/> pipelined", prime: true, dropped: true},
	{server: "prosody", name: "rebind", want: client.PathRebound, reason: "<resume/> pipelined", prime: true, before: forget},
	{server: "prosody-inline-sm", name: "resume", want: client.PathResumed, reason: "inline <resume/>", prime: true, dropped: true},
	{server: "prosody-inline-sm", name: "rebind", want: client.PathRebound, reason: "inline <resume/>", prime: true, before: forget},
	{server: "prosody-nosasl2", name: "legacy", want: client.PathLegacy, reason: "no SASL2 offered", password: true},
	{server: "prosody-nosasl2", name: "resume", want: client.PathResumed, reason: "<resume/> after the restart", password: true, prime: true, dropped: true},
	{server: "ejabberd", name: "legacy", want: client.PathLegacy, reason: "no SASL2 offered", password: true},
	{server: "ejabberd", name: "resume", want: client.PathResumed, reason: "<resume/> after the restart", password: true, prime: true, dropped: true},
}

// connectRow is what one row measured: means, and the median duration.
type connectRow struct {
	n                        int
	rtMin, rtMax             int
	rt, sent, recv, ms, msMn float64
}

// BenchmarkConnect measures each connect path from the WebSocket open to
// ready (client.Stats): round trips, bytes each way (means per connection)
// and milliseconds (the median; ms-mean/op is the mean). ns/op also counts
// the WebSocket dial and the state store. After the rows it prints a
// Markdown table with ratios to the legacy sequence measured in the same run
// against the same server software.
func BenchmarkConnect(b *testing.B) {
	// The servers start up front, with the parent benchmark: a
	// sub-benchmark function runs more than once (b.N = 1, then N).
	envs := map[string]*env{}
	for name, sv := range benchServers {
		if err := xmppd.Available(sv.kind); err != nil && os.Getenv("CI") == "" {
			b.Logf("%s: %v", name, err) // its rows skip
			continue
		}
		opts := sv.opts
		opts.Users = map[string]string{"alice": "alice-pw"}
		opts.Logf = func(string, ...any) {}
		srv := xmppdtest.Start(b, sv.kind, opts)
		url, origin := xmppdtest.Bridge(b, srv)
		envs[name] = &env{srv: srv, url: url, origin: origin}
	}
	rows := map[string]connectRow{}
	for _, tc := range connectCases {
		b.Run(tc.server+"/"+tc.name, func(b *testing.B) {
			e := envs[tc.server]
			if e == nil {
				b.Skipf("%s is not installed", benchServers[tc.server].kind)
			}
			rows[tc.server+"/"+tc.name] = runConnectCase(b, e, tc)
		})
	}
	printConnectTable(rows)
}

func runConnectCase(b *testing.B, e *env, tc connectCase) connectRow {
	d := &device{}
	cfg := e.config("alice", d)
	pw := client.Credentials{Password: "alice-pw"}
	cred := client.Credentials{}
	if tc.password {
		cred = pw
	}
	connect := func(cred client.Credentials) *client.Session {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := client.Connect(ctx, cfg, cred)
		if err != nil {
			b.Fatalf("connect: %v", err)
		}
		return s
	}
	end := func(s *client.Session) {
		if tc.dropped {
			s.Drop()
			return
		}
		// Close ends the stream (<close/>): the server does not keep the
		// session for resumption (hundreds by the end of a row otherwise).
		if err := s.Close(); err != nil {
			b.Fatalf("close: %v", err)
		}
	}
	b.StopTimer()
	if tc.prime {
		// Serve learns the SM id when the server's <enabled/> follows the
		// connection (classic enable); the next connection may resume it.
		s := connect(pw)
		go s.Serve(context.Background())
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if st, _ := d.LoadState(context.Background()); st.SM.ID != "" {
				break
			}
			if time.Now().After(deadline) {
				b.Fatal("no SM id stored 10 s after the first login")
			}
		}
		end(s)
		<-s.Done() // Serve's last save is behind us
	}
	var (
		stats = make([]client.Stats, 0, b.N)
		ctx   = context.Background()
	)
	for i := range b.N {
		if tc.before != nil {
			st, _ := d.LoadState(ctx)
			tc.before(&st, i)
			_ = client.SaveState(ctx, d, st)
		}
		b.StartTimer()
		s := connect(cred)
		b.StopTimer()
		st := s.Stats()
		if st.Path != tc.want || !strings.Contains(st.Reason, tc.reason) {
			b.Fatalf("iteration %d took path %s, want %s with a plan saying %q: %s", i, st.Path, tc.want, tc.reason, st.Reason)
		}
		stats = append(stats, st)
		end(s)
	}
	b.StartTimer()

	r := connectRow{n: len(stats), rtMin: stats[0].RoundTrips, rtMax: stats[0].RoundTrips}
	ms := make([]float64, len(stats))
	for i, st := range stats {
		r.rtMin, r.rtMax = min(r.rtMin, st.RoundTrips), max(r.rtMax, st.RoundTrips)
		r.rt += float64(st.RoundTrips)
		r.sent += float64(st.BytesSent)
		r.recv += float64(st.BytesRecv)
		ms[i] = float64(st.Duration) / float64(time.Millisecond)
		r.msMn += ms[i]
	}
	n := float64(len(stats))
	r.rt, r.sent, r.recv, r.msMn = r.rt/n, r.sent/n, r.recv/n, r.msMn/n
	slices.Sort(ms)
	r.ms = ms[len(ms)/2]
	if len(ms)%2 == 0 {
		r.ms = (ms[len(ms)/2-1] + ms[len(ms)/2]) / 2
	}
	b.ReportMetric(r.rt, "round-trips/op")
	b.ReportMetric(r.sent, "bytes-sent/op")
	b.ReportMetric(r.recv, "bytes-recv/op")
	b.ReportMetric(r.ms, "ms/op")
	b.ReportMetric(r.msMn, "ms-mean/op")
	return r
}

// printConnectTable prints the rows measured in this run as a Markdown
// table, each with its ratios to the legacy row of its server software.
func printConnectTable(rows map[string]connectRow) {
	if len(rows) == 0 {
		return
	}
	var sb strings.Builder
	sb.WriteString("\nConnect paths, WebSocket open to ready; ratios to the legacy sequence of this run on the same server software:\n\n")
	sb.WriteString("| path | server | round trips | bytes sent | bytes recv | ms (median) | round trips ÷ legacy | bytes ÷ legacy | ms ÷ legacy |\n")
	sb.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	ratio := func(x, y float64) string {
		if y == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f", x/y)
	}
	for _, tc := range connectCases {
		r, ok := rows[tc.server+"/"+tc.name]
		if !ok {
			continue
		}
		rt := fmt.Sprintf("%d", r.rtMin)
		if r.rtMax != r.rtMin {
			rt = fmt.Sprintf("%.2f (%d–%d)", r.rt, r.rtMin, r.rtMax)
		}
		rrt, rb, rms := "–", "–", "–"
		if l, ok := rows[family(tc.server)]; ok {
			rrt, rb, rms = ratio(r.rt, l.rt), ratio(r.sent+r.recv, l.sent+l.recv), ratio(r.ms, l.ms)
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %.0f | %.0f | %.1f | %s | %s | %s |\n",
			tc.name, tc.server, rt, r.sent, r.recv, r.ms, rrt, rb, rms)
	}
	// Straight to stdout: a parent benchmark's b.Log is not shown when it
	// passes.
	fmt.Print(sb.String())
}
