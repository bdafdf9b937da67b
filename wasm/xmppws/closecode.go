package xmppws

import (
	"unicode/utf8"

	"github.com/coder/websocket"
)

// StatusDropped is the close code CloseNow sends from a browser, where a
// page can neither skip the close handshake nor send "going away" (1001).
// The relay treats every close without <close/> as a lost link: the server
// keeps the session for resumption.
const StatusDropped websocket.StatusCode = 4000

// maxCloseReason is the longest close reason a close frame can carry: its
// payload is at most 125 bytes, two of them the code (RFC 6455 §5.5), and
// WebSocket.close throws a SyntaxError for a longer one.
const maxCloseReason = 123

// closeFrame returns the code and reason a close frame is sent with, for a
// page when browser is set: WebSocket.close accepts only 1000 and
// 3000–4999 and throws for any other code, so that the socket would stay
// open. A code of RFC 6455's range 1001–2999 becomes 4000 + (code − 1000)
// in the private range (1002 protocol error → 4002, 1003 unsupported data
// → 4003, 1008 policy violation → 4008, 1009 too big → 4009), so the
// server still learns which; any other code that cannot be sent becomes
// StatusDropped. Natively, where every code RFC 6455 allows on the wire may
// be sent, only those it reserves (1004–1006, 1015) and codes outside
// 1000–4999 are mapped the same way. The reason is cut to 123 bytes on a
// UTF-8 boundary.
func closeFrame(code websocket.StatusCode, reason string, browser bool) (websocket.StatusCode, string) {
	if len(reason) > maxCloseReason {
		cut := maxCloseReason
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	sendable := code == websocket.StatusNormalClosure || code >= 3000 && code <= 4999
	if !browser {
		switch code {
		case 1004, websocket.StatusNoStatusRcvd, websocket.StatusAbnormalClosure, websocket.StatusTLSHandshake:
		default:
			sendable = sendable || code > 1000 && code < 3000
		}
	}
	switch {
	case sendable:
		return code, reason
	case code > 1000 && code < 2000:
		return 4000 + (code - 1000), reason
	}
	return StatusDropped, reason
}

// closeWS closes ws with code and reason as this platform can send them
// (closeFrame).
func closeWS(ws *websocket.Conn, code websocket.StatusCode, reason string) error {
	code, reason = closeFrame(code, reason, inBrowser)
	return ws.Close(code, reason)
}
