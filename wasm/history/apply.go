package history

// The one apply path for live messages, carbons (XEP-0280) and archive
// results (XEP-0313), deduplicated by XEP-0359 ids.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/stanza"
)

// item is one message to apply.
type item struct {
	msg       *stanza.Message // the message itself (unwrapped)
	archiveID string          // the own archive's id for it, if vouched for
	time      time.Time       // the server's time, or when first seen
	pos       store.Pos
	confirm   bool // pos and time come from the archive: they place a copy seen live
}

// Candidate is what deduplication knows of an incoming message.
type Candidate struct {
	ArchiveID string // vouched for by the own archive, or ""
	From      string // sender's bare JID
	OriginID  string
	Body      string
}

// Match decides whether an incoming message is a copy of one already
// stored: byArchive is the stored message with the same archive id (if any),
// byOrigin those from the same sender with the same origin-id. It returns
// the copy (nil: a new message) and why. Pure.
//
// The archive id decides when the own archive vouches for it. Otherwise the
// sender's origin-id decides, and only with the same body: a sender that
// reuses an id for a different text has sent two messages (XEP-0359 ids are
// the sender's choice; Dino #194, Monal #707). The same message archived
// twice under two ids (MongooseIM #4316, ejabberd #4227) is one message.
// A message's own id attribute is never used: clients reuse it.
func Match(c Candidate, byArchive *store.Message, byOrigin []store.Message) (*store.Message, string) {
	if byArchive != nil {
		return byArchive, "the archive id is already stored"
	}
	if c.OriginID == "" {
		return nil, "new: no archive id stored and no origin-id to compare"
	}
	for i := range byOrigin {
		if byOrigin[i].Body == c.Body {
			return &byOrigin[i], "same sender, origin-id and body"
		}
	}
	if len(byOrigin) > 0 {
		return nil, "new: the sender reused an origin-id for a different body"
	}
	return nil, "new: no stored message with this archive id or origin-id"
}

// sameArchived reports whether held, the message stored under an archive
// id, is m (from: its sender's bare JID), which the archive gives under that
// id: the same sender, and the same origin-id where both have one. Pure.
func sameArchived(held store.Message, from string, m *stanza.Message) bool {
	if held.From != from {
		return false
	}
	return held.OriginID == "" || m.OriginID == "" || held.OriginID == m.OriginID
}

// collisionID is the archive id m is kept under when the archive gave its
// id, archiveID, to another message too: ejabberd 23.01 takes its ids from
// the microsecond clock, and two messages routed in the same microsecond
// (seen in the convergence test) share one. The sender's own id (its
// origin-id, else its id attribute) tells them apart. Pure.
func collisionID(archiveID string, m *stanza.Message) string {
	return archiveID + "/" + ownID(m)
}

// heldByArchiveID returns the message stored for m under the archive id
// (from: m's sender), if any, and the archive id m is to be kept under: id,
// or, where another message holds id, collisionID.
func (e *Engine) heldByArchiveID(tx store.Tx, id, from string, m *stanza.Message) (store.Message, bool, string, error) {
	return heldUnder(e, "messages", id, m, func(a string) (store.Message, bool, error) { return tx.MessageByArchiveID(e.cfg.Self, a) },
		func(held store.Message) bool { return sameArchived(held, from, m) })
}

// heldEditByArchiveID is heldByArchiveID for an edit (a correction,
// retraction or reaction, stored apart from messages): an edit stored under
// the id from another sender, or with another origin-id (its key), is
// another edit the archive gave the same id.
func (e *Engine) heldEditByArchiveID(tx store.Tx, id, from string, m *stanza.Message) (store.Edit, bool, string, error) {
	return heldUnder(e, "edits", id, m, func(a string) (store.Edit, bool, error) { return tx.EditByArchiveID(e.cfg.Self, a) },
		func(held store.Edit) bool { return sameEdit(held, from, m) })
}

// heldUnder looks up (look) what is stored under the archive id for m, and
// returns it and the id m is kept under: id, unless what holds id is not m
// (same), then collisionID.
func heldUnder[T any](e *Engine, what, id string, m *stanza.Message, look func(string) (T, bool, error), same func(T) bool) (T, bool, string, error) {
	held, ok, err := look(id)
	if err != nil || !ok || same(held) {
		return held, ok, id, err
	}
	cid := collisionID(id, m)
	// Debug: every page that holds the pair, and both the placement and
	// the apply of each, come here again.
	e.log.Debug("the archive gave one id to two "+what, "archive_id", id, "kept_as", cid)
	held, ok, err = look(cid)
	return held, ok, cid, err
}

// sameEdit reports whether held, the edit stored under an archive id, is
// m (from: its sender's bare JID): the same sender, and, where m has an
// origin-id and held was keyed by one (editKey), the same. Pure.
func sameEdit(held store.Edit, from string, m *stanza.Message) bool {
	if held.From != from {
		return false
	}
	if m.OriginID == "" || !strings.HasPrefix(held.Key, "e:") {
		return true
	}
	return held.Key == editKey(from, m.OriginID)
}

// editKey is the key of an edit with an origin-id: deduplicated by sender
// and origin-id, as messages are.
func editKey(from, originID string) string { return "e:" + from + "/" + originID }

// senderOf is the bare JID a message is from: the account itself when
// it has no from (the own server's copy of what the account sent).
func (e *Engine) senderOf(m *stanza.Message) string {
	if from := bare(m.From); from != "" {
		return from
	}
	return e.cfg.Self
}

// apply stores one message (or edit, or state change) in tx and notes the
// conversations it touched.
func (e *Engine) apply(tx store.Tx, it item, touched map[string]bool) error {
	m := it.msg
	from := e.senderOf(m)
	dir, conv := store.Inbound, from
	if from == e.cfg.Self {
		dir, conv = store.Outbound, bare(m.To)
		if conv == "" {
			conv = e.cfg.Self
		}
	}
	if isEdit(m) {
		return e.applyEdit(tx, it, from, conv, touched)
	}
	if !m.HasBody && len(m.OOB) == 0 {
		if m.ReceiptReceived != "" || m.Marker != nil {
			return e.ackState(tx, m, touched)
		}
		return nil
	}
	var byArchive *store.Message
	if it.archiveID != "" {
		got, ok, id, err := e.heldByArchiveID(tx, it.archiveID, from, m)
		if err != nil {
			return err
		}
		if ok {
			byArchive = &got
		}
		it.archiveID = id
	}
	var byOrigin []store.Message
	if m.OriginID != "" {
		var err error
		if byOrigin, err = tx.MessagesByOriginID(from, m.OriginID); err != nil {
			return err
		}
	}
	body := m.Body
	if body == "" && len(m.OOB) > 0 {
		body = m.OOB[0].URL
	}
	old, reason := Match(Candidate{ArchiveID: it.archiveID, From: from, OriginID: m.OriginID, Body: body}, byArchive, byOrigin)
	touched[conv] = true
	if old != nil {
		e.log.Debug("duplicate", "reason", reason, "archive_id", it.archiveID)
		return e.merge(tx, *old, it, dir)
	}
	e.log.Debug("stored", "reason", reason, "archive_id", it.archiveID)
	st := store.StateReceived
	if dir == store.Outbound {
		st = store.StateAcked // sent by another device: the server has it
	}
	msg := store.Message{
		Key: newKey(), Conversation: conv, Kind: store.Chat,
		OriginID: m.OriginID, StanzaID: m.ID, From: from, Direction: dir,
		Time: it.time, Body: body, State: st, Pos: it.pos,
	}
	if it.archiveID != "" {
		msg.ArchiveBy, msg.ArchiveID = e.cfg.Self, it.archiveID
	}
	_, err := tx.PutMessage(msg)
	return err
}

// merge completes a stored copy with what this one tells: its archive id,
// its place and time in the archive, and for our own messages that the
// server has them.
func (e *Engine) merge(tx store.Tx, old store.Message, it item, dir store.Direction) error {
	m := old
	if m.ArchiveID == "" && it.archiveID != "" {
		m.ArchiveBy, m.ArchiveID = e.cfg.Self, it.archiveID
	}
	if it.confirm && (m.Pos >= store.Provisional || it.pos < m.Pos) {
		// The archive places it. A message archived twice (a resend after
		// a failed resumption whose first copy the server had kept) is
		// one message, at its earliest copy, on every device.
		m.Pos, m.Time = it.pos, it.time
		if it.archiveID != "" {
			m.ArchiveBy, m.ArchiveID = e.cfg.Self, it.archiveID
		}
	}
	if dir == store.Outbound && m.ArchiveID != "" && m.State < store.StateAcked {
		m.State = store.StateAcked
	}
	// An archive id that is not (or no longer) the message's own names the
	// same message: read state kept under it moves to the message's id.
	for _, alias := range []string{old.ArchiveID, it.archiveID} {
		if alias != "" && alias != m.ArchiveID {
			if err := e.rekeyRead(tx, m.Conversation, alias, m.ArchiveID); err != nil {
				return err
			}
		}
	}
	if m.ArchiveID == old.ArchiveID && m.Pos == old.Pos && m.State == old.State && m.Time.Equal(old.Time) {
		return nil
	}
	_, err := tx.PutMessage(m)
	return err
}

// rekeyRead moves conv's read position from the archive id alias to id,
// the id every device keeps for that message (its earliest copy), and has
// it published again: a device that holds the message only under id could
// not place a read position under alias, and its unread count would differ.
func (e *Engine) rekeyRead(tx store.Tx, conv, alias, id string) error {
	c, ok, err := tx.Conversation(conv)
	if err != nil || !ok || c.ReadUpTo != alias {
		return err
	}
	c.ReadUpTo = id
	if _, err := tx.PutConversation(c); err != nil {
		return err
	}
	e.mu.Lock()
	e.mdsDirty[conv], e.rekeyed = true, true
	e.mu.Unlock()
	return nil
}

// publishRekeyed publishes the read positions rekeyRead moved, once their
// transaction has committed.
func (e *Engine) publishRekeyed(ctx context.Context) {
	e.mu.Lock()
	again := e.rekeyed
	e.rekeyed = false
	e.mu.Unlock()
	if again {
		if err := e.publishDirty(ctx); err != nil && !errors.Is(err, ErrOffline) {
			e.log.Warn("publishing read state", "err", err)
		}
	}
}

// isEdit reports whether m is stored as an edit of another message (a
// correction, retraction or reaction) rather than as a message.
func isEdit(m *stanza.Message) bool {
	return m.Replace != "" || m.Retract != "" || m.Reactions != nil
}

// applyEdit stores a correction, retraction or reaction, deduplicated like
// messages.
func (e *Engine) applyEdit(tx store.Tx, it item, from, conv string, touched map[string]bool) error {
	m := it.msg
	ed := store.Edit{Conversation: conv, From: from, Time: it.time, Pos: it.pos}
	switch {
	case m.Retract != "":
		ed.Kind, ed.Target = store.Retraction, m.Retract
	case m.Reactions != nil:
		ed.Kind, ed.Target, ed.Reactions = store.Reaction, m.Reactions.ID, m.Reactions.Emojis
	default:
		ed.Kind, ed.Target, ed.Body = store.Correction, m.Replace, m.Body
	}
	key := ""
	if it.archiveID != "" {
		old, ok, id, err := e.heldEditByArchiveID(tx, it.archiveID, from, m)
		if err != nil {
			return err
		}
		ed.ArchiveBy, ed.ArchiveID = e.cfg.Self, id
		if ok {
			key = old.Key
			if !it.confirm || old.Pos < store.Provisional {
				return nil
			}
		}
	}
	if key == "" && m.OriginID != "" {
		key = editKey(from, m.OriginID)
		if old, ok, err := tx.Edit(key); err != nil {
			return err
		} else if ok && (!it.confirm || old.Pos < store.Provisional) && (old.ArchiveID != "" || it.archiveID == "") {
			return nil
		}
	}
	if key == "" {
		key = newKey()
	}
	ed.Key = key
	touched[conv] = true
	_, err := tx.PutEdit(ed)
	return err
}

// refresh recomputes the inbox rows of the touched conversations: the last
// message, its time, the read position and the unread count.
func (e *Engine) refresh(tx store.Tx, touched map[string]bool) error {
	for conv := range touched {
		c, ok, err := tx.Conversation(conv)
		if err != nil {
			return err
		}
		if !ok {
			c = store.Conversation{Peer: conv, Kind: store.Chat}
		}
		old := c
		if c.ReadUpTo != "" {
			if m, ok, err := tx.MessageByArchiveID(e.cfg.Self, c.ReadUpTo); err != nil {
				return err
			} else if ok {
				c.ReadPos = m.Pos
			}
		}
		if last, ok, err := tx.LastMessage(conv); err != nil {
			return err
		} else if ok {
			c.LastKey, c.Preview, c.LastActivity = last.Key, preview(last.Body), last.Time
		}
		if c.Unread, err = tx.CountInbound(conv, c.ReadPos); err != nil {
			return err
		}
		if ok && c.LastKey == old.LastKey && c.Preview == old.Preview && c.LastActivity.Equal(old.LastActivity) &&
			c.ReadPos == old.ReadPos && c.Unread == old.Unread {
			continue
		}
		if _, err := tx.PutConversation(c); err != nil {
			return err
		}
	}
	return nil
}

// preview shortens a body for the inbox.
func preview(s string) string {
	const max = 140
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// newID returns a random id (96 bits): origin-ids and store keys.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func newKey() string { return "m" + newID() }
