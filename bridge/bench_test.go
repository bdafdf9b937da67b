//go:build !js

package bridge_test

// Benchmarks of `waxwing serve` against a real Prosody 0.12.3, run by
// `make bench`. Every figure is reported next to an anchor measured in the
// same run against the same Prosody: Prosody's own mod_websocket endpoint,
// reached by the same minimal RFC 7395 client. Nothing here asserts a timing;
// the figures and their ratios are recorded in BENCHMARKS.md.
//
//	BenchmarkPing               XMPP ping round trip (p50/p99): bridge vs mod_websocket
//	BenchmarkRelayThroughput    chat messages per second through one relay
//	BenchmarkIdleSessionMemory  resident memory per idle authenticated session (real binary)

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/waxwing-im/waxwing/bridge"
	"github.com/waxwing-im/waxwing/internal/xmppd"
)

const (
	benchUser     = "bench"
	benchIdleUser = "idle"
	benchPassword = "bench-password"

	benchIdleSessions = 1000 // BenchmarkIdleSessionMemory
	benchDialers      = 8    // concurrent logins while opening them
	benchWindow       = 64   // messages in flight in BenchmarkRelayThroughput
	benchChunk        = 250  // messages per turn when the endpoints alternate
	benchStep         = 30 * time.Second
	// benchIdleWindow is how long BenchmarkIdleSessionMemory keeps the idle
	// sessions open before its steady-state reading: four rounds of the
	// bridge's WebSocket keepalive (-ping-interval, 30 s by default), whose
	// garbage is part of being idle, and the Go runtime's periodic GC (every
	// 2 min when nothing else triggers one). WAXWING_BENCH_IDLE=10m
	// watches longer, to see the plateau.
)

var benchIdleWindow = idleWindow()

func idleWindow() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("WAXWING_BENCH_IDLE")); err == nil && d > 0 {
		return d
	}
	return 130 * time.Second
}

// TestMain stops the Prosody shared by the benchmarks once every test and
// benchmark of the package has run.
func TestMain(m *testing.M) {
	code := m.Run()
	benchEnv.shutdown()
	os.Exit(code)
}

// benchEnvironment is one Prosody and one in-process bridge in front of it,
// shared by every benchmark of the run and started by the first that needs
// them.
type benchEnvironment struct {
	once sync.Once
	err  error
	skip string

	srv    *xmppd.Server
	relay  string // ws:// URL of the in-process bridge
	origin string // an Origin the bridge accepts
	stop   context.CancelFunc
	served chan error

	mu      sync.Mutex
	clients []*xmppWS // long-lived sessions, closed by shutdown

	binOnce sync.Once
	binDir  string
	bin     string
	binErr  error
}

var benchEnv benchEnvironment

// benchSetup starts the shared Prosody and bridge, or skips the benchmark
// (fails it under CI) when Prosody is not installed.
func benchSetup(b *testing.B) *benchEnvironment {
	b.Helper()
	e := &benchEnv
	e.once.Do(e.start)
	if e.skip != "" {
		b.Skip(e.skip)
	}
	if e.err != nil {
		b.Fatal(e.err)
	}
	return e
}

func (e *benchEnvironment) start() {
	// 1,000 idle sessions are 1,000 sockets here, 2,000 in waxwing and 1,000
	// in Prosody; both children inherit the limit.
	if err := raiseFileLimit(4*benchIdleSessions + 256); err != nil {
		e.err = err
		return
	}
	if err := xmppd.Available(xmppd.Prosody); err != nil {
		if os.Getenv("CI") != "" {
			e.err = fmt.Errorf("%v (CI is set, so this is not skipped)", err)
		} else {
			e.skip = err.Error()
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := xmppd.Start(ctx, xmppd.Prosody, xmppd.Options{Users: map[string]string{
		benchUser:     benchPassword,
		benchIdleUser: benchPassword,
	}})
	if err != nil {
		e.err = err
		return
	}
	e.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.err = err
		return
	}
	dir, err := os.MkdirTemp("", "waxwing-bench-")
	if err != nil {
		ln.Close()
		e.err = err
		return
	}
	s, err := bridge.New(bridge.Config{
		Domain:         srv.Domain,
		Upstream:       srv.C2S,
		UpstreamCA:     srv.CACertFile,
		DataDir:        dir,
		MaxConnsPerIP:  5000,
		PreauthTimeout: time.Minute,
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		ln.Close()
		os.RemoveAll(dir)
		e.err = err
		return
	}
	sctx, stop := context.WithCancel(context.Background())
	e.stop, e.served = stop, make(chan error, 1)
	go func() {
		err := s.Serve(sctx, ln)
		os.RemoveAll(dir)
		e.served <- err
	}()
	addr := ln.Addr().String()
	e.relay = "ws://" + addr + bridge.PathWebSocket
	e.origin = "http://" + addr
}

// shutdown ends the shared sessions, the bridge and Prosody.
func (e *benchEnvironment) shutdown() {
	e.mu.Lock()
	for _, c := range e.clients {
		c.ws.CloseNow()
	}
	e.clients = nil
	e.mu.Unlock()
	if e.stop != nil {
		e.stop()
		select {
		case err := <-e.served:
			if err != nil {
				fmt.Fprintln(os.Stderr, "bench: bridge Serve:", err)
			}
		case <-time.After(15 * time.Second):
			fmt.Fprintln(os.Stderr, "bench: the bridge did not shut down")
		}
	}
	if e.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := e.srv.Stop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "bench: stop prosody:", err)
		}
		cancel()
	}
	if e.binDir != "" {
		os.RemoveAll(e.binDir)
	}
}

// endpoint is where a benchmark client connects.
type endpoint struct {
	name   string // the sub-benchmark's via= value
	url    string
	origin string // "" sends no Origin header
}

func (e *benchEnvironment) waxwing() endpoint {
	return endpoint{"waxwing", e.relay, e.origin}
}

// prosodyWS is the anchor: Prosody's own mod_websocket, without an Origin
// header (it checks the Origin against its own HTTP host, so a foreign one
// would be refused; a missing one is a non-browser client).
func (e *benchEnvironment) prosodyWS() endpoint {
	return endpoint{"prosody-ws", e.srv.WebSocketURL, ""}
}

// login opens an authenticated, bound session that lives until shutdown.
func (e *benchEnvironment) login(b *testing.B, ep endpoint, resource string) *xmppWS {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchStep)
	defer cancel()
	c, err := dialXMPP(ctx, ep, e.srv.Domain, benchUser, benchPassword, resource)
	if err != nil {
		b.Fatalf("login via %s: %v", ep.name, err)
	}
	e.mu.Lock()
	e.clients = append(e.clients, c)
	e.mu.Unlock()
	return c
}

// session returns a long-lived session for one purpose, logging it in the
// first time: the warm-up run (b.N = 1) and the measured run share it.
func (e *benchEnvironment) session(b *testing.B, ep endpoint, purpose string) *xmppWS {
	b.Helper()
	key := purpose + "-" + ep.name
	e.mu.Lock()
	for _, c := range e.clients {
		if c.key == key {
			e.mu.Unlock()
			return c
		}
	}
	e.mu.Unlock()
	c := e.login(b, ep, key)
	c.key = key
	return c
}

// xmppWS is a minimal RFC 7395 client, used identically for both endpoints
// so that the comparison is fair: one WebSocket message per element, no XML
// parsing beyond finding the reply it waits for.
type xmppWS struct {
	ws  *websocket.Conn
	jid string // full JID after bind
	key string
	seq int
}

// dialXMPP connects, authenticates with SASL PLAIN and binds resource.
func dialXMPP(ctx context.Context, ep endpoint, domain, user, pass, resource string) (*xmppWS, error) {
	opts := &websocket.DialOptions{Subprotocols: []string{"xmpp"}}
	if ep.origin != "" {
		opts.HTTPHeader = http.Header{"Origin": {ep.origin}}
	}
	ws, _, err := websocket.Dial(ctx, ep.url, opts)
	if err != nil {
		return nil, err
	}
	if ws.Subprotocol() != "xmpp" {
		ws.CloseNow()
		return nil, errors.New("the xmpp subprotocol was not selected")
	}
	ws.SetReadLimit(1 << 20)
	c := &xmppWS{ws: ws}
	if err := c.handshake(ctx, domain, user, pass, resource); err != nil {
		ws.CloseNow()
		return nil, err
	}
	return c, nil
}

func (c *xmppWS) handshake(ctx context.Context, domain, user, pass, resource string) error {
	open := "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='" + domain + "' version='1.0'/>"
	if err := c.send(ctx, open); err != nil {
		return err
	}
	if _, err := c.readUntil(ctx, "stream features", containsAll("features")); err != nil {
		return err
	}
	cred := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	if err := c.send(ctx, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"+cred+"</auth>"); err != nil {
		return err
	}
	if _, err := c.readUntil(ctx, "SASL success", containsAll("<success")); err != nil {
		return err
	}
	if err := c.send(ctx, open); err != nil {
		return err
	}
	if _, err := c.readUntil(ctx, "stream features after SASL", containsAll("features")); err != nil {
		return err
	}
	if err := c.send(ctx, "<iq type='set' id='b' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>"+
		resource+"</resource></bind></iq>"); err != nil {
		return err
	}
	res, err := c.readUntil(ctx, "bind result", func(m []byte) bool { return hasID(m, "b") })
	if err != nil {
		return err
	}
	i, j := bytes.Index(res, []byte("<jid>")), bytes.Index(res, []byte("</jid>"))
	if !bytes.Contains(res, []byte("result")) || i < 0 || j < i {
		return fmt.Errorf("bind failed: %s", res)
	}
	c.jid = string(res[i+len("<jid>") : j])
	return nil
}

func (c *xmppWS) send(ctx context.Context, s string) error {
	return c.ws.Write(ctx, websocket.MessageText, []byte(s))
}

// readUntil reads messages until one satisfies ok; a SASL failure or a
// stream error ends the wait.
func (c *xmppWS) readUntil(ctx context.Context, what string, ok func([]byte) bool) ([]byte, error) {
	for {
		_, m, err := c.ws.Read(ctx)
		if err != nil {
			return nil, fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok(m) {
			return m, nil
		}
		if bytes.Contains(m, []byte("<failure")) || bytes.Contains(m, []byte("stream:error")) || bytes.Contains(m, []byte("<error xmlns='http://etherx")) {
			return nil, fmt.Errorf("waiting for %s: got %s", what, m)
		}
	}
}

func containsAll(subs ...string) func([]byte) bool {
	return func(m []byte) bool {
		for _, s := range subs {
			if !bytes.Contains(m, []byte(s)) {
				return false
			}
		}
		return true
	}
}

// hasID reports whether the element's bytes carry id='id' (either quote).
func hasID(m []byte, id string) bool {
	return bytes.Contains(m, []byte("id='"+id+"'")) || bytes.Contains(m, []byte(`id="`+id+`"`))
}

// ping sends an XMPP ping (XEP-0199) to the server and waits for its result.
func (c *xmppWS) ping(ctx context.Context) (time.Duration, error) {
	c.seq++
	id := "p" + strconv.Itoa(c.seq)
	iq := "<iq xmlns='jabber:client' type='get' id='" + id + "' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"
	t0 := time.Now()
	if err := c.send(ctx, iq); err != nil {
		return 0, err
	}
	if _, err := c.readUntil(ctx, "ping result", func(m []byte) bool { return hasID(m, id) }); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// burst sends n chat messages to the client's own full JID, with at most
// benchWindow in flight, and reads them all back. It returns the time from
// the first send to the last receipt.
func (c *xmppWS) burst(ctx context.Context, n int) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	window := make(chan struct{}, benchWindow)
	readErr := make(chan error, 1)
	t0 := time.Now()
	go func() {
		for got := 0; got < n; {
			_, m, err := c.ws.Read(ctx)
			if err != nil {
				readErr <- err
				return
			}
			if bytes.HasPrefix(m, []byte("<message")) {
				got++
				<-window
			}
		}
		readErr <- nil
	}()
	var msg []byte
	for i := 0; i < n; i++ {
		select {
		case window <- struct{}{}:
		case err := <-readErr:
			if err == nil {
				err = errors.New("more messages came back than were sent")
			}
			return 0, err
		}
		c.seq++
		msg = fmt.Appendf(msg[:0], "<message xmlns='jabber:client' type='chat' to='%s' id='m%d'>"+
			"<body>Waxwing relay throughput benchmark, message %d.</body>"+
			"<no-store xmlns='urn:xmpp:hints'/></message>", c.jid, c.seq, c.seq)
		if err := c.ws.Write(ctx, websocket.MessageText, msg); err != nil {
			return 0, err
		}
	}
	if err := <-readErr; err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// percentile returns the p-th percentile (nearest rank) of sorted ds.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// BenchmarkPing measures the round trip of an XMPP ping (an iq the server
// answers itself) through `waxwing serve` and straight to Prosody's own
// mod_websocket. The "alternate" sub-benchmark is the comparison: it pings
// via each endpoint in turn (swapping the order every iteration), so machine
// noise lands on both alike, and reports both distributions and their ratio.
// Its ns/op covers two pings.
func BenchmarkPing(b *testing.B) {
	e := benchSetup(b)
	for _, ep := range []endpoint{e.waxwing(), e.prosodyWS()} {
		b.Run("via="+ep.name, func(b *testing.B) {
			c := e.session(b, ep, "ping")
			ds := make([]time.Duration, 0, b.N)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			b.ResetTimer()
			for range b.N {
				d, err := c.ping(ctx)
				if err != nil {
					b.Fatal(err)
				}
				ds = append(ds, d)
			}
			b.StopTimer()
			slices.Sort(ds)
			b.ReportMetric(micros(percentile(ds, 50)), "p50-µs")
			b.ReportMetric(micros(percentile(ds, 99)), "p99-µs")
		})
	}
	b.Run("alternate", func(b *testing.B) {
		wax := e.session(b, e.waxwing(), "ping-alt")
		pro := e.session(b, e.prosodyWS(), "ping-alt")
		dw := make([]time.Duration, 0, b.N)
		dp := make([]time.Duration, 0, b.N)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		b.ResetTimer()
		for i := range b.N {
			for k := range 2 {
				c, ds := wax, &dw
				if (i+k)%2 == 1 {
					c, ds = pro, &dp
				}
				d, err := c.ping(ctx)
				if err != nil {
					b.Fatal(err)
				}
				*ds = append(*ds, d)
			}
		}
		b.StopTimer()
		slices.Sort(dw)
		slices.Sort(dp)
		w50, w99 := percentile(dw, 50), percentile(dw, 99)
		p50, p99 := percentile(dp, 50), percentile(dp, 99)
		b.ReportMetric(micros(w50), "waxwing-p50-µs")
		b.ReportMetric(micros(w99), "waxwing-p99-µs")
		b.ReportMetric(micros(p50), "prosody-p50-µs")
		b.ReportMetric(micros(p99), "prosody-p99-µs")
		b.ReportMetric(float64(w50)/float64(p50), "p50-ratio")
		b.ReportMetric(float64(w99)/float64(p99), "p99-ratio")
		b.ReportMetric(micros(w50-p50), "added-p50-µs")
		b.ReportMetric(micros(w99-p99), "added-p99-µs")
	})
}

// BenchmarkRelayThroughput measures chat messages per second through one
// relay: the client sends b.N messages to its own full JID (they come back
// through the same relay), benchWindow in flight. Messages carry a no-store
// hint so that Prosody's archive writes do not dominate. "alternate" sends
// b.N messages via each endpoint, benchChunk at a time in turn, and reports
// both rates and their ratio.
func BenchmarkRelayThroughput(b *testing.B) {
	e := benchSetup(b)
	for _, ep := range []endpoint{e.waxwing(), e.prosodyWS()} {
		b.Run("via="+ep.name, func(b *testing.B) {
			c := e.session(b, ep, "throughput")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			b.ResetTimer()
			d, err := c.burst(ctx, b.N)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/d.Seconds(), "msgs/s")
		})
	}
	b.Run("alternate", func(b *testing.B) {
		wax := e.session(b, e.waxwing(), "throughput-alt")
		pro := e.session(b, e.prosodyWS(), "throughput-alt")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		var tw, tp time.Duration
		b.ResetTimer()
		for done, turn := 0, 0; done < b.N; turn++ {
			k := min(benchChunk, b.N-done)
			for j := range 2 {
				c, t := wax, &tw
				if (turn+j)%2 == 1 {
					c, t = pro, &tp
				}
				d, err := c.burst(ctx, k)
				if err != nil {
					b.Fatal(err)
				}
				*t += d
			}
			done += k
		}
		b.StopTimer()
		rw, rp := float64(b.N)/tw.Seconds(), float64(b.N)/tp.Seconds()
		b.ReportMetric(rw, "waxwing-msgs/s")
		b.ReportMetric(rp, "prosody-msgs/s")
		b.ReportMetric(rw/rp, "ratio")
	})
}

// idleResult is the one measurement of BenchmarkIdleSessionMemory. Sizes
// are VmRSS in KiB.
type idleResult struct {
	rssBefore, rssSettled, rssSteady, hwm int64 // waxwing
	proBefore, proSettled, proSteady      int64 // prosody
	setup                                 time.Duration
	settling, window                      []int64 // waxwing while settling (1 s apart) and over the window (10 s apart)
}

var (
	idleOnce sync.Once
	idleRes  idleResult
	idleErr  error
)

// BenchmarkIdleSessionMemory measures the resident memory of the real
// `waxwing serve` binary (default flags but for the limits) per idle
// session: VmRSS before and after opening 1,000 authenticated, bound, idle
// sessions (one account, 1,000 resources; no presence, so no stanza flows).
// Nothing is forced (no GC, no scavenging). Two readings: "settled", once
// RSS is stable a few seconds after the last login, and "steady", after
// benchIdleWindow (keepalive pings and a periodic GC included), which is
// the figure to hold against the target. It is a measurement, not a loop:
// it runs once whatever b.N, and every run reports the same figures.
// Prosody's own growth for the same 1,000 c2s sessions is the anchor.
func BenchmarkIdleSessionMemory(b *testing.B) {
	e := benchSetup(b)
	idleOnce.Do(func() {
		idleRes, idleErr = e.measureIdle(b)
		b.Logf("waxwing VmRSS (KiB): before %d; settling, 1 s apart: %v; over %v, 10 s apart: %v",
			idleRes.rssBefore, idleRes.settling, benchIdleWindow, idleRes.window)
	})
	if idleErr != nil {
		b.Fatal(idleErr)
	}
	r := idleRes
	per := func(after, before int64) float64 { return float64(after-before) / benchIdleSessions }
	b.ReportMetric(0, "ns/op") // not a timed loop
	b.ReportMetric(per(r.rssSettled, r.rssBefore), "settled-KiB/session")
	b.ReportMetric(per(r.proSettled, r.proBefore), "settled-prosody-KiB/session")
	b.ReportMetric(per(r.rssSteady, r.rssBefore), "KiB/session")
	b.ReportMetric(per(r.proSteady, r.proBefore), "prosody-KiB/session")
	if p := per(r.proSteady, r.proBefore); p > 0 {
		b.ReportMetric(per(r.rssSteady, r.rssBefore)/p, "ratio")
	}
	b.ReportMetric(float64(r.rssBefore), "rss-before-KiB")
	b.ReportMetric(float64(r.rssSteady), "rss-steady-KiB")
	b.ReportMetric(float64(r.hwm), "rss-peak-KiB")
	b.ReportMetric(r.setup.Seconds(), "setup-s")
}

func (e *benchEnvironment) build() (string, error) {
	e.binOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			e.binErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(out)))
		if e.binDir, err = os.MkdirTemp("", "waxwing-bench-bin-"); err != nil {
			e.binErr = err
			return
		}
		e.bin = filepath.Join(e.binDir, "waxwing")
		cmd := exec.Command("go", "build", "-o", e.bin, "./cmd/waxwing")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			e.binErr = fmt.Errorf("go build ./cmd/waxwing: %v\n%s", err, out)
		}
	})
	return e.bin, e.binErr
}

func (e *benchEnvironment) measureIdle(b *testing.B) (idleResult, error) {
	var r idleResult
	bin, err := e.build()
	if err != nil {
		return r, err
	}
	prosodyPID, err := readPID(filepath.Join(e.srv.Dir, "prosody", "prosody.pid"))
	if err != nil {
		return r, err
	}
	port, err := freePort()
	if err != nil {
		return r, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	dir := b.TempDir()
	logf, err := os.Create(filepath.Join(dir, "waxwing.log"))
	if err != nil {
		return r, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "serve",
		"-domain", e.srv.Domain,
		"-upstream", e.srv.C2S,
		"-upstream-ca", e.srv.CACertFile,
		"-listen", addr,
		"-data", filepath.Join(dir, "data"),
		"-max-conns-per-ip", "5000",
		"-preauth-timeout", "5m")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return r, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	var sessions []*xmppWS
	defer func() {
		for _, c := range sessions {
			c.ws.CloseNow()
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	logTail := func() string {
		bs, _ := os.ReadFile(logf.Name())
		if len(bs) > 4000 {
			bs = bs[len(bs)-4000:]
		}
		return string(bs)
	}
	if err := waitHealthy(addr, exited); err != nil {
		return r, fmt.Errorf("waxwing serve did not come up: %v\n%s", err, logTail())
	}
	pid := cmd.Process.Pid

	r.rssBefore, _ = settledRSS(pid, 3)
	r.proBefore, _ = procStatusKiB(prosodyPID, "VmRSS")

	ep := endpoint{"waxwing-binary", "ws://" + addr + bridge.PathWebSocket, "http://" + addr}
	t0 := time.Now()
	sessions = make([]*xmppWS, benchIdleSessions)
	errs := make(chan error, benchIdleSessions)
	lost := make(chan error, benchIdleSessions) // sessions that ended: none should
	next := make(chan int)
	var wg sync.WaitGroup
	for range benchDialers {
		wg.Go(func() {
			for i := range next {
				ctx, cancel := context.WithTimeout(context.Background(), benchStep)
				c, err := dialXMPP(ctx, ep, e.srv.Domain, benchIdleUser, benchPassword, "idle"+strconv.Itoa(i))
				cancel()
				if err != nil {
					errs <- fmt.Errorf("session %d: %w", i, err)
					continue
				}
				sessions[i] = c
				// Read (and drop) whatever arrives, so that the bridge's
				// WebSocket pings are answered as a browser would.
				go func() {
					for {
						if _, _, err := c.ws.Read(context.Background()); err != nil {
							lost <- fmt.Errorf("session %d: %w", i, err)
							return
						}
					}
				}()
			}
		})
	}
	for i := range benchIdleSessions {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return r, fmt.Errorf("opening %d sessions: %v (and %d more)\n%s", benchIdleSessions, err, len(errs), logTail())
	}
	r.setup = time.Since(t0)

	opened := time.Now()

	// Let it settle, then stay idle; force nothing.
	r.rssSettled, r.settling = settledRSS(pid, 10)
	r.proSettled, _ = procStatusKiB(prosodyPID, "VmRSS")
	for time.Since(opened) < benchIdleWindow {
		select {
		case <-exited:
			return r, fmt.Errorf("waxwing serve exited during the measurement\n%s", logTail())
		case <-time.After(min(10*time.Second, benchIdleWindow-time.Since(opened))):
		}
		v, err := procStatusKiB(pid, "VmRSS")
		if err != nil {
			return r, err
		}
		r.window = append(r.window, v)
	}
	r.rssSteady = r.window[len(r.window)-1]
	r.proSteady, _ = procStatusKiB(prosodyPID, "VmRSS")
	r.hwm, _ = procStatusKiB(pid, "VmHWM")
	select {
	case err := <-lost:
		return r, fmt.Errorf("a session ended while idle (%d in all): %v\n%s", len(lost)+1, err, logTail())
	default:
	}
	return r, nil
}

// settledRSS samples VmRSS once a second, at least min times and until
// three samples in a row are within 1% (at most 20 s), and returns the last.
func settledRSS(pid, minSamples int) (int64, []int64) {
	var samples []int64
	for i := 0; i < 20; i++ {
		time.Sleep(time.Second)
		v, err := procStatusKiB(pid, "VmRSS")
		if err != nil {
			break
		}
		samples = append(samples, v)
		if n := len(samples); n >= minSamples && n >= 3 {
			lo, hi := slices.Min(samples[n-3:]), slices.Max(samples[n-3:])
			if float64(hi-lo) <= 0.01*float64(hi) {
				break
			}
		}
	}
	if len(samples) == 0 {
		return 0, nil
	}
	return samples[len(samples)-1], samples
}

// procStatusKiB reads a "kB" field (VmRSS, VmHWM) of /proc/<pid>/status.
func procStatusKiB(pid int, field string) (int64, error) {
	bs, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(bs), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func readPID(file string) (int, error) {
	bs, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(bs)))
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitHealthy(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(benchStep)
	for {
		resp, err := http.Get("http://" + addr + bridge.PathHealth)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		select {
		case <-exited:
			return errors.New("the process exited")
		default:
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// raiseFileLimit makes sure this process and the servers it starts may open
// n files.
func raiseFileLimit(n uint64) error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return err
	}
	if l.Cur >= n {
		return nil
	}
	if l.Max < n {
		return fmt.Errorf("ulimit -n: hard limit %d is below the %d files needed", l.Max, n)
	}
	l.Cur = n
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
}
