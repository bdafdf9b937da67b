//go:build !js

package bridge

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/wasm/frame"
)

// TestRelayDropDeliversWholeElements: when the browser vanishes, everything the relay forwarded
// reaches the server up to the end of the stream, even a server that reads a chunk at a time
// and stops reading as soon as a write fails, as Prosody 0.12 does (net.server_epoll reads 8 KiB
// per event; a write error, "Broken pipe", disconnects without reading the rest). Before, the
// relay closed the upstream at once: the server's next write drew a reset, and it was left with
// half an element, which after a resumption corrupts the resumed session's stream
// (TestProsodyResumeFeedsFirstParser in internal/xmppd).
func TestRelayDropDeliversWholeElements(t *testing.T) {
	t.Parallel()
	f := newFakeUpstream(t)
	b := startBridge(t, f, nil)
	br, fc := b.opened(t, f)

	const n = 40 // ~60 KiB: fits the socket buffers, so that the relay forwards all of it at once
	pad := strings.Repeat("x", 1500)
	var want []string
	for i := range n {
		s := fmt.Sprintf("<message xmlns='jabber:client' to='bob@%s' id='m%d'><body>%s</body></message>", testDomain, i, pad)
		want = append(want, s)
		br.send(s)
	}
	// The server reads one chunk; then the browser vanishes and the relay ends.
	var got []byte
	buf := make([]byte, 8192)
	_ = fc.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	k, err := fc.conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, buf[:k]...)
	br.ws.CloseNow()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(b.logs.String(), "relay closed"); {
		if time.Now().After(deadline) {
			t.Fatal("the relay did not end")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // for the close to reach the server's socket

	// Like Prosody: one write, one chunk read, until either fails.
	var end error
	for end == nil {
		_ = fc.conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(fc.conn, "<r xmlns='urn:xmpp:sm:3'/>"); err != nil {
			end = fmt.Errorf("write: %w", err)
			break
		}
		k, err := fc.conn.Read(buf)
		got = append(got, buf[:k]...)
		end = err
	}
	if !errors.Is(end, io.EOF) {
		t.Errorf("the stream ended with %v, want EOF", end)
	}
	sc := frame.NewScanner(frame.Fragments, frame.Limits{MaxBytes: 1 << 20})
	sc.Write(got)
	var els []string
	rest := len(got)
	for {
		tok, ok, err := sc.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		els = append(els, string(tok.Raw))
		rest -= len(tok.Raw)
	}
	if rest > 0 || len(els) != n {
		t.Fatalf("the server got %d of %d elements and %d bytes of one more", len(els), n, rest)
	}
	for i := range els {
		if els[i] != want[i] {
			t.Fatalf("element %d: %.100q, want %.100q", i, els[i], want[i])
		}
	}
}

// TestRelayHandover: a resumption of a session whose last connection is still open through
// this bridge is forwarded only once the server has read that connection to its end and closed
// it: then the server's parser for the session is between two elements (handover.go).
func TestRelayHandover(t *testing.T) {
	t.Parallel()
	f := newFakeUpstream(t)
	b := startBridge(t, f, nil)
	br1, fc1 := b.opened(t, f)
	fc1.send(t, "<enabled xmlns='urn:xmpp:sm:3' id='sm-1' resume='true' max='300'/>")
	br1.expect("<enabled xmlns='urn:xmpp:sm:3' id='sm-1' resume='true' max='300'/>")
	const n = 20
	pad := strings.Repeat("y", 1500)
	for i := range n {
		br1.send(fmt.Sprintf("<message xmlns='jabber:client' to='bob@%s' id='m%d'><body>%s</body></message>", testDomain, i, pad))
	}

	// The browser comes back on a new connection (the old one is not even closed) and resumes
	// inline, as the first thing after <open/>.
	br2, fc2 := b.opened(t, f)
	auth := "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>AGFsaWNlAHB3</initial-response>" +
		"<resume xmlns='urn:xmpp:sm:3' previd='sm-1' h='0'/></authenticate>"
	br2.send(auth)

	// The server has not read the old connection yet: the resumption waits.
	_ = fc2.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if tok, err := fc2.next(); err == nil {
		t.Fatalf("forwarded before the old connection ended: %.80q", tok.Raw)
	}
	fc2.conn.SetReadDeadline(time.Time{})

	// The old connection: the burst in order, whole elements only, then its
	// end; the server closes it. What the old relay had not yet read from
	// the browser when the resumption came is not forwarded (under load, a
	// part of the burst): the relay ends that connection, and the client
	// sends again what the server's <resumed h/> does not count.
	_ = fc1.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := 0; ; i++ {
		tok, err := fc1.next()
		if errors.Is(err, io.EOF) {
			if b := fc1.sc.Buffered(); b > 0 {
				t.Fatalf("the old connection ended %d bytes into an element", b)
			}
			t.Logf("the old connection carried %d of the %d messages", i, n)
			break
		}
		if err != nil || i >= n || !strings.Contains(string(tok.Raw), fmt.Sprintf("id='m%d'", i)) {
			t.Fatalf("old connection: element %d: %.80q, %v", i, tok.Raw, err)
		}
	}
	// Then it is forwarded (within handoverWait: not a timing claim, the
	// bound of a failure), and the old browser connection is ended.
	fc1.conn.Close()
	fc2.expect(t, auth)
	br1.expectClosed(10 * time.Second)
	_ = br2
}

func TestSMIDs(t *testing.T) {
	t.Parallel()
	scan := func(s string) frame.Token {
		sc := frame.NewScanner(frame.Fragments, frame.Limits{})
		sc.Write([]byte(s))
		tok, ok, err := sc.Next()
		if !ok || err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return tok
	}
	for _, tt := range []struct{ el, id string }{
		{"<enabled xmlns='urn:xmpp:sm:3' id='a1' resume='true'/>", "a1"},
		{"<enabled xmlns='urn:xmpp:sm:3'/>", ""},
		{"<resumed xmlns='urn:xmpp:sm:3' previd='a2' h='4'/>", "a2"},
		{"<enabled xmlns='urn:xmpp:sm:2' id='old'/>", ""},
		{"<success xmlns='urn:xmpp:sasl:2'><authorization-identifier>a@b/c</authorization-identifier>" +
			"<bound xmlns='urn:xmpp:bind:0'><enabled xmlns='urn:xmpp:sm:3' id='a3' resume='1'/></bound></success>", "a3"},
		{"<success xmlns='urn:xmpp:sasl:2'><resumed xmlns='urn:xmpp:sm:3' previd='a4' h='0'/></success>", "a4"},
		{"<success xmlns='urn:xmpp:sasl:2'><bound xmlns='urn:xmpp:bind:0'/></success>", ""},
		{"<message xmlns='jabber:client' id='x'><enabled xmlns='urn:xmpp:sm:3' id='no'/></message>", ""},
	} {
		tok := scan(tt.el)
		if got := smIDFromServer(tok, tok.Namespace(nil), tok.Raw); got != tt.id {
			t.Errorf("server %q: id %q, want %q", tt.el, got, tt.id)
		}
	}
	for _, tt := range []struct{ el, id string }{
		{"<resume xmlns='urn:xmpp:sm:3' previd='b1' h='3'/>", "b1"},
		{"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>x</initial-response>" +
			"<resume xmlns='urn:xmpp:sm:3' previd='b2' h='0'/></authenticate>", "b2"},
		{"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>x</initial-response></authenticate>", ""},
		{"<message xmlns='jabber:client'><resume xmlns='urn:xmpp:sm:3' previd='no'/></message>", ""},
		{"<resume xmlns='urn:xmpp:other' previd='no'/>", ""},
	} {
		if got := resumeTarget(scan(tt.el)); got != tt.id {
			t.Errorf("browser %q: previd %q, want %q", tt.el, got, tt.id)
		}
	}
}
