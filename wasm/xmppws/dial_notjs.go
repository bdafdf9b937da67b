//go:build !js

package xmppws

import "github.com/coder/websocket"

// inBrowser: natively every close code RFC 6455 allows on the wire can be
// sent.
const inBrowser = false

func dialOptions(o *Options) *websocket.DialOptions {
	return &websocket.DialOptions{
		HTTPClient:   o.HTTPClient,
		HTTPHeader:   o.HTTPHeader,
		Subprotocols: []string{Subprotocol},
	}
}

// drop closes the TCP connection without a close handshake.
func (c *Conn) drop() error { return c.ws.CloseNow() }

// readLimit bounds one incoming message in coder/websocket's reader, which
// stops reading at the bound: readLoop need not check it again.
func readLimit(ws *websocket.Conn, n int64) int64 {
	ws.SetReadLimit(n)
	return 0
}
