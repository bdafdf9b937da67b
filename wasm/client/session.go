package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/waxwing-im/waxwing/wasm/frame"
	"github.com/waxwing-im/waxwing/wasm/xmppws"
)

// Handler receives inbound stanzas. HandleStanza must persist the stanza
// before it returns nil; it may persist h (the XEP-0198 inbound count
// including this stanza) in the same transaction. Only then does the client
// count the stanza as handled. An error drops the link without counting it,
// so that the server delivers it again.
type Handler interface {
	HandleStanza(ctx context.Context, raw []byte, h uint32) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, raw []byte, h uint32) error

// HandleStanza calls f.
func (f HandlerFunc) HandleStanza(ctx context.Context, raw []byte, h uint32) error {
	return f(ctx, raw, h)
}

// Config configures a client.
type Config struct {
	URL      string          // ws:// or wss:// URL of `waxwing serve`
	JID      string          // bare JID of the account
	Dial     *xmppws.Options // HTTP headers (Origin) for native clients; ignored in browsers
	Store    StateStore      // session state; required
	Handler  Handler         // inbound stanzas; required
	Software string          // SASL2 user agent
	Device   string
	Tag      string // Bind 2 tag (resource prefix); default "waxwing"
	Log      *slog.Logger
	Now      func() time.Time
	// AckEvery requests an acknowledgement after this many unacknowledged
	// outbound stanzas, and at least after each Send burst. Default 1.
	AckEvery int
	// AfterBind returns what to send as soon as a new session is bound
	// (not after a resumption, where all of it is still in effect), written
	// in the same flight as the bind or the authentication, without waiting:
	// typically the roster request with its RFC 6121 version, initial
	// presence and the archive's catch-up query. These stanzas are counted
	// for XEP-0198 but never re-sent by a later connection (the next one
	// asks AfterBind again). Nil sends initial presence only.
	AfterBind func(ctx context.Context, b Bound) ([][]byte, error)
	// OnAcked is told which queued stanzas the server has acknowledged
	// (XEP-0198), in order, after the session state recording it is saved.
	OnAcked func(ctx context.Context, acked []Outgoing)
}

// Bound describes a newly bound session to Config.AfterBind.
type Bound struct {
	JID string // the full JID bound
	// ArchiveMetadata is the XEP-0313 <metadata/> Bind 2 returned (where
	// the archive starts and ends), or nil.
	ArchiveMetadata []byte
}

// Stats measures one connection, from the WebSocket open to ready.
type Stats struct {
	Path       Path
	RoundTrips int           // times the client waited for the server
	BytesSent  int           // framing included
	BytesRecv  int           // framing included
	Duration   time.Duration // WebSocket open → ready
	Reason     string        // why this path (Decide's reason)
}

// String reads like the connection bar: "connected in 42 ms · 1 round trip".
func (s Stats) String() string {
	rt := "round trips"
	if s.RoundTrips == 1 {
		rt = "round trip"
	}
	return fmt.Sprintf("connected in %d ms · %d %s (%s)", s.Duration.Milliseconds(), s.RoundTrips, rt, s.Path)
}

// Session is one established connection.
type Session struct {
	cfg   Config
	ws    *xmppws.Conn
	sc    *frame.Scanner
	buf   []byte
	log   *slog.Logger
	stats Stats
	meta  []byte // Bind 2's archive metadata, if the server sent it
	next  []byte // an element read ahead (gather), returned by the next read

	pendingAcked []Outgoing // acknowledged by a resumption, told once saved

	mu   sync.Mutex // guards st and writes
	st   State
	smOn bool // XEP-0198 enabled or resumed on this connection
	// smCount: the server's <enabled/> (inline or not) or <resumed/> has
	// been read, so inbound stanzas are in its count and may be
	// acknowledged unrequested.
	smCount bool
	pending int // sent since the last <r/>

	waiting bool         // the last I/O was a write: the next read is a round trip
	ready   bool         // set once Connect returns: stats are final, I/O is shared
	serving bool         // Serve is running (guarded by mu)
	rSince  time.Time    // an <r/> is unanswered since then (zero: none)
	heard   atomic.Int64 // when bytes last arrived (Unix ns; read without mu)
	lastA   uint32       // the inbound count last acknowledged to the server
	rOwed   bool         // the server's <r/> is not answered yet (ackDue)
	closing bool         // Close has begun: nothing more is written or counted
	// countStored: the handler stored the inbound count st.SM.Inbound
	// itself, with the stanza that brought it there (CountStorer).
	countStored bool
	held        int // elements read since an acknowledgement was held back
	done        chan struct{}
	err         error
}

// Stats returns the measurements of the connection.
func (s *Session) Stats() Stats { return s.stats }

// JID is the bound full JID.
func (s *Session) JID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.BoundJID
}

// ArchiveMetadata returns the XEP-0313 <metadata/> element the server sent
// inside Bind 2's <bound/> (where the account's archive starts and ends),
// or nil: the sync engine's starting point, saving it a query.
func (s *Session) ArchiveMetadata() []byte { return s.meta }

// newDeviceID returns a random UUID (version 4).
func newDeviceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := fmt.Sprintf("%x", b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Connect opens one connection, authenticates, and binds or resumes, in as
// few round trips as the server allows. It returns when the session is
// ready; Serve then reads from it.
func Connect(ctx context.Context, cfg Config, cred Credentials) (*Session, error) {
	if cfg.Tag == "" {
		cfg.Tag = "waxwing"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.AckEvery <= 0 {
		cfg.AckEvery = 1
	}
	st, err := cfg.Store.LoadState(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading session state: %w", err)
	}
	if st.DeviceID == "" {
		st.DeviceID = newDeviceID()
	}
	if st.JID == "" {
		st.JID = cfg.JID
	}
	ws, err := xmppws.Dial(ctx, cfg.URL, cfg.Dial)
	if err != nil {
		return nil, &ConnectError{Kind: ErrUnreachable, Err: err}
	}
	s := &Session{
		cfg:  cfg,
		ws:   ws,
		sc:   frame.NewScanner(frame.Fragments, frame.Limits{MaxBytes: 4 << 20, MaxDepth: 1024}),
		buf:  make([]byte, 16<<10),
		log:  cfg.Log,
		st:   st,
		done: make(chan struct{}),
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = ws.SetDeadline(dl)
	}
	start := time.Now()
	if err := s.negotiate(ctx, cred); err != nil {
		ws.CloseNow()
		return nil, err
	}
	_ = ws.SetDeadline(time.Time{})
	s.stats.Duration = time.Since(start)
	s.ready = true // before Serve and Send can run: they happen after Connect returns
	if err := s.save(ctx); err != nil {
		ws.CloseNow()
		return nil, fmt.Errorf("saving session state: %w", err)
	}
	s.acked(ctx, s.pendingAcked) // acknowledged by the resumption
	s.pendingAcked = nil
	s.log.Info("connected", "path", s.stats.Path, "round_trips", s.stats.RoundTrips, "ms", s.stats.Duration.Milliseconds(),
		"bytes_sent", s.stats.BytesSent, "bytes_recv", s.stats.BytesRecv, "reason", s.stats.Reason)
	return s, nil
}

// write sends elements, each as one WebSocket message (xmppws frames them).
func (s *Session) write(els ...[]byte) error {
	if s.closing {
		return s.ended()
	}
	for _, e := range els {
		n, err := s.ws.Write(e)
		if !s.ready {
			s.stats.BytesSent += n
		}
		if err != nil {
			return &ConnectError{Kind: ErrConnectionLost, Err: err}
		}
	}
	if !s.ready {
		s.waiting = true
	}
	return nil
}

// read returns the next element from the server.
func (s *Session) read() ([]byte, error) {
	if !s.ready && s.waiting {
		s.stats.RoundTrips++
		s.waiting = false
	}
	if raw := s.next; raw != nil {
		s.next = nil
		return raw, nil
	}
	raw, _, err := s.element(true)
	return raw, err
}

// element returns the next element from the server's stream: waiting for
// the network if wait is set, otherwise only if it has arrived whole
// (ok=false: not yet).
func (s *Session) element(wait bool) (raw []byte, ok bool, err error) {
	for {
		tok, ok, err := s.sc.Next()
		if err != nil {
			return nil, false, &ConnectError{Kind: ErrProtocol, Err: err}
		}
		if ok {
			return append([]byte(nil), tok.Raw...), true, nil
		}
		if !wait && !s.ws.Pending() {
			return nil, false, nil
		}
		n, err := s.ws.Read(s.buf)
		if !s.ready {
			s.stats.BytesRecv += n
		}
		if n > 0 {
			s.heard.Store(s.cfg.Now().UnixNano())
			s.sc.Write(s.buf[:n])
			continue
		}
		if err != nil {
			if !wait {
				return nil, false, nil // read again by serve, which reports it
			}
			if errors.Is(err, io.EOF) {
				return nil, false, &ConnectError{Kind: ErrConnectionLost, Err: errors.New("the server closed the stream")}
			}
			return nil, false, &ConnectError{Kind: ErrConnectionLost, Err: err}
		}
	}
}

// expect reads the next element, turning stream errors into errors.
func (s *Session) expect() ([]byte, error) {
	raw, err := s.read()
	if err != nil {
		return nil, err
	}
	if se := ParseStreamError(raw); se != nil {
		return nil, streamErrorToConnect(se)
	}
	return raw, nil
}

func (s *Session) openStream() ([]byte, error) {
	domain := s.cfg.JID[strings.IndexByte(s.cfg.JID, '@')+1:]
	open := "<open xmlns='" + xmppws.NSFraming + "' to='" + frame.Escape(domain) + "' from='" + frame.Escape(s.cfg.JID) + "' version='1.0' xml:lang='en'/>"
	if err := s.write([]byte(open)); err != nil {
		return nil, err
	}
	for {
		raw, err := s.expect()
		if err != nil {
			return nil, err
		}
		if ns, local := ElementName(raw); local == "open" && ns == xmppws.NSFraming {
			continue
		}
		if _, local := ElementName(raw); local != "features" {
			return nil, &ConnectError{Kind: ErrProtocol, Err: fmt.Errorf("expected stream features, got %.80q", raw)}
		}
		return raw, nil
	}
}

// negotiate runs the plan Decide chooses.
func (s *Session) negotiate(ctx context.Context, cred Credentials) error {
	rawFeatures, err := s.openStream()
	if err != nil {
		return err
	}
	f, err := ParseFeatures(rawFeatures)
	if err != nil {
		return &ConnectError{Kind: ErrProtocol, Err: err}
	}
	plan, reason, err := Decide(f, s.st, cred, s.cfg.Now())
	s.stats.Reason = reason
	s.log.Debug("negotiation plan", "plan", fmt.Sprintf("%+v", plan), "reason", reason)
	if err != nil {
		if errors.Is(err, ErrPasswordNeeded) {
			return &ConnectError{Kind: ErrNeedPassword, Err: err}
		}
		return &ConnectError{Kind: ErrProtocol, Err: err}
	}
	if plan.SASL2 {
		return s.negotiateSASL2(ctx, plan, cred)
	}
	return s.negotiateLegacy(ctx, plan, cred)
}

func (s *Session) localpart() string { return s.cfg.JID[:strings.IndexByte(s.cfg.JID, '@')] }

func (s *Session) mechanism(plan Plan, cred Credentials) (Mechanism, error) {
	switch {
	case plan.UseToken:
		return NewFAST(plan.Mechanism, s.localpart(), s.st.FASTToken)
	case plan.Mechanism == "PLAIN":
		return NewPLAIN(s.localpart(), cred.Password), nil
	default:
		return NewSCRAM(plan.Mechanism, s.localpart(), cred.Password)
	}
}

// finalAfterFirst reports whether the client's first message is also its
// last (FAST, PLAIN), so that a pipelined <resume/> can follow it at once.
func finalAfterFirst(mech string) bool {
	return mech == "PLAIN" || strings.HasPrefix(mech, "HT-")
}

func (s *Session) negotiateSASL2(ctx context.Context, plan Plan, cred Credentials) error {
	mech, err := s.mechanism(plan, cred)
	if err != nil {
		return &ConnectError{Kind: ErrProtocol, Err: err}
	}
	initial, err := mech.Start()
	if err != nil {
		return &ConnectError{Kind: ErrProtocol, Err: err}
	}
	req := AuthRequest{
		Mechanism:       plan.Mechanism,
		InitialResponse: initial,
		UserAgentID:     s.st.DeviceID,
		Software:        s.cfg.Software,
		Device:          s.cfg.Device,
		RequestToken:    plan.RequestToken,
		FAST:            plan.UseToken,
	}
	if plan.Resume == ResumeInline {
		req.Resume = &ResumeRequest{PrevID: s.st.SM.ID, H: s.st.SM.Inbound}
	}
	if plan.Bind2 {
		req.Bind = &BindRequest{Tag: s.cfg.Tag, Carbons: plan.Carbons, CSIActive: plan.CSI, SMEnable: plan.InlineSM, SMResume: plan.InlineSM}
	}
	classicResume := func() [][]byte {
		if plan.Resume == ResumeClassic {
			return [][]byte{MarshalResume(s.st.SM.ID, s.st.SM.Inbound)}
		}
		return nil
	}
	out := [][]byte{req.Marshal()}
	resumeSent := false
	if finalAfterFirst(plan.Mechanism) {
		out = append(out, classicResume()...)
		resumeSent = true
	}
	if err := s.write(out...); err != nil {
		return err
	}
	var res AuthResult
	for {
		raw, err := s.expect()
		if err != nil {
			return err
		}
		if ae := ParseFailure(raw); ae != nil {
			return authFailure(ae, plan.UseToken)
		}
		_, local := ElementName(raw)
		switch local {
		case "challenge":
			ch, err := ParseChallenge(raw)
			if err != nil {
				return &ConnectError{Kind: ErrProtocol, Err: err}
			}
			resp, err := mech.Next(ch)
			if err != nil {
				return &ConnectError{Kind: ErrProtocol, Err: err}
			}
			out := [][]byte{MarshalResponse(resp)}
			if !resumeSent {
				// SCRAM: this is the client's final message.
				out = append(out, classicResume()...)
				resumeSent = true
			}
			if err := s.write(out...); err != nil {
				return err
			}
			continue
		case "continue":
			// XEP-0388 tasks (e.g. a second factor) are not supported yet:
			// say so clearly and abort the attempt.
			ce, _ := ParseContinue(raw)
			_ = s.write(MarshalAbort())
			return &ConnectError{Kind: ErrProtocol, Err: ce}
		case "success":
			res, err = ParseSuccess(raw)
			if err != nil {
				return &ConnectError{Kind: ErrProtocol, Err: err}
			}
			if err := mech.Verify(res.AdditionalData); err != nil {
				return &ConnectError{Kind: ErrServerNotVerified, Err: err}
			}
		default:
			return &ConnectError{Kind: ErrProtocol, Err: fmt.Errorf("unexpected <%s> during SASL2", local)}
		}
		break
	}
	if res.Token != nil {
		s.st.FASTToken, s.st.FASTExpiry = res.Token.Token, res.Token.Expiry
		s.st.FASTMechanism = plan.RequestToken
		if plan.UseToken && plan.RequestToken == "" {
			s.st.FASTMechanism = plan.Mechanism // rotated by the server
		}
	}
	if res.AuthzID != "" && strings.Contains(res.AuthzID, "/") {
		s.st.BoundJID = res.AuthzID
	}

	s.meta = res.MAMMetadata
	switch {
	case res.Resumed != nil:
		return s.resumed(res.Resumed.H)
	case plan.Resume == ResumeClassic:
		return s.awaitClassicResume(ctx, plan)
	case res.ResumeFailed != nil && res.Bound:
		s.resumeFailed(res.ResumeFailed.Condition)
		return s.rebound(ctx, res, plan)
	case res.Bound:
		return s.freshBound(ctx, res, plan)
	default:
		// SASL2 without Bind 2: classic resource binding.
		return s.bindClassic(ctx, plan)
	}
}

// freshBound completes a new Bind 2 session.
func (s *Session) freshBound(ctx context.Context, res AuthResult, plan Plan) error {
	if plan.UseToken {
		s.stats.Path = PathToken
	} else {
		s.stats.Path = PathFresh
	}
	// Stanzas queued while offline (or left from a session that cannot be
	// resumed) go out on the new session.
	queue := s.st.SM.Unacked
	s.st.SM = SMState{}
	if res.SMEnableFailed != nil {
		// XEP-0198 allows one <enable/> per stream: carry on without.
		s.log.Warn("the server refused Stream Management inside Bind 2", "condition", res.SMEnableFailed.Condition)
	} else if err := s.startSM(res.SMEnabled); err != nil {
		return err
	}
	if err := s.afterBind(ctx); err != nil {
		return err
	}
	return s.resend(queue)
}

// rebound completes a new session after a failed resumption: what the
// server did not acknowledge is sent again, byte for byte (same origin-id).
func (s *Session) rebound(ctx context.Context, res AuthResult, plan Plan) error {
	queue := s.st.SM.Unacked
	if res.ResumeFailed != nil && res.ResumeFailed.H != nil {
		queue = ackedUpTo(queue, *res.ResumeFailed.H)
		s.pendingAcked = s.st.SM.Unacked[:len(s.st.SM.Unacked)-len(queue)]
	}
	s.st.SM = SMState{}
	s.stats.Path = PathRebound
	if err := s.startSM(res.SMEnabled); err != nil {
		return err
	}
	if err := s.afterBind(ctx); err != nil {
		return err
	}
	return s.resend(queue)
}

// resumeFailed logs a refused resumption. XEP-0198 §5: what the server sent
// on the old session and the client had not acknowledged is not sent
// again. Prosody 0.12 puts such messages in offline storage when no other
// resource is online, bounces the others, and has already dropped the
// oldest when its queue (smacks_max_queue_size, 500) overflowed, which is
// also what makes it refuse. The archive has them all: the sync engine's
// catch-up after every connection fetches them (Stats.Path says rebound).
func (s *Session) resumeFailed(condition string) {
	s.log.Warn("resumption refused; binding a new session: inbound stanzas after those handled come from offline storage or the archive, not from this session",
		"condition", condition, "handled", s.st.SM.Inbound)
}

// afterBind pipelines what a new session needs (Config.AfterBind).
func (s *Session) afterBind(ctx context.Context) error {
	els := [][]byte{[]byte("<presence xmlns='" + NSClient + "'/>")}
	if s.cfg.AfterBind != nil {
		var err error
		if els, err = s.cfg.AfterBind(ctx, Bound{JID: s.st.BoundJID, ArchiveMetadata: s.meta}); err != nil {
			return fmt.Errorf("preparing the new session: %w", err)
		}
	}
	for _, e := range els {
		if s.smOn {
			s.st.SM.Outbound++ // counted, never re-sent
		}
		if err := s.write(e); err != nil {
			return err
		}
	}
	return nil
}

// startSM enables Stream Management, unless Bind 2 did it inline. The
// <enable/> is not waited for: stanzas sent after it are counted in order.
func (s *Session) startSM(inline *SMEnabled) error {
	s.smOn = true
	s.st.SM.Since = s.cfg.Now()
	if inline != nil {
		s.smEnabled(*inline)
		s.smCount = true
		return nil
	}
	return s.write(MarshalEnable(true))
}

func (s *Session) smEnabled(e SMEnabled) {
	s.st.SM.ID = ""
	if e.Resume {
		s.st.SM.ID = e.ID
	}
	s.st.SM.Location = e.Location
	if e.Max > 0 {
		s.st.SM.Max = time.Duration(e.Max) * time.Second
	}
	s.st.SM.Since = s.cfg.Now()
}

// resumed completes a resumption: drop what the server acknowledged, send the
// rest again.
func (s *Session) resumed(h uint32) error {
	s.stats.Path = PathResumed
	s.smOn, s.smCount = true, true
	queue := ackedUpTo(s.st.SM.Unacked, h)
	s.pendingAcked = s.st.SM.Unacked[:len(s.st.SM.Unacked)-len(queue)]
	s.st.SM.Unacked = nil
	s.st.SM.Outbound = h
	s.st.SM.Since = s.cfg.Now()
	return s.resend(queue)
}

// acked tells Config.OnAcked.
func (s *Session) acked(ctx context.Context, out []Outgoing) {
	if len(out) > 0 && s.cfg.OnAcked != nil {
		s.cfg.OnAcked(ctx, out)
	}
}

// SendTransient sends a stanza that is not worth re-sending on another
// connection (a query whose answer only this connection awaits): counted
// for XEP-0198 but neither persisted nor queued.
func (s *Session) SendTransient(raw []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ended(); err != nil {
		return err
	}
	if s.smOn {
		s.st.SM.Outbound++
	}
	return s.write(raw)
}

// awaitClassicResume reads the answer to a pipelined <resume/>.
func (s *Session) awaitClassicResume(ctx context.Context, plan Plan) error {
	for {
		raw, err := s.expect()
		if err != nil {
			return err
		}
		ns, local := ElementName(raw)
		if ns != nsSM {
			continue // the post-authentication <stream:features/>
		}
		switch local {
		case "resumed":
			r, err := ParseResumed(raw)
			if err != nil {
				return &ConnectError{Kind: ErrProtocol, Err: err}
			}
			return s.resumed(r.H)
		case "failed":
			f, _ := ParseFailed(raw)
			s.resumeFailed(f.Condition)
			queue := s.st.SM.Unacked
			if f.H != nil {
				queue = ackedUpTo(queue, *f.H)
				s.pendingAcked = s.st.SM.Unacked[:len(s.st.SM.Unacked)-len(queue)]
			}
			s.st.SM = SMState{Unacked: queue}
			// The old session is gone: a connection that fails from here on
			// must neither try it again nor re-send what it acknowledged
			// (Prosody closes the stream right after an overflow <failed/>).
			if err := s.save(ctx); err != nil {
				return fmt.Errorf("saving session state: %w", err)
			}
			s.acked(ctx, s.pendingAcked)
			s.pendingAcked = nil
			if err := s.bindClassic(ctx, plan); err != nil {
				return err
			}
			s.stats.Path = PathRebound
			return nil
		}
	}
}

// bindClassic binds a resource the RFC 6120 way (after SASL2 without Bind 2,
// after a failed classic resumption, or on the legacy path) and pipelines
// what follows: SM enable, carbons, then re-sends what was not acknowledged.
func (s *Session) bindClassic(ctx context.Context, plan Plan) error {
	queue := s.st.SM.Unacked
	s.st.SM = SMState{}
	if err := s.write(MarshalBind("bind1", s.resource())); err != nil {
		return err
	}
	for {
		raw, err := s.expect()
		if err != nil {
			return err
		}
		if _, local := ElementName(raw); local != "iq" {
			continue
		}
		jid, err := ParseBindResult(raw)
		if err != nil {
			return &ConnectError{Kind: ErrProtocol, Err: err}
		}
		s.st.BoundJID = jid
		break
	}
	if err := s.startSM(nil); err != nil {
		return err
	}
	if err := s.write(MarshalCarbonsEnable("carbons1")); err != nil {
		return err
	}
	s.st.SM.Outbound++ // the carbons request is a stanza
	if err := s.afterBind(ctx); err != nil {
		return err
	}
	if s.stats.Path == "" {
		s.stats.Path = PathLegacy
	}
	if len(queue) > 0 {
		s.stats.Path = PathRebound
	}
	return s.resend(queue)
}

// resource is the resource to ask for in classic binding: the one last
// bound, if any, else tag-device. The same resource replaces a session the
// client cannot resume because the link died before its <enabled/> was
// read, so that the server hands what it queued there to offline storage
// (Prosody, ejabberd: the old session is replaced, "conflict") instead of
// keeping it until the session times out; and it is the resource Bind 2
// gave, so that paths do not alternate between two resources.
func (s *Session) resource() string {
	if bare, res, ok := strings.Cut(s.st.BoundJID, "/"); ok && res != "" && strings.EqualFold(bare, s.cfg.JID) {
		return res
	}
	return s.cfg.Tag + "-" + s.st.DeviceID[:8]
}

func (s *Session) negotiateLegacy(ctx context.Context, plan Plan, cred Credentials) error {
	mech, err := s.mechanism(plan, cred)
	if err != nil {
		return &ConnectError{Kind: ErrProtocol, Err: err}
	}
	initial, err := mech.Start()
	if err != nil {
		return &ConnectError{Kind: ErrProtocol, Err: err}
	}
	if err := s.write(MarshalSASLAuth(plan.Mechanism, initial)); err != nil {
		return err
	}
	for done := false; !done; {
		raw, err := s.expect()
		if err != nil {
			return err
		}
		if ae := ParseFailure(raw); ae != nil {
			return authFailure(ae, false)
		}
		switch _, local := ElementName(raw); local {
		case "challenge":
			ch, err := ParseSASLChallenge(raw)
			if err != nil {
				return &ConnectError{Kind: ErrProtocol, Err: err}
			}
			resp, err := mech.Next(ch)
			if err != nil {
				return &ConnectError{Kind: ErrProtocol, Err: err}
			}
			if err := s.write(MarshalSASLResponse(resp)); err != nil {
				return err
			}
		case "success":
			add, err := ParseSASLSuccess(raw)
			if err != nil {
				return &ConnectError{Kind: ErrProtocol, Err: err}
			}
			if err := mech.Verify(add); err != nil {
				return &ConnectError{Kind: ErrServerNotVerified, Err: err}
			}
			done = true
		default:
			return &ConnectError{Kind: ErrProtocol, Err: fmt.Errorf("unexpected <%s> during SASL", local)}
		}
	}
	// RFC 6120 §6.4.6: restart the stream.
	s.sc.Reset()
	if _, err := s.openStream(); err != nil {
		return err
	}
	s.stats.Path = PathLegacy
	if plan.Resume == ResumeClassic {
		if err := s.write(MarshalResume(s.st.SM.ID, s.st.SM.Inbound)); err != nil {
			return err
		}
		return s.awaitClassicResume(ctx, plan)
	}
	return s.bindClassic(ctx, plan)
}

// ackedUpTo drops the stanzas the server has acknowledged (h counts them).
func ackedUpTo(q []Outgoing, h uint32) []Outgoing {
	i := 0
	for i < len(q) && int32(q[i].Seq-h) <= 0 {
		i++
	}
	return append([]Outgoing(nil), q[i:]...)
}

// resend sends queued stanzas again, in order, counting them anew.
func (s *Session) resend(queue []Outgoing) error {
	for _, o := range queue {
		if err := s.sendLocked(o.Raw); err != nil {
			return err
		}
	}
	if len(queue) > 0 {
		return s.write(MarshalR())
	}
	return nil
}

// sendLocked counts, queues and writes one stanza. s.mu is held, or the
// session is not shared yet.
func (s *Session) sendLocked(raw []byte) error {
	if s.smOn {
		s.st.SM.Outbound++
		s.st.SM.Unacked = append(s.st.SM.Unacked, Outgoing{Seq: s.st.SM.Outbound, Raw: raw})
	}
	return s.write(raw)
}

// ErrSessionEnded is returned (wrapped) by Send and SendTransient on a
// session whose Serve has returned: the stanza was not queued.
var ErrSessionEnded = errors.New("the session has ended")

// Send sends one stanza. It is queued in the persistent session state (in the
// store's transaction, with the hook store.WithTx may have put in ctx) before
// it is written, and stays there until the server acknowledges it: if the
// write fails, the next connection sends it. An error other than a lost
// connection means it was not queued.
func (s *Session) Send(ctx context.Context, raw []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ended(); err != nil {
		return err
	}
	n, out := len(s.st.SM.Unacked), s.st.SM.Outbound
	if s.smOn {
		s.st.SM.Outbound++
		s.st.SM.Unacked = append(s.st.SM.Unacked, Outgoing{Seq: s.st.SM.Outbound, Raw: raw})
	}
	if err := s.save(ctx); err != nil {
		s.st.SM.Unacked, s.st.SM.Outbound = s.st.SM.Unacked[:n], out
		return fmt.Errorf("queueing a stanza: %w", err)
	}
	if err := s.write(raw); err != nil {
		return err
	}
	s.pending++
	if s.smOn && s.pending >= s.cfg.AckEvery {
		s.pending = 0
		return s.requestAckLocked()
	}
	return nil
}

func (s *Session) requestAckLocked() error {
	if s.rSince.IsZero() {
		s.rSince = s.cfg.Now()
	}
	return s.write(MarshalR())
}

// RequestAck asks the server to acknowledge (XEP-0198 <r/>): the liveness
// probe of an idle link.
func (s *Session) RequestAck() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.smOn {
		return nil
	}
	return s.requestAckLocked()
}

// AckOverdue reports whether an <r/> has gone unanswered for longer than d:
// the link is dead even if TCP has not noticed.
func (s *Session) AckOverdue(now time.Time, d time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.rSince.IsZero() && now.Sub(s.rSince) > d
}

// Liveness returns since when an <r/> is unanswered (zero: none) and when
// the server's bytes last arrived (zero: none since the session was made).
func (s *Session) Liveness() (unanswered, heard time.Time) {
	s.mu.Lock()
	unanswered = s.rSince
	s.mu.Unlock()
	if ns := s.heard.Load(); ns != 0 {
		heard = time.Unix(0, ns)
	}
	return unanswered, heard
}

// Serve reads from the session until it ends, passing stanzas to the handler
// and answering Stream Management. It returns why the session ended; called
// again, it waits for the first call to end and returns the same.
func (s *Session) Serve(ctx context.Context) error {
	s.mu.Lock()
	if s.serving {
		s.mu.Unlock()
		<-s.done
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.err
	}
	s.serving = true
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { s.ws.CloseNow() }) // the read below does not watch ctx
	defer stop()
	err := s.serve(ctx)
	// Whatever ended the session, the link is done: drop it without closing
	// the stream, so the server keeps the session for resumption and never
	// sees two connections for one session.
	s.ws.CloseNow()
	s.mu.Lock()
	s.err = err
	_ = s.save(context.Background())
	close(s.done)
	s.mu.Unlock()
	return err
}

func (s *Session) serve(ctx context.Context) error {
	for {
		s.mu.Lock()
		err := s.ackDue(ctx)
		s.mu.Unlock()
		if err != nil {
			return err
		}
		raw, err := s.read()
		if err != nil {
			return err
		}
		ns, local := ElementName(raw) // once per element: this is the hot path
		switch {
		case ns == NSStream && local == "error":
			return streamErrorToConnect(ParseStreamError(raw))
		case ns == xmppws.NSFraming && local == "close":
			return &ConnectError{Kind: ErrConnectionLost, Err: errors.New("the server closed the stream")}
		case ns == nsSM && local == "r":
			s.mu.Lock()
			s.rOwed = true // answered by ackDue, before the next read
			s.mu.Unlock()
		case ns == nsSM && local == "a":
			h, err := ParseA(raw)
			if err != nil {
				return &ConnectError{Kind: ErrProtocol, Err: err}
			}
			s.mu.Lock()
			if s.closing {
				// Close cleared the counts this would be checked against.
				s.mu.Unlock()
				break
			}
			if serialAfter(h, s.st.SM.Outbound) {
				// XEP-0198 §4: handled-count-too-high. Either side miscounts;
				// trusting it would drop stanzas that were never acknowledged.
				sent := s.st.SM.Outbound
				s.mu.Unlock()
				s.log.Error("the server acknowledged more stanzas than were sent", "h", h, "sent", sent)
				return &ConnectError{Kind: ErrProtocol, Err: fmt.Errorf("the server acknowledged %d stanzas; %d were sent", h, sent)}
			}
			before := s.st.SM.Unacked
			s.st.SM.Unacked = ackedUpTo(before, h)
			acked := before[:len(before)-len(s.st.SM.Unacked)]
			s.st.SM.Since = s.cfg.Now()
			s.rSince = time.Time{}
			err = s.save(ctx)
			s.mu.Unlock()
			if err != nil {
				return err
			}
			s.acked(ctx, acked)
		case ns == nsSM && local == "enabled":
			e, err := ParseEnabled(raw)
			if err != nil {
				return &ConnectError{Kind: ErrProtocol, Err: err}
			}
			s.mu.Lock()
			if s.closing {
				// An answer to the <enable/> that Close overtook: the
				// session is ended, not to be resumed.
				s.mu.Unlock()
				break
			}
			// XEP-0198 §4: both sides count from here. Stanzas handled
			// before it (carbons, which Bind 2 enables inline, flow from
			// the SASL2 <success> on) are not in the server's count.
			s.st.SM.Inbound, s.lastA, s.held, s.smCount, s.countStored = 0, 0, 0, true, false
			s.smEnabled(e)
			err = s.save(ctx)
			s.mu.Unlock()
			if err != nil {
				return err
			}
		case ns == nsSM && local == "failed":
			s.mu.Lock()
			s.smOn, s.smCount = false, false
			s.st.SM.ID = ""
			s.mu.Unlock()
			s.log.Warn("the server refused Stream Management")
		case isStanza(ns, local):
			s.mu.Lock()
			h := s.st.SM.Inbound + 1
			s.mu.Unlock()
			n, herr := 1, error(nil)
			if bh, ok := s.cfg.Handler.(BatchHandler); ok {
				var raws [][]byte
				if raws, err = s.gather(raw); err != nil {
					return err
				}
				n, herr = bh.HandleStanzas(ctx, raws, h)
				n = min(max(n, 0), len(raws))
				if n == 0 && herr == nil {
					herr = errors.New("the handler applied none of the stanzas")
				}
			} else if herr = s.cfg.Handler.HandleStanza(ctx, raw, h); herr != nil {
				n = 0
			}
			if n == 0 && herr != nil {
				// Not counted: the server sends it again after a resume.
				return fmt.Errorf("handling a stanza: %w", herr)
			}
			h += uint32(n) - 1
			stored := false
			if cs, ok := s.cfg.Handler.(CountStorer); ok && herr == nil {
				sh, ok := cs.StoredCount()
				stored = ok && sh == h
			}
			s.mu.Lock()
			s.st.SM.Inbound = h
			s.countStored = stored
			if herr != nil {
				// What was handled is counted (and saved as Serve ends);
				// the rest is sent again after a resume.
				s.mu.Unlock()
				return fmt.Errorf("handling a stanza: %w", herr)
			}
			s.mu.Unlock()
		}
	}
}

// ackDue acknowledges the stanzas handled so far (saveAndAck) when an
// acknowledgement is due: the server asked (<r/>), or ackEvery stanzas
// have been handled since the last one (XEP-0198 §4: an unrequested <a/>
// keeps the server's queue short; Prosody ends a session whose queue
// passes 500). While more of the server's stream has already arrived (a
// catch-up's archive pages), it is held back, up to ackMax stanzas or
// elements, and covers them too: each acknowledgement costs a save of the
// session state, and Prosody asks again as soon as one arrives. Nothing is
// acknowledged before its count is stored. s.mu is held.
func (s *Session) ackDue(ctx context.Context) error {
	if s.closing {
		return nil // the stream is ended: no <a/> may follow it
	}
	h := s.st.SM.Inbound
	if !s.rOwed && !(s.smCount && h-s.lastA >= ackEvery) {
		return nil
	}
	if h-s.lastA < ackMax && s.held < ackMax && s.arrived() {
		s.held++
		return nil
	}
	s.lastA, s.rOwed, s.held = h, false, 0
	return s.saveAndAck(ctx)
}

// arrived reports whether more of the server's stream has already arrived.
// Before it says no, the WebSocket's reader gets a chance to take what the
// connection holds (in the browser it runs only when this goroutine lets
// it, and takes one message at a time, up to a buffer of 64).
func (s *Session) arrived() bool {
	if s.next != nil || s.ws.Pending() {
		return true
	}
	runtime.Gosched()
	return s.ws.Pending()
}

// saveAndAck acknowledges the stanzas handled so far (XEP-0198 <a/>) once
// their count is stored: the handler commits the count only with the
// stanzas it stores, and a count acknowledged but not stored makes the next
// resumption fail ("Client acknowledged less stanzas than already
// acknowledged", Prosody), as when the page is reloaded after presences
// or IQ results. Where the handler stored that very count itself
// (CountStorer), the acknowledgement costs no save. s.mu is held.
func (s *Session) saveAndAck(ctx context.Context) error {
	h := s.st.SM.Inbound
	if !s.countStored {
		if err := s.save(ctx); err != nil {
			return err
		}
	}
	s.log.Debug("acknowledging", "h", h, "saved", !s.countStored)
	// What this session handled, never a count read back from the store:
	// acknowledging more than the server sent ends the session.
	return s.write(MarshalA(h))
}

// Close ends the session cleanly: the server ends it too (no resumption).
// The serve loop may still read what the server sent before it saw the end
// (stanzas, which the handler stores, and an <a/> counting stanzas that
// the cleared state no longer holds): it ignores Stream Management from
// then on and writes nothing more. Closing a session the server has
// already closed, or closing twice, is not an error.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	s.st.SM = SMState{}
	err := s.save(context.Background())
	// RFC 7395 §3.6: <close/> (xmppws writes it for </stream:stream>)
	// ends the session on the server too, so it is not kept for resumption.
	_, _ = s.ws.Write([]byte("</stream:stream>"))
	s.mu.Unlock()
	cerr := s.ws.Close()
	if errors.Is(cerr, net.ErrClosed) {
		// The serve loop dropped the link first, having read the server's
		// own end of the stream (the answer to ours, or its own).
		cerr = nil
	}
	if err != nil {
		return err
	}
	return cerr
}

// ended says why nothing more may be sent (nil: it may). s.mu is held.
func (s *Session) ended() error {
	select {
	case <-s.done:
		return fmt.Errorf("%w: %w", ErrSessionEnded, s.err)
	default:
	}
	if s.closing {
		return fmt.Errorf("%w: closed", ErrSessionEnded)
	}
	return nil
}

// Drop cuts the link without closing the stream, as a lost network does: the
// server keeps the session for resumption.
func (s *Session) Drop() {
	s.ws.CloseNow()
	s.mu.Lock()
	serving := s.serving
	s.mu.Unlock()
	if serving {
		// Serve saves the state once the stanza in hand (if any) is handled.
		<-s.done
		return
	}
	s.mu.Lock()
	_ = s.save(context.Background())
	s.mu.Unlock()
}

// Done is closed when Serve has returned.
func (s *Session) Done() <-chan struct{} { return s.done }

// save writes the session's state, keeping the inbound count the handler
// may have committed meanwhile (it only ever grows). s.mu is held, or the
// session is not shared yet.
func (s *Session) save(ctx context.Context) error {
	s.heardAlive()
	return s.cfg.Store.UpdateState(ctx, func(st *State) error {
		in := st.SM.Inbound
		sameSession := st.SM.ID == s.st.SM.ID
		*st = s.st.Clone()
		if sameSession && serialAfter(in, st.SM.Inbound) {
			// The handler committed a stanza the serve loop has not
			// counted yet: the stored count stays, and the loop counts
			// it itself (adopting it here would count it again later if
			// the record was written by another session).
			st.SM.Inbound = in
		}
		return nil
	})
}

// heardAlive moves SMState.Since (when the session was last known alive,
// which Decide measures the resumption window from) to when the server's
// bytes last arrived on this connection, if later. The server starts its
// window (XEP-0198 max: Prosody's smacks_hibernation_time) only once it
// sees the connection gone, and a server that is sending is not gone; an
// <a/> alone says too little: a busy server reads, and so acknowledges, the
// client's stanzas late (Prosody reads each connection in 8 KB turns, so a
// backlog delays every acknowledgement) while it keeps sending. Counting
// from the last <a/> made a client that lost its link just then judge a
// live session expired: it bound anew (Prosody replaces, and ends, the
// hibernating session) and sent every unacknowledged stanza again without
// asking the server what it had handled, which fed the server's backlog.
// Only once SM is on for this connection: before that, bytes heard say
// nothing of the stored session. s.mu is held, or the session is not
// shared yet.
func (s *Session) heardAlive() {
	if !s.smOn {
		return
	}
	if ns := s.heard.Load(); ns != 0 {
		if t := time.Unix(0, ns); t.After(s.st.SM.Since) {
			s.st.SM.Since = t
		}
	}
}

// ackEvery is how many handled stanzas go by before an unrequested <a/>;
// ackMax how many at most while more have already arrived (ackDue).
const (
	ackEvery = 16
	ackMax   = 128
)
