//go:build !js

// Package xmppd starts throwaway Prosody 0.12 and ejabberd 23.01 servers (own temp dir, free
// loopback ports, self-signed cert) for integration tests and the demo.
//
// Configs, versions and traps are documented in /work/shared/design/servers.md; Prosody runs
// prosody-modules' SASL2 (XEP-0388), Bind 2 (XEP-0386) and FAST through a small compat module
// (mod_sasl2_compat012.lua, embedded). Tests use the helper package xmppdtest.
package xmppd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Kind names a server implementation.
type Kind string

// The supported servers.
const (
	Prosody  Kind = "prosody"  // Prosody 0.12.3 + prosody-modules (Debian 12)
	Ejabberd Kind = "ejabberd" // ejabberd 23.01 (Debian 12)
)

// KeepEnv is the environment variable that, set to "1", keeps a server's Dir after Stop.
const KeepEnv = "WAXWING_KEEP_SERVERS"

// SQLEnv is the environment variable that, set to "1", gives every Prosody
// SQL storage (Options.SQL), to run a test suite that way.
const SQLEnv = "WAXWING_PROSODY_SQL"

// DebugEnv is the environment variable that, set to "1", gives every server
// its debug log (Options.Debug), to look into a failing test suite; with
// KeepEnv the logs stay.
const DebugEnv = "WAXWING_XMPPD_DEBUG"

// Options configures Start. The zero value is a strict STARTTLS server for "localhost".
type Options struct {
	Domain    string   // default "localhost"
	Dir       string   // default: os.MkdirTemp, removed by Stop. A given Dir is kept; for ejabberd it is made 0755 (the ejabberd user must reach it)
	CertNames []string // DNS SANs of the self-signed cert; default {Domain, "*."+Domain}
	NoSASL2   bool     // prosody: do not load mod_sasl2/_bind2/_fast/compat (legacy SASL only)
	DirectTLS bool     // also open a direct-TLS (XEP-0368) c2s port: Server.DirectTLSAddr
	// InlineSM: prosody: also load mod_sasl2_sm with its 0.12 compat module
	// (mod_sasl2_sm_compat012.lua): XEP-0198 <enable/> inside Bind 2 and <resume/> inside SASL2
	// <authenticate/>. Ignored with NoSASL2 and by ejabberd.
	InlineSM bool
	// NoTLS: the server has no certificate and offers no STARTTLS; SASL (PLAIN included) is
	// offered in the clear. Used to test that clients and relays fail closed.
	NoTLS bool
	// SMTimeout is how long a disconnected session may be resumed (Prosody
	// smacks_hibernation_time, ejabberd resume_timeout); default 600 s.
	SMTimeout time.Duration
	// SQL: prosody: keep accounts, rosters and archives in SQLite through
	// mod_storage_sql (storage = "sql", LuaDBI's SQLite3 driver, Debian
	// package lua-dbi-sqlite3) instead of the files of the default
	// storage = "internal". Production servers keep MAM in SQL: an archive
	// query there reads one indexed page, where internal storage loads the
	// whole archive for every query. Ignored by ejabberd.
	SQL bool
	// MaxArchiveQueryResults: prosody: the most results one MAM query
	// answers (max_archive_query_results; larger asks are cut to it); 0
	// keeps Prosody's default, 50. Ignored by ejabberd.
	MaxArchiveQueryResults int
	// GC: prosody: the Lua garbage collector's mode, "incremental" or
	// "generational" (Prosody's gc option, https://prosody.im/doc/advanced_gc);
	// "" keeps Prosody's default (incremental, pause 105, step multiplier
	// 500). Ignored by ejabberd.
	GC    string
	Users map[string]string                // user (localpart) -> password, registered before Start returns
	Debug bool                             // prosody: also write debug.log (UTC, microseconds); ejabberd: loglevel debug
	Logf  func(format string, args ...any) // optional: one line per start/restart/stop, with timings
}

// Server is a running (or stopped) test server. Its exported fields are fixed for its lifetime,
// across Restart.
type Server struct {
	Kind      Kind
	Domain    string
	MUCDomain string // "conference."+Domain (XEP-0045 service, with MAM)
	Dir       string

	C2S           string // "127.0.0.1:port", STARTTLS (required unless NoTLS)
	DirectTLSAddr string // "127.0.0.1:port" if Options.DirectTLS, else ""
	// WebSocketURL is the server's own RFC 7395 endpoint, plain ws:// on loopback. Prosody treats
	// it as secure (consider_websocket_secure) so SASL is offered; ejabberd offers SASL anyway.
	WebSocketURL string

	ComponentAddr   string // XEP-0114 listener, "127.0.0.1:port"
	ComponentDomain string // "push."+Domain
	ComponentSecret string

	CACertPEM  []byte // the self-signed server certificate (PEM); nil with NoTLS
	CACertFile string // path of CACertPEM; "" with NoTLS

	opts   Options
	ownDir bool
	// memDir, if set, is a directory in memory (tmpfs) that holds data of
	// the server's (Prosody's data_path): removed with Dir.
	memDir string
	ports  ports
	b      backend

	mu    sync.Mutex // serialises Stop/Kill/Restart
	state state
}

type state int

const (
	stateDown   state = iota // never started, killed or stopped for Restart
	stateUp                  // running
	stateClosed              // Stop done: Dir may be gone
)

type ports struct{ c2s, directTLS, http, component int }

// backend is the per-implementation part of a Server.
type backend interface {
	writeConfig() error               // (re)write config files for s.ports
	launch(ctx context.Context) error // start the server process, return once launched
	exited() bool                     // the server process is gone
	// listening reports that the log says this server opened the c2s port, so a probe that
	// succeeds talks to it and not to another process that took the port.
	listening() bool
	bindFailed() bool               // the log says a port could not be bound
	stop(ctx context.Context) error // graceful stop, waits for exit
	kill() error                    // SIGKILL, waits for exit
	register(ctx context.Context, user, pass string) error
	logFiles() []string
}

var (
	domainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)
	userRE   = regexp.MustCompile(`^[a-z0-9._-]+$`)
)

// Start creates and starts a server. It returns once the c2s port answers a stream header with
// stream features, every other port accepts, and all Options.Users exist. ctx bounds the wait;
// on error nothing is left running.
func Start(ctx context.Context, kind Kind, o Options) (*Server, error) {
	if kind == Prosody && os.Getenv(SQLEnv) == "1" {
		o.SQL = true
	}
	if os.Getenv(DebugEnv) == "1" {
		o.Debug = true
	}
	if err := AvailableFor(kind, o); err != nil {
		return nil, err
	}
	if o.MaxArchiveQueryResults < 0 {
		return nil, fmt.Errorf("xmppd: MaxArchiveQueryResults %d < 0", o.MaxArchiveQueryResults)
	}
	if o.GC != "" && o.GC != "incremental" && o.GC != "generational" {
		return nil, fmt.Errorf("xmppd: GC %q: want \"incremental\", \"generational\" or \"\"", o.GC)
	}
	if o.Domain == "" {
		o.Domain = "localhost"
	}
	if !domainRE.MatchString(o.Domain) {
		return nil, fmt.Errorf("xmppd: bad domain %q", o.Domain)
	}
	if len(o.CertNames) == 0 {
		o.CertNames = []string{o.Domain, "*." + o.Domain}
	}
	if o.NoTLS && o.DirectTLS {
		return nil, errors.New("xmppd: NoTLS and DirectTLS exclude each other")
	}
	for u := range o.Users {
		if !userRE.MatchString(u) {
			return nil, fmt.Errorf("xmppd: bad user name %q", u)
		}
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	s := &Server{
		Kind:            kind,
		Domain:          o.Domain,
		MUCDomain:       "conference." + o.Domain,
		ComponentDomain: "push." + o.Domain,
		ComponentSecret: randHex(12),
		opts:            o,
	}
	if err := s.setup(ctx); err != nil {
		s.removeDir()
		return nil, err
	}
	return s, nil
}

func (s *Server) setup(ctx context.Context) error {
	o := s.opts
	s.Dir = o.Dir
	if s.Dir == "" {
		d, err := os.MkdirTemp("", "waxwing-"+string(s.Kind)+"-")
		if err != nil {
			return err
		}
		s.Dir, s.ownDir = d, true
	} else if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	if !o.NoTLS {
		certPEM, keyPEM, err := selfSigned(o.CertNames)
		if err != nil {
			return err
		}
		s.CACertPEM = certPEM
		s.CACertFile = filepath.Join(s.Dir, "cert.pem")
		if err := os.WriteFile(s.CACertFile, certPEM, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(s.Dir, "key.pem"), keyPEM, 0o600); err != nil {
			return err
		}
	}
	var err error
	switch s.Kind {
	case Prosody:
		s.b, err = newProsody(s)
	case Ejabberd:
		s.b, err = newEjabberd(s)
	}
	if err != nil {
		return err
	}

	t0 := time.Now()
	const attempts = 3
	for i := 1; ; i++ {
		if err := s.pickPorts(); err != nil {
			return err
		}
		err := s.startOnce(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, errBind) || i == attempts {
			return err
		}
		s.opts.Logf("xmppd: %s: a port was taken; retrying with other ports", s.Kind)
	}
	s.opts.Logf("xmppd: %s for %s up in %v (c2s %s, ws %s, dir %s)", s.Kind, s.Domain,
		time.Since(t0).Round(time.Millisecond), s.C2S, s.WebSocketURL, s.Dir)
	s.state = stateUp
	if err := s.registerAll(ctx, o.Users); err != nil {
		s.b.kill()
		return err
	}
	return nil
}

var errBind = errors.New("a port could not be bound")

// startOnce writes the config, launches the server and waits until it is ready. On error the
// server is not running.
func (s *Server) startOnce(ctx context.Context) error {
	if err := s.b.writeConfig(); err != nil {
		return err
	}
	err := s.b.launch(ctx)
	if err == nil {
		err = s.waitReady(ctx)
	}
	if err != nil {
		s.b.kill()
		return fmt.Errorf("xmppd: start %s: %w\n%s", s.Kind, err, s.LogTail(30))
	}
	return nil
}

func (s *Server) waitReady(ctx context.Context) error {
	for {
		if s.b.bindFailed() {
			return errBind
		}
		if s.b.exited() {
			return errors.New("server process exited")
		}
		err := errors.New("c2s port not open yet")
		if s.b.listening() {
			err = probeStream(ctx, s.C2S, s.Domain)
		}
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("not ready: %w (last probe: %v)", ctx.Err(), err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	for _, a := range []string{s.DirectTLSAddr, s.ComponentAddr, loopback(s.ports.http)} {
		if a == "" {
			continue
		}
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if ctx.Err() != nil {
				return fmt.Errorf("port %s not ready: %w", a, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if s.b.bindFailed() {
		return errBind
	}
	if s.b.exited() {
		return errors.New("server process exited")
	}
	return nil
}

func (s *Server) wsPath() string {
	if s.Kind == Ejabberd {
		return "/ws"
	}
	return "/xmpp-websocket"
}

func (s *Server) pickPorts() error {
	n := 3
	if s.opts.DirectTLS {
		n++
	}
	p, err := freePorts(n)
	if err != nil {
		return err
	}
	s.ports = ports{c2s: p[0], http: p[1], component: p[2]}
	if s.opts.DirectTLS {
		s.ports.directTLS = p[3]
		s.DirectTLSAddr = loopback(p[3])
	}
	s.C2S = loopback(s.ports.c2s)
	s.ComponentAddr = loopback(s.ports.component)
	s.WebSocketURL = "ws://" + loopback(s.ports.http) + s.wsPath()
	return nil
}

func loopback(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

var (
	portMu    sync.Mutex
	portsUsed = map[int]bool{} // never handed out twice in one process
)

// freePorts returns n distinct loopback ports that were free a moment ago. All n listeners are
// held open together so the kernel cannot hand out the same port twice.
func freePorts(n int) ([]int, error) {
	portMu.Lock()
	defer portMu.Unlock()
	var out []int
	for i := 0; len(out) < n; i++ {
		if i > 100 {
			return nil, errors.New("xmppd: no free ports")
		}
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		p := l.Addr().(*net.TCPAddr).Port
		if !portsUsed[p] {
			portsUsed[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// probeStream opens a c2s stream and waits for the server's stream header and features.
func probeStream(ctx context.Context, addr, domain string) error {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	deadline := time.Now().Add(3 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	c.SetDeadline(deadline)
	if _, err := fmt.Fprintf(c, "<?xml version='1.0'?><stream:stream to='%s' version='1.0' xml:lang='en' "+
		"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>", domain); err != nil {
		return err
	}
	var buf []byte
	tmp := make([]byte, 4096)
	for !(bytes.Contains(buf, []byte("<stream:stream")) && bytes.Contains(buf, []byte("<stream:features"))) {
		n, err := c.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if err != nil {
			return fmt.Errorf("probe %s: %w (got %q)", addr, err, buf)
		}
	}
	io.WriteString(c, "</stream:stream>")
	return nil
}

// TLSConfig returns a client TLS config that trusts only this server's certificate and expects
// ServerName Domain. It is nil with NoTLS.
func (s *Server) TLSConfig() *tls.Config {
	if s.CACertPEM == nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CACertPEM)
	return &tls.Config{RootCAs: pool, ServerName: s.Domain, MinVersion: tls.VersionTLS12}
}

// Register creates an account (user is the localpart). The server must be running for ejabberd.
func (s *Server) Register(ctx context.Context, user, pass string) error {
	if !userRE.MatchString(user) {
		return fmt.Errorf("xmppd: bad user name %q", user)
	}
	s.mu.Lock()
	closed := s.state == stateClosed
	s.mu.Unlock()
	if closed {
		return errors.New("xmppd: server stopped")
	}
	return s.b.register(ctx, user, pass)
}

func (s *Server) registerAll(ctx context.Context, users map[string]string) error {
	errc := make(chan error, len(users))
	sem := make(chan struct{}, 4)
	for u, p := range users {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errc <- s.b.register(ctx, u, p)
		}()
	}
	var errs []error
	for range users {
		errs = append(errs, <-errc)
	}
	return errors.Join(errs...)
}

// Stop stops the server gracefully, waits for it to exit (its ports are then free) and removes
// Dir if Start created it, unless WAXWING_KEEP_SERVERS=1. It is idempotent.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateClosed {
		return nil
	}
	var err error
	if s.state == stateUp {
		t0 := time.Now()
		err = s.b.stop(ctx)
		s.opts.Logf("xmppd: %s stopped in %v", s.Kind, time.Since(t0).Round(time.Millisecond))
	}
	s.state = stateClosed
	if os.Getenv(KeepEnv) == "1" {
		s.opts.Logf("xmppd: %s: kept %s (%s=1)", s.Kind, s.Dir, KeepEnv)
	} else {
		s.removeDir()
	}
	return err
}

func (s *Server) removeDir() {
	if os.Getenv(KeepEnv) == "1" {
		return
	}
	if s.memDir != "" {
		os.RemoveAll(s.memDir)
	}
	if s.ownDir && s.Dir != "" {
		os.RemoveAll(s.Dir)
	}
}

// Kill stops the server with SIGKILL (crash simulation) and waits for the process to exit. Data
// and Dir stay; Restart brings the server back. Like a real crash, ejabberd loses writes of the
// last ~2 s (Mnesia disc_only tables: accounts, rosters, MAM, offline messages write behind);
// Prosody's internal storage writes through.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateUp {
		return nil
	}
	s.state = stateDown
	return s.b.kill()
}

// Restart stops the server (if running) and starts it again on the same ports with the same
// data: accounts, rosters and archives survive.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case stateClosed:
		return errors.New("xmppd: Restart after Stop")
	case stateUp:
		if err := s.b.stop(ctx); err != nil {
			return err
		}
		s.state = stateDown
	}
	t0 := time.Now()
	if err := s.startOnce(ctx); err != nil {
		return err
	}
	s.opts.Logf("xmppd: %s restarted in %v", s.Kind, time.Since(t0).Round(time.Millisecond))
	s.state = stateUp
	return nil
}

// LogTail returns the last n lines of each server log, for test failure messages.
func (s *Server) LogTail(n int) string {
	var sb strings.Builder
	for _, f := range s.b.logFiles() {
		lines := tail(f, n)
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(&sb, "==> %s <==\n", f)
		for _, l := range lines {
			sb.WriteString(l)
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

func tail(file string, n int) []string {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 2*n+100 {
			lines = append(lines[:0], lines[len(lines)-n:]...)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// logContains reports whether file, from offset on, contains any of subs.
func logContains(file string, offset int64, subs ...string) bool {
	b, err := os.ReadFile(file)
	if err != nil || int64(len(b)) < offset {
		return false
	}
	for _, s := range subs {
		if bytes.Contains(b[offset:], []byte(s)) {
			return true
		}
	}
	return false
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// luaQuote returns s as a Lua string literal.
func luaQuote(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, c := range []byte(s) {
		switch {
		case c == '"' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&sb, "\\%03d", c)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// smTimeout is the session resumption window in whole seconds (at least 1).
func smTimeout(o Options) int {
	if o.SMTimeout <= 0 {
		return 600
	}
	return max(1, int(o.SMTimeout/time.Second))
}
