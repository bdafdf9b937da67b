package xmppws

import "github.com/coder/websocket"

// dialOptions: in the browser the WebSocket API takes only subprotocols.
func dialOptions(*Options) *websocket.DialOptions {
	return &websocket.DialOptions{Subprotocols: []string{Subprotocol}}
}

// StatusDropped is the close code CloseNow sends from a browser. A page may
// close a WebSocket only with 1000 or 3000–4999: WebSocket.close throws for
// any other code, so coder/websocket's CloseNow (1001) and the close its
// reader sends when its context ends (1008) leave the socket open until the
// page goes away. The relay treats every close without <close/> as a lost
// link: the server keeps the session for resumption.
const StatusDropped websocket.StatusCode = 4000

// drop starts the close once the reader has stopped (shut cancels it), and
// does not wait for the server's answer, which a dead link never brings.
func (c *Conn) drop() error {
	go func() {
		<-c.done
		_ = c.ws.Close(StatusDropped, "dropped")
	}()
	return nil
}
