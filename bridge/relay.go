package bridge

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/waxwing-im/waxwing/wasm/frame"
)

// upstreamStop says what happens to the upstream leg when a relay ends.
type upstreamStop uint8

const (
	// dropUpstream ends the connection without </stream:stream>, so that
	// the server keeps the session for Stream Management resumption
	// (XEP-0198 §5): the browser vanished, or this server is shutting down.
	// Either way the connection is shut down as closeUp says: what was
	// forwarded arrives whole.
	dropUpstream upstreamStop = iota
	// closeUpstream ends the stream with </stream:stream> first: the browser
	// asked to close, or broke the protocol (a resuming client would only
	// send the offending stanza again).
	closeUpstream
)

// Buffer sizes: small, because idle relays are many.
const (
	upReadBuf   = 16 << 10 // a whole TLS record
	downReadBuf = 16 << 10
	writeTimout = 30 * time.Second
	closeWait   = 5 * time.Second // how long a closing stream may take (Prosody's close timeout)
)

// statusAbort asks stop to drop the browser's socket without a close
// handshake: the peer is not answering.
const statusAbort websocket.StatusCode = -1

var (
	downBufPool = sync.Pool{New: func() any { b := make([]byte, downReadBuf); return &b }}
	upBufPool   = sync.Pool{New: func() any { b := make([]byte, upReadBuf); return &b }}
)

// relay joins one browser WebSocket to one upstream connection.
type relay struct {
	srv     *Server
	id      string
	ip      string
	ws      *websocket.Conn
	log     *slog.Logger
	started time.Time

	ctx    context.Context
	cancel context.CancelFunc

	upMu   sync.Mutex    // serialises writes upstream
	up     net.Conn      // set once, before the upstream reader starts
	upDone chan struct{} // closed when the upstream reader has closed up

	down     *fromBrowser // browser → server
	maxBytes atomic.Int64 // limit for down, lowered by the server's XEP-0478 advert
	batchMax int          // the browser asked for batched messages of at most this many bytes (batch.go)

	smID string // the stream's Stream Management id, guarded by srv.mu (handover.go)

	opened        atomic.Bool // the browser has been sent an <open/>
	authenticated atomic.Bool
	closing       atomic.Bool // the browser sent <close/>
	bytesDown     atomic.Int64
	bytesUp       atomic.Int64

	stopOnce sync.Once
	done     chan struct{}
	reason   string

	timersMu  sync.Mutex
	preauth   *time.Timer // ends the relay at the pre-auth deadline
	ping      *time.Timer // the next keepalive ping; reset, never reallocated
	closeWait *time.Timer // ends the relay when the server does not answer <close/>
}

func newRelayID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) newRelay(ws *websocket.Conn, ip string) *relay {
	ctx, cancel := context.WithCancel(context.Background())
	r := &relay{
		srv:     s,
		id:      newRelayID(),
		ip:      ip,
		ws:      ws,
		started: time.Now(),
		ctx:     ctx,
		cancel:  cancel,
		down:    newFromBrowser(s.cfg.Domain, frame.Limits{MaxBytes: s.cfg.MaxStanzaBytes, MaxDepth: s.cfg.MaxDepth}),
		done:    make(chan struct{}),
		upDone:  make(chan struct{}),
	}
	r.maxBytes.Store(int64(s.cfg.MaxStanzaBytes))
	r.log = s.log.With("relay", r.id)
	return r
}

// run serves the relay until it ends and the upstream connection is closed.
// The caller's goroutine reads from the browser.
func (r *relay) run() {
	r.log.Info("relay open", "remote", r.ip)
	r.timersMu.Lock()
	r.preauth = time.AfterFunc(r.srv.cfg.PreauthTimeout, func() {
		if !r.authenticated.Load() {
			r.stop("not authenticated within "+r.srv.cfg.PreauthTimeout.String(), closeUpstream,
				websocket.StatusPolicyViolation, streamError("connection-timeout", "Authentication took too long.", ""))
		}
	})
	r.ping = time.AfterFunc(r.srv.cfg.PingInterval, r.sendPing)
	r.timersMu.Unlock()
	r.readBrowser()
	<-r.done
	// readBrowser has returned, so the upstream reader has started if
	// there is an upstream.
	r.upMu.Lock()
	up := r.up
	r.upMu.Unlock()
	if up != nil {
		<-r.upDone
	}
	r.srv.releaseSM(r)
}

// sendPing sends a WebSocket ping every PingInterval; a ping without a pong
// within the same interval means the browser is gone (a half-open TCP
// connection, a sleeping laptop): the upstream is dropped so that the server
// hibernates the session.
func (r *relay) sendPing() {
	iv := r.srv.cfg.PingInterval
	// Browser-side calls never use r.ctx: coder/websocket tears the socket
	// down when a call's context ends, which would race the close frame
	// that stop sends.
	ctx, cancel := context.WithTimeout(context.Background(), iv)
	err := r.ws.Ping(ctx)
	cancel()
	if err != nil {
		if r.ctx.Err() == nil {
			r.stop("browser did not answer a ping within "+iv.String(), dropUpstream, statusAbort, nil)
		}
		return
	}
	r.timersMu.Lock()
	defer r.timersMu.Unlock()
	select {
	case <-r.done:
	default:
		r.ping.Reset(iv)
	}
}

// stop ends the relay once: the stream error (if any) and the close reach
// the browser, the upstream is closed or dropped, and one log line is written.
func (r *relay) stop(reason string, how upstreamStop, code websocket.StatusCode, streamErr []byte) {
	r.stopOnce.Do(func() {
		r.reason = reason
		r.timersMu.Lock()
		for _, t := range []*time.Timer{r.preauth, r.ping, r.closeWait} {
			if t != nil {
				t.Stop()
			}
		}
		close(r.done)
		r.timersMu.Unlock()

		// Upstream first: a drop must reach the server at once.
		r.upMu.Lock()
		if r.up != nil {
			if how == closeUpstream && !r.closing.Load() {
				_ = r.up.SetWriteDeadline(time.Now().Add(time.Second))
				_, _ = io.WriteString(r.up, "</stream:stream>")
			}
			r.closeUp()
		}
		r.upMu.Unlock()

		if streamErr != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			if !r.opened.Load() {
				_ = r.ws.Write(ctx, websocket.MessageText, ourOpen(r.srv.cfg.Domain, r.id))
			}
			_ = r.ws.Write(ctx, websocket.MessageText, streamErr)
			_ = r.ws.Write(ctx, websocket.MessageText, closeFrame)
			cancel()
		}
		r.cancel()
		if code == statusAbort {
			_ = r.ws.CloseNow()
		} else {
			// Close waits for the browser's close frame; do not hold up the caller.
			go func() { _ = r.ws.Close(code, truncateReason(reason)) }()
		}

		r.log.Info("relay closed",
			"reason", reason,
			"remote", r.ip,
			"authenticated", r.authenticated.Load(),
			"bytes_from_browser", r.bytesUp.Load(),
			"bytes_to_browser", r.bytesDown.Load(),
			"duration", time.Since(r.started).Round(time.Millisecond).String())
	})
}

// closeUp shuts the upstream connection down for writing (TLS close_notify,
// then TCP FIN) after everything written, and gives the server closeWait to
// close its side; the upstream reader discards what still comes and then
// closes the connection (drainUp). r.upMu is held.
//
// Closing at once would lose what the server has not read yet: a close with
// unread data in the socket answers with a reset, and so does the socket for
// the server's next write; Prosody 0.12 then disconnects without reading the
// rest ("Broken pipe": net.server_epoll's write error path) and its parser is
// left in the middle of an element, which breaks the session's next
// resumption (handover.go). The relay writes whole elements only, so a
// connection the server reads to its end leaves the parser between two.
func (r *relay) closeUp() {
	_ = r.up.SetWriteDeadline(time.Now().Add(time.Second))
	if tc, ok := r.up.(*tls.Conn); ok {
		_ = tc.CloseWrite()
		if cw, ok := tc.NetConn().(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
	} else if cw, ok := r.up.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = r.up.SetReadDeadline(time.Now().Add(closeWait))
}

// truncateReason keeps a WebSocket close reason within the 123 bytes a close
// frame allows.
func truncateReason(s string) string {
	if len(s) > 120 {
		return s[:120]
	}
	return s
}

// failFraming reports a framing error found in what the browser sent.
func (r *relay) failFraming(err error) {
	var fe *frame.Error
	if errors.As(err, &fe) {
		code := websocket.StatusPolicyViolation
		if fe.Condition != frame.CondPolicyViolation {
			code = websocket.StatusProtocolError
		}
		r.stop("browser sent "+fe.Condition+": "+fe.Text, closeUpstream, code, streamError(fe.Condition, fe.Text, ""))
		return
	}
	r.stop("browser framing: "+err.Error(), closeUpstream, websocket.StatusProtocolError, streamError("not-well-formed", "", ""))
}

// readBrowser reads WebSocket messages until the relay ends. Elements may be
// split over several messages (and messages over continuation frames); the
// scanner reassembles them.
func (r *relay) readBrowser() {
	for {
		typ, rd, err := r.ws.Reader(context.Background()) // ends when stop closes the socket
		if err != nil {
			reason := "browser connection closed"
			if cs := websocket.CloseStatus(err); cs != -1 {
				reason += " (" + strconv.Itoa(int(cs)) + ")"
			}
			if r.closing.Load() {
				// The browser sent <close/> and went: give the server its
				// chance to answer, then end.
				r.timersMu.Lock()
				select {
				case <-r.done:
				default:
					r.closeWait = time.AfterFunc(closeWait, func() { r.stop(reason, dropUpstream, websocket.StatusNormalClosure, nil) })
				}
				r.timersMu.Unlock()
				<-r.done
				return
			}
			r.stop(reason, dropUpstream, websocket.StatusGoingAway, nil)
			return
		}
		if typ != websocket.MessageText {
			r.stop("browser sent a binary message", closeUpstream, websocket.StatusUnsupportedData,
				streamError("unsupported-stanza-type", "RFC 7395 uses text messages only.", ""))
			return
		}
		bp := downBufPool.Get().(*[]byte)
		err = r.readMessage(rd, *bp)
		downBufPool.Put(bp)
		if err != nil {
			return
		}
	}
}

// readMessage feeds one message to the scanner and forwards what completes.
// It returns an error when the relay has ended.
func (r *relay) readMessage(rd io.Reader, buf []byte) error {
	for {
		n, err := rd.Read(buf)
		if n > 0 {
			r.bytesUp.Add(int64(n))
			if lim := int(r.maxBytes.Load()); lim != r.down.sc.Limits().MaxBytes {
				r.down.sc.SetMaxBytes(lim)
			}
			r.down.sc.Write(buf[:n])
			if ferr := r.forwardBrowser(); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			r.stop("browser connection lost: "+err.Error(), dropUpstream, websocket.StatusGoingAway, nil)
			return err
		}
	}
}

var errStopped = errors.New("relay stopped")

// forwardBrowser acts on every complete element from the browser.
func (r *relay) forwardBrowser() error {
	for {
		step, ok, err := r.down.next()
		if err != nil {
			r.failFraming(err)
			return err
		}
		if !ok {
			return nil
		}
		if r.ctx.Err() != nil {
			return errStopped
		}
		switch step.kind {
		case stepReject:
			how := dropUpstream
			if r.up != nil {
				how = closeUpstream
			}
			code := websocket.StatusProtocolError
			if step.reject == "host-unknown" {
				code = websocket.StatusPolicyViolation
			}
			to, _ := step.tok.Attr("to")
			r.stop("browser sent <"+step.tok.Name+"> ("+step.reject+", to="+strconv.Quote(to)+")", how, code, streamError(step.reject, step.text, ""))
			return errStopped
		case stepOpen:
			if r.up == nil {
				if err := r.dialUpstream(); err != nil {
					return err
				}
			}
		case stepClose:
			r.closing.Store(true)
		case stepStanza:
			if r.up == nil {
				r.stop("browser sent <"+step.tok.Name+"> before <open/>", dropUpstream, websocket.StatusProtocolError,
					streamError("not-well-formed", "The first element must be <open/>.", ""))
				return errStopped
			}
			if id := resumeTarget(step.tok); id != "" {
				r.srv.handOver(id, r)
			}
		}
		if err := r.writeUp(step.bytes); err != nil {
			return err
		}
	}
}

// dialUpstream connects to the server for the browser's first <open/>.
func (r *relay) dialUpstream() error {
	// The TLS handshake runs on a short-lived goroutine, so that its deep
	// stack does not stay with the long-lived browser reader.
	var (
		conn net.Conn
		err  error
		done = make(chan struct{})
	)
	go func() {
		conn, err = r.srv.upstream.dial(r.ctx)
		close(done)
	}()
	<-done
	if err != nil {
		kind, text := failUnreachable, "The chat server cannot be reached."
		var ue *upstreamError
		if errors.As(err, &ue) {
			kind = ue.kind
			switch kind {
			case failTLS:
				text = "The chat server's TLS certificate could not be verified."
			case failNoTLS:
				text = "The chat server does not offer TLS; the connection was refused."
			}
		}
		r.stop("upstream: "+err.Error(), dropUpstream, websocket.StatusTryAgainLater,
			streamError("remote-connection-failed", text, kind))
		return errStopped
	}
	r.upMu.Lock()
	if r.ctx.Err() != nil {
		r.upMu.Unlock()
		conn.Close()
		return errStopped
	}
	r.up = conn
	r.upMu.Unlock()
	go r.readUpstream()
	return nil
}

func (r *relay) writeUp(p []byte) error {
	r.upMu.Lock()
	defer r.upMu.Unlock()
	if r.ctx.Err() != nil {
		return errStopped
	}
	_ = r.up.SetWriteDeadline(time.Now().Add(writeTimout))
	if _, err := r.up.Write(p); err != nil {
		go r.stop("upstream write failed: "+err.Error(), dropUpstream, websocket.StatusBadGateway, nil)
		return errStopped
	}
	return nil
}

func (r *relay) writeDown(p []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimout)
	defer cancel()
	if err := r.ws.Write(ctx, websocket.MessageText, p); err != nil {
		r.stop("browser write failed: "+err.Error(), dropUpstream, websocket.StatusGoingAway, nil)
		return err
	}
	r.bytesDown.Add(int64(len(p)))
	return nil
}

// readUpstream reads the server's stream and sends each element to the
// browser as one message. Once the relay has ended, it drains and closes the
// upstream connection.
func (r *relay) readUpstream() {
	defer close(r.upDone)
	r.translateUp()
	r.drainUp()
}

// drainUp discards what the server sends after closeUp until it closes the
// connection (or closeWait passes), then closes it.
func (r *relay) drainUp() {
	bp := upBufPool.Get().(*[]byte)
	for {
		if _, err := r.up.Read(*bp); err != nil {
			break
		}
	}
	upBufPool.Put(bp)
	_ = r.up.Close()
}

// translateUp is readUpstream's loop until the relay ends.
func (r *relay) translateUp() {
	d := newToBrowser(frame.Limits{MaxBytes: 4 * r.srv.cfg.MaxStanzaBytes, MaxDepth: 4 * r.srv.cfg.MaxDepth})
	d.batchMax = r.batchMax
	var first [1]byte
	for {
		// Wait with a one-byte buffer, so that an idle relay holds no read
		// buffer. The byte is translated at once (it may end a stanza);
		// then a pooled buffer takes the rest of the TLS record, which is
		// already decrypted, so that read returns at once unless the record
		// held just that byte.
		n, err := r.up.Read(first[:])
		if r.ctx.Err() != nil {
			return // the relay has ended: nothing more goes to the browser
		}
		if n > 0 && r.fromServer(d, first[:]) {
			bp := upBufPool.Get().(*[]byte)
			var m int
			if err == nil {
				m, err = r.up.Read(*bp)
			}
			ok := m == 0 || r.fromServer(d, (*bp)[:m])
			upBufPool.Put(bp)
			if !ok {
				return
			}
		} else if n > 0 {
			return
		}
		if err != nil {
			if r.ctx.Err() == nil {
				r.stop("server connection lost: "+errText(err), dropUpstream, websocket.StatusBadGateway, nil)
			}
			return
		}
	}
}

// fromServer translates bytes from the server to the browser and acts on
// what went by. It returns false when the relay has ended.
func (r *relay) fromServer(d *toBrowser, p []byte) bool {
	ferr := d.feed(p, r.writeDown)
	if d.opened {
		r.opened.Store(true)
	}
	if d.authenticated {
		r.authenticated.Store(true)
	}
	if d.smID != "" {
		r.srv.holdSM(d.smID, r)
		d.smID = ""
	}
	if d.serverLimit > 0 && int64(d.serverLimit) < r.maxBytes.Load() {
		r.maxBytes.Store(int64(d.serverLimit))
		r.log.Debug("stanza limit lowered by the server (XEP-0478)", "max_bytes", d.serverLimit)
	}
	var fe *frame.Error
	switch {
	case d.closed:
		r.stop("server closed the stream", dropUpstream, websocket.StatusNormalClosure, nil)
		return false
	case errors.As(ferr, &fe):
		r.stop("server sent bad XML: "+fe.Error(), closeUpstream, websocket.StatusBadGateway,
			streamError("undefined-condition", "The chat server sent data the relay could not frame.", ""))
		return false
	case ferr != nil:
		return false // writeDown failed and stopped the relay
	}
	return true
}

func errText(err error) string {
	if errors.Is(err, io.EOF) {
		return "EOF"
	}
	return err.Error()
}
