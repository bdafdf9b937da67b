package xmppws

import "github.com/coder/websocket"

// dialOptions: in the browser the WebSocket API takes only subprotocols.
func dialOptions(*Options) *websocket.DialOptions {
	return &websocket.DialOptions{Subprotocols: []string{Subprotocol}}
}
