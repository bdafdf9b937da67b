package xmppws_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/waxwing-im/waxwing/wasm/frame"
	"github.com/waxwing-im/waxwing/wasm/xmppws"
)

// peer is the server end of one test connection.
type peer struct {
	t  *testing.T
	ws *websocket.Conn
}

// dial starts an httptest server that accepts one WebSocket with the given
// subprotocols and returns the client Conn (or the Dial error) and the
// server end.
func dial(t *testing.T, subprotocols ...string) (*xmppws.Conn, *peer, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	conns := make(chan *websocket.Conn, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: subprotocols})
		if err != nil {
			return
		}
		ws.SetReadLimit(-1)
		conns <- ws
		<-release
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c, err := xmppws.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/xmpp-websocket", &xmppws.Options{
		HTTPHeader: http.Header{"Origin": {srv.URL}},
	})
	var p *peer
	select {
	case ws := <-conns:
		p = &peer{t: t, ws: ws}
		t.Cleanup(func() { _ = ws.CloseNow() })
	case <-ctx.Done():
		t.Fatal("server never accepted")
	}
	if c != nil {
		t.Cleanup(func() { _ = c.CloseNow() })
	}
	return c, p, err
}

// recv reads one message, or reports ok=false after wait.
func (p *peer) recv(wait time.Duration) (string, bool) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	typ, b, err := p.ws.Read(ctx)
	if err != nil {
		return "", false
	}
	if typ != websocket.MessageText {
		p.t.Errorf("message type %v, want text", typ)
	}
	return string(b), true
}

// send writes one message; it may run on a goroutine of its own, so it
// reports failures with Errorf.
func (p *peer) send(msg string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		p.t.Errorf("server write: %v", err)
	}
}

// bigMessage returns a <message/> of at least n bytes whose body has
// multi-byte UTF-8 (split by 4096-byte writes at arbitrary points) and
// escapes.
func bigMessage(n int) string {
	const unit = "Grüße, 世界! 😀 &lt;&amp;&gt; &#34;q&#34; 0123456789 "
	head := `<message xmlns="jabber:client" to="bob@localhost" id="m1" type="chat"><body>`
	tail := `</body></message>`
	var b strings.Builder
	b.WriteString(head)
	for b.Len() < n-len(tail) {
		b.WriteString(unit)
	}
	b.WriteString(tail)
	return b.String()
}

// viaBufio writes each piece through one 4096-byte bufio.Writer, flushing
// after each, as encoding/xml (and so mellium) does.
func viaBufio(pieces ...string) func(io.Writer) error {
	return func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 4096)
		for _, p := range pieces {
			if _, err := bw.WriteString(p); err != nil {
				return err
			}
			if err := bw.Flush(); err != nil {
				return err
			}
		}
		return nil
	}
}

// writes calls Write once per piece.
func writes(pieces ...string) func(io.Writer) error {
	return func(w io.Writer) error {
		for _, p := range pieces {
			n, err := w.Write([]byte(p))
			if err != nil {
				return err
			}
			if n != len(p) {
				return io.ErrShortWrite
			}
		}
		return nil
	}
}

func TestWriteOneMessagePerElement(t *testing.T) {
	t.Parallel()
	m10k, m200k := bigMessage(10<<10), bigMessage(200<<10)
	const open = `<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" version='1.0' to='localhost' xml:lang='en'/>`
	const closeEl = `<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>`
	for _, tc := range []struct {
		name  string
		write func(io.Writer) error
		want  []string
	}{
		{"10KiB element through a 4096-byte bufio", viaBufio(m10k), []string{m10k}},
		{"200KiB element through a 4096-byte bufio", viaBufio(m200k), []string{m200k}},
		{"two elements in one Write", writes(open + `<presence/>`), []string{open, `<presence/>`}},
		{"element split over three Writes", writes(`<message><bo`, `dy>h&amp;i</body`, `></message>`), []string{`<message><body>h&amp;i</body></message>`}},
		{"split inside a multi-byte rune", writes("<a>\xe4\xb8", "\x96</a>"), []string{"<a>世</a>"}},
		{"whitespace between elements dropped", writes(" \n<a/>\n\t ", "  <b/>  "), []string{`<a/>`, `<b/>`}},
		{"element then whitespace then element over bufio", viaBufio(m10k + "\n" + `<r xmlns='urn:xmpp:sm:3'/>`), []string{m10k, `<r xmlns='urn:xmpp:sm:3'/>`}},
		{"</stream:stream> becomes <close/>", writes(`<presence/>`, ` </stream:stream>`), []string{`<presence/>`, closeEl}},
		{"</stream:stream> split", writes(`</stream:`, `stream>`), []string{closeEl}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, p, err := dial(t, "xmpp")
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.write(c); err != nil {
				t.Fatalf("write: %v", err)
			}
			for i, want := range tc.want {
				got, ok := p.recv(5 * time.Second)
				if !ok {
					t.Fatalf("message %d: none", i)
				}
				if got != want {
					t.Fatalf("message %d: got %d bytes %.60q…, want %d bytes %.60q…", i, len(got), got, len(want), want)
				}
			}
			if got, ok := p.recv(100 * time.Millisecond); ok {
				t.Fatalf("unexpected extra message %.80q", got)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		pieces []string
		check  func(error) bool
	}{
		{"mismatched end tag", []string{`<a></b>`}, func(err error) bool { var fe *frame.Error; return errors.As(err, &fe) }},
		{"text between elements", []string{`<a/>hello`}, func(err error) bool { var fe *frame.Error; return errors.As(err, &fe) }},
		{"write after </stream:stream>", []string{`</stream:stream>`, `<presence/>`}, func(err error) bool { return err != nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _, err := dial(t, "xmpp")
			if err != nil {
				t.Fatal(err)
			}
			var last error
			for _, piece := range tc.pieces {
				if _, last = c.Write([]byte(piece)); last != nil {
					break
				}
			}
			if !tc.check(last) {
				t.Fatalf("Write error %v: not the expected kind", last)
			}
			if _, err := c.Write([]byte(`<ok/>`)); err == nil {
				t.Fatal("Write after a failed Write succeeded; want the error to stick")
			}
		})
	}
}

func TestRead(t *testing.T) {
	t.Parallel()
	big := bigMessage(20 << 10)
	const open = `<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='localhost' id='x' version='1.0'/>`
	for _, tc := range []struct {
		name    string
		server  func(p *peer)
		want    string
		wantErr func(error) bool
	}{
		{"<close/> reads as EOF", func(p *peer) {
			p.send(open)
			p.send(big)
			p.send(`<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>`)
			p.send(`<after/>`)
		}, open + big, func(err error) bool { return err == io.EOF }},
		{"normal closure reads as EOF", func(p *peer) {
			p.send(`<a/>`)
			_ = p.ws.Close(websocket.StatusNormalClosure, "")
		}, `<a/>`, func(err error) bool { return err == io.EOF }},
		{"error closure is an error", func(p *peer) {
			p.send(`<a/>`)
			_ = p.ws.Close(websocket.StatusInternalError, "boom")
		}, `<a/>`, func(err error) bool {
			return err != nil && err != io.EOF && websocket.CloseStatus(err) == websocket.StatusInternalError
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, p, err := dial(t, "xmpp")
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan struct{})
			go func() { defer close(served); tc.server(p) }()
			defer func() { <-served }()
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			var got []byte
			buf := make([]byte, 100) // smaller than the messages: a message spans Reads
			for {
				n, err := c.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil {
					if !tc.wantErr(err) {
						t.Errorf("Read error %v: not the expected kind", err)
					}
					break
				}
			}
			if string(got) != tc.want {
				t.Errorf("read %d bytes %.60q…, want %d bytes %.60q…", len(got), got, len(tc.want), tc.want)
			}
		})
	}
}

func TestReadDeadline(t *testing.T) {
	t.Parallel()
	aLongTimeAgo := time.Unix(1, 0)
	for _, tc := range []struct {
		name    string
		arm     func(c *xmppws.Conn)
		minWait time.Duration
	}{
		{"deadline in the past", func(c *xmppws.Conn) { _ = c.SetReadDeadline(aLongTimeAgo) }, 0},
		{"deadline in 50ms", func(c *xmppws.Conn) { _ = c.SetDeadline(time.Now().Add(50 * time.Millisecond)) }, 40 * time.Millisecond},
		{"blocked Read interrupted (mellium's idiom)", func(c *xmppws.Conn) {
			go func() {
				time.Sleep(50 * time.Millisecond)
				_ = c.SetDeadline(aLongTimeAgo)
				_ = c.SetDeadline(time.Time{})
			}()
		}, 40 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, p, err := dial(t, "xmpp")
			if err != nil {
				t.Fatal(err)
			}
			tc.arm(c)
			t0 := time.Now()
			n, err := c.Read(make([]byte, 10))
			waited := time.Since(t0)
			var ne net.Error
			if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("Read = %d, %v; want a timeout", n, err)
			}
			if waited < tc.minWait || waited > 3*time.Second {
				t.Errorf("Read returned after %v", waited)
			}
			// The connection survives a timeout.
			_ = c.SetReadDeadline(time.Time{})
			p.send(`<a/>`)
			buf := make([]byte, 10)
			n, err = c.Read(buf)
			if err != nil || string(buf[:n]) != `<a/>` {
				t.Fatalf("Read after the timeout = %q, %v", buf[:n], err)
			}
		})
	}
}

func TestWriteDeadline(t *testing.T) {
	t.Parallel()
	c, p, err := dial(t, "xmpp")
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetWriteDeadline(time.Unix(1, 0))
	if n, err := c.Write([]byte(`<lost/>`)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write after the deadline = %d, %v; want a timeout", n, err)
	}
	_ = c.SetWriteDeadline(time.Time{})
	if _, err := c.Write([]byte(`<kept/>`)); err != nil {
		t.Fatalf("Write after clearing the deadline: %v", err)
	}
	if got, _ := p.recv(5 * time.Second); got != `<kept/>` {
		t.Fatalf("server got %q, want <kept/> only", got)
	}
}

func TestSubprotocolRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		offers []string
	}{
		{"none", nil},
		{"another", []string{"chat"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _, err := dial(t, tc.offers...)
			if !errors.Is(err, xmppws.ErrNoSubprotocol) || c != nil {
				t.Fatalf("Dial = %v, %v; want ErrNoSubprotocol", c, err)
			}
		})
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	t.Run("client closes", func(t *testing.T) {
		t.Parallel()
		c, p, err := dial(t, "xmpp")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _, _ = p.recv(5 * time.Second) }() // the server reads, so it answers the close frame
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		select {
		case <-c.Done():
		default:
			t.Fatal("Done not closed after Close")
		}
		if err := c.Close(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("second Close = %v, want net.ErrClosed", err)
		}
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Read after Close = %v, want net.ErrClosed", err)
		}
		if _, err := c.Write([]byte(`<a/>`)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Write after Close = %v, want net.ErrClosed", err)
		}
	})
	t.Run("server closes", func(t *testing.T) {
		t.Parallel()
		c, p, err := dial(t, "xmpp")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = p.ws.Close(websocket.StatusGoingAway, "bye") }()
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("Done not closed after the server closed")
		}
		if got := websocket.CloseStatus(c.Err()); got != websocket.StatusGoingAway {
			t.Errorf("CloseStatus(Err()) = %v (%v), want going away", got, c.Err())
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close after the server closed = %v, want nil", err)
		}
	})
}
