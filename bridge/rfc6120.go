// RFC 6120 §5 (STARTTLS) and XEP-0368 (direct TLS): the bridge's own leg to
// the XMPP server. The bridge secures this leg itself, verifies the server
// certificate for the configured domain, and fails closed: no stream from a
// browser ever reaches the server over a connection without TLS.

package bridge

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/waxwing-im/waxwing/wasm/frame"
)

// Namespaces used on the upstream leg.
const (
	nsClient    = "jabber:client"
	nsStream    = "http://etherx.jabber.org/streams"
	nsTLS       = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL      = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsSASL2     = "urn:xmpp:sasl:2"
	nsFraming   = "urn:ietf:params:xml:ns:xmpp-framing"
	nsStreams   = "urn:ietf:params:xml:ns:xmpp-streams"
	nsLimits    = "urn:xmpp:stream-limits:0"
	nsSM        = "urn:xmpp:sm:3"
	nsBind2     = "urn:xmpp:bind:0"
	nsBridgeErr = "urn:waxwing:bridge:0" // application-specific stream error conditions
)

// Upstream failure kinds, sent to the browser as application-specific stream
// error conditions (RFC 6120 §4.9.4) so that a client can tell the user what
// went wrong.
const (
	failUnreachable = "upstream-unreachable"
	failTLS         = "upstream-tls-failed"
	failNoTLS       = "upstream-no-tls"
)

// upstreamError is a failure to set up the upstream leg.
type upstreamError struct {
	kind string
	err  error
}

func (e *upstreamError) Error() string { return e.kind + ": " + e.err.Error() }
func (e *upstreamError) Unwrap() error { return e.err }

// upstream dials the configured XMPP server.
type upstream struct {
	cfg    Config
	tls    *tls.Config
	log    *slog.Logger
	lookup func(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)

	mu       sync.Mutex
	cached   []string
	cachedAt time.Time
}

func newUpstream(cfg Config, log *slog.Logger) (*upstream, error) {
	tc := &tls.Config{
		ServerName:         cfg.Domain,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: cfg.UpstreamInsecureSkipVerify, //nolint:gosec // development flag, warned about at every use
	}
	if cfg.UpstreamCA != "" {
		pem, err := os.ReadFile(cfg.UpstreamCA)
		if err != nil {
			return nil, fmt.Errorf("-upstream-ca: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-upstream-ca=%q: no PEM certificates found", cfg.UpstreamCA)
		}
		tc.RootCAs = pool
	}
	return &upstream{cfg: cfg, tls: tc, log: log, lookup: net.DefaultResolver.LookupSRV}, nil
}

// addrs returns the addresses to try, in order: the configured upstream, or
// the DNS SRV records of the domain (RFC 6120 §3.2.1, XEP-0368), or the
// domain on the default port. Only the configured domain is ever looked up.
func (u *upstream) addrs(ctx context.Context) []string {
	if u.cfg.Upstream != "" {
		return []string{u.cfg.Upstream}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.cached != nil && time.Since(u.cachedAt) < 5*time.Minute {
		return u.cached
	}
	service, port := "xmpp-client", "5222"
	if u.cfg.UpstreamTLS == TLSDirect {
		service, port = "xmpps-client", "5223"
	}
	var out []string
	if _, srvs, err := u.lookup(ctx, service, "tcp", u.cfg.Domain); err == nil {
		for _, s := range srvs {
			if s.Target == "." || s.Target == "" {
				continue
			}
			out = append(out, net.JoinHostPort(trimDot(s.Target), strconv.Itoa(int(s.Port))))
		}
	}
	out = append(out, net.JoinHostPort(u.cfg.Domain, port))
	u.cached, u.cachedAt = out, time.Now()
	return out
}

func trimDot(s string) string {
	if len(s) > 0 && s[len(s)-1] == '.' {
		return s[:len(s)-1]
	}
	return s
}

// dial connects to the upstream and secures the connection. With STARTTLS
// it negotiates TLS on a stream of its own; the browser's stream starts
// afterwards, on the secured connection.
func (u *upstream) dial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, u.cfg.DialTimeout)
	defer cancel()
	if u.cfg.UpstreamInsecureSkipVerify {
		u.log.Warn("upstream certificate NOT verified (-upstream-insecure-skip-verify): development only", "domain", u.cfg.Domain)
	}
	var lastErr error
	for _, addr := range u.addrs(ctx) {
		conn, err := u.dialOne(ctx, addr)
		if err == nil {
			return conn, nil
		}
		lastErr = err
		var ue *upstreamError
		if errors.As(err, &ue) && ue.kind != failUnreachable {
			// A server that answered but cannot be trusted is not retried
			// elsewhere: that would hide the problem.
			return nil, err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func (u *upstream) dialOne(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{KeepAlive: 30 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &upstreamError{failUnreachable, err}
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	if u.cfg.UpstreamTLS == TLSStartTLS {
		if err := u.starttls(raw); err != nil {
			raw.Close()
			return nil, err
		}
	}
	conn := tls.Client(raw, u.tls)
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		var verr *tls.CertificateVerificationError
		if errors.As(err, &verr) || ctx.Err() == nil {
			return nil, &upstreamError{failTLS, err}
		}
		return nil, &upstreamError{failUnreachable, err}
	}
	_ = raw.SetDeadline(time.Time{})
	return conn, nil
}

// starttls runs RFC 6120 §5.4 on raw: its own stream header (without a
// 'from', which would reveal the user before TLS, §4.7.1), features that must
// offer <starttls/>, then <proceed/>.
func (u *upstream) starttls(raw net.Conn) error {
	header := "<?xml version='1.0'?><stream:stream xmlns='" + nsClient + "' xmlns:stream='" + nsStream +
		"' to='" + frame.Escape(u.cfg.Domain) + "' version='1.0'>"
	if _, err := io.WriteString(raw, header); err != nil {
		return &upstreamError{failUnreachable, err}
	}
	sc := frame.NewScanner(frame.Stream, frame.Limits{MaxBytes: 64 << 10})
	buf := make([]byte, 4096)
	next := func() (frame.Token, error) {
		for {
			tok, ok, err := sc.Next()
			if err != nil {
				return tok, &upstreamError{failUnreachable, err}
			}
			if ok {
				return tok, nil
			}
			n, err := raw.Read(buf)
			if n > 0 {
				sc.Write(buf[:n])
				continue
			}
			if err != nil {
				return tok, &upstreamError{failUnreachable, err}
			}
		}
	}
	tok, err := next()
	if err != nil {
		return err
	}
	if tok.Kind != frame.StreamOpen {
		return &upstreamError{failUnreachable, errors.New("no stream header from the server")}
	}
	scope := tok.Declarations()
	tok, err = next()
	if err != nil {
		return err
	}
	if tok.Kind != frame.Element || tok.LocalName() != "features" || tok.Namespace(scope) != nsStream {
		return &upstreamError{failUnreachable, fmt.Errorf("expected stream features, got <%s>", tok.Name)}
	}
	if !hasChild(tok.Raw, nsTLS, "starttls") {
		return &upstreamError{failNoTLS, errors.New("the server does not offer STARTTLS; refusing to continue without TLS")}
	}
	if _, err := io.WriteString(raw, "<starttls xmlns='"+nsTLS+"'/>"); err != nil {
		return &upstreamError{failUnreachable, err}
	}
	tok, err = next()
	if err != nil {
		return err
	}
	if tok.Kind != frame.Element || tok.LocalName() != "proceed" || tok.Namespace(scope) != nsTLS {
		return &upstreamError{failNoTLS, fmt.Errorf("STARTTLS refused by the server (<%s>)", tok.Name)}
	}
	if sc.Buffered() > 0 {
		// Bytes after <proceed/> would be plaintext injected into the TLS
		// session (the STARTTLS command injection class of bugs).
		return &upstreamError{failTLS, errors.New("data after <proceed/> before the TLS handshake")}
	}
	return nil
}

// hasChild reports whether the element raw has a direct child with the given
// namespace and local name. raw comes from the server and was framed by the
// scanner, so it is well-formed; undeclared prefixes (inherited from the
// stream header) only affect the element itself, not its children here.
func hasChild(raw []byte, ns, local string) bool {
	_, ok := findChild(raw, ns, local)
	return ok
}

// findChild returns the byte range [start, end) of the first direct child of
// the element raw with the given namespace and local name.
func findChild(raw []byte, ns, local string) ([2]int, bool) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	depth := 0
	start := 0
	for {
		before := int(d.InputOffset())
		t, err := d.Token()
		if err != nil {
			return [2]int{}, false
		}
		switch t := t.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && t.Name.Space == ns && t.Name.Local == local {
				start = before
				if err := d.Skip(); err != nil {
					return [2]int{}, false
				}
				return [2]int{start, int(d.InputOffset())}, true
			}
		case xml.EndElement:
			depth--
		}
	}
}

// childText returns the text of the first grandchild <sub> of the direct
// child <child> in namespace ns, e.g. <limits><max-bytes>.
func childText(raw []byte, ns, child, sub string) (string, bool) {
	r, ok := findChild(raw, ns, child)
	if !ok {
		return "", false
	}
	var v struct {
		Inner []struct {
			XMLName xml.Name
			Text    string `xml:",chardata"`
		} `xml:",any"`
	}
	if err := xml.Unmarshal(raw[r[0]:r[1]], &v); err != nil {
		return "", false
	}
	for _, e := range v.Inner {
		if e.XMLName.Local == sub {
			return e.Text, true
		}
	}
	return "", false
}
