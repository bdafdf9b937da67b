//go:build !js

package bridge_test

// Integration tests: a real `waxwing serve` (in-process) between mellium
// clients on xmppws and real Prosody 0.12 / ejabberd 23.01 servers started by
// internal/xmppd. Without a server installed they skip (fail under CI).

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/history"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/ping"
	"mellium.im/xmpp/stanza"

	"github.com/waxwing-im/waxwing/bridge"
	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/internal/xmppd/xmppdtest"
	"github.com/waxwing-im/waxwing/wasm/xmppws"
)

// Generous bounds: ejabberd starts in 2–3 s and SCRAM costs a PBKDF2.
const (
	itStepTimeout  = 20 * time.Second
	itCloseWithin  = time.Second // the close-propagation bound under test
	itStanzaBudget = 250_000     // stay below Prosody's and ejabberd's 256 KiB stanza limit
)

var itUsers = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "henry", "ivan", "judy", "kate", "leo"}

func itPassword(user string) string { return "pw-" + user + "-ü" }

func TestIntegrationBridge(t *testing.T) {
	t.Parallel()
	for _, kind := range []xmppd.Kind{xmppd.Prosody, xmppd.Ejabberd} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			accounts := map[string]string{}
			for _, u := range itUsers {
				accounts[u] = itPassword(u)
			}
			t0 := time.Now()
			srv := xmppdtest.Start(t, kind, xmppd.Options{Users: accounts})
			t.Logf("%s up with %d accounts in %v", kind, len(accounts), time.Since(t0).Round(time.Millisecond))
			br := itStartBridge(t, srv)

			t.Run("live", func(t *testing.T) {
				t.Run("LoginMessagesMAM", func(t *testing.T) { t.Parallel(); itMessagesMAM(t, srv, br) })
				t.Run("LargeStanzas", func(t *testing.T) { t.Parallel(); itLargeStanzas(t, srv, br) })
				t.Run("CloseByClient", func(t *testing.T) { t.Parallel(); itCloseByClient(t, srv, br) })
				t.Run("BrowserDrop", func(t *testing.T) { t.Parallel(); itBrowserDrop(t, srv, br) })
			})
			// Last: it kills the server.
			t.Run("ServerKilled", func(t *testing.T) { itServerKilled(t, srv, br) })
		})
	}
}

// itMessagesMAM: SCRAM itLogin + bind through the bridge (the classic SASL
// path, so the stream restart after <success/> is exercised), messages both
// ways, then a XEP-0313 query that returns them.
func itMessagesMAM(t *testing.T, srv *xmppd.Server, br *itBridge) {
	ctx := itContext(t)
	alice := itLogin(ctx, t, srv, br, "alice")
	bob := itLogin(ctx, t, srv, br, "bob")

	var sent []string
	for i := range 3 {
		for _, dir := range []struct{ from, to *itClient }{{alice, bob}, {bob, alice}} {
			id := fmt.Sprintf("m%d-%s", i, dir.from.user)
			body := fmt.Sprintf("%s → %s #%d: Grüße <&> \"quoted\" 'apos' 😀", dir.from.user, dir.to.user, i)
			dir.from.send(ctx, t, dir.to.addr.Bare(), id, body)
			if got := dir.to.waitMessage(t, id).body(); got != body {
				t.Fatalf("%s got body %q, want %q", dir.to.user, got, body)
			}
			sent = append(sent, body)
		}
	}

	t0 := time.Now()
	res, err := history.Fetch(ctx, history.Query{With: bob.addr.Bare(), Limit: 50}, jid.JID{}, alice.sess)
	if err != nil {
		t.Fatalf("MAM query: %v", err)
	}
	archived := map[string]bool{}
	for _, r := range alice.archive() {
		archived[r.Forwarded.Message.Body] = true
	}
	for _, b := range sent {
		if !archived[b] {
			t.Errorf("MAM result lacks %q (got %d results, complete=%v)", b, len(archived), res.Complete)
		}
	}
	t.Logf("MAM: %d results in %v, complete=%v", len(alice.archive()), time.Since(t0).Round(time.Millisecond), res.Complete)
}

// itLargeStanzas: bodies that need several 4 KiB writes arrive intact both
// ways through two relays.
func itLargeStanzas(t *testing.T, srv *xmppd.Server, br *itBridge) {
	ctx := itContext(t)
	carol := itLogin(ctx, t, srv, br, "carol")
	dave := itLogin(ctx, t, srv, br, "dave")
	for _, tc := range []struct {
		name string
		size int
	}{
		{"10KiB", 10 << 10},
		{"200KiB", 200 << 10},
	} {
		body := itLargeBody(tc.size)
		for _, dir := range []struct{ from, to *itClient }{{carol, dave}, {dave, carol}} {
			id := "big-" + tc.name + "-" + dir.from.user
			wire, err := xml.Marshal(itChatMessage{Message: stanza.Message{ID: id, To: dir.to.addr.Bare(), Type: stanza.ChatMessage}, Body: body})
			if err != nil {
				t.Fatal(err)
			}
			if len(wire) >= itStanzaBudget {
				t.Fatalf("%s stanza is %d bytes; the servers' limit is 256 KiB", tc.name, len(wire))
			}
			t0 := time.Now()
			dir.from.send(ctx, t, dir.to.addr.Bare(), id, body)
			got := dir.to.waitMessage(t, id).body()
			if got != body {
				t.Fatalf("%s %s→%s: body of %d bytes differs from the %d sent (first difference at byte %d)",
					tc.name, dir.from.user, dir.to.user, len(got), len(body), itFirstDiff(got, body))
			}
			t.Logf("%s %s→%s: %d-byte body (%d-byte stanza) intact in %v", tc.name, dir.from.user, dir.to.user,
				len(body), len(wire), time.Since(t0).Round(time.Millisecond))
		}
	}
}

// itCloseByClient: mellium's Session.Close sends <close/> (translated by
// xmppws); the server answers </stream:stream>, which the bridge turns into
// <close/> and then a WebSocket close.
func itCloseByClient(t *testing.T, srv *xmppd.Server, br *itBridge) {
	ctx := itContext(t)
	erin := itLogin(ctx, t, srv, br, "erin")
	t0 := time.Now()
	if err := erin.sess.Close(); err != nil {
		t.Fatalf("Session.Close: %v", err)
	}
	end := erin.waitServe(t, itStepTimeout)
	if end.err != nil {
		t.Fatalf("Serve ended with %v; want nil (the server's <close/> reads as EOF)", end.err)
	}
	select {
	case <-erin.conn.Done():
	case <-time.After(itCloseWithin):
		t.Fatalf("WebSocket still open %v after the server's <close/>", itCloseWithin)
	}
	wsClosed := time.Now()
	if cs := websocket.CloseStatus(erin.conn.Err()); cs != websocket.StatusNormalClosure {
		t.Errorf("WebSocket closed with %v (%v), want 1000", cs, erin.conn.Err())
	}
	t.Logf("close: <close/> back after %v, WebSocket closed %v later",
		end.at.Sub(t0).Round(time.Millisecond), wsClosed.Sub(end.at).Round(time.Millisecond))
	br.logs.wait(t, itCloseWithin, "relay closed", "reason", "server closed the stream")
}

// itBrowserDrop: the browser vanishes without <close/> (a killed tab). The
// bridge must notice at once and drop its upstream leg without
// </stream:stream> (XEP-0198 §5): the server then ends a session without
// stream management at once, and hibernates one with it. A second user's
// ping to the dropped full JID tells which: an error reply means the session
// ended; no reply means the server holds the session and queues the ping.
// mellium v0.22.0 has no XEP-0198 client, so <enable/> is sent raw and
// <r/> is left unanswered (the test ends well before the servers' ack
// timeouts).
func itBrowserDrop(t *testing.T, srv *xmppd.Server, br *itBridge) {
	for _, tc := range []struct {
		name, user, peer string
		sm               bool
		closeStream      bool   // end with <close/> instead of dropping the WebSocket (the control)
		reason           string // of the bridge's "relay closed" log
		ended            bool   // the server ended the session (else it hibernated it)
	}{
		{"without SM: session ends", "frank", "grace", false, false, "browser connection closed", true},
		{"with SM: session hibernates", "ivan", "judy", true, false, "browser connection closed", false},
		{"control: with SM, <close/> ends it", "kate", "leo", true, true, "server closed the stream", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := itContext(t)
			own := itStartBridge(t, srv) // its only relay is the dropped one: its log is unambiguous
			gone := itLogin(ctx, t, srv, own, tc.user)
			peer := itLogin(ctx, t, srv, br, tc.peer)
			if tc.sm {
				gone.enableSM(ctx, t)
			}
			if err := itPing(ctx, peer, gone.addr); err != nil {
				t.Fatalf("ping to %s before the drop: %v", tc.user, err)
			}

			t0 := time.Now()
			if tc.closeStream {
				if err := gone.sess.Close(); err != nil {
					t.Fatalf("Session.Close: %v", err)
				}
			} else if err := gone.conn.CloseNow(); err != nil {
				t.Fatalf("CloseNow: %v", err)
			}
			rec := own.logs.wait(t, itCloseWithin, "relay closed", "reason", tc.reason)
			t.Logf("bridge logged %q %v after the drop (authenticated=%s)", rec["reason"],
				time.Since(t0).Round(time.Millisecond), rec["authenticated"])

			if tc.ended {
				// A ping that crosses the server's cleanup may be lost:
				// retry until the server answers for the ended session.
				deadline := time.Now().Add(5 * time.Second)
				for {
					pctx, cancel := context.WithTimeout(ctx, time.Second)
					err := itPing(pctx, peer, gone.addr)
					cancel()
					var se stanza.Error
					if errors.As(err, &se) {
						t.Logf("the server ended the session: ping answered with %s %v after the drop", se.Condition, time.Since(t0).Round(time.Millisecond))
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("ping to %s after the drop: %v; want an error reply (session ended)", tc.user, err)
					}
				}
			}
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := itPing(pctx, peer, gone.addr)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("ping to %s after the drop: %v; want no reply (session hibernated, ping queued)", tc.user, err)
			}
			t.Logf("the server hibernated the session: no reply to the ping for 2 s")
			// The proof: the session can be resumed (raw XML: mellium
			// cannot resume).
			itResume(ctx, t, srv, br, tc.user, gone.smID)
		})
	}
}

// itServerKilled: SIGKILL the server; the browser's WebSocket must fail
// promptly, not hang until a ping times out.
func itServerKilled(t *testing.T, srv *xmppd.Server, br *itBridge) {
	ctx := itContext(t)
	henry := itLogin(ctx, t, srv, br, "henry")
	t0 := time.Now()
	if err := srv.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	killed := time.Now()
	end := henry.waitServe(t, itCloseWithin)
	if end.err == nil {
		t.Errorf("Serve ended without error; want the read to fail")
	}
	select {
	case <-henry.conn.Done():
	case <-time.After(itCloseWithin - time.Since(killed)):
		t.Fatalf("WebSocket still open %v after the server was killed", itCloseWithin)
	}
	t.Logf("kill: Kill took %v; Serve failed %v after Kill was called (%v); WebSocket closed with %v",
		killed.Sub(t0).Round(time.Millisecond), end.at.Sub(t0).Round(time.Millisecond), end.err, websocket.CloseStatus(henry.conn.Err()))
	br.logs.wait(t, itCloseWithin, "relay closed", "reason", "server connection lost")
}

// --- the bridge -------------------------------------------------------------

type itBridge struct {
	url, origin string
	logs        *itLogRecorder
}

// itStartBridge runs `waxwing serve` for srv on a loopback port until t ends.
func itStartBridge(t *testing.T, srv *xmppd.Server) *itBridge {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := newITLogRecorder()
	serveBridge(t, bridge.Config{
		Domain:     srv.Domain,
		Upstream:   srv.C2S,
		UpstreamCA: srv.CACertFile,
		DataDir:    t.TempDir(),
		Listen:     "127.0.0.1:0",
	}, ln, slog.New(logs), logs.dump)
	addr := ln.Addr().String()
	return &itBridge{url: "ws://" + addr + bridge.PathWebSocket, origin: "http://" + addr, logs: logs}
}

// itLogRecorder is a slog.Handler that keeps every record with its attributes
// (those added by Logger.With included) as strings.
type itLogRecorder struct {
	mu   *sync.Mutex
	recs *[]map[string]string
	with []slog.Attr
}

func newITLogRecorder() *itLogRecorder {
	return &itLogRecorder{mu: new(sync.Mutex), recs: new([]map[string]string)}
}

func (l *itLogRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *itLogRecorder) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message, "level": r.Level.String()}
	for _, a := range l.with {
		m[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	l.mu.Lock()
	*l.recs = append(*l.recs, m)
	l.mu.Unlock()
	return nil
}

func (l *itLogRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	n := *l
	n.with = append(append([]slog.Attr(nil), l.with...), as...)
	return &n
}

func (l *itLogRecorder) WithGroup(string) slog.Handler { return l }

// wait returns the first record with message msg whose attribute key starts
// with prefix, waiting up to d.
func (l *itLogRecorder) wait(t *testing.T, d time.Duration, msg, key, prefix string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		l.mu.Lock()
		for _, r := range *l.recs {
			if r["msg"] == msg && strings.HasPrefix(r[key], prefix) {
				l.mu.Unlock()
				return r
			}
		}
		l.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no log %q with %s=%q… within %v", msg, key, prefix, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *itLogRecorder) dump() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, r := range *l.recs {
		fmt.Fprintln(&b, r)
	}
	return b.String()
}

// --- clients ----------------------------------------------------------------

type itClient struct {
	user string
	addr jid.JID // bound full JID
	conn *xmppws.Conn
	sess *xmpp.Session
	in   chan itStanza
	end  chan itServeEnd

	smEnabled chan itStanza
	available chan struct{} // the server echoed our initial presence
	smID      string        // XEP-0198 resumption id

	mu      sync.Mutex
	results []itMAMResult
	herr    error
}

type itServeEnd struct {
	err error
	at  time.Time
}

// itLogin connects user through the bridge, logs in and starts serving.
func itLogin(ctx context.Context, t *testing.T, srv *xmppd.Server, br *itBridge, user string) *itClient {
	t.Helper()
	t0 := time.Now()
	conn, err := xmppws.Dial(ctx, br.url, &xmppws.Options{HTTPHeader: http.Header{"Origin": {br.origin}}})
	if err != nil {
		t.Fatalf("%s: dial the bridge: %v", user, err)
	}
	addr := jid.MustParse(user + "@" + srv.Domain)
	sess, err := xmppws.NewSession(ctx, conn, addr, itPassword(user))
	if err != nil {
		conn.CloseNow()
		t.Fatalf("%s: login through the bridge: %v", user, err)
	}
	if st := sess.State(); st&xmpp.Authn == 0 || st&xmpp.Ready == 0 {
		t.Fatalf("%s: session state %v, want authenticated and ready", user, st)
	}
	c := &itClient{user: user, addr: sess.LocalAddr(), conn: conn, sess: sess, in: make(chan itStanza, 64), end: make(chan itServeEnd, 1), smEnabled: make(chan itStanza, 1), available: make(chan struct{}, 1)}
	if !c.addr.Bare().Equal(addr) || c.addr.Resourcepart() == "" {
		t.Fatalf("%s: bound %v, want %v/<resource>", user, c.addr, addr)
	}
	go func() {
		err := sess.Serve(xmpp.HandlerFunc(c.handle))
		c.end <- itServeEnd{err, time.Now()}
	}()
	// Initial presence: without it the server does not deliver messages
	// addressed to the bare JID (RFC 6121 §8.5.2). Wait for the server's
	// copy to this resource (§4.2.2), or a message sent by another session
	// may overtake it and go to offline storage.
	if err := sess.Send(ctx, stanza.Presence{}.Wrap(nil)); err != nil {
		t.Fatalf("%s: initial presence: %v", user, err)
	}
	select {
	case <-c.available:
	case <-time.After(itStepTimeout):
		t.Fatalf("%s: the server did not echo the initial presence within %v", user, itStepTimeout)
	}
	t.Logf("%s: logged in as %v through the bridge in %v", user, c.addr, time.Since(t0).Round(time.Millisecond))
	t.Cleanup(func() {
		c.mu.Lock()
		herr := c.herr
		c.mu.Unlock()
		if herr != nil {
			t.Errorf("%s: handler: %v", user, herr)
		}
		select {
		case <-conn.Done():
		default:
			_ = sess.Close()
			select {
			case <-c.end:
			case <-time.After(5 * time.Second):
			}
		}
		_ = conn.Close()
	})
	return c
}

// itStanza is any stanza, decoded as far as these tests need.
type itStanza struct {
	XMLName xml.Name
	ID      string       `xml:"id,attr"`
	Type    string       `xml:"type,attr"`
	From    string       `xml:"from,attr"`
	Body    *string      `xml:"body"`
	Ping    *struct{}    `xml:"urn:xmpp:ping ping"`
	Result  *itMAMResult `xml:"urn:xmpp:mam:2 result"`
	Resume  string       `xml:"resume,attr"` // <enabled/>
}

func (in itStanza) body() string {
	if in.Body == nil {
		return ""
	}
	return *in.Body
}

type itMAMResult struct {
	ID        string `xml:"id,attr"`
	Forwarded struct {
		Message struct {
			ID   string `xml:"id,attr"`
			From string `xml:"from,attr"`
			Body string `xml:"body"`
		} `xml:"message"`
	} `xml:"forwarded"`
}

// handle is the Serve handler. The token reader yields the element's
// children and end, not its start (browser-facts Q1): prepend it.
func (c *itClient) handle(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	var in itStanza
	if err := xml.NewTokenDecoder(xmlstream.MultiReader(xmlstream.Token(*start), t)).Decode(&in); err != nil {
		c.mu.Lock()
		c.herr = errors.Join(c.herr, fmt.Errorf("decode <%s>: %w", start.Name.Local, err))
		c.mu.Unlock()
		return nil
	}
	switch {
	case in.XMLName.Local == "iq" && in.Type == "get" && in.Ping != nil:
		to, _ := jid.Parse(in.From)
		_, err := xmlstream.Copy(t, stanza.IQ{ID: in.ID, To: to, Type: stanza.ResultIQ}.Wrap(nil))
		return err
	case in.XMLName == xml.Name{Space: nsSM, Local: "enabled"}:
		select {
		case c.smEnabled <- in:
		default:
		}
	case in.XMLName.Local == "presence" && in.Type == "" && in.From == c.addr.String():
		select {
		case c.available <- struct{}{}:
		default:
		}
	case in.XMLName.Local == "message" && in.Result != nil:
		c.mu.Lock()
		c.results = append(c.results, *in.Result)
		c.mu.Unlock()
	case in.XMLName.Local == "message":
		select {
		case c.in <- in:
		default:
		}
	}
	return nil
}

func (c *itClient) archive() []itMAMResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]itMAMResult(nil), c.results...)
}

const nsSM = "urn:xmpp:sm:3"

// enableSM enables XEP-0198 with resumption (raw: mellium has no client).
func (c *itClient) enableSM(ctx context.Context, t *testing.T) {
	t.Helper()
	enable := xml.StartElement{Name: xml.Name{Space: nsSM, Local: "enable"}, Attr: []xml.Attr{{Name: xml.Name{Local: "resume"}, Value: "true"}}}
	if err := c.sess.Send(ctx, xmlstream.Wrap(nil, enable)); err != nil {
		t.Fatalf("%s: <enable/>: %v", c.user, err)
	}
	select {
	case in := <-c.smEnabled:
		if in.Resume != "true" && in.Resume != "1" || in.ID == "" {
			t.Fatalf("%s: <enabled resume=%q id=%q/>; want resumption", c.user, in.Resume, in.ID)
		}
		c.smID = in.ID
	case <-time.After(itStepTimeout):
		t.Fatalf("%s: no <enabled/> within %v", c.user, itStepTimeout)
	}
}

// itResume logs in as user through the bridge with hand-written XML (SASL
// PLAIN, stream restart) and resumes the XEP-0198 session previd.
func itResume(ctx context.Context, t *testing.T, srv *xmppd.Server, br *itBridge, user, previd string) {
	t.Helper()
	conn, err := xmppws.Dial(ctx, br.url, &xmppws.Options{HTTPHeader: http.Header{"Origin": {br.origin}}})
	if err != nil {
		t.Fatalf("resume: dial: %v", err)
	}
	defer conn.CloseNow()
	_ = conn.SetDeadline(time.Now().Add(itStepTimeout))
	d := xml.NewDecoder(conn)
	send := func(s string) {
		t.Helper()
		if _, err := io.WriteString(conn, s); err != nil {
			t.Fatalf("resume: write: %v", err)
		}
	}
	next := func(want ...string) xml.StartElement {
		t.Helper()
		for {
			tok, err := d.Token()
			if err != nil {
				t.Fatalf("resume: waiting for %v: %v", want, err)
			}
			if se, ok := tok.(xml.StartElement); ok {
				if err := d.Skip(); err != nil {
					t.Fatalf("resume: %v", err)
				}
				for _, w := range want {
					if se.Name.Local == w {
						return se
					}
				}
				t.Fatalf("resume: got <%s xmlns=%q>, want one of %v", se.Name.Local, se.Name.Space, want)
			}
		}
	}
	open := `<open xmlns="` + xmppws.NSFraming + `" to="` + srv.Domain + `" version="1.0"/>`
	send(open)
	next("open")
	next("features")
	creds := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + itPassword(user)))
	send(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">` + creds + `</auth>`)
	next("success")
	send(open)
	next("open")
	next("features")
	send(`<resume xmlns="` + nsSM + `" h="0" previd="` + previd + `"/>`)
	if got := next("resumed", "failed"); got.Name.Local != "resumed" {
		t.Fatalf("resume: <%s/>; want <resumed/>: the session did not survive the drop", got.Name.Local)
	}
	t.Logf("resumed the session through a new relay")
	send(`</stream:stream>`) // xmppws sends <close/>
}

type itChatMessage struct {
	stanza.Message
	Body string `xml:"body"`
}

func (c *itClient) send(ctx context.Context, t *testing.T, to jid.JID, id, body string) {
	t.Helper()
	if err := c.sess.Encode(ctx, itChatMessage{Message: stanza.Message{ID: id, To: to, Type: stanza.ChatMessage}, Body: body}); err != nil {
		t.Fatalf("%s: send %s: %v", c.user, id, err)
	}
}

// waitMessage returns the message with the given id.
func (c *itClient) waitMessage(t *testing.T, id string) itStanza {
	t.Helper()
	timeout := time.After(itStepTimeout)
	for {
		select {
		case in := <-c.in:
			if in.ID == id {
				return in
			}
		case end := <-c.end:
			c.end <- end
			t.Fatalf("%s: session ended (%v) while waiting for %s", c.user, end.err, id)
		case <-timeout:
			t.Fatalf("%s: no message %s within %v", c.user, id, itStepTimeout)
		}
	}
}

func (c *itClient) waitServe(t *testing.T, d time.Duration) itServeEnd {
	t.Helper()
	select {
	case end := <-c.end:
		c.end <- end
		return end
	case <-time.After(d):
		t.Fatalf("%s: Serve still running after %v", c.user, d)
	}
	panic("unreachable")
}

// itPing sends a XEP-0199 ping and returns nil for a result, the
// stanza.Error for an error reply (ping.Send would hide service-unavailable).
func itPing(ctx context.Context, from *itClient, to jid.JID) error {
	return from.sess.UnmarshalIQ(ctx, ping.IQ{IQ: stanza.IQ{Type: stanza.GetIQ, To: to}}.TokenReader(), nil)
}

// --- helpers ----------------------------------------------------------------

func itContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// itLargeBody returns n bytes of valid UTF-8 text with 2-, 3- and 4-byte runes
// and characters that must be escaped (<, &, >, quotes).
func itLargeBody(n int) string {
	const unit = "Grüße, 世界! 😀 a<b & c 0123456789 "
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(unit)
	}
	s := b.String()[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func itFirstDiff(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
