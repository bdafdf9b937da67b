//go:build !js

package bridge

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/waxwing-im/waxwing/internal/e2e"
	"github.com/waxwing-im/waxwing/wasm/frame"
)

const testDomain = "example.test"

// testCert makes a self-signed certificate for the given DNS names.
func testCert(t testing.TB, names ...string) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: names[0]},
		DNSNames:              names,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, _ := x509.MarshalECPrivateKey(key)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert, certPEM
}

// fakeUpstream is a scripted XMPP server: STARTTLS (or direct TLS), then a
// stream whose header and features the test chooses, then it hands each
// connection to the test.
type fakeUpstream struct {
	t         testing.TB
	ln        net.Listener
	cert      tls.Certificate
	caFile    string
	noTLS     bool   // offer no STARTTLS
	direct    bool   // TLS from the first byte
	features  string // post-TLS <stream:features/>
	certNames []string
	dials     atomic.Int32
	conns     chan *fakeConn
	plain     chan []byte // with noTLS: what the bridge sent after the features
}

// fakeOpt configures a fakeUpstream before it accepts connections.
type fakeOpt func(*fakeUpstream)

func withNoTLS(f *fakeUpstream)         { f.noTLS = true }
func withDirectTLS(f *fakeUpstream)     { f.direct = true }
func withFeatures(s string) fakeOpt     { return func(f *fakeUpstream) { f.features = s } }
func withCertNames(n ...string) fakeOpt { return func(f *fakeUpstream) { f.certNames = n } }

func newFakeUpstream(t testing.TB, opts ...fakeOpt) *fakeUpstream {
	t.Helper()
	o := &fakeUpstream{certNames: []string{testDomain}}
	for _, opt := range opts {
		opt(o)
	}
	certNames := o.certNames
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cert, certPEM := testCert(t, certNames...)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fakeUpstream{
		t: t, ln: ln, cert: cert, caFile: caFile,
		features: "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>",
		conns:    make(chan *fakeConn, 16),
		plain:    make(chan []byte, 16),
		noTLS:    o.noTLS,
		direct:   o.direct,
	}
	if o.features != "" {
		f.features = o.features
	}
	t.Cleanup(func() { ln.Close() })
	go f.accept()
	return f
}

func (f *fakeUpstream) accept() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.dials.Add(1)
		go f.serve(c)
	}
}

const fakeHeader = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='" + testDomain + "' id='s1' version='1.0' xml:lang='en'>"

func (f *fakeUpstream) serve(c net.Conn) {
	fc := &fakeConn{conn: c, sc: frame.NewScanner(frame.Stream, frame.Limits{MaxBytes: 1 << 20})}
	if f.direct {
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{f.cert}})
		if tc.Handshake() != nil {
			c.Close()
			return
		}
		fc.conn = tc
	} else {
		if tok, err := fc.next(); err != nil || tok.Kind != frame.StreamOpen {
			c.Close()
			return
		}
		if f.noTLS {
			io.WriteString(c, fakeHeader+"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>")
			// Record whatever the bridge sends next: it must be nothing.
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			rest, _ := io.ReadAll(io.LimitReader(c, 1<<16))
			f.plain <- rest
			c.Close()
			return
		}
		io.WriteString(c, fakeHeader+"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>")
		if tok, err := fc.next(); err != nil || tok.LocalName() != "starttls" {
			c.Close()
			return
		}
		io.WriteString(c, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{f.cert}})
		if tc.Handshake() != nil {
			c.Close()
			return
		}
		fc.conn = tc
		fc.sc.Reset()
	}
	tok, err := fc.next()
	if err != nil || tok.Kind != frame.StreamOpen {
		c.Close()
		return
	}
	fc.header = string(tok.Raw)
	io.WriteString(fc.conn, fakeHeader+f.features)
	f.conns <- fc
}

// conn waits for the next connection handed to the test.
func (f *fakeUpstream) conn(t testing.TB) *fakeConn {
	t.Helper()
	select {
	case c := <-f.conns:
		t.Cleanup(func() { c.conn.Close() })
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no upstream connection")
		return nil
	}
}

type fakeConn struct {
	conn   net.Conn
	sc     *frame.Scanner
	header string // the stream header the bridge sent after TLS
	buf    [4096]byte
}

// next returns the next token from the bridge; io.EOF when it closed.
func (c *fakeConn) next() (frame.Token, error) {
	for {
		tok, ok, err := c.sc.Next()
		if err != nil || ok {
			if ok {
				tok.Raw = append([]byte(nil), tok.Raw...)
			}
			return tok, err
		}
		n, err := c.conn.Read(c.buf[:])
		if n > 0 {
			c.sc.Write(c.buf[:n])
			continue
		}
		if err != nil {
			return frame.Token{}, err
		}
	}
}

func (c *fakeConn) send(t testing.TB, s string) {
	t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		t.Fatal(err)
	}
}

// expect reads the next token and checks its bytes.
func (c *fakeConn) expect(t testing.TB, want string) {
	t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	tok, err := c.next()
	if err != nil {
		t.Fatalf("upstream: waiting for %.80q: %v", want, err)
	}
	if string(tok.Raw) != want {
		t.Fatalf("upstream got %.200q\nwant %.200q", tok.Raw, want)
	}
}

type testBridge struct {
	srv    *Server
	addr   string
	url    string
	origin string
	logs   *e2e.LogBuffer
	cancel context.CancelFunc
	done   chan error
}

// startBridge runs a bridge in front of f with the given changes to the config.
func startBridge(t testing.TB, f *fakeUpstream, mod func(*Config)) *testBridge {
	t.Helper()
	cfg := Config{Domain: testDomain, DataDir: t.TempDir(), PingInterval: time.Minute}
	if f != nil {
		cfg.Upstream = f.ln.Addr().String()
		cfg.UpstreamCA = f.caFile
		if f.direct {
			cfg.UpstreamTLS = TLSDirect
		}
	}
	if mod != nil {
		mod(&cfg)
	}
	logs := &e2e.LogBuffer{}
	srv, err := New(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &testBridge{srv: srv, addr: ln.Addr().String(), logs: logs, cancel: cancel, done: make(chan error, 1)}
	b.url = "ws://" + b.addr + PathWebSocket
	b.origin = "http://" + b.addr
	go func() { b.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-b.done
		if t.Failed() {
			t.Logf("bridge log:\n%s", logs.String())
		}
	})
	return b
}

// browser is a WebSocket client speaking RFC 7395 by hand.
type browser struct {
	t  testing.TB
	ws *websocket.Conn
}

func (b *testBridge) dial(t testing.TB) *browser {
	t.Helper()
	return b.dialQuery(t, "")
}

// dialQuery dials with query (e.g. "?batch=65536") on the URL.
func (b *testBridge) dialQuery(t testing.TB, query string) *browser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, b.url+query, &websocket.DialOptions{
		Subprotocols: []string{"xmpp"},
		HTTPHeader:   http.Header{"Origin": {b.origin}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(-1)
	t.Cleanup(func() { ws.CloseNow() })
	return &browser{t: t, ws: ws}
}

func (br *browser) send(s string) {
	br.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := br.ws.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		br.t.Fatal(err)
	}
}

// read returns the next message, or an error (a close) within d.
func (br *browser) read(d time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, p, err := br.ws.Read(ctx)
	return string(p), err
}

func (br *browser) expect(want string) {
	br.t.Helper()
	got, err := br.read(5 * time.Second)
	if err != nil {
		br.t.Fatalf("browser: waiting for %.80q: %v", want, err)
	}
	if got != want {
		br.t.Fatalf("browser got %.200q\nwant %.200q", got, want)
	}
}

// expectContains reads the next message and checks it contains each part.
func (br *browser) expectContains(parts ...string) string {
	br.t.Helper()
	got, err := br.read(5 * time.Second)
	if err != nil {
		br.t.Fatalf("browser: waiting for %q: %v", parts, err)
	}
	for _, p := range parts {
		if !strings.Contains(got, p) {
			br.t.Fatalf("browser got %.300q\nwant it to contain %q", got, p)
		}
	}
	return got
}

// expectClosed reads until the socket closes and returns the close status.
func (br *browser) expectClosed(within time.Duration) websocket.StatusCode {
	br.t.Helper()
	deadline := time.Now().Add(within)
	for {
		_, err := br.read(time.Until(deadline))
		if err != nil {
			if time.Now().After(deadline) {
				br.t.Fatalf("socket not closed within %v", within)
			}
			return websocket.CloseStatus(err)
		}
	}
}

const openFrame = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='" + testDomain + "' version='1.0'/>"

// opened dials, sends <open/> and reads the bridge's <open/> and features.
func (b *testBridge) opened(t testing.TB, f *fakeUpstream) (*browser, *fakeConn) {
	t.Helper()
	return b.openedQuery(t, f, "")
}

// openedQuery is opened with query on the URL.
func (b *testBridge) openedQuery(t testing.TB, f *fakeUpstream, query string) (*browser, *fakeConn) {
	t.Helper()
	br := b.dialQuery(t, query)
	br.send(openFrame)
	fc := f.conn(t)
	br.expect("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='" + testDomain + "' id='s1' version='1.0' xml:lang='en'/>")
	br.expectContains("<stream:features xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
	return br, fc
}
