// Package xmppws connects to an XMPP-over-WebSocket endpoint (RFC 7395) with
// github.com/coder/websocket and presents it as a net.Conn for
// mellium.im/xmpp.
//
// RFC 7395 §3.3.3 wants every WebSocket message to hold exactly one complete
// top-level element, but mellium writes through encoding/xml, which flushes
// in 4096-byte pieces, and websocket.NetConn sends every Write as a message
// of its own. A Conn therefore frames what is written with a frame.Scanner
// and sends each complete element as one text message; whitespace between
// elements is dropped. Reads return the bytes of incoming messages in order.
//
// A Conn also translates the two places where mellium v0.22.0 does not speak
// RFC 7395: the </stream:stream> that Session.Close writes becomes
// <close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/> (§3.6), and an
// incoming <close/> reads as io.EOF, as the end of a TCP stream would.
//
// The package builds natively and for GOOS=js GOARCH=wasm. In the browser,
// Options.HTTPHeader and Options.HTTPClient are ignored (the browser sets
// Origin itself and owns the HTTP stack), and CloseNow still sends a close
// frame, because a browser WebSocket cannot be dropped without one.
package xmppws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/coder/websocket"
)

// Subprotocol is the WebSocket subprotocol of RFC 7395 §3.2.
const Subprotocol = "xmpp"

// NSFraming is the namespace of <open/> and <close/> (RFC 7395 §3.3.2).
const NSFraming = "urn:ietf:params:xml:ns:xmpp-framing"

// ErrNoSubprotocol is returned by Dial when the server did not select the
// xmpp subprotocol.
var ErrNoSubprotocol = errors.New("xmppws: the server did not select the xmpp WebSocket subprotocol (RFC 7395 §3.2)")

// Options configures Dial. A nil *Options and the zero value mean defaults.
type Options struct {
	// HTTPHeader is sent with the opening handshake, e.g. Origin. Ignored in
	// the browser.
	HTTPHeader http.Header
	// HTTPClient performs the opening handshake; nil means
	// http.DefaultClient. Ignored in the browser.
	HTTPClient *http.Client
	// MaxMessageBytes bounds one incoming message; 0 means
	// DefaultMaxMessageBytes. A larger message fails the connection.
	MaxMessageBytes int64
}

// DefaultMaxMessageBytes is the default bound of one incoming message: four
// times the 256 KiB stanza limit of Prosody and ejabberd, the same bound the
// bridge applies to what it relays from the server.
const DefaultMaxMessageBytes = 1 << 20

// BatchParam is the query parameter with which Dial asks a Waxwing relay
// for batched messages: several complete elements in one message, of at
// most the given number of bytes (the bound of one incoming message). Conn
// reads messages as one byte stream, so batches need nothing more; a
// server that does not know the parameter sends one element per message,
// as RFC 7395 §3.3.3 has it. The relay's side is bridge/batch.go.
const BatchParam = "batch"

// Dial opens a WebSocket to url (ws:// or wss://) with the xmpp subprotocol.
// ctx bounds the opening handshake only; the connection lives until Close.
func Dial(ctx context.Context, url string, opts *Options) (*Conn, error) {
	if opts == nil {
		opts = &Options{}
	}
	limit := opts.MaxMessageBytes
	if limit <= 0 {
		limit = DefaultMaxMessageBytes
	}
	ws, _, err := websocket.Dial(ctx, withBatch(url, limit), dialOptions(opts))
	if err != nil {
		return nil, fmt.Errorf("xmppws: %w", err)
	}
	if ws.Subprotocol() != Subprotocol {
		// The close handshake waits for the server; do not make Dial wait.
		go func() { _ = closeWS(ws, websocket.StatusProtocolError, "the xmpp subprotocol is required (RFC 7395)") }()
		return nil, ErrNoSubprotocol
	}
	return newConn(ws, url, readLimit(ws, limit)), nil
}

// withBatch adds BatchParam=limit to the query of rawURL, unless it has one
// or does not parse.
func withBatch(rawURL string, limit int64) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	q := u.Query()
	if q.Has(BatchParam) {
		return rawURL
	}
	q.Set(BatchParam, strconv.FormatInt(limit, 10))
	u.RawQuery = q.Encode()
	return u.String()
}

// isConfidential reports whether a password may travel in the clear at the
// XMPP layer: the WebSocket is wss://, or it stays on this machine.
func isConfidential(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Scheme, "wss") {
		return true
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
