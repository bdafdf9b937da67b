package xmppws

import "github.com/coder/websocket"

// inBrowser: close codes are limited to what WebSocket.close accepts.
const inBrowser = true

// dialOptions: in the browser the WebSocket API takes only subprotocols.
func dialOptions(*Options) *websocket.DialOptions {
	return &websocket.DialOptions{Subprotocols: []string{Subprotocol}}
}

// drop starts the close once the reader has stopped (shut cancels it), and
// does not wait for the server's answer, which a dead link never brings.
func (c *Conn) drop() error {
	go func() {
		<-c.done
		_ = closeWS(c.ws, StatusDropped, "dropped")
	}()
	return nil
}

// readLimit hands the bound of one incoming message to readLoop: in the
// browser coder/websocket would close an oversized message with 1009,
// which WebSocket.close refuses, so readLoop checks it and closes with a
// code the page may send (closeFrame).
func readLimit(ws *websocket.Conn, n int64) int64 {
	ws.SetReadLimit(-1)
	return n
}
