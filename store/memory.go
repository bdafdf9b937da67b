package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

var _ Store = (*Memory)(nil)

// Memory is a Store held in memory, for native tests and tools. Updates are
// serialised and copy-on-write: a transaction stages its writes apart from
// the committed data and applies them, with their indexes, only when it
// commits, so readers never wait for a transaction in progress and a failed
// one leaves nothing behind. Records go in and out as deep copies.
type Memory struct {
	write  sync.Mutex   // held by the one Update in progress
	mu     sync.RWMutex // guards d and closed
	d      *data
	closed bool
}

// NewMemory returns an empty Memory store.
func NewMemory() *Memory { return &Memory{d: newData()} }

// Update runs f in one transaction and commits its writes if f returns nil.
func (s *Memory) Update(_ context.Context, f func(Tx) error) error {
	s.write.Lock()
	defer s.write.Unlock()
	s.mu.RLock()
	base, closed := s.d, s.closed
	s.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	// Only the holder of s.write changes base, so f reads it without s.mu.
	tx := &memTx{base: base, ov: newData(), version: base.version}
	defer func() { tx.done = true }()
	if err := f(tx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	tx.commit()
	return nil
}

// LoadState returns the session state.
func (s *Memory) LoadState(context.Context) (Session, error) {
	var st Session
	err := s.view(func(d *data) { st = d.session.Clone() })
	return st, err
}

// UpdateState runs f on the session state and, if ctx carries a hook
// (WithTx), then runs the hook in the same transaction; the hook sees the
// changed session.
func (s *Memory) UpdateState(ctx context.Context, f func(*Session) error) error {
	return updateState(ctx, s.Update, f)
}

// Version returns the highest version stamped on a record so far.
func (s *Memory) Version(context.Context) (uint64, error) {
	var v uint64
	err := s.view(func(d *data) { v = d.version })
	return v, err
}

// Conversations returns the inbox, the most recent first.
func (s *Memory) Conversations(context.Context) ([]Conversation, error) {
	var cs []Conversation
	err := s.view(func(d *data) {
		cs = make([]Conversation, 0, len(d.convs))
		for _, c := range d.convs {
			cs = append(cs, *c)
		}
		slices.SortFunc(cs, func(a, b Conversation) int {
			return cmp.Or(b.LastActivity.Compare(a.LastActivity), strings.Compare(a.Peer, b.Peer))
		})
	})
	return cs, err
}

// ConversationsSince returns the conversations changed after version v.
func (s *Memory) ConversationsSince(_ context.Context, v uint64) ([]Conversation, uint64, error) {
	var cs []Conversation
	var now uint64
	err := s.view(func(d *data) {
		now = d.version
		for _, k := range d.convLog.since(v, d.convVersion) {
			cs = append(cs, *d.convs[k])
		}
	})
	return cs, now, err
}

// Messages returns a page of conv: up to limit messages before position
// before, in ascending order, with edits applied.
func (s *Memory) Messages(_ context.Context, conv string, before Pos, limit int) ([]Message, error) {
	var ms []Message
	err := s.view(func(d *data) {
		c := d.chats[conv]
		if c == nil {
			return
		}
		end, _ := slices.BinarySearchFunc(c.order, before, func(x posKey, p Pos) int { return cmp.Compare(x.pos, p) })
		start := 0
		if limit > 0 && end > limit {
			start = end - limit
		}
		ms = make([]Message, 0, end-start)
		for _, x := range c.order[start:end] {
			ms = append(ms, cloneMessage(d.messages[x.key]))
		}
		ms = d.withEdits(conv, ms)
	})
	return ms, err
}

// MessagesSince returns the messages of conv changed after version v, in
// ascending position order, with edits applied.
func (s *Memory) MessagesSince(_ context.Context, conv string, v uint64) ([]Message, uint64, error) {
	var ms []Message
	var now uint64
	err := s.view(func(d *data) {
		now = d.version
		c := d.chats[conv]
		if c == nil {
			return
		}
		for _, k := range c.log.since(v, d.messageVersionIn(conv)) {
			ms = append(ms, cloneMessage(d.messages[k]))
		}
		slices.SortFunc(ms, func(a, b Message) int { return posKeyOf(&a).cmp(posKeyOf(&b)) })
		ms = d.withEdits(conv, ms)
	})
	return ms, now, err
}

// Contacts returns the roster, sorted by JID.
func (s *Memory) Contacts(context.Context) ([]Contact, error) {
	var cs []Contact
	err := s.view(func(d *data) {
		for _, jid := range slices.Sorted(maps.Keys(d.contacts)) {
			cs = append(cs, cloneContact(d.contacts[jid]))
		}
	})
	return cs, err
}

// Archive returns what is held of an archive.
func (s *Memory) Archive(_ context.Context, jid string) (Archive, error) {
	a := Archive{JID: jid}
	err := s.view(func(d *data) {
		if x := d.archives[jid]; x != nil {
			a = cloneArchive(x)
		}
	})
	return a, err
}

// Close drops the data; every later call returns ErrClosed.
func (s *Memory) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed, s.d = true, nil
	return nil
}

// view runs f on the committed data under the read lock.
func (s *Memory) view(f func(*data)) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	f(s.d)
	return nil
}

// errTxDone is returned by a Tx used after its Update returned.
var errTxDone = errors.New("store: transaction already finished")

// memTx is a Memory transaction: its writes are staged in ov (records and
// their indexes, as in the committed data) and merged with base on read; a
// record staged in ov hides base's version of it.
type memTx struct {
	base, ov *data
	version  uint64
	done     bool
}

// commit applies the staged writes to base, in version order.
func (t *memTx) commit() {
	b, ov := t.base, t.ov
	if ov.hasAccount {
		b.account = ov.account
	}
	if ov.hasSession {
		b.session = ov.session
	}
	for _, m := range sortedByVersion(ov.messages, func(m *Message) uint64 { return m.Version }) {
		b.putMessage(m)
	}
	for _, e := range sortedByVersion(ov.edits, func(e *Edit) uint64 { return e.Version }) {
		b.putEdit(e)
	}
	for _, c := range sortedByVersion(ov.convs, func(c *Conversation) uint64 { return c.Version }) {
		b.putConv(c)
	}
	for jid, c := range ov.contacts {
		if c == nil {
			delete(b.contacts, jid)
		} else {
			b.contacts[jid] = c
		}
	}
	maps.Copy(b.archives, ov.archives)
	b.version = t.version
}

func sortedByVersion[T any](m map[string]*T, version func(*T) uint64) []*T {
	return slices.SortedFunc(maps.Values(m), func(a, b *T) int { return cmp.Compare(version(a), version(b)) })
}

func (t *memTx) check() error {
	if t.done {
		return errTxDone
	}
	return nil
}

func (t *memTx) stamp() uint64 {
	t.version++
	return t.version
}

func (t *memTx) Account() (Account, error) {
	if t.ov.hasAccount {
		return t.ov.account, t.check()
	}
	return t.base.account, t.check()
}

func (t *memTx) PutAccount(a Account) (uint64, error) {
	if err := t.check(); err != nil {
		return 0, err
	}
	a.Version = t.stamp()
	t.ov.account, t.ov.hasAccount = a, true
	return a.Version, nil
}

func (t *memTx) Session() (Session, error) {
	if t.ov.hasSession {
		return t.ov.session.Clone(), t.check()
	}
	return t.base.session.Clone(), t.check()
}

func (t *memTx) PutSession(s Session) error {
	if err := t.check(); err != nil {
		return err
	}
	t.ov.session, t.ov.hasSession = s.Clone(), true
	return nil
}

// message returns the current version of a message, staged or committed.
func (t *memTx) message(key string) *Message { return current(t.ov.messages, t.base.messages, key) }

// current returns the staged record of key if there is one, else the
// committed one.
func current[T any](staged, committed map[string]*T, key string) *T {
	if r, ok := staged[key]; ok {
		return r
	}
	return committed[key]
}

// byUnique merges a staged and a committed unique index: a committed entry
// whose record is staged is stale (the staged version would be in the
// staged index).
func byUnique[T any](stagedIdx, committedIdx map[pair]string, staged, committed map[string]*T, p pair) *T {
	if k, ok := stagedIdx[p]; ok {
		return staged[k]
	}
	if k, ok := committedIdx[p]; ok {
		if _, hidden := staged[k]; !hidden {
			return committed[k]
		}
	}
	return nil
}

func (t *memTx) staged(key string) bool {
	_, ok := t.ov.messages[key]
	return ok
}

func (t *memTx) Message(key string) (Message, bool, error) {
	return found(t.message(key), cloneMessage, t.check())
}

func (t *memTx) messageByArchiveID(by, id string) *Message {
	return byUnique(t.ov.msgByArchive, t.base.msgByArchive, t.ov.messages, t.base.messages, pair{by, id})
}

func (t *memTx) MessageByArchiveID(by, id string) (Message, bool, error) {
	return found(t.messageByArchiveID(by, id), cloneMessage, t.check())
}

// messageSet merges a staged and a committed set of message keys into
// current messages, in (Pos, Key) order.
func (t *memTx) messageSet(staged, committed keySet) []*Message {
	ms := make([]*Message, 0, len(staged)+len(committed))
	for k := range staged {
		ms = append(ms, t.ov.messages[k])
	}
	for k := range committed {
		if !t.staged(k) {
			ms = append(ms, t.base.messages[k])
		}
	}
	slices.SortFunc(ms, func(a, b *Message) int { return posKeyOf(a).cmp(posKeyOf(b)) })
	return ms
}

func (t *memTx) MessagesByOriginID(from, originID string) ([]Message, error) {
	p := pair{from, originID}
	return cloneAll(t.messageSet(t.ov.msgByOrigin[p], t.base.msgByOrigin[p]), cloneMessage), t.check()
}

func (t *memTx) LookUpMessages(by string, ids []string, origins []OriginKey) (Lookup, error) {
	return lookUpEach(t, by, ids, origins)
}

func (t *memTx) PutMessage(m Message) (uint64, error) {
	if err := t.check(); err != nil {
		return 0, err
	}
	if m.Key == "" {
		return 0, errors.New("store: message without a key")
	}
	if m.ArchiveID != "" {
		if other := t.messageByArchiveID(m.ArchiveBy, m.ArchiveID); other != nil && other.Key != m.Key {
			return 0, fmt.Errorf("store: message %q: archive id %q of %q already belongs to message %q", m.Key, m.ArchiveID, m.ArchiveBy, other.Key)
		}
	}
	c := cloneMessage(&m)
	c.Corrected, c.Retracted, c.Reactions = false, false, nil
	c.Version = t.stamp()
	t.ov.putMessage(&c)
	return c.Version, nil
}

func (t *memTx) Outbox() ([]Message, error) {
	return cloneAll(t.messageSet(t.ov.outbox, t.base.outbox), cloneMessage), t.check()
}

func (t *memTx) edit(key string) *Edit { return current(t.ov.edits, t.base.edits, key) }

func (t *memTx) Edit(key string) (Edit, bool, error) {
	return found(t.edit(key), cloneEdit, t.check())
}

func (t *memTx) editByArchiveID(by, id string) *Edit {
	return byUnique(t.ov.editByArchive, t.base.editByArchive, t.ov.edits, t.base.edits, pair{by, id})
}

func (t *memTx) EditByArchiveID(by, id string) (Edit, bool, error) {
	return found(t.editByArchiveID(by, id), cloneEdit, t.check())
}

func (t *memTx) PutEdit(e Edit) (uint64, error) {
	if err := t.check(); err != nil {
		return 0, err
	}
	if e.Key == "" {
		return 0, errors.New("store: edit without a key")
	}
	if e.ArchiveID != "" {
		if other := t.editByArchiveID(e.ArchiveBy, e.ArchiveID); other != nil && other.Key != e.Key {
			return 0, fmt.Errorf("store: edit %q: archive id %q of %q already belongs to edit %q", e.Key, e.ArchiveID, e.ArchiveBy, other.Key)
		}
	}
	old := t.edit(e.Key)
	c := cloneEdit(&e)
	c.Version = t.stamp()
	t.ov.putEdit(&c)
	t.bumpTargets(c.Conversation, c.Target, c.Version)
	if old != nil && (old.Conversation != c.Conversation || old.Target != c.Target) {
		t.bumpTargets(old.Conversation, old.Target, c.Version)
	}
	return c.Version, nil
}

// bumpTargets stamps version v on the messages of conv that id may name.
func (t *memTx) bumpTargets(conv, id string, v uint64) {
	if id == "" {
		return
	}
	p := pair{conv, id}
	for _, m := range t.messageSet(t.ov.msgByID[p], t.base.msgByID[p]) {
		c := *m // stored records are never changed in place: Raw may be shared
		c.Version = v
		t.ov.putMessage(&c)
	}
}

func (t *memTx) Conversation(peer string) (Conversation, bool, error) {
	return found(current(t.ov.convs, t.base.convs, peer), func(c *Conversation) Conversation { return *c }, t.check())
}

func (t *memTx) PutConversation(c Conversation) (uint64, error) {
	if err := t.check(); err != nil {
		return 0, err
	}
	if c.Peer == "" {
		return 0, errors.New("store: conversation without a peer")
	}
	c.Version = t.stamp()
	t.ov.putConv(&c)
	return c.Version, nil
}

func (t *memTx) CountInbound(conv string, after Pos) (int, error) {
	n := t.base.countInbound(conv, after) + t.ov.countInbound(conv, after)
	for k := range t.ov.messages {
		if m := t.base.messages[k]; m != nil && m.Conversation == conv && m.Direction == Inbound && m.Pos > after {
			n-- // counted in base, but staged: counted (or not) in ov
		}
	}
	return n, t.check()
}

func (t *memTx) LastMessage(conv string) (Message, bool, error) {
	var last *Message
	if c := t.ov.chats[conv]; c != nil && len(c.order) > 0 {
		last = t.ov.messages[c.order[len(c.order)-1].key]
	}
	if c := t.base.chats[conv]; c != nil {
		for i := len(c.order) - 1; i >= 0; i-- {
			if k := c.order[i].key; !t.staged(k) {
				if m := t.base.messages[k]; last == nil || posKeyOf(m).cmp(posKeyOf(last)) > 0 {
					last = m
				}
				break
			}
		}
	}
	return found(last, cloneMessage, t.check())
}

func (t *memTx) Contact(jid string) (Contact, bool, error) {
	return found(current(t.ov.contacts, t.base.contacts, jid), cloneContact, t.check()) // staged nil: deleted
}

func (t *memTx) PutContact(c Contact) (uint64, error) {
	if err := t.check(); err != nil {
		return 0, err
	}
	if c.JID == "" {
		return 0, errors.New("store: contact without a JID")
	}
	c = cloneContact(&c)
	c.Version = t.stamp()
	t.ov.contacts[c.JID] = &c
	return c.Version, nil
}

func (t *memTx) DeleteContact(jid string) error {
	if err := t.check(); err != nil {
		return err
	}
	if current(t.ov.contacts, t.base.contacts, jid) == nil {
		return nil
	}
	t.ov.contacts[jid] = nil
	t.stamp()
	return nil
}

func (t *memTx) Archive(jid string) (Archive, error) {
	a := current(t.ov.archives, t.base.archives, jid)
	if a == nil {
		return Archive{JID: jid}, t.check()
	}
	return cloneArchive(a), t.check()
}

func (t *memTx) PutArchive(a Archive) (uint64, error) {
	if err := t.check(); err != nil {
		return 0, err
	}
	if err := checkArchive(a); err != nil {
		return 0, err
	}
	a = cloneArchive(&a)
	a.Version = t.stamp()
	t.ov.archives[a.JID] = &a
	return a.Version, nil
}

// found returns a copy of *p and whether p is non-nil.
func found[T any](p *T, clone func(*T) T, err error) (T, bool, error) {
	if p == nil || err != nil {
		var zero T
		return zero, false, err
	}
	return clone(p), true, nil
}

func cloneAll[T any](ps []*T, clone func(*T) T) []T {
	out := make([]T, len(ps))
	for i, p := range ps {
		out[i] = clone(p)
	}
	return out
}

func cloneMessage(m *Message) Message {
	c := *m
	c.Raw = slices.Clone(m.Raw)
	if m.Reactions != nil {
		c.Reactions = make(map[string][]string, len(m.Reactions))
		for r, senders := range m.Reactions {
			c.Reactions[r] = slices.Clone(senders)
		}
	}
	return c
}

func cloneEdit(e *Edit) Edit {
	c := *e
	c.Reactions = slices.Clone(e.Reactions)
	return c
}

func cloneContact(c *Contact) Contact {
	d := *c
	d.Groups = slices.Clone(c.Groups)
	return d
}

func cloneArchive(a *Archive) Archive {
	c := *a
	c.Ranges = slices.Clone(a.Ranges)
	c.Below = slices.Clone(a.Below)
	return c
}

// data is a set of records with their indexes: Memory's committed data, or
// a transaction's staged writes. Stored records are never changed in place.
type data struct {
	version    uint64
	account    Account
	session    Session
	hasAccount bool // staged data: account and session were written
	hasSession bool
	messages   map[string]*Message
	edits      map[string]*Edit
	convs      map[string]*Conversation
	contacts   map[string]*Contact // staged data: nil means deleted
	archives   map[string]*Archive

	msgByArchive  map[pair]string // (ArchiveBy, ArchiveID) → Key
	msgByOrigin   map[pair]keySet // (From, OriginID) → Keys
	msgByID       map[pair]keySet // (Conversation, StanzaID|OriginID|ArchiveID) → Keys
	outbox        keySet          // Keys of messages in StateQueued
	chats         map[string]*chat
	editByArchive map[pair]string // (ArchiveBy, ArchiveID) → edit Key
	editByTarget  map[pair]keySet // (Conversation, Target) → edit Keys
	convLog       versionLog
}

// chat indexes the messages of one conversation.
type chat struct {
	order   []posKey // every message, by (Pos, Key)
	inbound []Pos    // positions of the inbound ones, sorted
	log     versionLog
}

type pair struct{ a, b string }

type keySet map[string]struct{}

func newData() *data {
	return &data{
		messages:      make(map[string]*Message),
		edits:         make(map[string]*Edit),
		convs:         make(map[string]*Conversation),
		contacts:      make(map[string]*Contact),
		archives:      make(map[string]*Archive),
		msgByArchive:  make(map[pair]string),
		msgByOrigin:   make(map[pair]keySet),
		msgByID:       make(map[pair]keySet),
		outbox:        make(keySet),
		chats:         make(map[string]*chat),
		editByArchive: make(map[pair]string),
		editByTarget:  make(map[pair]keySet),
	}
}

func (m keySet) add(k string) { m[k] = struct{}{} }

func addKey(idx map[pair]keySet, p pair, k string) {
	s := idx[p]
	if s == nil {
		s = make(keySet)
		idx[p] = s
	}
	s.add(k)
}

func removeKey(idx map[pair]keySet, p pair, k string) {
	if s := idx[p]; s != nil {
		delete(s, k)
		if len(s) == 0 {
			delete(idx, p)
		}
	}
}

// removeUnique drops a unique index entry if it still names k (a record
// applied earlier in the same commit may have taken it over).
func removeUnique(idx map[pair]string, p pair, k string) {
	if idx[p] == k {
		delete(idx, p)
	}
}

// messageIDs returns the distinct non-empty ids an edit may target m by.
func messageIDs(m *Message) []string {
	ids := make([]string, 0, 3)
	for _, id := range [...]string{m.StanzaID, m.OriginID, m.ArchiveID} {
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// putMessage inserts or replaces m (a private copy) and its index entries.
func (d *data) putMessage(m *Message) {
	if old := d.messages[m.Key]; old != nil {
		d.unindexMessage(old)
	}
	d.messages[m.Key] = m
	if m.ArchiveID != "" {
		d.msgByArchive[pair{m.ArchiveBy, m.ArchiveID}] = m.Key
	}
	if m.OriginID != "" {
		addKey(d.msgByOrigin, pair{m.From, m.OriginID}, m.Key)
	}
	for _, id := range messageIDs(m) {
		addKey(d.msgByID, pair{m.Conversation, id}, m.Key)
	}
	if m.State == StateQueued {
		d.outbox.add(m.Key)
	}
	c := d.chats[m.Conversation]
	if c == nil {
		c = new(chat)
		d.chats[m.Conversation] = c
	}
	c.order = insertSorted(c.order, posKeyOf(m), posKey.cmp)
	if m.Direction == Inbound {
		c.inbound = insertSorted(c.inbound, m.Pos, cmp.Compare[Pos])
	}
	c.log.add(m.Version, m.Key, d.messageVersionIn(m.Conversation))
}

// messageVersionIn returns a function giving the current version of a
// message of conv (0: none).
func (d *data) messageVersionIn(conv string) func(string) uint64 {
	return func(k string) uint64 {
		if m := d.messages[k]; m != nil && m.Conversation == conv {
			return m.Version
		}
		return 0
	}
}

// convVersion returns the current version of a conversation (0: none).
func (d *data) convVersion(peer string) uint64 {
	if c := d.convs[peer]; c != nil {
		return c.Version
	}
	return 0
}

func (d *data) unindexMessage(m *Message) {
	if m.ArchiveID != "" {
		removeUnique(d.msgByArchive, pair{m.ArchiveBy, m.ArchiveID}, m.Key)
	}
	if m.OriginID != "" {
		removeKey(d.msgByOrigin, pair{m.From, m.OriginID}, m.Key)
	}
	for _, id := range messageIDs(m) {
		removeKey(d.msgByID, pair{m.Conversation, id}, m.Key)
	}
	delete(d.outbox, m.Key)
	c := d.chats[m.Conversation]
	c.order = deleteSorted(c.order, posKeyOf(m), posKey.cmp)
	if m.Direction == Inbound {
		c.inbound = deleteSorted(c.inbound, m.Pos, cmp.Compare[Pos])
	}
	c.log.stale++
}

// putEdit inserts or replaces e (a private copy) and its index entries.
func (d *data) putEdit(e *Edit) {
	if old := d.edits[e.Key]; old != nil {
		if old.ArchiveID != "" {
			removeUnique(d.editByArchive, pair{old.ArchiveBy, old.ArchiveID}, old.Key)
		}
		removeKey(d.editByTarget, pair{old.Conversation, old.Target}, old.Key)
	}
	d.edits[e.Key] = e
	if e.ArchiveID != "" {
		d.editByArchive[pair{e.ArchiveBy, e.ArchiveID}] = e.Key
	}
	if e.Target != "" {
		addKey(d.editByTarget, pair{e.Conversation, e.Target}, e.Key)
	}
}

// putConv inserts or replaces c (a private copy).
func (d *data) putConv(c *Conversation) {
	if d.convs[c.Peer] != nil {
		d.convLog.stale++
	}
	d.convs[c.Peer] = c
	d.convLog.add(c.Version, c.Peer, d.convVersion)
}

// countInbound counts the inbound messages of conv with Pos > after.
func (d *data) countInbound(conv string, after Pos) int {
	c := d.chats[conv]
	if c == nil {
		return 0
	}
	i, _ := slices.BinarySearch(c.inbound, after+1)
	if after == maxPos {
		i = len(c.inbound)
	}
	return len(c.inbound) - i
}

const maxPos = Pos(^uint64(0) >> 1)

// withEdits applies to ms (messages of conv) the edits that target them.
func (d *data) withEdits(conv string, ms []Message) []Message {
	var edits []Edit
	seen := make(keySet)
	for i := range ms {
		for _, id := range messageIDs(&ms[i]) {
			for k := range d.editByTarget[pair{conv, id}] {
				if _, ok := seen[k]; !ok {
					seen.add(k)
					edits = append(edits, *d.edits[k]) // ApplyEdits does not keep them
				}
			}
		}
	}
	return ApplyEdits(ms, edits)
}

// posKey is a message's place in its conversation.
type posKey struct {
	pos Pos
	key string
}

func posKeyOf(m *Message) posKey { return posKey{m.Pos, m.Key} }

func (x posKey) cmp(y posKey) int {
	return cmp.Or(cmp.Compare(x.pos, y.pos), strings.Compare(x.key, y.key))
}

func insertSorted[T any](s []T, x T, cmp func(T, T) int) []T {
	i, _ := slices.BinarySearchFunc(s, x, cmp)
	return slices.Insert(s, i, x)
}

func deleteSorted[T any](s []T, x T, cmp func(T, T) int) []T {
	if i, ok := slices.BinarySearchFunc(s, x, cmp); ok {
		return slices.Delete(s, i, i+1)
	}
	return s
}

// versionLog lists the keys of a table's changes in ascending version
// order, for the change feed. An entry is stale once its record has a newer
// version; stale entries are dropped when they are the majority.
type versionLog struct {
	entries []verKey
	stale   int
}

type verKey struct {
	v   uint64
	key string
}

// add appends a change; current returns a key's current version (0: gone).
func (l *versionLog) add(v uint64, key string, current func(string) uint64) {
	l.entries = append(l.entries, verKey{v, key})
	if l.stale > 32 && l.stale > len(l.entries)/2 {
		l.entries = slices.DeleteFunc(l.entries, func(e verKey) bool { return current(e.key) != e.v })
		l.stale = 0
	}
}

// since returns the keys whose current version (as current reports it) is
// above v, in ascending version order.
func (l *versionLog) since(v uint64, current func(string) uint64) []string {
	i, _ := slices.BinarySearchFunc(l.entries, v+1, func(e verKey, v uint64) int { return cmp.Compare(e.v, v) })
	var keys []string
	for _, e := range l.entries[i:] {
		if current(e.key) == e.v {
			keys = append(keys, e.key)
		}
	}
	return keys
}
