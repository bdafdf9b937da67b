package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// The connection lifecycle: connect, serve, and reconnect with jittered
// exponential backoff when the link drops (XEP-0198 resumes the session, so
// nothing is lost or doubled); detect dead links by acknowledgement requests
// that go unanswered; go quiet while the app says it is offline.

// Backoff is the reconnection delay policy: full jitter, exponential.
type Backoff struct {
	Min, Max time.Duration
}

// Delay returns the wait before attempt n (0-based) given r in [0, 1): a
// uniform draw in [Min/2, cap), where cap = min(Max, Min·2ⁿ). Pure.
func (b Backoff) Delay(n int, r float64) time.Duration {
	if b.Min <= 0 {
		b.Min = 250 * time.Millisecond
	}
	if b.Max < b.Min {
		b.Max = 30 * time.Second
	}
	c := b.Min
	for i := 0; i < n && c < b.Max; i++ {
		c *= 2
	}
	c = min(c, b.Max)
	lo := b.Min / 2
	return lo + time.Duration(r*float64(c-lo))
}

// Link states reported to the UI.
const (
	LinkConnecting = "connecting"
	LinkOnline     = "online"
	LinkOffline    = "offline"
)

// LinkState is what the connection bar shows.
type LinkState struct {
	State string
	Stats Stats // of the last connection, when online
	Err   error // why it is not online, if known
}

// Options tune a Client; the zero value means the defaults.
type Options struct {
	Backoff   Backoff
	KeepAlive time.Duration // idle time before an <r/> probe; default 60 s
	// ConnectTimeout bounds one connection attempt (dial, TLS upstream,
	// authentication, resume); default 30 s.
	ConnectTimeout time.Duration
	AckTimeout     time.Duration                        // an <r/> unanswered this long means a dead link; default 20 s
	OnState        func(LinkState)                      // called on every change, from the Run goroutine
	Rand           func() float64                       // jitter source (tests); default math/rand
	Sleep          func(time.Duration) <-chan time.Time // default time.After
}

// Client keeps one account connected.
type Client struct {
	cfg  Config
	cred Credentials
	opt  Options

	// connMu is held while a connection is being set up, whose state
	// (loaded at its start, saved at its end) must not miss an offline Send.
	connMu sync.Mutex
	mu     sync.Mutex
	cur    *Session
	online bool
	wake   chan struct{}
}

// NewClient returns a client; Run connects it. The password, if any, stays in
// memory only, for token refreshes and a rejected token.
func NewClient(cfg Config, cred Credentials, opt Options) *Client {
	if opt.KeepAlive <= 0 {
		opt.KeepAlive = 60 * time.Second
	}
	if opt.AckTimeout <= 0 {
		opt.AckTimeout = 20 * time.Second
	}
	if opt.ConnectTimeout <= 0 {
		opt.ConnectTimeout = 30 * time.Second
	}
	if opt.Rand == nil {
		opt.Rand = rand.Float64
	}
	if opt.Sleep == nil {
		opt.Sleep = time.After
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg, cred: cred, opt: opt, online: true, wake: make(chan struct{}, 1)}
}

// Session returns the current session, or nil while disconnected.
func (c *Client) Session() *Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

// SetOnline tells the client whether the device has a network (the browser's
// online/offline events). Offline, it stops trying; online, it reconnects at
// once.
func (c *Client) SetOnline(on bool) {
	c.mu.Lock()
	c.online = on
	cur := c.cur
	c.mu.Unlock()
	if !on && cur != nil {
		cur.Drop()
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Send sends a stanza on the current session, or, while disconnected, queues
// it in the persistent session state: it goes out, once, on the next
// connection.
func (c *Client) Send(ctx context.Context, raw []byte) error {
	if s := c.Session(); s != nil {
		err := s.Send(ctx, raw)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrSessionEnded):
			// Between two connections: queue it below.
		case KindOf(err) == ErrConnectionLost:
			// The link died under us; Send already queued it in the
			// session's state, which the next connection loads.
			return nil
		default:
			return err
		}
	}
	c.connMu.Lock()
	defer c.connMu.Unlock()
	if s := c.Session(); s != nil {
		return s.Send(ctx, raw) // connected meanwhile
	}
	return c.cfg.Store.UpdateState(ctx, func(st *State) error {
		st.SM.Outbound++
		st.SM.Unacked = append(st.SM.Unacked, Outgoing{Seq: st.SM.Outbound, Raw: raw})
		return nil
	})
}

func (c *Client) report(ls LinkState) {
	if c.opt.OnState != nil {
		c.opt.OnState(ls)
	}
}

// Run keeps the account connected until ctx ends or a failure that needs the
// user (wrong password, rejected token without a password, disabled
// account), which it returns.
func (c *Client) Run(ctx context.Context) error {
	attempt := 0
	for {
		c.mu.Lock()
		online := c.online
		c.mu.Unlock()
		if !online {
			c.report(LinkState{State: LinkOffline})
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-c.wake:
				continue
			}
		}
		c.report(LinkState{State: LinkConnecting})
		cctx, cancel := context.WithTimeout(ctx, c.opt.ConnectTimeout)
		c.connMu.Lock()
		s, err := Connect(cctx, c.cfg, c.cred)
		if err == nil {
			c.mu.Lock()
			c.cur = s
			c.mu.Unlock()
		}
		c.connMu.Unlock()
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if KindOf(err) == ErrTokenRejected && c.cred.Password != "" {
				// Forget the token; the password gets a new one.
				_ = c.cfg.Store.UpdateState(ctx, func(st *State) error {
					st.FASTToken, st.FASTExpiry = "", time.Time{}
					return nil
				})
				continue
			}
			c.cfg.Log.Info("connection attempt failed", "attempt", attempt, "err", err)
			var ce *ConnectError
			if !errors.As(err, &ce) || !ce.Retryable() {
				c.report(LinkState{State: LinkOffline, Err: err})
				return err
			}
			d := c.opt.Backoff.Delay(attempt, c.opt.Rand())
			attempt++
			c.report(LinkState{State: LinkConnecting, Err: err})
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-c.wake:
			case <-c.opt.Sleep(d):
			}
			continue
		}
		attempt = 0
		c.report(LinkState{State: LinkOnline, Stats: s.Stats()})

		stop := make(chan struct{})
		go c.watch(s, stop)
		err = s.Serve(ctx)
		close(stop)
		c.mu.Lock()
		c.cur = nil
		c.mu.Unlock()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.cfg.Log.Info("link lost; reconnecting", "err", err)
		c.report(LinkState{State: LinkConnecting, Err: err})
		// A short, jittered pause even before the first retry: reconnecting
		// within microseconds races the server's own notice of the dead
		// link (ejabberd 23.01 then interleaves resent and live stanzas).
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.wake:
		case <-c.opt.Sleep(c.opt.Backoff.Delay(0, c.opt.Rand())):
		}
	}
}

// busyAckFactor: how many ack timeouts an <r/> may go unanswered on a link
// that keeps delivering (deadLink).
const busyAckFactor = 6

// deadLink decides whether a link is dead: an <r/> unanswered for longer
// than timeout while nothing has arrived for as long, or unanswered for
// busyAckFactor times as long whatever arrives. A server that is sending
// (an archive page, a burst) reads our <r/> only after it is done, and
// Prosody reads nothing while it serves a query: that link is alive, and
// dropping it costs a resumption, or, once the session is gone, a new
// session that sends the whole unacknowledged queue again into the same
// busy server. Pure.
func deadLink(now, unanswered, heard time.Time, timeout time.Duration) (bool, string) {
	switch waited := now.Sub(unanswered); {
	case unanswered.IsZero() || waited <= timeout:
		return false, "no acknowledgement overdue"
	case waited > busyAckFactor*timeout:
		return true, fmt.Sprintf("no acknowledgement for %v, though the server is still sending", waited.Round(time.Millisecond))
	case !heard.IsZero() && now.Sub(heard) <= timeout:
		return false, "acknowledgement overdue, but the server is sending"
	}
	return true, "no acknowledgement and nothing received within the timeout"
}

// watch probes an idle link and drops it when probes go unanswered.
func (c *Client) watch(s *Session, stop <-chan struct{}) {
	t := time.NewTicker(min(c.opt.KeepAlive, c.opt.AckTimeout) / 2)
	defer t.Stop()
	last := c.cfg.Now()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := c.cfg.Now()
		unanswered, heard := s.Liveness()
		if dead, reason := deadLink(now, unanswered, heard, c.opt.AckTimeout); dead {
			c.cfg.Log.Warn("dropping a dead link", "reason", reason, "timeout", c.opt.AckTimeout)
			s.Drop()
			return
		}
		if now.Sub(last) >= c.opt.KeepAlive {
			last = now
			_ = s.RequestAck()
		}
	}
}
