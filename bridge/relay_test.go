//go:build !js

package bridge

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestRelayFraming(t *testing.T) {
	t.Parallel()
	f := newFakeUpstream(t, withFeatures("<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>"))
	b := startBridge(t, f, nil)
	br := b.dial(t)
	br.send("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='" + testDomain + "' from='alice@" + testDomain + "' version='1.0' xml:lang='de'/>")
	fc := f.conn(t)

	// The browser's <open/> became the stream header, with its attributes.
	if want := "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='" + testDomain + "' from='alice@" + testDomain + "' version='1.0' xml:lang='de'>"; fc.header != want {
		t.Fatalf("upstream header %q\nwant %q", fc.header, want)
	}
	// The server's header became <open/>; the features carry their
	// namespaces, and <starttls/> is hidden.
	br.expect("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='" + testDomain + "' id='s1' version='1.0' xml:lang='en'/>")
	br.expect("<stream:features xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>")

	// Stanzas pass through unchanged, but for inherited declarations.
	stanza := "<message xmlns='jabber:client' to='bob@" + testDomain + "' id='a&amp;b'><body>h&#xE9;llo &lt;3</body></message>"
	br.send(stanza)
	fc.expect(t, stanza)
	fc.send(t, "<message from='bob@"+testDomain+"/r' id=\"1\"><body>hi\n  there</body></message>")
	br.expect("<message xmlns='jabber:client' from='bob@" + testDomain + "/r' id=\"1\"><body>hi\n  there</body></message>")
	// A prefix inherited from the header is declared where it is used.
	fc.send(t, "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>")
	br.expect("<stream:error xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>")

	// An element split over three messages is reassembled; two elements
	// in one message are both forwarded.
	br.send("<iq type='get' id='p1'>")
	br.send("<ping xmlns='urn:xmpp:ping'")
	br.send("/></iq><r xmlns='urn:xmpp:sm:3'/>")
	fc.expect(t, "<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
	fc.expect(t, "<r xmlns='urn:xmpp:sm:3'/>")
}

func TestRelayStreamRestart(t *testing.T) {
	t.Parallel()
	f := newFakeUpstream(t)
	b := startBridge(t, f, nil)
	br, fc := b.opened(t, f)
	br.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHB3</auth>")
	fc.expect(t, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHB3</auth>")
	fc.send(t, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
	br.expect("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
	if !waitFor(func() bool { return b.srv.Relays() == 1 }) {
		t.Fatal("relay gone")
	}
	br.send(openFrame)
	fc.sc.Restart()
	tok, err := fc.next()
	if err != nil || string(tok.Raw) != "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='"+testDomain+"' version='1.0'>" {
		t.Fatalf("restart header %q, %v", tok.Raw, err)
	}
	fc.send(t, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='"+testDomain+"' id='s2' version='1.0'><stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>")
	br.expect("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='" + testDomain + "' id='s2' version='1.0'/>")
	br.expect("<stream:features xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>")
}

// bigBody returns a message of about n bytes with escapes and non-ASCII text.
func bigBody(n int) string {
	unit := "Grüße, 世界! 😀 &lt;&amp;&gt; &quot;q&quot; 0123456789 "
	var b strings.Builder
	b.WriteString("<message xmlns='jabber:client' to='bob@" + testDomain + "' id='big'><body>")
	for b.Len() < n {
		b.WriteString(unit)
	}
	b.WriteString("</body></message>")
	return b.String()
}

func TestRelayLargeStanzasByteIdentical(t *testing.T) {
	t.Parallel()
	for _, size := range []int{10 << 10, 200 << 10} {
		f := newFakeUpstream(t)
		b := startBridge(t, f, nil)
		br, fc := b.opened(t, f)
		s := bigBody(size)
		br.send(s)
		fc.expect(t, s)
		fc.send(t, s)
		br.expect(s)
	}
}

func TestRelayContinuationFrames(t *testing.T) {
	t.Parallel()
	f := newFakeUpstream(t)
	b := startBridge(t, f, nil)
	br, fc := b.opened(t, f)
	// One message sent as several frames, as Chromium does above ~64 KiB.
	s := bigBody(150 << 10)
	w, err := br.ws.Writer(context.Background(), websocket.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(s); i += 40000 {
		end := min(i+40000, len(s))
		if _, err := w.Write([]byte(s[i:end])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fc.expect(t, s)
}

func TestRelayClose(t *testing.T) {
	t.Parallel()
	t.Run("browser close reaches the server, the server's close the browser", func(t *testing.T) {
		t.Parallel()
		f := newFakeUpstream(t)
		b := startBridge(t, f, nil)
		br, fc := b.opened(t, f)
		br.send("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")
		_ = fc.conn.SetReadDeadline(time.Now().Add(time.Second))
		tok, err := fc.next()
		if err != nil || string(tok.Raw) != "</stream:stream>" {
			t.Fatalf("upstream got %q, %v; want </stream:stream>", tok.Raw, err)
		}
		fc.send(t, "</stream:stream>")
		br.expect("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")
		if code := br.expectClosed(time.Second); code != websocket.StatusNormalClosure {
			t.Fatalf("close code %v", code)
		}
	})
	t.Run("upstream drop closes the browser socket within a second", func(t *testing.T) {
		t.Parallel()
		f := newFakeUpstream(t)
		b := startBridge(t, f, nil)
		br, fc := b.opened(t, f)
		fc.conn.Close()
		if code := br.expectClosed(time.Second); code != websocket.StatusBadGateway {
			t.Fatalf("close code %v, want %v", code, websocket.StatusBadGateway)
		}
	})
	t.Run("browser drop drops the upstream within a second, without </stream:stream>", func(t *testing.T) {
		t.Parallel()
		f := newFakeUpstream(t)
		b := startBridge(t, f, nil)
		br, fc := b.opened(t, f)
		br.ws.CloseNow()
		_ = fc.conn.SetReadDeadline(time.Now().Add(time.Second))
		rest, err := io.ReadAll(fc.conn)
		if err != nil {
			t.Fatalf("upstream not closed within a second: %v", err)
		}
		if len(rest) != 0 {
			t.Fatalf("upstream got %q after the browser vanished; want nothing", rest)
		}
	})
}

func TestRelayShutdownKeepsSessionsResumable(t *testing.T) {
	t.Parallel()
	f := newFakeUpstream(t)
	b := startBridge(t, f, nil)
	br, fc := b.opened(t, f)
	b.cancel()
	if code := br.expectClosed(2 * time.Second); code != websocket.StatusGoingAway {
		t.Fatalf("close code %v, want going away", code)
	}
	_ = fc.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	rest, err := io.ReadAll(fc.conn)
	if err != nil {
		t.Fatalf("upstream not closed: %v", err)
	}
	if len(rest) != 0 {
		t.Fatalf("upstream got %q at shutdown; want the stream left open", rest)
	}
	fc.conn.Close() // as a server does at the end of the stream: the relay waits for it (closeUp)
	select {
	case err := <-b.done:
		if err != nil {
			t.Fatal(err)
		}
		b.done <- nil
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

// TestRelaySecurity checks the answer to each hostile input, and that no
// upstream connection is made where none should be.
func TestRelaySecurity(t *testing.T) {
	t.Parallel()
	streamErr := func(cond string) string {
		return "<stream:error xmlns:stream='http://etherx.jabber.org/streams'><" + cond + " xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
	}
	tests := []struct {
		name      string
		send      []string // after <open/> unless noOpen
		noOpen    bool
		wantErr   string
		wantDials int32
		wantClose websocket.StatusCode
	}{
		{"wrong to", []string{"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='evil.example' version='1.0'/>"}, true, streamErr("host-unknown"), 0, websocket.StatusPolicyViolation},
		{"to missing", []string{"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0'/>"}, true, streamErr("host-unknown"), 0, websocket.StatusPolicyViolation},
		{"stanza before open", []string{"<message to='x'/>"}, true, streamErr("not-well-formed"), 0, websocket.StatusProtocolError},
		{"legacy stream header", []string{"<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='" + testDomain + "'></stream:stream>"}, true, streamErr("unsupported-stanza-type"), 0, websocket.StatusProtocolError},
		{"doctype before open", []string{`<!DOCTYPE x [<!ENTITY a "b">]>`}, true, streamErr("restricted-xml"), 0, websocket.StatusProtocolError},
		{"doctype", []string{`<!DOCTYPE x [<!ENTITY a "b">]><message/>`}, false, streamErr("restricted-xml"), 1, websocket.StatusProtocolError},
		{"entity", []string{`<message><body>&xxe;</body></message>`}, false, streamErr("restricted-xml"), 1, websocket.StatusProtocolError},
		{"comment", []string{`<message><!-- x --></message>`}, false, streamErr("restricted-xml"), 1, websocket.StatusProtocolError},
		{"processing instruction", []string{`<message><?x y?></message>`}, false, streamErr("restricted-xml"), 1, websocket.StatusProtocolError},
		{"oversized", []string{bigBody(300 << 10)}, false, streamErr("policy-violation"), 1, websocket.StatusPolicyViolation},
		{"100000 deep", []string{strings.Repeat("<a>", 100000)}, false, streamErr("policy-violation"), 1, websocket.StatusPolicyViolation},
		{"not well-formed", []string{"<message></iq>"}, false, streamErr("not-well-formed"), 1, websocket.StatusProtocolError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeUpstream(t)
			b := startBridge(t, f, nil)
			var br *browser
			var fc *fakeConn
			if tt.noOpen {
				br = b.dial(t)
			} else {
				br, fc = b.opened(t, f)
			}
			for _, s := range tt.send {
				br.send(s)
			}
			got, err := br.read(5 * time.Second)
			if err == nil && strings.HasPrefix(got, "<open") {
				got, err = br.read(5 * time.Second)
			}
			if err != nil || !strings.HasPrefix(got, tt.wantErr) {
				t.Fatalf("got %q, %v; want %q", got, err, tt.wantErr)
			}
			br.expect("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")
			if code := br.expectClosed(2 * time.Second); code != tt.wantClose {
				t.Errorf("close code %v, want %v", code, tt.wantClose)
			}
			if n := f.dials.Load(); n != tt.wantDials {
				t.Errorf("%d upstream dials, want %d", n, tt.wantDials)
			}
			if fc != nil {
				// Nothing of the offending element went upstream; the
				// session was ended cleanly.
				_ = fc.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
				rest, _ := io.ReadAll(fc.conn)
				if string(rest) != "</stream:stream>" {
					t.Errorf("upstream got %.100q, want only </stream:stream>", rest)
				}
			}
		})
	}
}

func TestRelayStanzaLimitFromServer(t *testing.T) {
	t.Parallel()
	// XEP-0478: the server's advertised limit lowers the bridge's.
	f := newFakeUpstream(t, withFeatures("<stream:features><limits xmlns='urn:xmpp:stream-limits:0'><max-bytes>20000</max-bytes><idle-seconds>840</idle-seconds></limits></stream:features>"))
	b := startBridge(t, f, nil)
	br := b.dial(t)
	br.send(openFrame)
	fc := f.conn(t)
	br.expectContains("<open ")
	br.expectContains("<max-bytes>20000</max-bytes>")
	small := bigBody(15000)
	br.send(small)
	fc.expect(t, small)
	br.send(bigBody(25000))
	br.expectContains("<policy-violation ")
}

func TestRelayUpstreamTLS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    []fakeOpt
		wantApp string // application-specific condition, "" for success
	}{
		{"starttls, valid certificate", nil, ""},
		{"direct TLS", []fakeOpt{withDirectTLS}, ""},
		{"no STARTTLS offered", []fakeOpt{withNoTLS}, "upstream-no-tls"},
		{"certificate for another name", []fakeOpt{withCertNames("other.example")}, "upstream-tls-failed"},
		{"direct TLS, certificate for another name", []fakeOpt{withDirectTLS, withCertNames("other.example")}, "upstream-tls-failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeUpstream(t, tt.opts...)
			b := startBridge(t, f, nil)
			br := b.dial(t)
			br.send(openFrame)
			if tt.wantApp == "" {
				f.conn(t)
				br.expectContains("<open ")
				br.expectContains("<stream:features ")
				return
			}
			br.expectContains("<open ")
			br.expectContains("<remote-connection-failed ", "<"+tt.wantApp+" xmlns='urn:waxwing:bridge:0'/>")
			br.expect("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")
			br.expectClosed(2 * time.Second)
		})
	}
	t.Run("nothing but the header goes out in plaintext", func(t *testing.T) {
		t.Parallel()
		f := newFakeUpstream(t, withNoTLS)
		b := startBridge(t, f, nil)
		br := b.dial(t)
		br.send("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='" + testDomain + "' from='alice@" + testDomain + "' version='1.0'/>")
		br.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>c2VjcmV0</auth>")
		br.expectContains("<open ")
		br.expectContains("<upstream-no-tls ")
		select {
		case rest := <-f.plain:
			if len(rest) != 0 {
				t.Fatalf("bridge sent %q over a connection without TLS", rest)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("upstream connection not closed")
		}
	})
}

func TestRelayUpstreamUnreachable(t *testing.T) {
	t.Parallel()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	b := startBridge(t, nil, func(c *Config) { c.Upstream = addr; c.DialTimeout = time.Second })
	br := b.dial(t)
	br.send(openFrame)
	br.expectContains("<open ")
	br.expectContains("<remote-connection-failed ", "<upstream-unreachable ")
}

func TestRelayOrigin(t *testing.T) {
	t.Parallel()
	f := newFakeUpstream(t)
	tests := []struct {
		name    string
		origins []string
		origin  func(b *testBridge) string
		want    int
	}{
		{"same origin", nil, func(b *testBridge) string { return b.origin }, http.StatusSwitchingProtocols},
		{"foreign origin", nil, func(*testBridge) string { return "https://evil.example" }, http.StatusForbidden},
		{"null origin", nil, func(*testBridge) string { return "null" }, http.StatusForbidden},
		{"configured origin", []string{"https://chat.example.test"}, func(*testBridge) string { return "https://chat.example.test" }, http.StatusSwitchingProtocols},
		{"configured, other", []string{"https://chat.example.test"}, func(b *testBridge) string { return b.origin }, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startBridge(t, f, func(c *Config) { c.Origins = tt.origins })
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			ws, resp, err := websocket.Dial(ctx, b.url, &websocket.DialOptions{
				Subprotocols: []string{"xmpp"},
				HTTPHeader:   http.Header{"Origin": {tt.origin(b)}},
			})
			if ws != nil {
				ws.CloseNow()
			}
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	if n := f.dials.Load(); n != 0 {
		t.Fatalf("%d upstream dials; an upgrade alone must not dial", n)
	}
}

func TestRelayPerIPCap(t *testing.T) {
	t.Parallel()
	f := newFakeUpstream(t)
	b := startBridge(t, f, func(c *Config) { c.MaxConnsPerIP = 2 })
	b.dial(t)
	second := b.dial(t)
	if !waitFor(func() bool { return b.srv.Relays() == 2 }) {
		t.Fatal("relays not counted")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, b.url, &websocket.DialOptions{Subprotocols: []string{"xmpp"}, HTTPHeader: http.Header{"Origin": {b.origin}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third connection: %v, %v; want 429", resp, err)
	}
	// A slot frees when a relay ends.
	second.ws.CloseNow()
	if !waitFor(func() bool { return b.srv.Relays() == 1 }) {
		t.Fatal("relay not released")
	}
	b.dial(t)
}

func TestRelayBinaryAndSubprotocol(t *testing.T) {
	t.Parallel()
	f := newFakeUpstream(t)
	b := startBridge(t, f, nil)
	br := b.dial(t)
	if err := br.ws.Write(context.Background(), websocket.MessageBinary, []byte("<open/>")); err != nil {
		t.Fatal(err)
	}
	if code := br.expectClosed(2 * time.Second); code != websocket.StatusUnsupportedData {
		t.Fatalf("close code %v, want 1003", code)
	}
	// Without the xmpp subprotocol the upgrade is refused by a close.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, b.url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {b.origin}}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = ws.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusProtocolError {
		t.Fatalf("without subprotocol: %v", err)
	}
}

func TestRelayTimeouts(t *testing.T) {
	t.Parallel()
	t.Run("idle client is closed at the pre-auth deadline", func(t *testing.T) {
		t.Parallel()
		f := newFakeUpstream(t)
		b := startBridge(t, f, func(c *Config) { c.PreauthTimeout = time.Second })
		br := b.dial(t)
		br.expectContains("<open ")
		br.expectContains("<connection-timeout ")
		br.expectClosed(2 * time.Second)
		if f.dials.Load() != 0 {
			t.Fatal("dialled upstream for a client that never opened a stream")
		}
	})
	t.Run("authenticated client is not", func(t *testing.T) {
		t.Parallel()
		f := newFakeUpstream(t)
		b := startBridge(t, f, func(c *Config) { c.PreauthTimeout = time.Second })
		br, fc := b.opened(t, f)
		fc.send(t, "<success xmlns='urn:xmpp:sasl:2'><authorization-identifier>a@example.test/r</authorization-identifier></success>")
		br.expectContains("<success ")
		time.Sleep(1500 * time.Millisecond)
		br.send("<r xmlns='urn:xmpp:sm:3'/>")
		fc.expect(t, "<r xmlns='urn:xmpp:sm:3'/>")
	})
	t.Run("slow headers are cut by ReadHeaderTimeout", func(t *testing.T) {
		t.Parallel()
		b := startBridge(t, nil, func(c *Config) { c.Upstream = "127.0.0.1:1"; c.ReadHeaderTimeout = time.Second })
		c, err := net.Dial("tcp", b.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		start := time.Now()
		_, err = io.ReadAll(c)
		if err != nil {
			t.Fatalf("connection not closed: %v", err)
		}
		if d := time.Since(start); d > 2500*time.Millisecond {
			t.Fatalf("closed after %v", d)
		}
	})
	t.Run("unanswered pings close the relay", func(t *testing.T) {
		t.Parallel()
		f := newFakeUpstream(t)
		b := startBridge(t, f, func(c *Config) { c.PingInterval = 300 * time.Millisecond })
		// A raw TCP client that completes the upgrade and then never reads:
		// pongs never come.
		c, err := net.Dial("tcp", b.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET "+PathWebSocket+" HTTP/1.1\r\nHost: "+b.addr+"\r\nOrigin: "+b.origin+
			"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n")
		if !waitFor(func() bool { return b.srv.Relays() == 1 }) {
			t.Fatal("relay did not start")
		}
		if !waitFor(func() bool { return b.srv.Relays() == 0 }) {
			t.Fatal("relay still open although pings go unanswered")
		}
		if !strings.Contains(b.logs.String(), "did not answer a ping") {
			t.Fatalf("log: %s", b.logs.String())
		}
	})
}

func TestRelayLogsNoContent(t *testing.T) {
	t.Parallel()
	f := newFakeUpstream(t)
	b := startBridge(t, f, nil)
	br, fc := b.opened(t, f)
	br.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldHB3</auth>")
	fc.expect(t, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldHB3</auth>")
	br.send("<message to='bob@example.test'><body>top secret body</body></message>")
	fc.expect(t, "<message to='bob@example.test'><body>top secret body</body></message>")
	br.send("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")
	fc.expect(t, "</stream:stream>")
	fc.send(t, "</stream:stream>")
	br.expectClosed(2 * time.Second)
	if !waitFor(func() bool { return strings.Contains(b.logs.String(), "relay closed") }) {
		t.Fatal("no close line")
	}
	logs := b.logs.String()
	for _, secret := range []string{"AGFsaWNlAHNlY3JldHB3", "top secret", "bob@example.test"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q:\n%s", secret, logs)
		}
	}
	for _, want := range []string{"relay open", "relay closed", "bytes_from_browser=", "bytes_to_browser=", "duration="} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

func waitFor(cond func() bool) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}

// TestRelayOneByteRecord: a stanza whose last byte comes in a TLS record of
// its own, with nothing after it, still reaches the browser at once.
func TestRelayOneByteRecord(t *testing.T) {
	t.Parallel()
	f := newFakeUpstream(t)
	b := startBridge(t, f, nil)
	br, fc := b.opened(t, f)
	fc.send(t, "<message id='x'><body>a</body></message")
	time.Sleep(50 * time.Millisecond)
	fc.send(t, ">") // one TLS record holding one byte
	br.expect("<message xmlns='jabber:client' id='x'><body>a</body></message>")
}
