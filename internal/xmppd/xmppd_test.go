//go:build !js

package xmppd_test

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/internal/xmppd/xmppdtest"
)

const (
	nsStream = "http://etherx.jabber.org/streams"
	nsTLS    = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL   = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsSASL2  = "urn:xmpp:sasl:2"
	nsBind   = "urn:ietf:params:xml:ns:xmpp-bind"
	nsBind2  = "urn:xmpp:bind:0"
	nsFAST   = "urn:xmpp:fast:0"
	nsCarb   = "urn:xmpp:carbons:2"
)

var alice = map[string]string{"alice": "alice pass"}

// TestProsody: STARTTLS with a verified cert, SASL2 + Bind 2 + FAST token, FAST login, direct
// TLS, the server's own WebSocket, and no tracebacks in the debug log (the compat module works).
func TestProsody(t *testing.T) {
	t.Parallel()
	s := xmppdtest.Start(t, xmppd.Prosody, xmppd.Options{Users: alice, DirectTLS: true, Debug: true})
	jid := "alice@" + s.Domain
	uaID := "3f4c2b1a-waxwing-test"

	c := dial(t, s.C2S)
	f := c.open(s.Domain, jid)
	if st := f.find(nsTLS, "starttls"); st == nil || st.find(nsTLS, "required") == nil {
		t.Fatalf("pre-TLS features without <starttls><required/>: %s", f)
	}
	c.starttls(s.TLSConfig())
	f = c.open(s.Domain, jid)
	auth := f.find(nsSASL2, "authentication")
	if auth == nil {
		t.Fatalf("no SASL2 <authentication/>: %s", f)
	}
	fast := auth.find(nsFAST, "fast")
	if fast == nil || !fast.hasChildText("mechanism", "HT-SHA-256-NONE") {
		t.Fatalf("no FAST HT-SHA-256-NONE: %s", auth)
	}
	if fast.hasChildText("mechanism", "HT-SHA-256-EXPR") {
		t.Errorf("broken HT-SHA-256-EXPR advertised: %s", fast)
	}
	if auth.find(nsBind2, "bind") == nil {
		t.Errorf("no Bind 2 inline: %s", auth)
	}
	c.send(`<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>%s</initial-response>`+
		`<user-agent id='%s'><software>waxwing-test</software></user-agent>`+
		`<bind xmlns='urn:xmpp:bind:0'><tag>waxwing</tag><enable xmlns='urn:xmpp:carbons:2'/></bind>`+
		`<request-token xmlns='urn:xmpp:fast:0' mechanism='HT-SHA-256-NONE'/></authenticate>`,
		b64("\x00alice\x00alice pass"), uaID)
	succ := c.expect(nsSASL2, "success")
	tok := succ.find(nsFAST, "token")
	if tok == nil || tok.attr("token") == "" || tok.attr("expiry") == "" {
		t.Fatalf("no FAST token: %s", succ)
	}
	if b := succ.find(nsBind2, "bound"); b == nil || b.find(nsCarb, "enabled") == nil {
		t.Errorf("no <bound><enabled carbons/></bound>: %s", succ)
	}
	if id := succ.childText(nsSASL2, "authorization-identifier"); !strings.HasPrefix(id, jid+"/waxwing~") {
		t.Errorf("authorization-identifier %q", id)
	}
	c.expect(nsStream, "features")
	c.ping(s.Domain)
	c.close()

	token := tok.attr("token")
	fastLogin := func(tokenKey string) *node {
		c := dial(t, s.C2S)
		defer c.close()
		c.open(s.Domain, jid)
		c.starttls(s.TLSConfig())
		if f := c.open(s.Domain, jid); f.find(nsFAST, "fast") == nil {
			t.Fatalf("second stream: no FAST: %s", f)
		}
		c.send(`<authenticate xmlns='urn:xmpp:sasl:2' mechanism='HT-SHA-256-NONE'><initial-response>%s</initial-response>`+
			`<user-agent id='%s'><software>waxwing-test</software></user-agent><fast xmlns='urn:xmpp:fast:0'/>`+
			`<bind xmlns='urn:xmpp:bind:0'><tag>waxwing</tag></bind></authenticate>`,
			b64("alice\x00"+string(hmacSHA256(tokenKey, "Initiator"))), uaID)
		n := c.next()
		if n.XMLName.Local == "success" {
			c.expect(nsStream, "features")
			c.ping(s.Domain)
		}
		return n
	}
	n := fastLogin(token)
	if n.XMLName != (xml.Name{Space: nsSASL2, Local: "success"}) {
		t.Fatalf("FAST login: %s", n)
	}
	if got, want := n.childText(nsSASL2, "additional-data"), b64(string(hmacSHA256(token, "Responder"))); got != want {
		t.Errorf("FAST additional-data %q, want HMAC(token, Responder) %q", got, want)
	}
	if n := fastLogin(token + "x"); n.XMLName.Local != "failure" || n.find(nsSASL, "not-authorized") == nil {
		t.Errorf("FAST with a wrong token: %s", n)
	}

	t.Run("DirectTLS", func(t *testing.T) { checkDirectTLS(t, s) })
	t.Run("WebSocket", func(t *testing.T) {
		f := wsFeatures(t, s, jid)
		if !strings.Contains(f, nsSASL2) || !strings.Contains(f, "PLAIN") || !strings.Contains(f, nsFAST) {
			t.Errorf("no SASL2 with PLAIN and FAST on ws://: %s", f)
		}
	})
	for _, log := range []string{"debug.log", "prosody.log"} {
		b, _ := os.ReadFile(filepath.Join(s.Dir, "prosody", log))
		if len(b) == 0 {
			t.Errorf("%s is empty", log)
		}
		if strings.Contains(string(b), "raceback") {
			t.Errorf("%s has tracebacks:\n%s", log, xmppdtest.Tracebacks(s))
		}
	}
}

// TestEjabberd: STARTTLS with a verified cert, legacy SASL PLAIN and bind, no SASL2, direct TLS
// and WebSocket.
func TestEjabberd(t *testing.T) {
	t.Parallel()
	s := xmppdtest.Start(t, xmppd.Ejabberd, xmppd.Options{Users: alice, DirectTLS: true})
	c := dial(t, s.C2S)
	defer c.close()
	if f := c.open(s.Domain, ""); f.find(nsTLS, "starttls") == nil {
		t.Fatalf("no STARTTLS: %s", f)
	}
	c.starttls(s.TLSConfig())
	f := c.open(s.Domain, "alice@"+s.Domain)
	if f.find(nsSASL2, "authentication") != nil {
		t.Errorf("ejabberd 23.01 offers SASL2? %s", f)
	}
	c.legacyLogin(s.Domain, "alice", "alice pass")
	t.Run("DirectTLS", func(t *testing.T) { checkDirectTLS(t, s) })
	t.Run("WebSocket", func(t *testing.T) {
		if f := wsFeatures(t, s, ""); !strings.Contains(f, nsSASL) || !strings.Contains(f, "PLAIN") {
			t.Errorf("no SASL PLAIN on ws://: %s", f)
		}
	})
}

// TestRestart: accounts made at Start and by Register survive a graceful Restart and then a
// Kill+Restart (crash), on the same ports; Stop is idempotent and removes Dir.
// (Graceful first: ejabberd's Mnesia disc_only tables write behind by ~2 s, so a Kill right
// after Register loses the account. Real ejabberd does the same.)
func TestRestart(t *testing.T) {
	t.Parallel()
	for _, kind := range []xmppd.Kind{xmppd.Prosody, xmppd.Ejabberd} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			s := xmppdtest.Start(t, kind, xmppd.Options{Users: alice})
			ctx := t.Context()
			if err := s.Register(ctx, "carol", "carol pass"); err != nil {
				t.Fatal(err)
			}
			login(t, s, "carol", "carol pass")
			c2s, ws := s.C2S, s.WebSocketURL
			if err := s.Restart(ctx); err != nil {
				t.Fatal(err)
			}
			login(t, s, "alice", "alice pass")
			login(t, s, "carol", "carol pass")
			if err := s.Kill(); err != nil {
				t.Fatal(err)
			}
			if c, err := net.DialTimeout("tcp", s.C2S, time.Second); err == nil {
				c.Close()
				t.Fatal("c2s still accepts after Kill")
			}
			if err := s.Restart(ctx); err != nil {
				t.Fatal(err)
			}
			if s.C2S != c2s || s.WebSocketURL != ws {
				t.Errorf("ports changed: %s %s -> %s %s", c2s, ws, s.C2S, s.WebSocketURL)
			}
			login(t, s, "alice", "alice pass")
			login(t, s, "carol", "carol pass")
			// Prosody's data may live in memory (/dev/shm), linked from Dir.
			data, _ := filepath.EvalSymlinks(filepath.Join(s.Dir, "prosody", "data"))
			if err := s.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(data); data != "" && os.Getenv(xmppd.KeepEnv) != "1" && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Prosody's data %s not removed: %v", data, err)
			}
			if err := s.Stop(ctx); err != nil {
				t.Fatalf("second Stop: %v", err)
			}
			if _, err := os.Stat(s.Dir); os.Getenv(xmppd.KeepEnv) != "1" && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Dir %s not removed: %v", s.Dir, err)
			}
		})
	}
}

// TestNoTLS: no STARTTLS at all, SASL PLAIN offered in the clear.
func TestNoTLS(t *testing.T) {
	t.Parallel()
	for _, kind := range []xmppd.Kind{xmppd.Prosody, xmppd.Ejabberd} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			s := xmppdtest.Start(t, kind, xmppd.Options{NoTLS: true})
			c := dial(t, s.C2S)
			defer c.close()
			f := c.open(s.Domain, "")
			if f.find(nsTLS, "starttls") != nil {
				t.Errorf("STARTTLS offered: %s", f)
			}
			if m := f.find(nsSASL, "mechanisms"); m == nil || !m.hasChildText("mechanism", "PLAIN") {
				t.Errorf("no SASL PLAIN: %s", f)
			}
			if s.CACertPEM != nil || s.TLSConfig() != nil {
				t.Error("NoTLS server has a certificate")
			}
		})
	}
}

// TestProsodyNoSASL2: legacy-only Prosody.
func TestProsodyNoSASL2(t *testing.T) {
	t.Parallel()
	s := xmppdtest.Start(t, xmppd.Prosody, xmppd.Options{NoSASL2: true, Users: alice})
	c := dial(t, s.C2S)
	defer c.close()
	c.open(s.Domain, "alice@"+s.Domain)
	c.starttls(s.TLSConfig())
	if f := c.open(s.Domain, "alice@"+s.Domain); f.find(nsSASL2, "authentication") != nil || f.find(nsSASL, "mechanisms") == nil {
		t.Errorf("features: %s", f)
	}
	c.legacyLogin(s.Domain, "alice", "alice pass")
}

// TestProsodySQL: with SQL storage (SQLite), accounts registered at Start (five: registrations
// contend for SQLite's lock) and while running log
// in, the archive survives a Restart, and a MAM query is cut at MaxArchiveQueryResults (60 here,
// not Prosody's default 50).
func TestProsodySQL(t *testing.T) {
	t.Parallel()
	if err := xmppd.AvailableFor(xmppd.Prosody, xmppd.Options{SQL: true}); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	const limit, sent = 60, 70
	s := xmppdtest.Start(t, xmppd.Prosody, xmppd.Options{SQL: true, MaxArchiveQueryResults: limit, GC: "generational", Users: map[string]string{"alice": "alice pass", "bob": "bob pass", "dave": "dave pass", "erin": "erin pass", "frank": "frank pass"}})
	cfg, err := os.ReadFile(filepath.Join(s.Dir, "prosody", "prosody.cfg.lua"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`storage = "sql"`, `gc = { mode = "generational" }`} {
		if !strings.Contains(string(cfg), want) {
			t.Fatalf("the config does not say %s:\n%s", want, cfg)
		}
	}
	if log, err := os.ReadFile(filepath.Join(s.Dir, "prosody", "prosody.log")); err != nil || strings.Contains(string(log), "Failed to apply GC configuration") {
		t.Fatalf("prosody.log (%v): the GC option was refused:\n%s", err, log)
	}
	if _, err := xmppd.Start(t.Context(), xmppd.Prosody, xmppd.Options{GC: "fast"}); err == nil || !strings.Contains(err.Error(), `GC "fast"`) {
		t.Errorf("Start with GC \"fast\": %v, want an error naming it", err)
	}
	if err := s.Register(t.Context(), "carol", "carol pass"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "prosody", "data", "prosody.sqlite")); err != nil {
		t.Fatalf("no SQLite database: %v", err)
	}
	c := dial(t, s.C2S)
	c.open(s.Domain, "")
	c.starttls(s.TLSConfig())
	c.open(s.Domain, "")
	c.legacyLogin(s.Domain, "alice", "alice pass")
	for i := range sent {
		c.send("<message type='chat' to='carol@%s' id='m%d'><body>%d</body></message>", s.Domain, i, i)
	}
	c.ping(s.Domain) // answered after the messages: they are archived
	c.close()
	if err := s.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	login(t, s, "carol", "carol pass")
	c = dial(t, s.C2S)
	defer c.close()
	c.open(s.Domain, "")
	c.starttls(s.TLSConfig())
	c.open(s.Domain, "")
	c.legacyLogin(s.Domain, "alice", "alice pass")
	c.send("<iq type='set' id='q1'><query xmlns='urn:xmpp:mam:2' queryid='q1'>"+
		"<set xmlns='http://jabber.org/protocol/rsm'><max>%d</max></set></query></iq>", 1000)
	results := 0
	for {
		n := c.next()
		if n.XMLName.Local == "message" && n.find("urn:xmpp:mam:2", "result") != nil {
			results++
			continue
		}
		if n.XMLName.Local == "iq" && n.attr("id") == "q1" {
			fin := n.find("urn:xmpp:mam:2", "fin")
			if n.attr("type") != "result" || fin == nil {
				t.Fatalf("MAM query: %s", n)
			}
			if count := n.childText("http://jabber.org/protocol/rsm", "count"); count != fmt.Sprint(sent) {
				t.Errorf("the archive counts %q messages, want %d", count, sent)
			}
			break
		}
	}
	if results != limit {
		t.Errorf("a query for 1000 got %d results, want MaxArchiveQueryResults = %d", results, limit)
	}
}

// TestCertNames: a certificate without the domain fails verification, and is still served.
func TestCertNames(t *testing.T) {
	t.Parallel()
	for _, kind := range []xmppd.Kind{xmppd.Prosody, xmppd.Ejabberd} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			s := xmppdtest.Start(t, kind, xmppd.Options{CertNames: []string{"other.example"}})
			c := dial(t, s.C2S)
			defer c.close()
			c.open(s.Domain, "")
			c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
			c.expect(nsTLS, "proceed")
			var herr x509.HostnameError
			if err := tls.Client(c.conn, s.TLSConfig()).Handshake(); !errors.As(err, &herr) {
				t.Errorf("handshake with ServerName %s: %v, want a hostname error", s.Domain, err)
			}
			cfg := s.TLSConfig()
			cfg.ServerName = "other.example"
			c2 := dial(t, s.C2S)
			defer c2.close()
			c2.open(s.Domain, "")
			c2.starttls(cfg)
		})
	}
}

// --- helpers -------------------------------------------------------------------------------

func login(t *testing.T, s *xmppd.Server, user, pass string) {
	t.Helper()
	c := dial(t, s.C2S)
	defer c.close()
	c.open(s.Domain, "")
	c.starttls(s.TLSConfig())
	c.open(s.Domain, "")
	c.legacyLogin(s.Domain, user, pass)
}

func checkDirectTLS(t *testing.T, s *xmppd.Server) {
	if s.DirectTLSAddr == "" {
		t.Fatal("no DirectTLSAddr")
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.DirectTLSAddr, s.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, conn: conn}
	defer c.close()
	if f := c.open(s.Domain, ""); f.find(nsSASL, "mechanisms") == nil {
		t.Errorf("direct TLS: no SASL: %s", f)
	}
}

// node is any XML element.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []node     `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (n *node) String() string {
	b, _ := xml.Marshal(n)
	return string(b)
}

func (n *node) attr(local string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// find returns the first descendant (depth first) named {space}local.
func (n *node) find(space, local string) *node {
	for i := range n.Nodes {
		c := &n.Nodes[i]
		if c.XMLName.Space == space && c.XMLName.Local == local {
			return c
		}
		if d := c.find(space, local); d != nil {
			return d
		}
	}
	return nil
}

func (n *node) childText(space, local string) string {
	if c := n.find(space, local); c != nil {
		return c.Text
	}
	return ""
}

func (n *node) hasChildText(local, text string) bool {
	for _, c := range n.Nodes {
		if c.XMLName.Local == local && c.Text == text {
			return true
		}
	}
	return false
}

// client is a minimal raw-XML c2s client.
type client struct {
	t    testing.TB
	conn net.Conn
	dec  *xml.Decoder
	id   int
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, conn: conn}
}

func (c *client) close() {
	fmt.Fprint(c.conn, "</stream:stream>")
	c.conn.Close()
}

func (c *client) send(format string, args ...any) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c.conn, format, args...); err != nil {
		c.t.Fatal(err)
	}
}

// open (re)starts the stream with a fresh decoder and returns the stream features.
func (c *client) open(to, from string) *node {
	c.t.Helper()
	fromAttr := ""
	if from != "" {
		fromAttr = fmt.Sprintf(" from='%s'", from)
	}
	c.send("<?xml version='1.0'?><stream:stream to='%s'%s version='1.0' xml:lang='en' xmlns='jabber:client' xmlns:stream='%s'>", to, fromAttr, nsStream)
	c.dec = xml.NewDecoder(c.conn)
	for {
		tok := c.token()
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name != (xml.Name{Space: nsStream, Local: "stream"}) {
				c.t.Fatalf("want stream header, got %v", se.Name)
			}
			break
		}
	}
	return c.expect(nsStream, "features")
}

func (c *client) token() xml.Token {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	tok, err := c.dec.Token()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return tok
}

// next returns the next top-level element.
func (c *client) next() *node {
	c.t.Helper()
	for {
		if se, ok := c.token().(xml.StartElement); ok {
			var n node
			if err := c.dec.DecodeElement(&n, &se); err != nil {
				c.t.Fatalf("decode %v: %v", se.Name, err)
			}
			return &n
		}
	}
}

func (c *client) expect(space, local string) *node {
	c.t.Helper()
	n := c.next()
	if n.XMLName.Space != space || n.XMLName.Local != local {
		c.t.Fatalf("want {%s}%s, got %s", space, local, n)
	}
	return n
}

func (c *client) starttls(cfg *tls.Config) {
	c.t.Helper()
	c.send("<starttls xmlns='%s'/>", nsTLS)
	c.expect(nsTLS, "proceed")
	tc := tls.Client(c.conn, cfg)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	c.conn = tc
}

// legacyLogin does RFC 6120 SASL PLAIN, stream restart and resource binding.
func (c *client) legacyLogin(domain, user, pass string) {
	c.t.Helper()
	c.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>", nsSASL, b64("\x00"+user+"\x00"+pass))
	c.expect(nsSASL, "success")
	if f := c.open(domain, ""); f.find(nsBind, "bind") == nil {
		c.t.Fatalf("no bind feature: %s", f)
	}
	c.send("<iq type='set' id='bind1'><bind xmlns='%s'><resource>waxwing</resource></bind></iq>", nsBind)
	iq := c.expect("jabber:client", "iq")
	if jid := iq.childText(nsBind, "jid"); iq.attr("type") != "result" || jid != user+"@"+domain+"/waxwing" {
		c.t.Fatalf("bind: %s", iq)
	}
	c.ping(domain)
}

func (c *client) ping(domain string) {
	c.t.Helper()
	c.id++
	id := fmt.Sprintf("ping%d", c.id)
	c.send("<iq type='get' id='%s' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>", id, domain)
	for {
		n := c.next()
		if n.XMLName.Local == "iq" && n.attr("id") == id {
			if n.attr("type") != "result" {
				c.t.Fatalf("ping: %s", n)
			}
			return
		}
	}
}

// wsFeatures opens the server's own WebSocket endpoint (RFC 7395) and returns the raw features
// frame.
func wsFeatures(t *testing.T, s *xmppd.Server, from string) string {
	t.Helper()
	u, err := url.Parse(s.WebSocketURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	key := make([]byte, 16)
	rand.Read(key)
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n",
		u.Path, u.Host, base64.StdEncoding.EncodeToString(key))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("websocket upgrade: %s", resp.Status)
	}
	if from != "" {
		from = " from='" + from + "'"
	}
	wsWrite(t, conn, fmt.Sprintf("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='%s'%s version='1.0'/>", s.Domain, from))
	for {
		f := wsRead(t, br)
		if strings.Contains(f, "features") {
			return f
		}
	}
}

func wsWrite(t *testing.T, w io.Writer, text string) {
	mask := make([]byte, 4)
	rand.Read(mask)
	hdr := []byte{0x81}
	switch n := len(text); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	default:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	}
	payload := []byte(text)
	for i := range payload {
		payload[i] ^= mask[i%4]
	}
	if _, err := w.Write(append(append(hdr, mask...), payload...)); err != nil {
		t.Fatal(err)
	}
}

func wsRead(t *testing.T, r io.Reader) string {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		t.Fatal(err)
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		io.ReadFull(r, b[:])
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		io.ReadFull(r, b[:])
		n = binary.BigEndian.Uint64(b[:])
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatal(err)
	}
	if h[0]&0x0f == 8 {
		t.Fatalf("websocket closed: %q", p)
	}
	return string(p)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func hmacSHA256(key, msg string) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return m.Sum(nil)
}
