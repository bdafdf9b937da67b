// IndexedDB: the Store of the browser, on the W3C Indexed Database API 3.0
// (https://www.w3.org/TR/IndexedDB-3/).

package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"syscall/js"
	"time"

	"github.com/hack-pad/go-indexeddb/idb"
	"github.com/hack-pad/safejs"
)

var _ Store = (*IndexedDB)(nil)

// IndexedDB is a Store in the browser's IndexedDB: one database per account
// and device, one object store per record type, and every Update one
// read-write IndexedDB transaction over all of them.
//
// Records are objects holding the whole record as JSON (property j, with
// the model's field names) beside the properties the indexes read. Compound
// index keys are strings joined by NUL (JIDs and ids never hold one), and
// positions and versions are 16 hex digits, sortable as strings: JavaScript
// numbers would lose the low bits of positions from Provisional on.
//
// Every wait on IndexedDB has a deadline: the caller's, or
// DefaultIndexedDBTimeout. The database is opened and deleted through
// go-indexeddb; transactions use the raw API (through safejs), because
// go-indexeddb exposes neither getAll nor its transactions' JavaScript
// objects, and awaits each request with listeners it creates and removes.
type IndexedDB struct {
	name string
	db   safejs.Value // IDBDatabase
	js   *idbEnv

	// durability is the transactions' durability hint ("relaxed", "strict"
	// or "default"); see indexedDBDurability.
	durability string

	mu     sync.Mutex
	closed bool
	// keys holds the archive and origin keys of the messages written
	// through this connection since the store was empty (nil: it was not
	// when opened, or another connection has written since): a lookup of
	// a key it lacks needs no request (dedupkeys.go).
	keys *dedupKeys
}

// DefaultIndexedDBTimeout bounds every call of an IndexedDB store whose
// context has no earlier deadline.
const DefaultIndexedDBTimeout = 30 * time.Second

// indexedDBDurability is the durability hint of read-write transactions.
// "strict" makes a commit complete only once the data is flushed to disk;
// "relaxed" once it is handed to the operating system, so that the last
// commits may be lost when the machine loses power. The store's promises
// are about durability (a stanza is counted for XEP-0198, and so never
// sent again by the server, only once it is committed; the outbox holds
// what the user wrote), and measured in headless Chromium on this project's
// machine (BenchmarkIndexedDBPageCommit: pages of 250 messages; and
// one-message commits) strict costs nothing measurable: about 2,400-2,550
// messages/s and 1.5-2.1 ms per small commit with any of the three hints.
const indexedDBDurability = "strict"

// Object stores and the version of the schema they make.
const (
	idbSchemaVersion = 1

	osMeta          = "meta" // account, session, version counter (keys below)
	osMessages      = "messages"
	osEdits         = "edits"
	osConversations = "conversations"
	osArchives      = "archives"
	osContacts      = "contacts"

	idbKeyVersion = "version"
	idbKeyAccount = "account"
	idbKeySession = "session"
)

// idbIndex is an index of the schema.
type idbIndex struct {
	store, name, keyPath string
	unique, multiEntry   bool
}

// Indexes. Key paths name the properties of a stored object; "∅" stands
// for NUL in the comments.
var idbIndexes = []idbIndex{
	{osMessages, "archive", "a", true, false},                // ArchiveBy∅ArchiveID
	{osMessages, "origin", "o", false, false},                // From∅OriginID
	{osMessages, "conversation_pos", "cp", false, false},     // Conversation∅pos, ties by Key
	{osMessages, "conversation_version", "cv", false, false}, // Conversation∅version
	{osMessages, "inbound", "ci", false, false},              // Conversation∅pos of inbound messages
	{osMessages, "outbox", "q", false, false},                // pos of queued messages
	{osMessages, "targets", "ids", false, true},              // Conversation∅id, for each id an edit may name
	{osEdits, "archive", "a", true, false},                   // ArchiveBy∅ArchiveID
	{osEdits, "target", "t", false, false},                   // Conversation∅Target
	{osConversations, "version", "v", false, false},          // version
}

var idbStores = []string{osMeta, osMessages, osEdits, osConversations, osArchives, osContacts}

// idbEnv holds the JavaScript objects every call uses.
type idbEnv struct {
	json     safejs.Value // JSON
	keyRange safejs.Value // IDBKeyRange
	scopes   map[string]safejs.Value
}

// scope returns the array of object store names for a transaction.
func (e *idbEnv) scope(stores ...string) (safejs.Value, error) {
	k := strings.Join(stores, ",")
	if v, ok := e.scopes[k]; ok {
		return v, nil
	}
	names := make([]any, len(stores))
	for i, s := range stores {
		names[i] = s
	}
	v, err := safejs.ValueOf(names)
	if err != nil {
		return v, err
	}
	e.scopes[k] = v
	return v, nil
}

func newIDBEnv() (*idbEnv, error) {
	g := safejs.Global()
	e := &idbEnv{scopes: make(map[string]safejs.Value)}
	var err error
	if e.json, err = g.Get("JSON"); err != nil {
		return nil, err
	}
	if e.keyRange, err = g.Get("IDBKeyRange"); err != nil {
		return nil, err
	}
	if e.keyRange.IsUndefined() {
		return nil, errors.New("store: this browser has no IndexedDB (IDBKeyRange is undefined)")
	}
	return e, nil
}

// factory returns the page's IDBFactory, without go-indexeddb's Global,
// which panics when there is none.
func idbFactory() (*idb.Factory, error) {
	f, err := safejs.Global().Get("indexedDB")
	if err != nil {
		return nil, idbJSError("indexedDB", err)
	}
	if ok, err := f.Truthy(); err != nil || !ok {
		return nil, errors.New("store: this browser has no IndexedDB (indexedDB is undefined)")
	}
	return idb.WrapFactory(safejs.Unsafe(f))
}

// idbDeadline bounds ctx by DefaultIndexedDBTimeout unless it ends sooner.
func idbDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= DefaultIndexedDBTimeout {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultIndexedDBTimeout)
}

// OpenIndexedDB opens (creating or upgrading it if needed) the database
// name of this origin.
func OpenIndexedDB(ctx context.Context, name string) (*IndexedDB, error) {
	ctx, cancel := idbDeadline(ctx)
	defer cancel()
	env, err := newIDBEnv()
	if err != nil {
		return nil, err
	}
	f, err := idbFactory()
	if err != nil {
		return nil, err
	}
	// go-indexeddb panics when the upgrader returns an error, so the
	// upgrader keeps its error and reports success; a database left
	// incomplete is deleted (it was empty: there is one schema version).
	var upgradeErr error
	var created bool
	req, err := f.Open(ctx, name, idbSchemaVersion, func(db *idb.Database, oldVersion, _ uint) error {
		created = oldVersion == 0
		upgradeErr = idbCreateSchema(db, oldVersion)
		return nil
	})
	if err != nil {
		return nil, idbJSError("opening "+name, err)
	}
	if _, err := req.Await(ctx); err != nil {
		return nil, idbJSError("opening "+name, err)
	}
	raw, err := req.Request.Result()
	if err != nil {
		return nil, idbJSError("opening "+name, err)
	}
	s := &IndexedDB{name: name, db: safejs.Safe(raw), js: env, durability: indexedDBDurability}
	if upgradeErr != nil {
		_ = s.Close()
		if created {
			_ = DeleteIndexedDB(ctx, name)
		}
		return nil, fmt.Errorf("store: creating the schema of %s: %w", name, upgradeErr)
	}
	if err := s.checkSchema(); err != nil {
		_ = s.Close()
		return nil, err
	}
	if err := s.startKeySet(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// startKeySet starts the key set if the store holds no message.
func (s *IndexedDB) startKeySet(ctx context.Context) error {
	return s.view(ctx, []string{osMeta, osMessages}, func(t *idbTxn) error {
		st, err := t.store(osMessages)
		if err != nil {
			return err
		}
		n, err := t.request("count messages", st, "count")
		if err != nil {
			return err
		}
		if c, err := n.Int(); err != nil || c != 0 {
			return err
		}
		v, err := t.counter()
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.keys = newDedupKeys(v, DefaultDedupKeysMax)
		s.mu.Unlock()
		return nil
	})
}

// hasKeySet reports whether the connection has a key set.
func (s *IndexedDB) hasKeySet() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys != nil
}

// keySetFor returns the key set if it is complete for a transaction that
// read the store's version, and gives it up for good otherwise.
func (s *IndexedDB) keySetFor(version uint64) *dedupKeys {
	s.mu.Lock()
	defer s.mu.Unlock()
	ok, reason := s.keys.validFor(version)
	if !ok && s.keys != nil {
		slog.Debug("store: indexeddb: lookups ask IndexedDB again", "db", s.name, "reason", reason)
		s.keys = nil
	}
	if !ok {
		return nil
	}
	return s.keys
}

// keySetCommitted brings set to the version a transaction that used it
// has just committed.
func (s *IndexedDB) keySetCommitted(set *dedupKeys, version uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == set {
		set.version = version
	}
}

// idbCreateSchema creates the object stores and indexes (upgrade from version
// 0, the only one there is so far).
func idbCreateSchema(db *idb.Database, oldVersion uint) error {
	if oldVersion != 0 {
		return fmt.Errorf("no upgrade from schema version %d", oldVersion)
	}
	stores := make(map[string]*idb.ObjectStore)
	for _, name := range idbStores {
		st, err := db.CreateObjectStore(name, idb.ObjectStoreOptions{KeyPath: js.ValueOf("k")})
		if err != nil {
			return idbJSError("creating object store "+name, err)
		}
		stores[name] = st
	}
	for _, ix := range idbIndexes {
		if _, err := stores[ix.store].CreateIndex(ix.name, js.ValueOf(ix.keyPath), idb.IndexOptions{Unique: ix.unique, MultiEntry: ix.multiEntry}); err != nil {
			return idbJSError("creating index "+ix.store+"."+ix.name, err)
		}
	}
	return nil
}

// checkSchema verifies that every object store is there.
func (s *IndexedDB) checkSchema() error {
	names, err := s.db.Get("objectStoreNames")
	if err != nil {
		return idbJSError("objectStoreNames", err)
	}
	for _, n := range idbStores {
		ok, err := names.Call("contains", n)
		if err != nil {
			return idbJSError("objectStoreNames", err)
		}
		if b, _ := ok.Bool(); !b {
			return fmt.Errorf("store: database %s has no object store %q: delete it (DeleteIndexedDB) and open it again", s.name, n)
		}
	}
	return nil
}

// DeleteIndexedDB deletes the database name of this origin. Open
// connections to it are closed first (go-indexeddb closes a connection it
// opened when another one asks to delete or upgrade the database); the call
// fails when ctx ends before the deletion does.
func DeleteIndexedDB(ctx context.Context, name string) error {
	ctx, cancel := idbDeadline(ctx)
	defer cancel()
	f, err := idbFactory()
	if err != nil {
		return err
	}
	req, err := f.DeleteDatabase(name)
	if err != nil {
		return idbJSError("deleting "+name, err)
	}
	if err := req.Await(ctx); err != nil {
		return idbJSError("deleting "+name, err)
	}
	return nil
}

// Close closes the connection; later calls return ErrClosed.
func (s *IndexedDB) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	if _, err := s.db.Call("close"); err != nil {
		return idbJSError("closing", err)
	}
	return nil
}

// begin starts a transaction over stores; mode is "readonly" or
// "readwrite".
func (s *IndexedDB) begin(ctx context.Context, mode string, stores ...string) (*idbTxn, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	return idbBegin(ctx, s, mode, stores)
}

// Update runs f in one read-write transaction over every object store.
func (s *IndexedDB) Update(ctx context.Context, f func(Tx) error) error {
	ctx, cancel := idbDeadline(ctx)
	defer cancel()
	t, err := s.begin(ctx, "readwrite", idbStores...)
	if err != nil {
		return err
	}
	tx := &idbTx{t: t}
	err = f(tx)
	if err == nil {
		err = tx.flush()
	}
	if err == nil && tx.dirty {
		err = tx.putCounter()
	}
	tx.done = true
	if err != nil {
		t.abort()
		return err
	}
	if tx.keys != nil && tx.dirty {
		// In the complete event itself: the next transaction's requests
		// succeed only after it, and may compare versions at once.
		set, v := tx.keys, tx.version
		t.onCommit = func() { s.keySetCommitted(set, v) }
	}
	return t.commit()
}

// LoadState returns the session state.
func (s *IndexedDB) LoadState(ctx context.Context) (Session, error) {
	var st Session
	err := s.view(ctx, []string{osMeta}, func(t *idbTxn) error {
		var err error
		st, err = (&idbTx{t: t}).Session()
		return err
	})
	return st, err
}

// UpdateState runs f on the session state and then, if ctx carries a hook
// (WithTx), the hook, in one transaction.
func (s *IndexedDB) UpdateState(ctx context.Context, f func(*Session) error) error {
	return updateState(ctx, s.Update, f)
}

// view runs f in a read-only transaction over stores.
func (s *IndexedDB) view(ctx context.Context, stores []string, f func(*idbTxn) error) error {
	ctx, cancel := idbDeadline(ctx)
	defer cancel()
	t, err := s.begin(ctx, "readonly", stores...)
	if err != nil {
		return err
	}
	if err := f(t); err != nil {
		t.abort()
		return err
	}
	return nil // a read-only transaction commits by itself
}

// Version returns the store version.
func (s *IndexedDB) Version(ctx context.Context) (uint64, error) {
	var v uint64
	err := s.view(ctx, []string{osMeta}, func(t *idbTxn) error {
		var err error
		v, err = t.counter()
		return err
	})
	return v, err
}

// Conversations returns the inbox, the most recent first.
func (s *IndexedDB) Conversations(ctx context.Context) ([]Conversation, error) {
	return idbReadAll(ctx, s, osConversations, func(a, b Conversation) int {
		return cmp.Or(b.LastActivity.Compare(a.LastActivity), strings.Compare(a.Peer, b.Peer))
	})
}

// ConversationsSince returns the conversations changed after version v.
func (s *IndexedDB) ConversationsSince(ctx context.Context, v uint64) ([]Conversation, uint64, error) {
	return idbSince[Conversation](ctx, s, []string{osMeta, osConversations}, osConversations, "version", v,
		func(t *idbTxn) (safejs.Value, error) { return t.lowerBound(idbHex(v), true) }, nil)
}

// Messages returns up to limit messages of conv before position before, in
// ascending order, with edits applied.
func (s *IndexedDB) Messages(ctx context.Context, conv string, before Pos, limit int) ([]Message, error) {
	var ms []Message
	err := s.view(ctx, []string{osMessages, osEdits}, func(t *idbTxn) error {
		ix, err := t.index(osMessages, "conversation_pos")
		if err != nil {
			return err
		}
		lower, upper := conv+"\x00", conv+"\x00"+idbPos(before)
		if limit > 0 {
			// Find the limit-th newest entry with a key cursor, then read
			// from its key on: ties at that position may add a few.
			if lower, err = t.nthFromEnd(ix, lower, upper, limit); err != nil || lower == "" {
				return err
			}
		}
		r, err := t.bound(lower, upper, false, true)
		if err != nil {
			return err
		}
		if ms, err = idbGetAll[Message](t, ix, r); err != nil {
			return err
		}
		idbSortMessages(ms)
		if limit > 0 && len(ms) > limit {
			ms = ms[len(ms)-limit:]
		}
		ms, err = t.withEdits(conv, ms)
		return err
	})
	return ms, err
}

// MessagesSince returns the messages of conv changed after version v, in
// ascending position order, with edits applied.
func (s *IndexedDB) MessagesSince(ctx context.Context, conv string, v uint64) ([]Message, uint64, error) {
	return idbSince(ctx, s, []string{osMeta, osMessages, osEdits}, osMessages, "conversation_version", v,
		func(t *idbTxn) (safejs.Value, error) { return t.bound(conv+"\x00"+idbHex(v), conv+"\x01", true, true) },
		func(t *idbTxn, ms []Message) ([]Message, error) {
			idbSortMessages(ms)
			return t.withEdits(conv, ms)
		})
}

// idbSince reads, in one transaction over stores, the store version and,
// unless it is v, the records of an index in the range keys makes, then
// passes them through then (if not nil).
func idbSince[T any](ctx context.Context, s *IndexedDB, stores []string, store, index string, v uint64,
	keys func(*idbTxn) (safejs.Value, error), then func(*idbTxn, []T) ([]T, error)) ([]T, uint64, error) {
	var out []T
	var now uint64
	err := s.view(ctx, stores, func(t *idbTxn) error {
		var err error
		if now, err = t.counter(); err != nil || now <= v {
			return err
		}
		ix, err := t.index(store, index)
		if err != nil {
			return err
		}
		r, err := keys(t)
		if err != nil {
			return err
		}
		if out, err = idbGetAll[T](t, ix, r); err != nil || then == nil {
			return err
		}
		out, err = then(t, out)
		return err
	})
	return out, now, err
}

// Contacts returns the roster, sorted by JID.
func (s *IndexedDB) Contacts(ctx context.Context) ([]Contact, error) {
	return idbReadAll(ctx, s, osContacts, func(a, b Contact) int { return strings.Compare(a.JID, b.JID) })
}

// Archive returns what is held of an archive, in a read-only transaction.
func (s *IndexedDB) Archive(ctx context.Context, jid string) (Archive, error) {
	a := Archive{JID: jid}
	err := s.view(ctx, []string{osArchives}, func(t *idbTxn) error {
		st, err := t.store(osArchives)
		if err != nil {
			return err
		}
		got, ok, err := idbGet[Archive](t, st, jid)
		if ok {
			a = got
		}
		return err
	})
	return a, err
}

// idbReadAll returns every record of an object store, sorted by order.
func idbReadAll[T any](ctx context.Context, s *IndexedDB, store string, order func(a, b T) int) ([]T, error) {
	var all []T
	err := s.view(ctx, []string{store}, func(t *idbTxn) error {
		st, err := t.store(store)
		if err != nil {
			return err
		}
		all, err = idbGetAll[T](t, st)
		return err
	})
	slices.SortFunc(all, order)
	return all, err
}

// idbSortMessages sorts by (Pos, Key).
func idbSortMessages(ms []Message) {
	slices.SortFunc(ms, func(a, b Message) int {
		return cmp.Or(cmp.Compare(a.Pos, b.Pos), strings.Compare(a.Key, b.Key))
	})
}

// idbHex writes u as 16 hex digits: string order is numeric order.
func idbHex(u uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = digits[u&15]
		u >>= 4
	}
	return string(b[:])
}

// idbPos writes p as 16 hex digits, in order also across negative values.
func idbPos(p Pos) string { return idbHex(uint64(p) ^ 1<<63) }

// idbError is an exception IndexedDB (or the page) threw, or the error of
// a failed request or transaction: a DOMException's name and message.
type idbError struct {
	op            string
	name, message string
}

func (e *idbError) Error() string {
	s := "store: indexeddb: " + e.op + ": " + e.name
	if e.message != "" {
		s += ": " + e.message
	}
	return s
}

// idbDOMError turns a DOMException (or any error object) into an error; nil
// for null or undefined.
func idbDOMError(op string, v safejs.Value) error {
	if ok, err := v.Truthy(); err != nil || !ok {
		return nil
	}
	e := &idbError{op: op, name: "Error"}
	if n, err := v.Get("name"); err == nil && !n.IsUndefined() {
		e.name, _ = n.String()
	}
	if m, err := v.Get("message"); err == nil && !m.IsUndefined() {
		e.message, _ = m.String()
	}
	return e
}

// idbJSError turns an exception thrown through safejs (or go-indexeddb) into
// an error naming op.
func idbJSError(op string, err error) error {
	if err == nil {
		return nil
	}
	var je js.Error
	if errors.As(err, &je) {
		if e := idbDOMError(op, safejs.Safe(je.Value)); e != nil {
			return e
		}
	}
	var de idb.DOMException
	if errors.As(err, &de) {
		return fmt.Errorf("store: indexeddb: %s: %w", op, de)
	}
	var ie *idbError
	if errors.As(err, &ie) {
		return err
	}
	return fmt.Errorf("store: indexeddb: %s: %w", op, err)
}

// record is the object stored for a record: the record's JSON, and the
// properties the indexes read (absent when empty: not indexed).
type idbRecord struct {
	K   string   `json:"k"`             // the primary key
	A   string   `json:"a,omitempty"`   // archive
	O   string   `json:"o,omitempty"`   // origin
	CP  string   `json:"cp,omitempty"`  // conversation_pos
	CV  string   `json:"cv,omitempty"`  // conversation_version
	CI  string   `json:"ci,omitempty"`  // inbound
	Q   string   `json:"q,omitempty"`   // outbox
	IDs []string `json:"ids,omitempty"` // targets
	T   string   `json:"t,omitempty"`   // (edits) target
	V   string   `json:"v,omitempty"`   // (conversations) version
	J   string   `json:"j"`
}
