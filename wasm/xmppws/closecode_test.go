package xmppws

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// browserAccepts is WebSocket.close's rule (WHATWG WebSockets §"close"):
// 1000 or 3000–4999, and a reason of at most 123 bytes of UTF-8.
func browserAccepts(code websocket.StatusCode, reason string) bool {
	return (code == 1000 || code >= 3000 && code <= 4999) && len(reason) <= 123 && utf8.ValidString(reason)
}

// TestCloseFrameBrowser: every code maps to one a page may send; the codes
// this package and coder/websocket send keep their meaning in 4000 + (code
// − 1000).
func TestCloseFrameBrowser(t *testing.T) {
	t.Parallel()
	for code := websocket.StatusCode(0); code < 70000; code++ {
		got, _ := closeFrame(code, "", true)
		if !browserAccepts(got, "") {
			t.Fatalf("closeFrame(%d) = %d: WebSocket.close throws for it", code, got)
		}
		if (code == 1000 || code >= 3000 && code <= 4999) && got != code {
			t.Errorf("closeFrame(%d) = %d, want it unchanged", code, got)
		}
	}
	for code, want := range map[websocket.StatusCode]websocket.StatusCode{
		websocket.StatusNormalClosure:   1000,
		websocket.StatusGoingAway:       4001,
		websocket.StatusProtocolError:   4002, // Dial: no xmpp subprotocol
		websocket.StatusUnsupportedData: 4003, // readLoop: a binary message
		websocket.StatusPolicyViolation: 4008, // coder/websocket: the reader's context ended
		websocket.StatusMessageTooBig:   4009, // readLoop: over the read limit
		websocket.StatusInternalError:   4011,
		StatusDropped:                   4000,
		-1:                              StatusDropped,
		2500:                            StatusDropped,
		5000:                            StatusDropped,
	} {
		if got, _ := closeFrame(code, "x", true); got != want {
			t.Errorf("closeFrame(%d) = %d, want %d", code, got, want)
		}
	}
}

// TestCloseFrameNative: natively the codes RFC 6455 lets a close frame
// carry are sent as they are; the reserved ones are mapped.
func TestCloseFrameNative(t *testing.T) {
	t.Parallel()
	for code, want := range map[websocket.StatusCode]websocket.StatusCode{
		1000: 1000, 1001: 1001, 1002: 1002, 1003: 1003, 1008: 1008, 1011: 1011, 3000: 3000, 4999: 4999,
		1004: 4004, 1005: 4005, 1006: 4006, 1015: 4015, 999: StatusDropped, 5000: StatusDropped,
	} {
		if got, _ := closeFrame(code, "", false); got != want {
			t.Errorf("closeFrame(%d, native) = %d, want %d", code, got, want)
		}
	}
}

// TestCloseFrameReason: a reason is cut to 123 bytes without splitting a
// character.
func TestCloseFrameReason(t *testing.T) {
	t.Parallel()
	for _, reason := range []string{
		"",
		"RFC 7395 uses text messages only",
		strings.Repeat("a", 123),
		strings.Repeat("a", 124),
		strings.Repeat("é", 80),        // 2 bytes each: 160
		strings.Repeat("a", 122) + "😀", // the 4-byte rune straddles 123
		strings.Repeat("世界", 30) + "!", // 3 bytes each
	} {
		for _, browser := range []bool{true, false} {
			code, got := closeFrame(websocket.StatusProtocolError, reason, browser)
			if !browserAccepts(4000, got) {
				t.Errorf("reason %q (%d bytes) → %q (%d bytes): not valid UTF-8 within 123 bytes", reason, len(reason), got, len(got))
			}
			if !strings.HasPrefix(reason, got) || len(reason) <= 123 && got != reason || len(reason)-len(got) > 3 && len(reason) > 123 && len(got) < 120 {
				t.Errorf("reason %q → %q: want the longest prefix that fits", reason, got)
			}
			if browser && code != 4002 {
				t.Errorf("code %d", code)
			}
		}
	}
}
