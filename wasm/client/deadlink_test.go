//go:build !js

package client_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/wasm/client"
	"github.com/waxwing-im/waxwing/wasm/xmppws"
)

// silentLink is a TCP proxy whose links can go silent without closing, as
// when a mobile network or a NAT loses the path: after Cut, every
// connection it carried stays open in both directions (no FIN, no RST) and
// what either side writes is read and dropped, for good. Connections that
// arrive while it is cut wait, like a SYN that gets no answer; Mend forwards
// them and every later one.
type silentLink struct {
	ln     net.Listener
	target string
	held   chan struct{} // a connection arrived while cut

	upHeld atomic.Bool // Hold: the client's bytes wait, the server's flow

	mu      sync.Mutex
	cut     bool
	pairs   []*linkPair
	waiting []net.Conn
	closed  bool
	wg      sync.WaitGroup
}

type linkPair struct {
	a, b   net.Conn
	silent atomic.Bool
	held   *atomic.Bool // the proxy's: what the client writes waits (Hold)
}

func newSilentLink(t *testing.T, target string) *silentLink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &silentLink{ln: ln, target: target, held: make(chan struct{}, 16)}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *silentLink) addr() string { return p.ln.Addr().String() }

func (p *silentLink) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		switch {
		case p.closed:
			c.Close()
		case p.cut:
			p.waiting = append(p.waiting, c)
			select {
			case p.held <- struct{}{}:
			default:
			}
		default:
			p.forwardLocked(c)
		}
		p.mu.Unlock()
	}
}

// forwardLocked dials the target for c and copies both ways. p.mu is held.
func (p *silentLink) forwardLocked(c net.Conn) {
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	lp := &linkPair{a: c, b: u, held: &p.upHeld}
	p.pairs = append(p.pairs, lp)
	p.wg.Add(2)
	go lp.copy(&p.wg, u, c)
	go lp.copy(&p.wg, c, u)
}

// copy forwards from src to dst until src ends; once the pair is silent it
// drops what it reads and passes no close on.
func (lp *linkPair) copy(wg *sync.WaitGroup, dst, src net.Conn) {
	defer wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if lp.silent.Load() {
			if err != nil {
				return
			}
			continue
		}
		for dst == lp.b && lp.held.Load() && !lp.silent.Load() {
			time.Sleep(5 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			if !lp.silent.Load() {
				lp.a.Close()
				lp.b.Close()
			}
			return
		}
	}
}

// Cut silences every connection carried so far, and holds new ones.
func (p *silentLink) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for _, lp := range p.pairs {
		lp.silent.Store(true)
	}
}

// Hold makes what clients write wait in the proxy while what the server
// writes still flows, as when the server is too busy to read: Release lets
// it through.
func (p *silentLink) Hold()    { p.upHeld.Store(true) }
func (p *silentLink) Release() { p.upHeld.Store(false) }

// Mend forwards the held connections and every later one. The silenced
// ones stay silent.
func (p *silentLink) Mend() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
	for _, c := range p.waiting {
		p.forwardLocked(c)
	}
	p.waiting = nil
}

func (p *silentLink) close() {
	p.mu.Lock()
	p.closed = true
	p.ln.Close()
	for _, lp := range p.pairs {
		lp.silent.Store(true)
		lp.a.Close()
		lp.b.Close()
	}
	for _, c := range p.waiting {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// warnings records the client's log records at Warn and above.
type warnings struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (w *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.recs = append(w.recs, r.Clone())
	return nil
}
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnings) WithGroup(string) slog.Handler      { return w }

// withAttr reports whether a record carries the attribute key = v.
func (w *warnings) withAttr(key string, v slog.Value) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.recs {
		found := false
		r.Attrs(func(a slog.Attr) bool {
			found = a.Key == key && a.Value.Equal(v)
			return !found
		})
		if found {
			return true
		}
	}
	return false
}

func (w *warnings) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var s string
	for _, r := range w.recs {
		s += r.Message + "; "
	}
	return s
}

// proxied is alice's client (KeepAlive 250 ms, ackTimeout) running through
// a silentLink until the test ends: its link states, in order.
type proxied struct {
	c      *client.Client
	p      *silentLink
	alice  *device
	states chan client.LinkState
	runErr chan error
	warn   *warnings
}

func runProxied(t *testing.T, e *env, ackTimeout time.Duration) *proxied {
	t.Helper()
	u, err := url.Parse(e.url)
	if err != nil {
		t.Fatal(err)
	}
	r := &proxied{p: newSilentLink(t, u.Host), alice: &device{}, states: make(chan client.LinkState, 64), runErr: make(chan error, 1), warn: &warnings{}}
	cfg := e.config("alice", r.alice)
	cfg.URL = "ws://" + r.p.addr() + u.Path
	cfg.Dial = &xmppws.Options{HTTPHeader: http.Header{"Origin": {"http://" + r.p.addr()}}}
	cfg.Log = slog.New(r.warn)
	r.c = client.NewClient(cfg, client.Credentials{Password: "alice-pw"}, client.Options{
		Backoff:    client.Backoff{Min: 100 * time.Millisecond, Max: 500 * time.Millisecond},
		KeepAlive:  250 * time.Millisecond,
		AckTimeout: ackTimeout,
		OnState: func(ls client.LinkState) {
			if ls.State == client.LinkOnline && ls.Stats.Path != client.PathResumed {
				_ = r.c.Send(context.Background(), presence()) // a new session is not available until it says so
			}
			r.states <- ls
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { r.runErr <- r.c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for {
			select {
			case <-r.runErr:
				return
			case <-r.states:
			case <-time.After(20 * time.Millisecond):
				// Serve does not watch ctx: end the session it reads.
				if s := r.c.Session(); s != nil {
					s.Drop()
				}
			}
		}
	})
	return r
}

// next returns the next link state; a failure bound, not a timing claim.
func (r *proxied) next(t *testing.T, what string) client.LinkState {
	t.Helper()
	select {
	case ls := <-r.states:
		return ls
	case err := <-r.runErr:
		t.Fatalf("waiting for %s: Run returned %v", what, err)
	case <-time.After(15 * time.Second):
		t.Fatalf("waiting for %s: no link state change in 15 s; client warnings: %s", what, r.warn)
	}
	panic("unreachable")
}

// TestDeadLink: the link between the client and `waxwing serve` goes
// silent without closing. The client's unanswered <r/> tells it within its
// AckTimeout (nothing else would: no TCP error ever comes); it drops the
// link, says it is connecting, resumes once the path works again, and a
// message the peer sent into the dead link arrives exactly once.
func TestDeadLink(t *testing.T) {
	t.Parallel()
	e := setup(t, xmppd.Prosody, xmppd.Options{})
	const ackTimeout = time.Second
	r := runProxied(t, e, ackTimeout)
	p, alice, warn, bob := r.p, r.alice, r.warn, &device{}
	next := func(what string) client.LinkState { t.Helper(); return r.next(t, what) }
	for ls := next("online"); ls.State != client.LinkOnline; ls = next("online") {
	}
	bs := e.connect(t, "bob", bob, client.Credentials{Password: "bob-pw"})
	if err := bs.Send(ctxT(t), presence()); err != nil {
		t.Fatal(err)
	}
	if err := bs.Send(ctxT(t), message("alice@localhost", "b1", "before")); err != nil {
		t.Fatal(err)
	}
	waitBodies(t, alice, "before")

	p.Cut()
	cutAt := time.Now()
	if err := bs.Send(ctxT(t), message("alice@localhost", "b2", "during")); err != nil {
		t.Fatal(err)
	}

	// The link is silent: only the client's own ack watchdog can end it.
	ls := next("the dead link to be noticed")
	if ls.State != client.LinkConnecting || !errors.Is(ls.Err, net.ErrClosed) {
		t.Fatalf("after the cut: state %s, err %v; want %s after the client closed the link itself", ls.State, ls.Err, client.LinkConnecting)
	}
	if !warn.withAttr("timeout", slog.DurationValue(ackTimeout)) {
		t.Fatalf("the link was dropped, but not for an unanswered <r/> (client warnings: %s)", warn)
	}
	t.Logf("dead link noticed %v after the cut (KeepAlive 250ms, AckTimeout %v)", time.Since(cutAt).Round(time.Millisecond), ackTimeout)

	// It tries again; nothing gets through while the path is down.
	for waiting := true; waiting; {
		select {
		case <-p.held:
			waiting = false
		case ls := <-r.states:
			if ls.State == client.LinkOnline {
				t.Fatalf("online while the path is down: %v", ls.Stats)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("no reconnection attempt within 15 s")
		}
	}
	p.Mend()
	for ls = next("online again"); ls.State != client.LinkOnline; ls = next("online again") {
	}
	if ls.Stats.Path != client.PathResumed {
		t.Fatalf("back online by %s (%s), want %s", ls.Stats.Path, ls.Stats.Reason, client.PathResumed)
	}
	t.Logf("back: %v", ls.Stats)

	// Anything sent into the dead link would arrive before this one.
	if err := bs.Send(ctxT(t), message("alice@localhost", "b3", "after")); err != nil {
		t.Fatal(err)
	}
	waitBodies(t, alice, "before", "during", "after")
}

// clock is an injected Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestAckOverdue: the detection logic on a real session, on an injected
// clock: an <r/> is overdue only once it has gone unanswered for longer than
// the timeout, a second <r/> does not restart the wait, and the server's
// <a/> clears it.
func TestAckOverdue(t *testing.T) {
	t.Parallel()
	e := setup(t, xmppd.Prosody, xmppd.Options{})
	clk := &clock{t: time.Now()}
	cfg := e.config("alice", &device{})
	cfg.Now = clk.Now
	s, err := client.Connect(ctxT(t), cfg, client.Credentials{Password: "alice-pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Drop()
	const d = 20 * time.Second
	t0 := clk.Now()
	steps := []struct {
		name    string
		do      func() // before the checks; nil: nothing
		at      time.Duration
		serve   bool // Serve runs: the server's answer is read
		overdue bool
	}{
		{"nothing asked", nil, time.Hour, false, false},
		{"just asked", func() { mustAsk(t, s) }, 0, false, false},
		{"unanswered, within the timeout", nil, d - time.Millisecond, false, false},
		{"unanswered, past the timeout", nil, d + time.Millisecond, false, true},
		{"asked again: the wait is not restarted", func() { clk.advance(d / 2); mustAsk(t, s) }, d + time.Millisecond, false, true},
		{"answered", func() { go s.Serve(context.Background()) }, time.Hour, true, false},
	}
	for _, st := range steps {
		if st.do != nil {
			st.do()
		}
		got := s.AckOverdue(t0.Add(st.at), d)
		for deadline := time.Now().Add(10 * time.Second); st.serve && got != st.overdue && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond) // the <a/> is on its way
			got = s.AckOverdue(t0.Add(st.at), d)
		}
		if got != st.overdue {
			t.Errorf("%s: AckOverdue(t0+%v, %v) = %v, want %v", st.name, st.at, d, got, st.overdue)
		}
	}
}

func mustAsk(t *testing.T, s *client.Session) {
	t.Helper()
	if err := s.RequestAck(); err != nil {
		t.Fatal(err)
	}
}

// TestBusyLinkKept: the server reads nothing from the client for three
// acknowledgement timeouts (Prosody serving a query reads no input) while
// it keeps sending (a peer's messages). The client's <r/> goes unanswered
// all that time, but the link is alive: it is kept, and once the server
// reads again the acknowledgements come and nothing is sent twice.
func TestBusyLinkKept(t *testing.T) {
	t.Parallel()
	e := setup(t, xmppd.Prosody, xmppd.Options{})
	const ackTimeout = 2 * time.Second
	r := runProxied(t, e, ackTimeout)
	p, c, alice, bob := r.p, r.c, r.alice, &device{}
	for ls := r.next(t, "online"); ls.State != client.LinkOnline; ls = r.next(t, "online") {
	}
	bs := e.connect(t, "bob", bob, client.Credentials{Password: "bob-pw"})
	if err := bs.Send(ctxT(t), presence()); err != nil {
		t.Fatal(err)
	}
	if err := bs.Send(ctxT(t), message("alice@localhost", "b0", "before")); err != nil {
		t.Fatal(err)
	}
	waitBodies(t, alice, "before")

	p.Hold()
	held := time.Now()
	if err := c.Send(ctxT(t), message("bob@localhost", "a1", "held")); err != nil {
		t.Fatal(err)
	}
	// Three timeouts of a server that sends and does not read (the
	// client gives such a link six).
	want := []string{"before"}
	for i := 0; time.Since(held) < 3*ackTimeout; i++ {
		body := "busy " + strconv.Itoa(i)
		if err := bs.Send(ctxT(t), message("alice@localhost", "b"+strconv.Itoa(i+1), body)); err != nil {
			t.Fatal(err)
		}
		want = append(want, body)
		time.Sleep(100 * time.Millisecond)
	}
	if s := c.Session(); s == nil || !s.AckOverdue(time.Now(), ackTimeout) {
		t.Fatal("the client's <r/> must have gone unanswered past the timeout while the server did not read")
	}
	p.Release()
	waitBodies(t, alice, want...)
	waitBodies(t, bob, "held")
	for deadline := time.Now().Add(10 * time.Second); c.Session() == nil || c.Session().AckOverdue(time.Now(), 0); {
		if time.Now().After(deadline) {
			t.Fatal("no acknowledgement after the server read again")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case ls := <-r.states:
		t.Fatalf("a busy link was dropped: %s, %v (client warnings: %s)", ls.State, ls.Err, r.warn)
	default:
	}
}
