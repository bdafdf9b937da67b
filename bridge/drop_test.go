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
