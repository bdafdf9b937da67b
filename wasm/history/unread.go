package history

import "github.com/waxwing-im/waxwing/store"

// unreadTx is the Tx of a page commit: it answers CountInbound (refresh's
// unread count) from the conversation's stored count and the messages the
// transaction has put, instead of counting in storage. IndexedDB counts an
// index range entry by entry: a catch-up paging a long unread conversation
// would count all of it at every page (O(N²) in all).
//
// A conversation's stored Unread is CountInbound at its stored ReadPos:
// every writer of Unread sets it so, in the transaction of the message
// changes. The count at that position then changes only by the messages
// put since: those this transaction has read before putting them (the
// engine looks a message up before it changes it: apply, merge, raise)
// move from their stored version to the new one; one put without having
// been read is new (newKey). Any other position, a conversation not stored
// yet or one whose row was replaced with other figures: counted in storage.
// Live messages and read state keep counting in storage, so that a wrong
// stored count would not outlive the next of those.
type unreadTx struct {
	store.Tx
	convs  map[string]unreadBase     // by peer: the stored row, as first read
	before map[string]*store.Message // by Key, of the messages put: as stored before (nil: new)
	read   map[string]store.Message  // by Key: as first read, before any put of it
	put    map[string]store.Message  // by Key: as last put
}

// unreadBase is what a conversation's stored row says of its count.
type unreadBase struct {
	unread  int
	readPos store.Pos
	valid   bool // stored, and not replaced since with other figures
}

func newUnreadTx(tx store.Tx) *unreadTx {
	return &unreadTx{Tx: tx, convs: map[string]unreadBase{}, before: map[string]*store.Message{},
		read: map[string]store.Message{}, put: map[string]store.Message{}}
}

// saw notes messages read: their stored version, unless put already.
func (x *unreadTx) saw(ms ...store.Message) {
	for _, m := range ms {
		if _, put := x.put[m.Key]; !put {
			if _, ok := x.read[m.Key]; !ok {
				x.read[m.Key] = m
			}
		}
	}
}

func (x *unreadTx) Message(key string) (store.Message, bool, error) {
	m, ok, err := x.Tx.Message(key)
	if ok {
		x.saw(m)
	}
	return m, ok, err
}

func (x *unreadTx) MessageByArchiveID(by, id string) (store.Message, bool, error) {
	m, ok, err := x.Tx.MessageByArchiveID(by, id)
	if ok {
		x.saw(m)
	}
	return m, ok, err
}

func (x *unreadTx) MessagesByOriginID(from, originID string) ([]store.Message, error) {
	ms, err := x.Tx.MessagesByOriginID(from, originID)
	x.saw(ms...)
	return ms, err
}

func (x *unreadTx) LookUpMessages(by string, ids []string, origins []store.OriginKey) (store.Lookup, error) {
	l, err := x.Tx.LookUpMessages(by, ids, origins)
	for _, m := range l.ByArchiveID {
		x.saw(m)
	}
	for _, ms := range l.ByOrigin {
		x.saw(ms...)
	}
	return l, err
}

func (x *unreadTx) Outbox() ([]store.Message, error) {
	ms, err := x.Tx.Outbox()
	x.saw(ms...)
	return ms, err
}

func (x *unreadTx) PutMessage(m store.Message) (uint64, error) {
	v, err := x.Tx.PutMessage(m)
	if err != nil {
		return v, err
	}
	if _, known := x.before[m.Key]; !known {
		if r, ok := x.read[m.Key]; ok {
			x.before[m.Key] = &r
		} else {
			x.before[m.Key] = nil
		}
	}
	x.put[m.Key] = m
	return v, nil
}

func (x *unreadTx) Conversation(peer string) (store.Conversation, bool, error) {
	c, ok, err := x.Tx.Conversation(peer)
	if _, known := x.convs[peer]; !known && err == nil {
		x.convs[peer] = unreadBase{unread: c.Unread, readPos: c.ReadPos, valid: ok}
	}
	return c, ok, err
}

func (x *unreadTx) PutConversation(c store.Conversation) (uint64, error) {
	if b := x.convs[c.Peer]; !b.valid || b.unread != c.Unread || b.readPos != c.ReadPos {
		x.convs[c.Peer] = unreadBase{}
	}
	return x.Tx.PutConversation(c)
}

func (x *unreadTx) CountInbound(conv string, after store.Pos) (int, error) {
	b := x.convs[conv]
	if !b.valid || b.readPos != after {
		return x.Tx.CountInbound(conv, after)
	}
	n := b.unread
	for key, m := range x.put {
		n += inboundAfter(&m, conv, after) - inboundAfter(x.before[key], conv, after)
	}
	return n, nil
}

// inboundAfter is 1 if m is an inbound message of conv after position
// after (CountInbound counts it), else 0.
func inboundAfter(m *store.Message, conv string, after store.Pos) int {
	if m != nil && m.Conversation == conv && m.Direction == store.Inbound && m.Pos > after {
		return 1
	}
	return 0
}
