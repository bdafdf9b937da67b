package client

import "context"

// BatchHandler is a Handler that can also apply several inbound stanzas at
// once: those that had already arrived when the client read the first (a
// burst). It may commit them together, in one transaction with the
// XEP-0198 count of the last (a group commit), so that a burst costs one
// commit and not one per stanza. h is the count including the first
// stanza; HandleStanzas returns how many stanzas, from the first, it has
// persisted. The client counts only those: on an error it drops the link
// and the server sends the rest again.
type BatchHandler interface {
	Handler
	HandleStanzas(ctx context.Context, raws [][]byte, h uint32) (int, error)
}

// CountStorer is a Handler that may store the XEP-0198 inbound count
// itself, in the transaction of what a stanza changed (see Handler).
// StoredCount, asked right after a call to the handler returned nil, says
// which count that call stored last (ok false: none). When it is the count
// of the last stanza handled, acknowledging it needs no save of the
// session state: a catch-up's archive pages end with an answer whose
// commit stores its count, and their acknowledgements cost no transaction
// of their own.
type CountStorer interface {
	StoredCount() (h uint32, ok bool)
}

// maxBatch bounds how many stanzas one HandleStanzas call gets.
const maxBatch = 64

// gather returns first followed by the stanzas that have already arrived
// after it, up to maxBatch; an element that is not a stanza (a Stream
// Management <r/> or <a/>, a stream error) ends the batch and is read
// next, after the batch is handled.
func (s *Session) gather(first []byte) ([][]byte, error) {
	raws := [][]byte{first}
	for len(raws) < maxBatch {
		raw, ok, err := s.element(false)
		if err != nil || !ok {
			return raws, err
		}
		if !isStanza(ElementName(raw)) {
			s.next = raw
			break
		}
		raws = append(raws, raw)
	}
	return raws, nil
}
