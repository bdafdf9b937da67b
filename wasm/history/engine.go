package history

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/client"
	"github.com/waxwing-im/waxwing/wasm/frame"
	"github.com/waxwing-im/waxwing/wasm/rules"
	"github.com/waxwing-im/waxwing/wasm/stanza"
)

// Config configures an Engine. The zero values of the optional fields mean
// the defaults.
type Config struct {
	Store store.Store // the account's history database; required
	Self  string      // the account's bare JID; required
	Log   *slog.Logger
	Now   func() time.Time
	// PageSize is how many archive results one query asks for: default
	// 250, within [10, 1000].
	PageSize int
	// Overlap is how far behind the newest archived message held (or
	// Archive.Recheck) each forward catch-up starts again, by the
	// archive's own timestamps: entries that share a second (Prosody's
	// times) and an entry shown just after a later one are fetched again
	// and deduplicated. Default 5 s (the window starts at a whole second:
	// 5 to 6 s), within [1 s, 1 h].
	Overlap time.Duration
	// Settle is how long after its timestamp an archive entry may first
	// become visible: ejabberd takes an incoming message's archive id (its
	// time) when it routes it, and writes the entry when the recipient's
	// session process gets to the message, which a busy process (serving
	// archive queries, writing to a slow socket) does seconds later, tens
	// of seconds in the convergence test. What a device holds counts as
	// settled once a page asked at least this long after has passed over
	// it; until then forward catch-ups page again over it
	// (Archive.Recheck), and a session's catch-up that leaves anything
	// unsettled is checked again this long after it started. Default
	// 1 min, within [1 s, 1 h].
	Settle time.Duration
	// OnPresence, if set, is told each contact's availability (RFC 6121
	// §4): live state, never stored.
	OnPresence func(stanza.Presence)
}

// Validate checks the configuration and fills in the defaults.
func (c *Config) Validate() error {
	switch {
	case c.Store == nil:
		return errors.New("history: Config.Store is required")
	case c.Self == "" || strings.ContainsAny(c.Self, "/") || !strings.Contains(c.Self, "@"):
		return fmt.Errorf("history: Config.Self %q is not a bare JID", c.Self)
	}
	if c.PageSize == 0 {
		c.PageSize = 250
	}
	if c.PageSize < 10 || c.PageSize > 1000 {
		return fmt.Errorf("history: Config.PageSize %d is outside [10, 1000]", c.PageSize)
	}
	if c.Overlap == 0 {
		c.Overlap = 5 * time.Second
	}
	if c.Overlap < time.Second || c.Overlap > time.Hour {
		return fmt.Errorf("history: Config.Overlap %v is outside [1s, 1h]", c.Overlap)
	}
	if c.Settle == 0 {
		c.Settle = time.Minute
	}
	if c.Settle < time.Second || c.Settle > time.Hour {
		return fmt.Errorf("history: Config.Settle %v is outside [1s, 1h]", c.Settle)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// ErrOffline is returned by calls that need a session while there is none.
var ErrOffline = errors.New("history: not connected")

// Engine keeps one account's store in step with its server. It is the
// client core's Handler; Wire connects it to a client.
type Engine struct {
	cfg Config
	log *slog.Logger
	cl  *client.Client
	out func([]byte) error // tests: where send writes instead of a session

	mu            sync.Mutex
	seq           int
	lastProv      store.Pos
	cu            *query             // the forward catch-up in flight, if any
	ahead         *query             // an older page asked ahead of FetchOlder (askAhead), if any
	aheadClaimed  bool               // a FetchOlder waits for it
	queries       map[string]*query  // archive queries in flight, by id
	calls         map[string]pending // other IQs in flight, by id
	mdsDirty      map[string]bool    // read state to publish when online
	bound         *query             // the catch-up AfterBind sent on the connection coming up, or nil
	rekeyed       bool               // read state moved to another archive id: publish it
	mdsConfigured bool               // the read state node's max_items raised (configureMDS)
	settleTimer   *time.Timer        // the check of late entries armSettle scheduled, if any

	flushMu sync.Mutex

	keptMu sync.Mutex
	kept   uint32 // the XEP-0198 count the handler call in progress stored last (StoredCount)
	keptOK bool
}

// New returns an engine for cfg.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Engine{
		cfg: cfg, log: cfg.Log,
		queries: map[string]*query{}, calls: map[string]pending{},
		mdsDirty: map[string]bool{},
	}, nil
}

// Wire makes the engine the client's handler and session store, and has it
// told about new sessions and acknowledgements. Call it on the Config
// before client.NewClient, then Attach the client.
func (e *Engine) Wire(cfg *client.Config) {
	cfg.Store = e.cfg.Store
	cfg.Handler = e
	cfg.AfterBind = e.afterBind
	cfg.OnAcked = e.onAcked
}

// Attach gives the engine the client whose sessions it uses to send.
func (e *Engine) Attach(c *client.Client) { e.cl = c }

// Online is called when a session is ready (client.Options.OnState with
// client.LinkOnline): it starts a catch-up unless one is already running
// (a resumption carries the answers of the one in flight), then sends what
// the outbox holds.
func (e *Engine) Online(ctx context.Context) {
	e.mu.Lock()
	skip := e.bound
	e.bound = nil
	e.mu.Unlock()
	// What was asked just before the link died may never have reached the
	// server (it is not re-sent by a resumption), and a new session never
	// answers the old one's questions: ask again.
	if err := e.resend(skip); err != nil && !errors.Is(err, ErrOffline) {
		e.log.Warn("asking again", "err", err)
	}
	if err := e.startCatchUp(ctx, false); err != nil && !errors.Is(err, ErrOffline) {
		e.log.Warn("starting the archive catch-up", "err", err)
	}
	if err := e.publishDirty(ctx); err != nil && !errors.Is(err, ErrOffline) {
		e.log.Warn("publishing read state", "err", err)
	}
	if err := e.flush(ctx); err != nil && !errors.Is(err, ErrOffline) {
		e.log.Warn("sending the outbox", "err", err)
	}
}

// send writes a transient stanza (a query, a reply) on the current session.
func (e *Engine) send(raw []byte) error {
	if e.out != nil {
		return e.out(raw)
	}
	if e.cl == nil {
		return ErrOffline
	}
	s := e.cl.Session()
	if s == nil {
		return ErrOffline
	}
	if err := s.SendTransient(raw); err != nil {
		return fmt.Errorf("%w: %w", ErrOffline, err)
	}
	return nil
}

// nextID returns a fresh id for a query.
func (e *Engine) nextID(prefix string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seq++
	return prefix + strconv.FormatInt(e.cfg.Now().UnixNano()%1e9, 36) + "-" + strconv.Itoa(e.seq)
}

// provisional returns the next provisional position: arrival order, after
// everything the archive has placed.
func (e *Engine) provisional() store.Pos {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := store.Provisional + store.Pos(e.cfg.Now().Sub(provEpoch))
	if p <= e.lastProv {
		p = e.lastProv + 1
	}
	e.lastProv = p
	return p
}

var provEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// afterBind is client.Config.AfterBind: what a new session needs, in the
// same flight as the bind: the roster (with its version), initial presence
// with capabilities, the read state, and the catch-up's first query.
func (e *Engine) afterBind(ctx context.Context, b client.Bound) ([][]byte, error) {
	e.mu.Lock()
	// A new session: the old catch-up is replaced by the one below; other
	// queries and calls are asked again once it is up (Online); what the
	// last AfterBind pipelined is pipelined again now.
	old := e.cu
	e.cu = nil
	if old != nil {
		old.mu.Lock()
		delete(e.queries, old.id)
		old.mu.Unlock()
	}
	for id, p := range e.calls {
		if p.raw == nil {
			delete(e.calls, id)
		}
	}
	e.mu.Unlock()
	if old != nil {
		old.finish(ErrOffline)
	}
	roster, err := e.rosterRequest(ctx)
	if err != nil {
		return nil, err
	}
	q, err := e.newCatchUp(ctx, b.ArchiveMetadata, settleChain{})
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.bound = e.cu
	e.mu.Unlock()
	out := [][]byte{roster, stanza.InitialPresence("", "", 0, &stanza.Caps{Hash: "sha-1", Node: capsNode, Ver: capsVer()}), e.mdsRequest()}
	if q != nil {
		out = append(out, q)
	}
	return out, nil
}

// HandleStanza is client.Handler: it applies one inbound stanza. A stanza
// that changes the store commits with its XEP-0198 count h in one
// transaction; an error leaves it uncounted, so the server sends it again.
func (e *Engine) HandleStanza(ctx context.Context, raw []byte, h uint32) (err error) {
	e.forgetKept()
	defer e.forgetKeptIf(&err)
	switch _, local := client.ElementName(raw); local {
	case "message":
		return e.handleMessage(ctx, raw, h)
	case "iq":
		return e.handleIQ(ctx, raw, h)
	case "presence":
		p, show, err := e.handlePresence(ctx, raw, h)
		if show && e.cfg.OnPresence != nil {
			e.cfg.OnPresence(p)
		}
		return err
	}
	return nil
}

func (e *Engine) handleMessage(ctx context.Context, raw []byte, h uint32) error {
	m, err := stanza.ParseMessage(raw)
	if err != nil {
		e.log.Info("ignoring a malformed message", "err", err)
		return nil
	}
	lv, ok := e.live(m)
	if ok {
		return e.commitLive(ctx, []live{lv}, h)
	}
	return e.handleOther(ctx, lv, h)
}

// live is a message as classified: persistent ones are stored.
type live struct {
	it    item           // it.msg: the message itself (unwrapped from a carbon)
	outer stanza.Message // as received (the carbon wrapper, if any)
}

// live classifies a parsed message: ok when it is a persistent message to
// store (the bulk of a burst), otherwise handleOther takes it.
func (e *Engine) live(m stanza.Message) (live, bool) {
	lv := live{outer: m, it: item{msg: &m}}
	if m.MAM != nil || len(m.Displayed) > 0 {
		return lv, false
	}
	v, reason := rules.Classify(m, e.cfg.Self)
	if v.Unwrapped && m.Inner != nil {
		lv.it.msg = m.Inner
	}
	if !v.Persistent {
		e.log.Debug("ephemeral stanza", "reason", reason)
		return lv, false
	}
	msg := lv.it.msg
	lv.it.archiveID, lv.it.time, lv.it.pos = e.trustedID(&m, msg), e.cfg.Now(), e.provisional()
	if msg.Delay != nil && !msg.Delay.Stamp.IsZero() {
		lv.it.time = msg.Delay.Stamp // offline delivery: the server's time
	}
	return lv, true
}

// handleOther applies a message that is not a persistent one to store:
// an archive result, read state, a receipt or marker, or nothing.
func (e *Engine) handleOther(ctx context.Context, lv live, h uint32) error {
	m := lv.outer
	if m.MAM != nil {
		e.archiveResult(m)
		return nil
	}
	if len(m.Displayed) > 0 {
		if f := bare(m.From); f != "" && f != e.cfg.Self {
			e.log.Info("ignoring read state from another account", "from", m.From)
			return nil
		}
		return e.applyDisplayed(ctx, m.Displayed, h, false)
	}
	if msg := lv.it.msg; m.Carbon == stanza.NotCarbon && (msg.ReceiptReceived != "" || msg.Marker != nil) {
		return e.applyReceipt(ctx, msg, h)
	}
	return nil
}

// commitLive stores live messages received back to back in one
// transaction with the XEP-0198 count of the last (h), then sends the
// receipts they ask for.
func (e *Engine) commitLive(ctx context.Context, batch []live, h uint32) error {
	err := e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		touched := map[string]bool{}
		for _, lv := range batch {
			if err := e.apply(tx, lv.it, touched); err != nil {
				return err
			}
		}
		if err := e.refresh(tx, touched); err != nil {
			return err
		}
		return e.commitInbound(tx, h)
	})
	if err != nil {
		return err
	}
	e.publishRekeyed(ctx)
	for _, lv := range batch {
		if msg := lv.it.msg; lv.outer.Carbon == stanza.NotCarbon && msg.ReceiptRequest && msg.ID != "" && bare(msg.From) != e.cfg.Self {
			_ = e.send(stanza.Receipt(msg.From, msg.Type, e.nextID("rc"), msg.ID))
		}
	}
	return nil
}

// HandleStanzas is client.BatchHandler: it applies stanzas received back
// to back, h being the XEP-0198 count of the first. Consecutive live
// messages share one transaction (a group commit: a burst costs one commit,
// not one per message); anything else is applied on its own, in order. It
// returns how many stanzas, from the first, are applied and counted: on an
// error, the rest are not, and the server sends them again.
func (e *Engine) HandleStanzas(ctx context.Context, raws [][]byte, h uint32) (_ int, err error) {
	e.forgetKept()
	defer e.forgetKeptIf(&err)
	var batch []live
	done := 0 // stanzas applied, from the first
	flush := func(upTo int) error {
		if len(batch) == 0 {
			return nil
		}
		if err := e.commitLive(ctx, batch, h+uint32(upTo)-1); err != nil {
			return err
		}
		batch, done = batch[:0], upTo
		return nil
	}
	for i, raw := range raws {
		var other *live // a message applied on its own
		if _, local := client.ElementName(raw); local == "message" {
			m, err := stanza.ParseMessage(raw)
			if err != nil {
				e.log.Info("ignoring a malformed message", "err", err)
				if len(batch) == 0 {
					done = i + 1
				}
				continue // nothing to store: counted with what follows
			}
			lv, ok := e.live(m)
			if ok {
				batch = append(batch, lv)
				continue
			}
			other = &lv
		}
		if err := flush(i); err != nil {
			return done, err
		}
		var err error
		if other != nil {
			err = e.handleOther(ctx, *other, h+uint32(i))
		} else {
			err = e.HandleStanza(ctx, raw, h+uint32(i))
		}
		if err != nil {
			return done, err
		}
		done = i + 1
	}
	if err := flush(len(raws)); err != nil {
		return done, err
	}
	return len(raws), nil
}

// trustedID returns the archive id the own archive vouches for, from the
// wrapper of a genuine carbon or from the message itself.
func (e *Engine) trustedID(outer, msg *stanza.Message) string {
	if outer != msg {
		if id, ok, _ := rules.TrustStanzaID(*outer, e.cfg.Self); ok {
			return id
		}
	}
	id, ok, reason := rules.TrustStanzaID(*msg, e.cfg.Self)
	if !ok && len(msg.StanzaIDs) > 0 {
		e.log.Debug("stanza-id not trusted", "reason", reason)
	}
	return id
}

// commitInbound records the XEP-0198 inbound count in the transaction,
// and notes it for StoredCount (0: no count to record).
func (e *Engine) commitInbound(tx store.Tx, h uint32) error {
	if h == 0 {
		return nil
	}
	st, err := tx.Session()
	if err != nil {
		return err
	}
	st.SM.Inbound = h
	if err := tx.PutSession(st); err != nil {
		return err
	}
	e.keptMu.Lock()
	e.kept, e.keptOK = h, true
	e.keptMu.Unlock()
	return nil
}

// StoredCount implements client.CountStorer: the XEP-0198 inbound count
// the handler call that has just returned stored last with what it
// committed (a failed commit fails the call, which the client then does
// not count).
func (e *Engine) StoredCount() (uint32, bool) {
	e.keptMu.Lock()
	defer e.keptMu.Unlock()
	return e.kept, e.keptOK
}

// forgetKept starts a handler call: nothing stored by it yet.
func (e *Engine) forgetKept() {
	e.keptMu.Lock()
	e.keptOK = false
	e.keptMu.Unlock()
}

// forgetKeptIf forgets a count noted in a transaction when the handler
// call fails (*err set): the commit may be the one that failed.
func (e *Engine) forgetKeptIf(err *error) {
	if *err != nil {
		e.forgetKept()
	}
}

func (e *Engine) handleIQ(ctx context.Context, raw []byte, h uint32) error {
	iq, err := stanza.ParseIQ(raw)
	if err != nil {
		e.log.Info("ignoring a malformed iq", "err", err)
		return nil
	}
	switch iq.Type {
	case "result", "error":
		if f := bare(iq.From); f != "" && f != e.cfg.Self {
			// Our queries go to our own account: an answer from anyone
			// else is forged or misrouted.
			e.log.Info("ignoring an answer from another entity", "from", iq.From)
			return nil
		}
		if q, ok := e.queryByID(iq.ID); ok {
			return e.archiveAnswer(ctx, q, raw, iq, h)
		}
		e.mu.Lock()
		p, ok := e.calls[iq.ID]
		delete(e.calls, iq.ID)
		e.mu.Unlock()
		if ok {
			return p.cb(ctx, raw)
		}
		return nil
	case "set":
		if iq.Payload == "{"+stanza.NSRoster+"}query" {
			return e.rosterPush(ctx, raw, iq)
		}
	case "get":
		switch iq.Payload {
		case "{urn:xmpp:ping}ping":
			return e.reply(iq, "")
		case "{" + nsDiscoInfo + "}query":
			return e.reply(iq, discoInfo(raw))
		}
	}
	// RFC 6120 §8.2.3: a request nobody handles gets an error.
	return e.reply(iq, "<error type='cancel'><service-unavailable xmlns='"+stanza.NSStanzas+"'/></error>")
}

// reply answers an iq get or set with a result (or the error given as
// payload).
func (e *Engine) reply(iq stanza.IQ, payload string) error {
	typ := "result"
	if strings.HasPrefix(payload, "<error") {
		typ = "error"
	}
	to := ""
	if iq.From != "" {
		to = " to='" + frame.Escape(iq.From) + "'"
	}
	err := e.send([]byte("<iq xmlns='jabber:client' type='" + typ + "' id='" + frame.Escape(iq.ID) + "'" + to + ">" + payload + "</iq>"))
	if errors.Is(err, ErrOffline) {
		return nil // the link is gone; the server will not wait for us
	}
	return err
}

// pending is an iq in flight: raw to ask again after a reconnection (nil
// for what AfterBind pipelines: the next AfterBind asks again itself).
type pending struct {
	raw []byte
	cb  func(ctx context.Context, raw []byte) error
}

// call sends a transient iq and runs cb with its answer; if the link dies
// first, the next connection asks again.
func (e *Engine) call(id string, raw []byte, cb func(ctx context.Context, raw []byte) error) error {
	e.mu.Lock()
	e.calls[id] = pending{raw: raw, cb: cb}
	e.mu.Unlock()
	if err := e.send(raw); err != nil && !errors.Is(err, ErrOffline) {
		e.mu.Lock()
		delete(e.calls, id)
		e.mu.Unlock()
		return err
	}
	return nil
}

// expect registers cb for the answer to an iq sent by other means (the
// AfterBind pipeline).
func (e *Engine) expect(id string, cb func(ctx context.Context, raw []byte) error) {
	e.mu.Lock()
	e.calls[id] = pending{cb: cb}
	e.mu.Unlock()
}

func bare(jid string) string {
	if i := strings.IndexByte(jid, '/'); i >= 0 {
		jid = jid[:i]
	}
	return strings.ToLower(jid)
}
