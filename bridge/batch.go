// Batched messages: a Waxwing extension of RFC 7395 (XMPP over WebSocket).
// RFC 7395 §3.3.3 sends one complete element per WebSocket message. A
// client that reads the messages as one byte stream (Waxwing's xmppws) may
// ask, with the query parameter batch=N on the WebSocket's URL, for the
// stanzas that reach the relay together to come in one message of at most
// N bytes: each message still holds only complete, standalone elements, so
// a stanza is never split, and nothing waits (only what one read from the
// server returned is batched). A catch-up's archive pages then cost the
// browser one message event per read from the server instead of one per
// stanza. Clients that do not ask (Converse.js, any RFC 7395 client) get
// one element per message.

package bridge

import (
	"net/url"
	"strconv"

	"github.com/waxwing-im/waxwing/wasm/frame"
	"github.com/waxwing-im/waxwing/wasm/xmppws"
)

// minBatchBytes is the least a batch may be asked to hold: below it,
// batching is off.
const minBatchBytes = 4 << 10

// batchBytes returns the batch size a WebSocket request's query asks for:
// 0 for none (absent, not a number, or below minBatchBytes).
func batchBytes(q url.Values) int {
	n, err := strconv.Atoi(q.Get(xmppws.BatchParam))
	if err != nil || n < minBatchBytes {
		return 0
	}
	return n
}

// batchable reports whether an element from the server may share a
// message: stanzas and Stream Management's <r/> and <a/>, the bulk of a
// session. Everything else (stream features, SASL, Bind, errors) goes in a
// message of its own, as RFC 7395 has it.
func batchable(tok frame.Token, ns string) bool {
	switch local := tok.LocalName(); ns {
	case nsClient:
		return local == "message" || local == "presence" || local == "iq"
	case nsSM:
		return local == "r" || local == "a"
	}
	return false
}

// batchOut adds the element out to the batch being made, sending the batch
// first if out would take it past d.batchMax.
func (d *toBrowser) batchOut(out []byte, emit func([]byte) error) error {
	if len(d.batch) > 0 && len(d.batch)+len(out) > d.batchMax {
		if err := d.flush(emit); err != nil {
			return err
		}
	}
	d.batch = append(d.batch, out...)
	return nil
}

// flush sends the batch being made, if any.
func (d *toBrowser) flush(emit func([]byte) error) error {
	if len(d.batch) == 0 {
		return nil
	}
	err := emit(d.batch)
	d.batch = d.batch[:0]
	if cap(d.batch) > 64<<10 {
		d.batch = nil // do not keep a large buffer for an idle session
	}
	return err
}
