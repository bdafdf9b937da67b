// IndexedDB transactions and requests (W3C Indexed Database API 3.0
// §4.4, §4.6): the Tx of the IndexedDB store.

package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/hack-pad/safejs"
)

// errEarlyCommit is returned when the transaction committed by itself
// before f was done: f waited on something other than the store.
var errEarlyCommit = errors.New("the transaction had already committed: the function given to Update waited on something other than the store (IndexedDB commits as soon as its goroutine waits on anything else), and the writes made before that wait are committed")

// errAborted is the error of a transaction aborted without an error of its own.
var errAborted = errors.New("store: indexeddb: the transaction was aborted")

// idbTxn is one IndexedDB transaction. Requests are waited for one at a
// time, through one success handler per transaction; the transaction's own
// handlers see every failed request (error events bubble up to it) and its
// end. The handlers are released when the transaction ends, and never
// earlier, so that no late event calls a released Go function.
type idbTxn struct {
	ctx  context.Context
	s    *IndexedDB
	v    safejs.Value            // IDBTransaction
	objs map[string]safejs.Value // object stores and indexes by name

	results chan bool     // an awaited request succeeded (true), or a request failed (false)
	ended   chan struct{} // closed when the transaction has completed or aborted

	// Set by the handlers (wasm runs one goroutine at a time); read after
	// a receive on results or ended.
	failure   error // the first failed request's error
	committed bool
	onCommit  func() // called in the complete event, if set
	endErr    error  // the transaction's error, once aborted

	onSuccess, onError, onEnd safejs.Func
	funcs                     []safejs.Func // the ones created, to release
}

// idbBegin starts a transaction over stores, in mode "readonly" or
// "readwrite".
func idbBegin(ctx context.Context, s *IndexedDB, mode string, stores []string) (*idbTxn, error) {
	scope, err := s.js.scope(stores...)
	if err != nil {
		return nil, idbJSError("transaction scope", err)
	}
	opts := map[string]any{}
	if mode == "readwrite" {
		opts["durability"] = s.durability
	}
	v, err := s.db.Call("transaction", scope, mode, opts)
	if err != nil {
		return nil, idbJSError("starting a transaction", err)
	}
	t := &idbTxn{ctx: ctx, s: s, v: v, objs: make(map[string]safejs.Value), results: make(chan bool, 1), ended: make(chan struct{})}
	for _, h := range []struct {
		fn     *safejs.Func
		handle func(ev safejs.Value)
	}{{&t.onSuccess, t.succeeded}, {&t.onError, t.failed}, {&t.onEnd, t.finished}} {
		f, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
			ev := safejs.Undefined()
			if len(args) > 0 {
				ev = args[0]
			}
			h.handle(ev)
			return nil
		})
		if err != nil {
			t.abort()
			return nil, t.release(err)
		}
		*h.fn = f
		t.funcs = append(t.funcs, f)
	}
	for prop, fn := range map[string]safejs.Func{"onerror": t.onError, "oncomplete": t.onEnd, "onabort": t.onEnd} {
		if err := v.Set(prop, fn); err != nil {
			t.abort()
			return nil, idbJSError("transaction handlers", err)
		}
	}
	return t, nil
}

// succeeded handles the success event of the request waited for.
func (t *idbTxn) succeeded(safejs.Value) { t.signal(true) }

// failed handles the error event of any request (it bubbles up to the
// transaction): the transaction will abort.
func (t *idbTxn) failed(ev safejs.Value) {
	if t.failure == nil {
		if target, err := ev.Get("target"); err == nil {
			if e, err := target.Get("error"); err == nil {
				t.failure = idbDOMError("request", e)
			}
		}
	}
	t.signal(false)
}

// finished handles the complete and abort events: nothing else will call
// the handlers, so they are released.
func (t *idbTxn) finished(ev safejs.Value) {
	t.committed = idbEventType(ev) == "complete"
	if t.committed && t.onCommit != nil {
		t.onCommit()
	}
	if !t.committed {
		if e, err := t.v.Get("error"); err == nil {
			t.endErr = idbDOMError("transaction", e)
		}
	}
	close(t.ended)
	t.release(nil)
}

// release releases the handlers that were created, and returns err.
func (t *idbTxn) release(err error) error {
	for _, f := range t.funcs {
		f.Release()
	}
	t.funcs = nil
	if err != nil {
		return idbJSError("transaction handlers", err)
	}
	return nil
}

func idbEventType(ev safejs.Value) string {
	typ, err := ev.Get("type")
	if err != nil {
		return ""
	}
	s, _ := typ.String()
	return s
}

func (t *idbTxn) signal(ok bool) {
	select {
	case t.results <- ok:
	default:
	}
}

// isEnded reports whether the transaction has completed or aborted.
func (t *idbTxn) isEnded() bool {
	select {
	case <-t.ended:
		return true
	default:
		return false
	}
}

// err explains why a request of op failed or could not be made.
func (t *idbTxn) err(op string, cause error) error {
	switch {
	case t.failure != nil:
		return t.failure
	case t.isEnded() && t.committed:
		return fmt.Errorf("store: indexeddb: %s: %w", op, errEarlyCommit)
	case t.isEnded() && t.endErr != nil:
		return t.endErr
	case cause != nil:
		return idbJSError(op, cause)
	case t.isEnded():
		return errAborted
	}
	return &idbError{op: op, name: "UnknownError", message: "the request failed"}
}

// call calls a method that makes a request (or throws).
func (t *idbTxn) call(op string, obj safejs.Value, method string, args ...any) (safejs.Value, error) {
	v, err := obj.Call(method, args...)
	if err != nil {
		return v, t.err(op, err)
	}
	return v, nil
}

// wait waits until req succeeds and returns its result.
func (t *idbTxn) wait(op string, req safejs.Value) (safejs.Value, error) {
	if err := req.Set("onsuccess", t.onSuccess); err != nil {
		return safejs.Undefined(), t.err(op, err)
	}
	select {
	case ok := <-t.results:
		if !ok {
			return safejs.Undefined(), t.err(op, nil)
		}
	case <-t.ended:
		return safejs.Undefined(), t.err(op, nil)
	case <-t.ctx.Done():
		t.abort()
		return safejs.Undefined(), fmt.Errorf("store: indexeddb: %s: %w", op, context.Cause(t.ctx))
	}
	v, err := req.Get("result")
	if err != nil {
		return v, t.err(op, err)
	}
	return v, nil
}

// request makes a request and waits for its result.
func (t *idbTxn) request(op string, obj safejs.Value, method string, args ...any) (safejs.Value, error) {
	req, err := t.call(op, obj, method, args...)
	if err != nil {
		return req, err
	}
	return t.wait(op, req)
}

// abort aborts the transaction unless it has ended.
func (t *idbTxn) abort() {
	if !t.isEnded() {
		_, _ = t.v.Call("abort") // throws only if it has just finished
	}
}

// commit asks the transaction to commit now and waits until it has.
func (t *idbTxn) commit() error {
	if !t.isEnded() {
		// commit() throws if the transaction is no longer active (an
		// error aborted it): the end event says why.
		_, _ = t.v.Call("commit")
	}
	select {
	case <-t.ended:
	case <-t.ctx.Done():
		t.abort()
		return fmt.Errorf("store: indexeddb: commit: no answer: %w", context.Cause(t.ctx))
	}
	if t.committed {
		return nil
	}
	return t.err("commit", nil)
}

// store returns an object store of the transaction.
func (t *idbTxn) store(name string) (safejs.Value, error) {
	if v, ok := t.objs[name]; ok {
		return v, nil
	}
	v, err := t.v.Call("objectStore", name)
	if err != nil {
		return v, t.err("objectStore "+name, err)
	}
	t.objs[name] = v
	return v, nil
}

// index returns an index of an object store of the transaction.
func (t *idbTxn) index(store, name string) (safejs.Value, error) {
	k := store + "." + name
	if v, ok := t.objs[k]; ok {
		return v, nil
	}
	st, err := t.store(store)
	if err != nil {
		return st, err
	}
	v, err := st.Call("index", name)
	if err != nil {
		return v, t.err("index "+k, err)
	}
	t.objs[k] = v
	return v, nil
}

// bound returns IDBKeyRange.bound(lo, hi, loOpen, hiOpen).
func (t *idbTxn) bound(lo, hi string, loOpen, hiOpen bool) (safejs.Value, error) {
	r, err := t.s.js.keyRange.Call("bound", lo, hi, loOpen, hiOpen)
	if err != nil {
		return r, idbJSError("IDBKeyRange.bound", err)
	}
	return r, nil
}

// lowerBound returns IDBKeyRange.lowerBound(lo, open).
func (t *idbTxn) lowerBound(lo string, open bool) (safejs.Value, error) {
	r, err := t.s.js.keyRange.Call("lowerBound", lo, open)
	if err != nil {
		return r, idbJSError("IDBKeyRange.lowerBound", err)
	}
	return r, nil
}

// put stores a record without waiting: requests run in order, so later
// reads see it, and a failure aborts the transaction (Update returns it).
func (t *idbTxn) put(storeName string, r idbRecord) error {
	st, err := t.store(storeName)
	if err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("store: indexeddb: encoding %s %q: %w", storeName, r.K, err)
	}
	obj, err := t.s.js.json.Call("parse", string(b))
	if err != nil {
		return idbJSError("JSON.parse", err)
	}
	_, err = t.call("put in "+storeName, st, "put", obj)
	return err
}

// putJSON stores x as the record of key k, with no index properties.
func (t *idbTxn) putJSON(storeName, k string, x any, r idbRecord) error {
	j, err := json.Marshal(x)
	if err != nil {
		return fmt.Errorf("store: indexeddb: encoding %s %q: %w", storeName, k, err)
	}
	r.K, r.J = k, string(j)
	return t.put(storeName, r)
}

// decode decodes a stored object's record.
func idbDecode[T any](v safejs.Value) (T, error) {
	var x T
	j, err := v.Get("j")
	if err != nil {
		return x, idbJSError("reading a record", err)
	}
	s, err := j.String()
	if err != nil {
		return x, idbJSError("reading a record", err)
	}
	if err := json.Unmarshal([]byte(s), &x); err != nil {
		return x, fmt.Errorf("store: indexeddb: decoding a record: %w", err)
	}
	return x, nil
}

// getOne reads one record of src (an object store or an index) by key.
func idbGet[T any](t *idbTxn, src safejs.Value, key string) (T, bool, error) {
	var zero T
	v, err := t.request("get", src, "get", key)
	if err != nil || v.IsUndefined() {
		return zero, false, err
	}
	x, err := idbDecode[T](v)
	return x, err == nil, err
}

// getAll reads the records of src (an object store or an index) in a key
// or a range (every record without one).
func idbGetAll[T any](t *idbTxn, src safejs.Value, query ...any) ([]T, error) {
	arr, err := t.request("getAll", src, "getAll", query...)
	if err != nil {
		return nil, err
	}
	return idbDecodeAll[T](arr)
}

// idbDecodeAll decodes an array of stored objects.
func idbDecodeAll[T any](arr safejs.Value) ([]T, error) {
	n, err := arr.Length()
	if err != nil {
		return nil, idbJSError("getAll result", err)
	}
	out := make([]T, 0, n)
	for i := range n {
		v, err := arr.Index(i)
		if err != nil {
			return nil, idbJSError("getAll result", err)
		}
		x, err := idbDecode[T](v)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// counter reads the store version.
func (t *idbTxn) counter() (uint64, error) {
	st, err := t.store(osMeta)
	if err != nil {
		return 0, err
	}
	v, err := t.request("get version", st, "get", idbKeyVersion)
	if err != nil || v.IsUndefined() {
		return 0, err
	}
	j, err := v.Get("j")
	if err != nil {
		return 0, idbJSError("get version", err)
	}
	s, err := j.String()
	if err != nil {
		return 0, idbJSError("get version", err)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("store: indexeddb: the stored version %q: %w", s, err)
	}
	return n, nil
}

// nthFromEnd returns the index key of the n-th last entry of ix in [lo,
// hi): lo if there are fewer, "" if there are none.
func (t *idbTxn) nthFromEnd(ix safejs.Value, lo, hi string, n int) (string, error) {
	r, err := t.bound(lo, hi, false, true)
	if err != nil {
		return "", err
	}
	req, err := t.call("openKeyCursor", ix, "openKeyCursor", r, "prev")
	if err != nil {
		return "", err
	}
	cur, err := t.wait("openKeyCursor", req)
	if err != nil || cur.IsNull() {
		return "", err
	}
	if n > 1 {
		if _, err := t.call("advance", cur, "advance", n-1); err != nil {
			return "", err
		}
		if cur, err = t.wait("advance", req); err != nil {
			return "", err
		}
		if cur.IsNull() {
			return lo, nil
		}
	}
	k, err := cur.Get("key")
	if err != nil {
		return "", idbJSError("cursor key", err)
	}
	s, err := k.String()
	if err != nil {
		return "", idbJSError("cursor key", err)
	}
	return s, nil
}

// withEdits applies to ms (messages of conv) the edits that target them.
func (t *idbTxn) withEdits(conv string, ms []Message) ([]Message, error) {
	if len(ms) == 0 {
		return ms, nil
	}
	ix, err := t.index(osEdits, "target")
	if err != nil {
		return nil, err
	}
	all, err := t.bound(conv+"\x00", conv+"\x01", false, true)
	if err != nil {
		return nil, err
	}
	nv, err := t.request("count", ix, "count", all)
	if err != nil {
		return nil, err
	}
	n, err := nv.Int()
	if err != nil {
		return nil, idbJSError("count", err)
	}
	if n == 0 {
		return ApplyEdits(ms, nil), nil
	}
	var ids []string
	seen := make(map[string]bool)
	for i := range ms {
		for _, id := range messageIDs(&ms[i]) {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	if n <= len(ids) {
		// Fewer edits in the conversation than ids to look up: read them all.
		edits, err := idbGetAll[Edit](t, ix, all)
		if err != nil {
			return nil, err
		}
		return ApplyEdits(ms, edits), nil
	}
	// One request per id, all made at once; requests complete in order, so
	// the last one's success means all have.
	reqs := make([]safejs.Value, len(ids))
	for i, id := range ids {
		if reqs[i], err = t.call("getAll", ix, "getAll", conv+"\x00"+id); err != nil {
			return nil, err
		}
	}
	if _, err := t.wait("getAll", reqs[len(reqs)-1]); err != nil {
		return nil, err
	}
	var edits []Edit
	for _, req := range reqs {
		arr, err := req.Get("result")
		if err != nil {
			return nil, idbJSError("getAll result", err)
		}
		es, err := idbDecodeAll[Edit](arr)
		if err != nil {
			return nil, err
		}
		edits = append(edits, es...)
	}
	return ApplyEdits(ms, edits), nil
}

// idbProperty returns the string property prop of arr[i].
func idbProperty(arr safejs.Value, i int, prop string) (string, error) {
	v, err := arr.Index(i)
	if err != nil {
		return "", idbJSError("getAll result", err)
	}
	p, err := v.Get(prop)
	if err != nil {
		return "", idbJSError("getAll result", err)
	}
	s, err := p.String()
	if err != nil {
		return "", idbJSError("getAll result", err)
	}
	return s, nil
}

// idbTx is the Tx of an Update.
type idbTx struct {
	t       *idbTxn
	version uint64 // the store version, once loaded
	loaded  bool
	dirty   bool // a record was stamped: the counter must be written
	// keys is the connection's key set, when it is complete for the
	// version this transaction read (nil otherwise).
	keys *dedupKeys
	done bool // Update has returned (or is committing)

	// archived knows, per object store, the owner (the Key; "" for none)
	// of archive ids this transaction has looked up or written, so that a
	// put after a lookup (the sync engine's way) need not wait for
	// IndexedDB to check that its archive id is free. Only this
	// transaction changes the data while it runs, and archivedBy undoes
	// what a later put of the same record frees.
	archived   map[string]map[string]string
	archivedBy map[string]map[string]string // store → Key → its archive id here

	// pending holds the message puts not made yet, in order, and
	// pendingAt the index of each Key's last one. Lookups by key, archive
	// id and origin-id merge them with what IndexedDB answers, so they need
	// not wait behind the puts (requests run in order); every other read
	// of messages, and the commit, make them first (flush).
	pending   []Message
	pendingAt map[string]int
	// pendingBy holds, by archive key ("a" by∅id) and origin key ("o"
	// From∅OriginID), the Keys of the pending puts that had it: the
	// candidates of a lookup among them.
	pendingBy map[string][]string

	// editIDs holds the archive ids of the edits stored before this
	// transaction, once editIDsRead (nil: too many to read at once).
	editIDs     map[string]bool
	editIDsRead bool

	// stored holds, by Key, the messages this transaction has read from
	// IndexedDB or written to it, as IndexedDB now holds them; origins,
	// by From∅OriginID, the messages IndexedDB now holds under the
	// origin-ids looked up. Every put made (putMessage) keeps both
	// current, so lookups answer from them without a request (with the
	// pending puts merged in, as for what IndexedDB answers).
	stored  map[string]Message
	origins map[string][]Message
}

// remember notes m as IndexedDB now holds it (stored), moving it between
// the origin-id sets known.
func (x *idbTx) remember(m Message) {
	if x.stored == nil {
		x.stored = make(map[string]Message)
	}
	if old, ok := x.stored[m.Key]; ok && old.OriginID != "" {
		k := old.From + "\x00" + old.OriginID
		if set, ok := x.origins[k]; ok {
			x.origins[k] = slices.DeleteFunc(set, func(o Message) bool { return o.Key == m.Key })
		}
	}
	if m.OriginID != "" {
		k := m.From + "\x00" + m.OriginID
		if set, ok := x.origins[k]; ok {
			x.origins[k] = append(set, cloneMessage(&m))
		}
	}
	x.stored[m.Key] = cloneMessage(&m)
}

// rememberOrigin notes ms as what IndexedDB now holds under the origin
// key k (From∅OriginID).
func (x *idbTx) rememberOrigin(k string, ms []Message) {
	if x.origins == nil {
		x.origins = make(map[string][]Message)
	}
	x.origins[k] = nil
	for i := range ms {
		x.remember(ms[i])
	}
	if x.origins[k] == nil {
		x.origins[k] = []Message{} // known, and empty
	}
}

// storedVersion returns the message key as IndexedDB now holds it, if
// this transaction knows it.
func (x *idbTx) storedVersion(key string) (Message, bool) {
	m, ok := x.stored[key]
	if !ok {
		return Message{}, false
	}
	return cloneMessage(&m), true
}

// flush makes the pending message puts.
func (x *idbTx) flush() error {
	if err := x.check(); err != nil {
		return err
	}
	for _, m := range x.pending {
		if err := x.putMessage(m); err != nil {
			return err
		}
	}
	x.pending = x.pending[:0]
	clear(x.pendingAt)
	clear(x.pendingBy)
	return nil
}

// buffered returns the pending version of message key, if any.
func (x *idbTx) buffered(key string) (*Message, bool) {
	i, ok := x.pendingAt[key]
	if !ok {
		return nil, false
	}
	return &x.pending[i], true
}

// bufferedWhere returns the pending messages (each Key's last version)
// that had the pendingBy key by and match.
func (x *idbTx) bufferedWhere(by string, match func(*Message) bool) []Message {
	var ms []Message
	for i, key := range x.pendingBy[by] {
		if slices.Contains(x.pendingBy[by][:i], key) {
			continue
		}
		if m, ok := x.buffered(key); ok && match(m) {
			ms = append(ms, cloneMessage(m))
		}
	}
	return ms
}

// merge replaces, in ms read from IndexedDB, the messages that have a
// pending version by the pending messages that had the pendingBy key by
// and match.
func (x *idbTx) merge(ms []Message, by string, match func(*Message) bool) []Message {
	if len(x.pendingAt) == 0 {
		return ms
	}
	ms = slices.DeleteFunc(ms, func(m Message) bool { _, ok := x.pendingAt[m.Key]; return ok })
	return append(ms, x.bufferedWhere(by, match)...)
}

// noteArchive records that, as of now, archive id a (by∅id) of store
// belongs to key ("": to none).
func (x *idbTx) noteArchive(store, a, key string) {
	if x.archived == nil {
		x.archived = make(map[string]map[string]string)
		x.archivedBy = make(map[string]map[string]string)
	}
	if x.archived[store] == nil {
		x.archived[store] = make(map[string]string)
		x.archivedBy[store] = make(map[string]string)
	}
	x.archived[store][a] = key
}

// notePut records the archive id a (by∅id, or "" for none) that a put of
// record key of store gives it, and frees the one it had.
func (x *idbTx) notePut(store, key, a string) {
	if old, ok := x.archivedBy[store][key]; ok && old != a {
		x.archived[store][old] = ""
	}
	if a == "" {
		if x.archivedBy != nil && x.archivedBy[store] != nil {
			delete(x.archivedBy[store], key)
		}
		return
	}
	x.noteArchive(store, a, key)
	x.archivedBy[store][key] = a
}

func (x *idbTx) check() error {
	if x.done {
		return errTxDone
	}
	return nil
}

// stamp returns the next store version.
func (x *idbTx) stamp() (uint64, error) {
	if err := x.check(); err != nil {
		return 0, err
	}
	if err := x.loadCounter(); err != nil {
		return 0, err
	}
	x.version++
	x.dirty = true
	return x.version, nil
}

// loadCounter reads the store version, once, and with it whether the
// connection's key set can answer.
func (x *idbTx) loadCounter() error {
	if x.loaded {
		return nil
	}
	v, err := x.t.counter()
	if err != nil {
		return err
	}
	x.version, x.loaded = v, true
	x.keys = x.t.s.keySetFor(v)
	return nil
}

// idbDedupRequests counts the requests made to look up messages by
// archive or origin key (for tests).
var idbDedupRequests atomic.Int64

// absent reports whether no message has the archive or origin key k,
// from the key set alone (false: it may have, ask IndexedDB).
func (x *idbTx) absent(k string) (bool, error) {
	if !x.loaded && x.t.s.hasKeySet() {
		if err := x.loadCounter(); err != nil {
			return false, err
		}
	}
	return x.keys != nil && !x.keys.mayHold(k), nil
}

// noteKeys adds a put message's archive and origin keys to the key set.
func (x *idbTx) noteKeys(keys ...string) {
	if x.keys == nil {
		return
	}
	for _, k := range keys {
		if k != "" && !x.keys.add(k) {
			x.keys = x.t.s.keySetFor(x.version) // full: given up
			return
		}
	}
}

// putCounter writes the store version (once, before the commit).
func (x *idbTx) putCounter() error {
	return x.t.put(osMeta, idbRecord{K: idbKeyVersion, J: strconv.FormatUint(x.version, 10)})
}

// meta reads a record of the meta store (zero if none).
func idbMeta[T any](x *idbTx, key string) (T, error) {
	var zero T
	if err := x.check(); err != nil {
		return zero, err
	}
	st, err := x.t.store(osMeta)
	if err != nil {
		return zero, err
	}
	v, _, err := idbGet[T](x.t, st, key)
	return v, err
}

// lookup reads one record of a store, or of an index of it, by key.
func idbLookup[T any](x *idbTx, store, index, key string) (T, bool, error) {
	var zero T
	if err := x.check(); err != nil {
		return zero, false, err
	}
	src, err := x.t.store(store)
	if index != "" {
		src, err = x.t.index(store, index)
	}
	if err != nil {
		return zero, false, err
	}
	return idbGet[T](x.t, src, key)
}

// lookupAll reads every record of an index of a store with key.
func idbLookupAll[T any](x *idbTx, store, index string, key ...any) ([]T, error) {
	if err := x.check(); err != nil {
		return nil, err
	}
	ix, err := x.t.index(store, index)
	if err != nil {
		return nil, err
	}
	return idbGetAll[T](x.t, ix, key...)
}

func (x *idbTx) Account() (Account, error) { return idbMeta[Account](x, idbKeyAccount) }

func (x *idbTx) PutAccount(a Account) (uint64, error) {
	return x.putStamped(osMeta, idbKeyAccount, "", func(v uint64) (any, idbRecord) {
		a.Version = v
		return a, idbRecord{}
	})
}

func (x *idbTx) Session() (Session, error) { return idbMeta[Session](x, idbKeySession) }

// PutSession stores the session state; it has no version and stamps none.
func (x *idbTx) PutSession(s Session) error {
	if err := x.check(); err != nil {
		return err
	}
	return x.t.putJSON(osMeta, idbKeySession, s, idbRecord{})
}

func (x *idbTx) Message(key string) (Message, bool, error) {
	if m, ok := x.buffered(key); ok {
		return cloneMessage(m), true, x.check()
	}
	if m, ok := x.storedVersion(key); ok {
		return m, true, x.check()
	}
	m, ok, err := idbLookup[Message](x, osMessages, "", key)
	if ok {
		x.remember(m)
	}
	return m, ok, err
}

// knowsArchive reports whether MessageByArchiveID can answer for the
// archive id a (by∅id) without a request.
func (x *idbTx) knowsArchive(a string) bool {
	owner, known := x.archived[osMessages][a]
	if !known || owner == "" {
		return known
	}
	_, pending := x.buffered(owner)
	_, stored := x.stored[owner]
	return pending || stored
}

func (x *idbTx) MessageByArchiveID(by, id string) (Message, bool, error) {
	a := by + "\x00" + id
	if owner, known := x.archived[osMessages][a]; known && id != "" {
		// Looked up or written in this transaction already (the sync
		// engine asks twice per archive result: where it is placed, then
		// whether it is a copy): no request when none has it, or when a
		// pending put or a version known holds it.
		if owner == "" {
			return Message{}, false, x.check()
		}
		if m, ok := x.buffered(owner); ok {
			return cloneMessage(m), true, x.check()
		}
		if m, ok := x.storedVersion(owner); ok {
			return m, true, x.check()
		}
	}
	var m Message
	none, err := x.absent(a)
	ok := false
	if err == nil && !none {
		idbDedupRequests.Add(1)
		m, ok, err = idbLookup[Message](x, osMessages, "archive", a)
	}
	if err != nil {
		return m, false, err
	}
	m, ok = x.archiveFound(by, id, m, ok)
	return m, ok, nil
}

// archiveFound completes a lookup of the archive id (by, id) that
// IndexedDB answered with m (ok: found): the pending puts decide, and what
// it tells is noted.
func (x *idbTx) archiveFound(by, id string, m Message, ok bool) (Message, bool) {
	a := by + "\x00" + id
	if ok {
		x.remember(m)
	}
	if ms := x.merge(nil, "a"+a, func(m *Message) bool { return id != "" && m.ArchiveBy == by && m.ArchiveID == id }); len(ms) > 0 {
		return ms[0], true
	}
	if _, pending := x.buffered(m.Key); ok && pending {
		ok, m = false, Message{} // its pending version has another archive id
	}
	switch {
	case !ok && id != "":
		x.noteArchive(osMessages, a, "")
	case ok:
		x.notePut(osMessages, m.Key, a) // as stored: a later put that changes it frees it
	}
	return m, ok
}

func (x *idbTx) MessagesByOriginID(from, originID string) ([]Message, error) {
	k := from + "\x00" + originID
	set, known := x.origins[k]
	var ms []Message
	if known {
		if err := x.check(); err != nil {
			return nil, err
		}
		ms = make([]Message, len(set))
		for i := range set {
			ms[i] = cloneMessage(&set[i])
		}
	} else {
		none, err := x.absent(k)
		if err == nil && !none {
			idbDedupRequests.Add(1)
			ms, err = idbLookupAll[Message](x, osMessages, "origin", k)
		}
		if err != nil {
			return nil, err
		}
		x.rememberOrigin(k, ms)
	}
	ms = x.merge(ms, "o"+k, func(m *Message) bool { return originID != "" && m.From == from && m.OriginID == originID })
	idbSortMessages(ms)
	return ms, nil
}

// LookUpMessages makes the requests of the lookups this transaction cannot
// answer yet all at once (requests complete in order: the last one's
// success means all have), notes what they tell, and answers from that.
func (x *idbTx) LookUpMessages(by string, ids []string, origins []OriginKey) (Lookup, error) {
	if err := x.check(); err != nil {
		return Lookup{}, err
	}
	type ask struct {
		id     string // by archive id, or
		origin string // by From∅OriginID
		req    safejs.Value
	}
	var asks []ask
	asked := make(map[string]bool)
	for _, id := range ids {
		a := by + "\x00" + id
		if id != "" && !asked["a"+a] && !x.knowsArchive(a) {
			asked["a"+a] = true
			if none, err := x.absent(a); err != nil {
				return Lookup{}, err
			} else if none {
				x.archiveFound(by, id, Message{}, false)
				continue
			}
			asks = append(asks, ask{id: id})
		}
	}
	for _, o := range origins {
		k := o.From + "\x00" + o.OriginID
		if _, known := x.origins[k]; !known && !asked["o"+k] {
			asked["o"+k] = true
			if none, err := x.absent(k); err != nil {
				return Lookup{}, err
			} else if none {
				x.rememberOrigin(k, nil)
				continue
			}
			asks = append(asks, ask{origin: k})
		}
	}
	if len(asks) > 0 {
		idbDedupRequests.Add(int64(len(asks)))
		archive, err := x.t.index(osMessages, "archive")
		if err != nil {
			return Lookup{}, err
		}
		origin, err := x.t.index(osMessages, "origin")
		if err != nil {
			return Lookup{}, err
		}
		for i := range asks {
			q := &asks[i]
			if q.origin != "" {
				q.req, err = x.t.call("getAll", origin, "getAll", q.origin)
			} else {
				q.req, err = x.t.call("get", archive, "get", by+"\x00"+q.id)
			}
			if err != nil {
				return Lookup{}, err
			}
		}
		if _, err := x.t.wait("lookups", asks[len(asks)-1].req); err != nil {
			return Lookup{}, err
		}
		for _, q := range asks {
			v, err := q.req.Get("result")
			if err != nil {
				return Lookup{}, idbJSError("lookup result", err)
			}
			if q.origin != "" {
				ms, err := idbDecodeAll[Message](v)
				if err != nil {
					return Lookup{}, err
				}
				x.rememberOrigin(q.origin, ms)
				continue
			}
			var m Message
			ok := !v.IsUndefined()
			if ok {
				if m, err = idbDecode[Message](v); err != nil {
					return Lookup{}, err
				}
			}
			x.archiveFound(by, q.id, m, ok)
		}
	}
	return lookUpEach(x, by, ids, origins)
}

// checkNew checks a message or an edit (what) about to be stored: it
// needs a key, and no other record of store may have its archive id.
func (x *idbTx) checkNew(store, what, key, by, id string) error {
	if err := x.check(); err != nil {
		return err
	}
	if key == "" {
		return fmt.Errorf("store: %s without a key", what)
	}
	if id == "" {
		return nil
	}
	a := by + "\x00" + id
	other, known := x.archived[store][a]
	if !known {
		var err error
		if other, err = x.archiveOwner(store, a); err != nil {
			return err
		}
		if m, pending := x.buffered(other); pending && (m.ArchiveBy != by || m.ArchiveID != id) {
			other = "" // its pending version has another archive id
		}
	}
	if other != "" && other != key {
		return fmt.Errorf("store: %s %q: archive id %q of %q already belongs to %s %q", what, key, id, by, what, other)
	}
	return nil
}

// archiveOwner returns the Key of the record of store that IndexedDB holds
// with the archive key a (by∅id), "" if none: from the key set where it
// can tell.
func (x *idbTx) archiveOwner(store, a string) (string, error) {
	if store == osMessages {
		if none, err := x.absent(a); err != nil || none {
			return "", err
		}
		idbDedupRequests.Add(1)
	}
	return x.owner(store, "archive", a)
}

// owner returns the primary key of the record of an index's unique key, ""
// if none.
func (x *idbTx) owner(store, index, key string) (string, error) {
	ix, err := x.t.index(store, index)
	if err != nil {
		return "", err
	}
	v, err := x.t.request("getKey", ix, "getKey", key)
	if err != nil || v.IsUndefined() {
		return "", err
	}
	s, err := v.String()
	if err != nil {
		return "", idbJSError("getKey", err)
	}
	return s, nil
}

func (x *idbTx) PutMessage(m Message) (uint64, error) {
	if err := x.checkNew(osMessages, "message", m.Key, m.ArchiveBy, m.ArchiveID); err != nil {
		return 0, err
	}
	v, err := x.stamp()
	if err != nil {
		return 0, err
	}
	m.Corrected, m.Retracted, m.Reactions = false, false, nil
	m.Version = v
	x.bufferMessage(cloneMessage(&m))
	return v, nil
}

// bufferMessage adds a put of m (a private copy) to the pending ones.
func (x *idbTx) bufferMessage(m Message) {
	a := ""
	if m.ArchiveID != "" {
		a = m.ArchiveBy + "\x00" + m.ArchiveID
	}
	x.notePut(osMessages, m.Key, a)
	if x.pendingAt == nil {
		x.pendingAt = make(map[string]int)
	}
	x.pendingAt[m.Key] = len(x.pending)
	x.pending = append(x.pending, m)
	if x.pendingBy == nil {
		x.pendingBy = make(map[string][]string)
	}
	if a != "" {
		x.pendingBy["a"+a] = append(x.pendingBy["a"+a], m.Key)
	}
	if m.OriginID != "" {
		k := "o" + m.From + "\x00" + m.OriginID
		x.pendingBy[k] = append(x.pendingBy[k], m.Key)
	}
}

// putMessage stores m as it is, with its index properties.
func (x *idbTx) putMessage(m Message) error {
	cp := m.Conversation + "\x00" + idbPos(m.Pos)
	r := idbRecord{CP: cp, CV: m.Conversation + "\x00" + idbHex(m.Version)}
	if m.ArchiveID != "" {
		r.A = m.ArchiveBy + "\x00" + m.ArchiveID
	}
	if m.OriginID != "" {
		r.O = m.From + "\x00" + m.OriginID
	}
	if m.Direction == Inbound {
		r.CI = cp
	}
	if m.State == StateQueued {
		r.Q = idbPos(m.Pos)
	}
	for _, id := range messageIDs(&m) {
		r.IDs = append(r.IDs, m.Conversation+"\x00"+id)
	}
	if err := x.t.putJSON(osMessages, m.Key, m, r); err != nil {
		return err
	}
	x.noteKeys(r.A, r.O)
	x.remember(m)
	return nil
}

func (x *idbTx) Outbox() ([]Message, error) {
	if err := x.flush(); err != nil {
		return nil, err
	}
	ms, err := idbLookupAll[Message](x, osMessages, "outbox")
	idbSortMessages(ms)
	return ms, err
}

func (x *idbTx) Edit(key string) (Edit, bool, error) {
	return idbLookup[Edit](x, osEdits, "", key)
}

func (x *idbTx) EditByArchiveID(by, id string) (Edit, bool, error) {
	a := by + "\x00" + id
	if owner, known := x.archived[osEdits][a]; known && owner == "" && id != "" {
		return Edit{}, false, x.check() // none has it: looked up or freed in this transaction
	}
	if id != "" {
		held, err := x.editArchiveIDs()
		if err != nil {
			return Edit{}, false, err
		}
		if _, known := x.archived[osEdits][a]; held != nil && !held[a] && !known {
			// Neither stored before this transaction nor put in it.
			x.noteArchive(osEdits, a, "")
			return Edit{}, false, nil
		}
	}
	e, ok, err := idbLookup[Edit](x, osEdits, "archive", a)
	if err == nil && !ok && id != "" {
		x.noteArchive(osEdits, by+"\x00"+id, "")
	}
	return e, ok, err
}

// idbEditPreload is the most archived edits whose archive ids a
// transaction reads at once (editArchiveIDs).
var idbEditPreload = 1024

// editArchiveIDs returns the archive ids (by∅id) of the edits stored when
// this transaction first asked, read once per transaction, or nil when
// there are more than idbEditPreload. A catch-up asks for every archive
// result whether it is a stored edit (the sync engine's placedAt): edits
// are few beside messages, so one read of their ids saves a request per
// result. Edits put since are known from archived.
func (x *idbTx) editArchiveIDs() (map[string]bool, error) {
	if x.editIDsRead {
		return x.editIDs, nil
	}
	if err := x.check(); err != nil {
		return nil, err
	}
	ix, err := x.t.index(osEdits, "archive")
	if err != nil {
		return nil, err
	}
	nv, err := x.t.request("count", ix, "count")
	if err != nil {
		return nil, err
	}
	n, err := nv.Int()
	if err != nil {
		return nil, idbJSError("count", err)
	}
	x.editIDsRead = true
	if n > idbEditPreload {
		return nil, nil
	}
	x.editIDs = make(map[string]bool, n)
	if n == 0 {
		return x.editIDs, nil
	}
	// The index's keys are the records' property a (getAllKeys would
	// answer their primary keys).
	arr, err := x.t.request("getAll", ix, "getAll")
	if err != nil {
		return nil, err
	}
	l, err := arr.Length()
	if err != nil {
		return nil, idbJSError("getAll result", err)
	}
	for i := range l {
		s, err := idbProperty(arr, i, "a")
		if err != nil {
			return nil, err
		}
		x.editIDs[s] = true
	}
	return x.editIDs, nil
}

func (x *idbTx) PutEdit(e Edit) (uint64, error) {
	if err := x.checkNew(osEdits, "edit", e.Key, e.ArchiveBy, e.ArchiveID); err != nil {
		return 0, err
	}
	old, hadOld, err := x.Edit(e.Key)
	if err != nil {
		return 0, err
	}
	v, err := x.stamp()
	if err != nil {
		return 0, err
	}
	e.Version = v
	r := idbRecord{}
	if e.ArchiveID != "" {
		r.A = e.ArchiveBy + "\x00" + e.ArchiveID
	}
	x.notePut(osEdits, e.Key, r.A)
	if e.Target != "" {
		r.T = e.Conversation + "\x00" + e.Target
	}
	if err := x.t.putJSON(osEdits, e.Key, e, r); err != nil {
		return 0, err
	}
	if err := x.bumpTargets(e.Conversation, e.Target, v); err != nil {
		return 0, err
	}
	if hadOld && (old.Conversation != e.Conversation || old.Target != e.Target) {
		if err := x.bumpTargets(old.Conversation, old.Target, v); err != nil {
			return 0, err
		}
	}
	return v, nil
}

// bumpTargets stamps version v on the messages of conv that id may name.
func (x *idbTx) bumpTargets(conv, id string, v uint64) error {
	if id == "" {
		return nil
	}
	if err := x.flush(); err != nil {
		return err
	}
	ms, err := idbLookupAll[Message](x, osMessages, "targets", conv+"\x00"+id)
	if err != nil {
		return err
	}
	for _, m := range ms {
		m.Version = v
		if err := x.putMessage(m); err != nil {
			return err
		}
	}
	return nil
}

func (x *idbTx) Conversation(peer string) (Conversation, bool, error) {
	return idbLookup[Conversation](x, osConversations, "", peer)
}

func (x *idbTx) PutConversation(c Conversation) (uint64, error) {
	return x.putStamped(osConversations, c.Peer, "conversation without a peer", func(v uint64) (any, idbRecord) {
		c.Version = v
		return c, idbRecord{V: idbHex(v)}
	})
}

func (x *idbTx) CountInbound(conv string, after Pos) (int, error) {
	if err := x.flush(); err != nil {
		return 0, err
	}
	ix, err := x.t.index(osMessages, "inbound")
	if err != nil {
		return 0, err
	}
	r, err := x.t.bound(conv+"\x00"+idbPos(after), conv+"\x01", true, true)
	if err != nil {
		return 0, err
	}
	nv, err := x.t.request("count", ix, "count", r)
	if err != nil {
		return 0, err
	}
	n, err := nv.Int()
	if err != nil {
		return 0, idbJSError("count", err)
	}
	return n, nil
}

func (x *idbTx) LastMessage(conv string) (Message, bool, error) {
	if err := x.flush(); err != nil {
		return Message{}, false, err
	}
	ix, err := x.t.index(osMessages, "conversation_pos")
	if err != nil {
		return Message{}, false, err
	}
	r, err := x.t.bound(conv+"\x00", conv+"\x01", false, true)
	if err != nil {
		return Message{}, false, err
	}
	cur, err := x.t.request("openCursor", ix, "openCursor", r, "prev")
	if err != nil || cur.IsNull() {
		return Message{}, false, err
	}
	v, err := cur.Get("value")
	if err != nil {
		return Message{}, false, idbJSError("cursor value", err)
	}
	m, err := idbDecode[Message](v)
	return m, err == nil, err
}

func (x *idbTx) Contact(jid string) (Contact, bool, error) {
	return idbLookup[Contact](x, osContacts, "", jid)
}

func (x *idbTx) PutContact(c Contact) (uint64, error) {
	return x.putStamped(osContacts, c.JID, "contact without a JID", func(v uint64) (any, idbRecord) {
		c.Version = v
		return c, idbRecord{}
	})
}

func (x *idbTx) DeleteContact(jid string) error {
	if _, ok, err := x.Contact(jid); err != nil || !ok {
		return err
	}
	st, err := x.t.store(osContacts)
	if err != nil {
		return err
	}
	if _, err = x.t.call("delete", st, "delete", jid); err != nil {
		return err
	}
	_, err = x.stamp()
	return err
}

func (x *idbTx) Archive(jid string) (Archive, error) {
	a, ok, err := idbLookup[Archive](x, osArchives, "", jid)
	if !ok && err == nil {
		a = Archive{JID: jid}
	}
	return a, err
}

func (x *idbTx) PutArchive(a Archive) (uint64, error) {
	if err := checkArchive(a); err != nil {
		return 0, err
	}
	return x.putStamped(osArchives, a.JID, "", func(v uint64) (any, idbRecord) {
		a.Version = v
		return a, idbRecord{}
	})
}

// putStamped stamps a record with the next version (set sets it and
// returns the record and its index properties) and stores it under key;
// an empty key is the error "store: "+noKey.
func (x *idbTx) putStamped(store, key, noKey string, set func(v uint64) (any, idbRecord)) (uint64, error) {
	if err := x.check(); err != nil {
		return 0, err
	}
	if key == "" {
		return 0, errors.New("store: " + noKey)
	}
	v, err := x.stamp()
	if err != nil {
		return 0, err
	}
	rec, r := set(v)
	return v, x.t.putJSON(store, key, rec, r)
}
