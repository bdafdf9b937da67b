//go:build !js

package xmppws

import "github.com/coder/websocket"

func dialOptions(o *Options) *websocket.DialOptions {
	return &websocket.DialOptions{
		HTTPClient:   o.HTTPClient,
		HTTPHeader:   o.HTTPHeader,
		Subprotocols: []string{Subprotocol},
	}
}

// drop closes the TCP connection without a close handshake.
func (c *Conn) drop() error { return c.ws.CloseNow() }
