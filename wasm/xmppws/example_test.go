package xmppws_test

import (
	"context"
	"log"
	"net/http"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/waxwing-im/waxwing/wasm/xmppws"
)

// A client logs in through `waxwing serve` and announces itself. (Compiled,
// not run: it needs a server.)
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := xmppws.Dial(ctx, "wss://chat.example.org/xmpp-websocket", &xmppws.Options{
		HTTPHeader: http.Header{"Origin": {"https://chat.example.org"}}, // set by the browser itself in wasm
	})
	if err != nil {
		log.Fatal(err)
	}
	sess, err := xmppws.NewSession(ctx, conn, jid.MustParse("alice@example.org"), "password")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = sess.Serve(nil) }()
	if err := sess.Send(ctx, stanza.Presence{}.Wrap(nil)); err != nil {
		log.Fatal(err)
	}
	_ = sess.Close() // sent as <close/>; Serve returns when the server's <close/> arrives
	<-conn.Done()
}
