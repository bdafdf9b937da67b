package store

import "time"

// Direction says who wrote a message.
type Direction uint8

// Directions.
const (
	Inbound  Direction = iota // from a peer (or a room occupant other than us)
	Outbound                  // from this account (this device or another one)
)

// MessageState is how far a message has got. Inbound messages are
// StateReceived, or StateRead once the user has seen them. Outbound ones
// move forward only: queued → sent → acked → delivered → read.
type MessageState uint8

// Message states, in order.
const (
	StateQueued    MessageState = iota // composed, in the outbox, not yet on the wire
	StateSent                          // written to a session (waiting for the server's XEP-0198 ack)
	StateAcked                         // the server acknowledged it (XEP-0198)
	StateDelivered                     // the peer's client received it (XEP-0184, XEP-0333 received)
	StateRead                          // the peer displayed it (XEP-0333 displayed)
	StateReceived                      // an inbound message
)

var stateNames = [...]string{"queued", "sent", "acked", "delivered", "read", "received"}

func (s MessageState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// ConversationKind tells one-to-one chats from group chats.
type ConversationKind uint8

// Conversation kinds.
const (
	Chat  ConversationKind = iota // one-to-one, with a bare JID
	Group                         // a XEP-0045 room
)

// Pos orders messages in a conversation. Positions from the archive (a MAM
// page, in archive order) are below Provisional; a message seen live and not
// yet placed by the archive gets Provisional + its arrival number, so it
// sorts after everything the archive has placed until a catch-up places it.
// The sync engine assigns positions; the store only sorts by them.
type Pos = int64

// Provisional is the first position of messages not yet placed by the archive.
const Provisional Pos = 1 << 62

// Account is the one account a store belongs to, and its preferences.
type Account struct {
	JID         string // bare JID
	SendMarkers bool   // send XEP-0333 displayed markers to peers
	RosterVer   string // RFC 6121 roster version of the stored contacts
	Version     uint64
}

// Message is one message of a conversation (corrections, retractions and
// reactions are Edits, applied when messages are read).
type Message struct {
	// Key is the primary key, chosen by the sync engine when the message is
	// first stored and never changed afterwards.
	Key          string
	Conversation string // the peer's bare JID, or the room's
	Kind         ConversationKind

	// ArchiveBy/ArchiveID: the XEP-0359 stanza-id (= MAM result id) given by
	// the archive that vouches for it (our own bare JID, or the room); empty
	// until known. At most one message has a given (ArchiveBy, ArchiveID).
	ArchiveBy string
	ArchiveID string
	OriginID  string // XEP-0359 origin-id chosen by the sender
	StanzaID  string // the message's own id attribute
	From      string // sender: bare JID (chat) or occupant JID (room)
	Direction Direction
	Time      time.Time // the server's timestamp (XEP-0203 delay) or when first seen
	Body      string
	State     MessageState
	Pos       Pos
	Raw       []byte // outbound: the stanza as queued (resent byte for byte)

	// Applied on read from the Edits that target this message; never stored.
	Corrected bool                // Body is the latest correction's
	Retracted bool                // the sender retracted it: Body is ""
	Reactions map[string][]string // reaction → senders who chose it, sorted

	Version uint64 // store version of the last change (edits included)
}

// EditKind says what an Edit does to its target.
type EditKind uint8

// Edit kinds.
const (
	Correction EditKind = iota // XEP-0308: replaces the target's body
	Retraction                 // XEP-0424: the target is withdrawn
	Reaction                   // XEP-0444: the sender's full set of reactions
)

// Edit is a correction, retraction or reaction: a message of its own in the
// archive, applied to its target when messages are read.
type Edit struct {
	Key          string // primary key, as for messages
	Conversation string
	Kind         EditKind
	// Target is the id the edit names: the target's StanzaID or OriginID
	// (XEP-0308, XEP-0444 in chats) or its ArchiveID (XEP-0424, rooms).
	Target    string
	From      string // only the target's sender may correct or retract it
	Body      string // Correction: the new body
	Reactions []string
	ArchiveBy string
	ArchiveID string
	Time      time.Time
	Pos       Pos // edits apply in position order
	Version   uint64
}

// Conversation is one row of the inbox.
type Conversation struct {
	Peer         string // bare JID of the peer or room: the key
	Kind         ConversationKind
	LastActivity time.Time
	LastKey      string // Key of the newest message (the preview)
	Preview      string // its body, shortened by the sync engine
	Unread       int    // inbound messages after ReadUpTo
	ReadUpTo     string // ArchiveID of the last message displayed on any device (XEP-0490)
	ReadPos      Pos    // its position, when known (0: none known yet)
	Version      uint64
}

// Range is a contiguous stretch of an archive held locally: every archived
// message from First to Last (archive ids, inclusive) is stored, with
// positions FirstPos..LastPos.
type Range struct {
	First, Last       string
	FirstPos, LastPos Pos
}

// GapReason says why there is a gap below a range.
type GapReason uint8

// Gap reasons.
const (
	GapUnfetched GapReason = iota // older history not fetched yet (fetch on demand)
	GapExpired                    // the archive no longer has it (item-not-found): shown, never silent
	GapStart                      // nothing below: the range starts at the archive's first message
)

// Archive is what this device holds of one archive (XEP-0313): the
// account's own, or a room's. Ranges are ordered by position and never
// overlap; the space below each range is described by its Below reason.
type Archive struct {
	JID    string // own bare JID, or the room's
	Ranges []Range
	Below  []GapReason // Below[i] describes what lies under Ranges[i]
	// Recheck, if not zero, is the archive time from which what this
	// device holds may still gain entries: an archive may show an entry
	// only some time after its timestamp (ejabberd takes its ids before
	// the write, seconds before under load), so forward catch-ups page
	// again from a little before it until a page asked long enough after
	// (history.Config.Settle) has passed over it. Zero: nothing held is
	// waiting for a late entry.
	Recheck time.Time
	// ClockLead, when ClockKnown, is how far this device's clock may run
	// ahead of the archive's at most: the least difference seen between
	// when a page arrived and the newest archive time on it. With it, a
	// device knows how late the archive is at least, when a page is asked.
	ClockLead  time.Duration
	ClockKnown bool
	Version    uint64
}

// Latest returns the newest range, if any.
func (a Archive) Latest() (Range, bool) {
	if len(a.Ranges) == 0 {
		return Range{}, false
	}
	return a.Ranges[len(a.Ranges)-1], true
}

// Contact is one roster item (RFC 6121), or someone asking to see our
// presence who is not in the roster yet (Subscription "" and Incoming).
type Contact struct {
	JID          string // bare JID: the key
	Name         string
	Subscription string // none, to, from, both; "" when not in the roster
	Ask          bool   // a subscription request of ours is pending
	Incoming     bool   // they asked to see our presence; not yet answered
	Groups       []string
	Version      uint64
}
