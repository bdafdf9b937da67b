package store

import (
	"context"
	"errors"
)

// ErrClosed is returned by every call on a closed store.
var ErrClosed = errors.New("store: closed")

// Store is the history database of one account on one device.
//
// Writes go through Update, one transaction each: all or nothing. Reads
// return copies; records carry the store version of their last change, and
// the *Since calls return what changed after a version (the change feed).
// Every call takes a context first and may block on storage.
type Store interface {
	// Update runs f in one read-write transaction and commits it if f
	// returns nil; an error from f (or from storage) leaves nothing changed.
	// f must do nothing but use tx: IndexedDB commits a transaction as soon
	// as its goroutine waits on anything else (network, timers, channels).
	Update(ctx context.Context, f func(tx Tx) error) error

	// LoadState and UpdateState keep the session state (client.StateStore).
	// UpdateState is Update on the Session record; if ctx carries a hook
	// (WithTx), the hook runs in the same transaction.
	LoadState(ctx context.Context) (Session, error)
	UpdateState(ctx context.Context, f func(*Session) error) error

	// Version is the current store version: the highest Version stamped on
	// a record so far, even one deleted since (0 for an empty store). The
	// session state is not a versioned record: PutSession does not change it.
	Version(ctx context.Context) (uint64, error)

	// Conversations returns the inbox: every conversation, the most recent
	// LastActivity first (ties: Peer ascending).
	Conversations(ctx context.Context) ([]Conversation, error)
	// ConversationsSince returns the conversations whose Version is above v
	// (any order) and the store version they bring the reader to.
	ConversationsSince(ctx context.Context, v uint64) ([]Conversation, uint64, error)

	// Messages returns up to limit messages of a conversation with
	// Pos < before, the newest ones, in ascending Pos order (ties: Key),
	// with Edits applied (ApplyEdits). limit ≤ 0 means all.
	Messages(ctx context.Context, conv string, before Pos, limit int) ([]Message, error)
	// MessagesSince returns the messages of conv whose Version is above v,
	// with Edits applied, in ascending Pos order, and the store version
	// they bring the reader to. An Edit bumps its target's Version.
	MessagesSince(ctx context.Context, conv string, v uint64) ([]Message, uint64, error)

	// Contacts returns the roster, by JID. The roster is small and has no
	// feed of its own: read it again when Version has moved.
	Contacts(ctx context.Context) ([]Contact, error)

	// Archive returns what is held of an archive (Tx.Archive), in a
	// read-only transaction.
	Archive(ctx context.Context, jid string) (Archive, error)

	// Close releases the store; later calls return ErrClosed.
	Close() error
}

// Tx is one transaction. Getters see the transaction's own writes. Put*
// stamp the record with a new store version (the stored Version field is
// ignored on input) and return it.
type Tx interface {
	Account() (Account, error) // zero Account if none
	PutAccount(Account) (uint64, error)

	Session() (Session, error) // zero Session if none
	PutSession(Session) error

	// Message looks a message up by Key.
	Message(key string) (Message, bool, error)
	// MessageByArchiveID looks a message up by its archive's stanza-id.
	MessageByArchiveID(by, id string) (Message, bool, error)
	// MessagesByOriginID returns the messages of a sender with an origin-id
	// (several, if a sender reused one), in Pos order.
	MessagesByOriginID(from, originID string) ([]Message, error)
	// LookUpMessages makes at once the lookups MessageByArchiveID(by, id)
	// makes for each of ids and MessagesByOriginID for each of origins (a
	// catch-up page's), and answers as those would now. Later calls of
	// these two with the same keys in the transaction answer the same
	// (with the transaction's writes since) without asking storage again:
	// IndexedDB makes all the requests together instead of waiting for
	// each in turn.
	LookUpMessages(by string, ids []string, origins []OriginKey) (Lookup, error)
	// PutMessage inserts or replaces a message by Key. The edit fields
	// (Corrected, Retracted, Reactions) are not stored.
	PutMessage(Message) (uint64, error)
	// Outbox returns the messages in StateQueued, oldest Pos first.
	Outbox() ([]Message, error)

	// Edit looks an edit up by Key; EditByArchiveID by its stanza-id.
	Edit(key string) (Edit, bool, error)
	EditByArchiveID(by, id string) (Edit, bool, error)
	// PutEdit inserts or replaces an edit by Key, and bumps the Version of
	// the message(s) of the same conversation it targets, if stored.
	PutEdit(Edit) (uint64, error)

	// Conversation looks a conversation up by peer.
	Conversation(peer string) (Conversation, bool, error)
	PutConversation(Conversation) (uint64, error)
	// CountInbound counts the inbound messages of conv with Pos > after.
	CountInbound(conv string, after Pos) (int, error)
	// LastMessage returns the message of conv with the highest Pos.
	LastMessage(conv string) (Message, bool, error)

	// Contact looks a roster item up; PutContact inserts or replaces it;
	// DeleteContact removes it (no error if absent) and, if it was there,
	// stamps a new store version, so that readers of the change feed see
	// that the roster changed.
	Contact(jid string) (Contact, bool, error)
	PutContact(Contact) (uint64, error)
	DeleteContact(jid string) error

	// Archive returns what is held of an archive (zero Archive with JID
	// set if nothing yet); PutArchive replaces it.
	Archive(jid string) (Archive, error)
	PutArchive(Archive) (uint64, error)
}

// OriginKey names the messages of a sender with an origin-id
// (Tx.MessagesByOriginID).
type OriginKey struct{ From, OriginID string }

// Lookup is what Tx.LookUpMessages found: by archive id, the messages
// found; by origin key, the messages in Pos order (none: absent).
type Lookup struct {
	ByArchiveID map[string]Message
	ByOrigin    map[OriginKey][]Message
}

// lookUpEach answers LookUpMessages with one lookup per key.
func lookUpEach(tx Tx, by string, ids []string, origins []OriginKey) (Lookup, error) {
	l := Lookup{ByArchiveID: make(map[string]Message), ByOrigin: make(map[OriginKey][]Message)}
	for _, id := range ids {
		if _, done := l.ByArchiveID[id]; done || id == "" {
			continue // none has the empty archive id
		}
		m, ok, err := tx.MessageByArchiveID(by, id)
		if err != nil {
			return Lookup{}, err
		}
		if ok {
			l.ByArchiveID[id] = m
		}
	}
	for _, o := range origins {
		if _, done := l.ByOrigin[o]; done {
			continue
		}
		ms, err := tx.MessagesByOriginID(o.From, o.OriginID)
		if err != nil {
			return Lookup{}, err
		}
		if len(ms) > 0 {
			l.ByOrigin[o] = ms
		}
	}
	return l, nil
}

type txHookKey struct{}

// WithTx returns a context that makes UpdateState run hook in the same
// transaction as the session state change, before it commits; an error from
// hook aborts both. The client core stays unaware of the store's model: the
// sync engine uses this to mark a message sent in the very transaction that
// puts it in the session's unacknowledged queue (exactly once, even if the
// tab dies between the two).
func WithTx(ctx context.Context, hook func(Tx) error) context.Context {
	return context.WithValue(ctx, txHookKey{}, hook)
}

// TxHook returns the hook WithTx put in ctx, or nil. Implementations call it
// from UpdateState.
func TxHook(ctx context.Context) func(Tx) error {
	h, _ := ctx.Value(txHookKey{}).(func(Tx) error)
	return h
}
