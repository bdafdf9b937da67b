// Package bridge is `waxwing serve`: it relays XMPP over WebSocket (RFC 7395)
// to the organisation's XMPP server over TLS (RFC 6120), serves the app shell
// and its assets, and answers XEP-0156 discovery.
//
// One browser connection gets one upstream connection, only ever to the
// configured server. The relay rewrites framing only; stanza bytes pass
// through unchanged.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Server is a configured `waxwing serve`.
type Server struct {
	cfg      Config
	log      *slog.Logger
	upstream *upstream
	ips      *ipLimiter
	proxies  trustedProxies
	origins  map[string]bool

	mu       sync.Mutex
	relays   map[*relay]struct{}
	sm       map[string]*relay // Stream Management id → the relay whose stream has it (handover.go)
	wg       sync.WaitGroup
	shutdown bool
}

// New checks cfg and returns a server. It creates the data directory.
func New(cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("-data=%q: %w", cfg.DataDir, err)
	}
	up, err := newUpstream(cfg, log)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		log:      log,
		upstream: up,
		ips:      newIPLimiter(cfg.MaxConnsPerIP),
		proxies:  parseProxies(cfg.TrustedProxies),
		origins:  map[string]bool{},
		relays:   map[*relay]struct{}{},
		sm:       map[string]*relay{},
	}
	for _, o := range cfg.Origins {
		n, _ := normalizeOrigin(o)
		s.origins[n] = true
	}
	if cfg.PublicURL != "" && len(cfg.Origins) == 0 {
		n, _ := normalizeOrigin(originOf(cfg.PublicURL))
		s.origins[n] = true
	}
	return s, nil
}

// Config returns the configuration in force, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Serve accepts HTTP connections on ln until ctx is done, then shuts down
// gracefully: it stops accepting, closes every browser socket with "going
// away", and drops every upstream connection without </stream:stream>, so
// that the XMPP server keeps the sessions for resumption.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadHeaderTimeout + 20*time.Second, // applies to request bodies; WebSockets are hijacked
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	hs.RegisterOnShutdown(s.closeRelays)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String(), "domain", s.cfg.Domain, "upstream", s.upstreamName(), "upstream_tls", s.cfg.UpstreamTLS)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "relays", s.Relays())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	s.closeRelays()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (s *Server) upstreamName() string {
	if s.cfg.Upstream != "" {
		return s.cfg.Upstream
	}
	return "SRV " + s.cfg.Domain
}

// closeRelays ends every relay: "going away" to the browser, TCP drop
// upstream.
func (s *Server) closeRelays() {
	s.mu.Lock()
	s.shutdown = true
	rs := make([]*relay, 0, len(s.relays))
	for r := range s.relays {
		rs = append(rs, r)
	}
	s.mu.Unlock()
	for _, r := range rs {
		r.stop("server shutting down", dropUpstream, websocket.StatusGoingAway, nil)
	}
}

// Relays reports how many relays are open.
func (s *Server) Relays() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.relays)
}

func (s *Server) track(r *relay) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return false
	}
	s.relays[r] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(r *relay) {
	s.mu.Lock()
	delete(s.relays, r)
	s.mu.Unlock()
	s.wg.Done()
}
