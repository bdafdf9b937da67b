package bridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/waxwing-im/waxwing/wasm/frame"
)

// upstreamStop says what happens to the upstream leg when a relay ends.
type upstreamStop uint8

const (
	// dropUpstream closes the TCP connection without </stream:stream>, so
	// that the server keeps the session for Stream Management resumption
	// (XEP-0198 §5): the browser vanished, or this server is shutting down.
	dropUpstream upstreamStop = iota
	// closeUpstream ends the stream with </stream:stream> first: the browser
	// asked to close, or broke the protocol (a resuming client would only
	// send the offending stanza again).
	closeUpstream
)

// Buffer sizes: small, because idle relays are many.
const (
	upReadBuf   = 4 << 10
	downReadBuf = 16 << 10
	writeTimout = 30 * time.Second
	closeWait   = 5 * time.Second // how long a closing stream may take (Prosody's close timeout)
)

// statusAbort asks stop to drop the browser's socket without a close
// handshake: the peer is not answering.
const statusAbort websocket.StatusCode = -1

var downBufPool = sync.Pool{New: func() any { b := make([]byte, downReadBuf); return &b }}

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

	upMu sync.Mutex // serialises writes upstream
	up   net.Conn   // set once, before the upstream reader starts

	down     *frame.Scanner // browser → server, Fragments
	maxBytes atomic.Int64   // limit for down, lowered by the server's XEP-0478 advert

	opened        atomic.Bool // the browser has been sent an <open/>
	authenticated atomic.Bool
	closing       atomic.Bool // the browser sent <close/>
	bytesDown     atomic.Int64
	bytesUp       atomic.Int64

	stopOnce sync.Once
	done     chan struct{}
	reason   string
	timers   []*time.Timer
	timersMu sync.Mutex
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
		down:    frame.NewScanner(frame.Fragments, frame.Limits{MaxBytes: s.cfg.MaxStanzaBytes, MaxDepth: s.cfg.MaxDepth}),
		done:    make(chan struct{}),
	}
	r.maxBytes.Store(int64(s.cfg.MaxStanzaBytes))
	r.log = s.log.With("relay", r.id)
	return r
}

// run serves the relay until it ends. It is called on the HTTP handler's
// goroutine, which it uses to read from the browser.
func (r *relay) run() {
	r.log.Info("relay open", "remote", r.ip)
	r.after(r.srv.cfg.PreauthTimeout, func() {
		if !r.authenticated.Load() {
			r.stop("not authenticated within "+r.srv.cfg.PreauthTimeout.String(), closeUpstream,
				websocket.StatusPolicyViolation, streamError("connection-timeout", "Authentication took too long.", ""))
		}
	})
	r.schedulePing()
	r.readBrowser()
	<-r.done
}

// after runs f after d unless the relay has ended.
func (r *relay) after(d time.Duration, f func()) {
	r.timersMu.Lock()
	defer r.timersMu.Unlock()
	select {
	case <-r.done:
		return
	default:
	}
	r.timers = append(r.timers, time.AfterFunc(d, f))
}

// schedulePing sends a WebSocket ping every PingInterval; a ping without a
// pong within the same interval means the browser is gone (a half-open TCP
// connection, a sleeping laptop): the upstream is dropped so that the server
// hibernates the session.
func (r *relay) schedulePing() {
	iv := r.srv.cfg.PingInterval
	r.after(iv, func() {
		// Browser-side calls never use r.ctx: coder/websocket tears the
		// socket down when a call's context ends, which would race the close
		// frame that stop sends.
		ctx, cancel := context.WithTimeout(context.Background(), iv)
		defer cancel()
		if err := r.ws.Ping(ctx); err != nil {
			if r.ctx.Err() == nil {
				r.stop("browser did not answer a ping within "+iv.String(), dropUpstream, statusAbort, nil)
			}
			return
		}
		r.schedulePing()
	})
}

// stop ends the relay once: the stream error (if any) and the close reach
// the browser, the upstream is closed or dropped, and one log line is written.
func (r *relay) stop(reason string, how upstreamStop, code websocket.StatusCode, streamErr []byte) {
	r.stopOnce.Do(func() {
		r.reason = reason
		r.timersMu.Lock()
		for _, t := range r.timers {
			t.Stop()
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
			_ = r.up.Close()
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
				r.after(closeWait, func() { r.stop(reason, dropUpstream, websocket.StatusNormalClosure, nil) })
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
			if lim := int(r.maxBytes.Load()); lim != r.down.Limits().MaxBytes {
				r.down.SetMaxBytes(lim)
			}
			r.down.Write(buf[:n])
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

// forwardBrowser handles every complete element from the browser.
func (r *relay) forwardBrowser() error {
	for {
		tok, ok, err := r.down.Next()
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
		ns := tok.Namespace(map[string]string{"": nsClient})
		switch {
		case tok.LocalName() == "open" && ns == nsFraming:
			if err := r.handleOpen(tok); err != nil {
				return err
			}
			continue
		case tok.LocalName() == "close" && ns == nsFraming:
			r.closing.Store(true)
			if err := r.writeUp([]byte("</stream:stream>")); err != nil {
				return err
			}
			continue
		case tok.LocalName() == "stream" && ns == nsStream:
			r.stop("browser sent <stream:stream>", closeUpstream, websocket.StatusProtocolError,
				streamError("unsupported-stanza-type", "RFC 7395 streams open with <open/>, not <stream:stream>.", ""))
			return errStopped
		}
		if r.up == nil {
			r.stop("browser sent <"+tok.Name+"> before <open/>", dropUpstream, websocket.StatusProtocolError,
				streamError("not-well-formed", "The first element must be <open/>.", ""))
			return errStopped
		}
		if err := r.writeUp(tok.Raw); err != nil {
			return err
		}
	}
}

// handleOpen answers the browser's <open/>: the first one dials the upstream,
// later ones restart the stream (after SASL success).
func (r *relay) handleOpen(tok frame.Token) error {
	header, err := openToHeader(tok, r.srv.cfg.Domain)
	if err != nil {
		to, _ := tok.Attr("to")
		r.stop("browser opened a stream to "+strconv.Quote(to), dropUpstream, websocket.StatusPolicyViolation,
			streamError("host-unknown", "This server serves "+r.srv.cfg.Domain+" only.", ""))
		return errStopped
	}
	if v, ok := tok.Attr("version"); !ok || !strings.HasPrefix(v, "1.") {
		r.stop("browser asked for stream version "+strconv.Quote(v), dropUpstream, websocket.StatusProtocolError,
			streamError("unsupported-version", "XMPP 1.0 is required.", ""))
		return errStopped
	}
	if r.up == nil {
		conn, err := r.srv.upstream.dial(r.ctx)
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
	}
	return r.writeUp(header)
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
// browser as one message.
func (r *relay) readUpstream() {
	sc := frame.NewScanner(frame.Stream, frame.Limits{MaxBytes: 4 * r.srv.cfg.MaxStanzaBytes, MaxDepth: 4 * r.srv.cfg.MaxDepth})
	var (
		scope    map[string]string
		features bool // the next element is the first after a stream header
		out      []byte
		buf      = make([]byte, upReadBuf)
	)
	for {
		n, err := r.up.Read(buf)
		if n > 0 {
			sc.Write(buf[:n])
			for {
				tok, ok, serr := sc.Next()
				if serr != nil {
					r.stop("server sent bad XML: "+serr.Error(), closeUpstream, websocket.StatusBadGateway,
						streamError("undefined-condition", "The chat server sent data the relay could not frame.", ""))
					return
				}
				if !ok {
					break
				}
				switch tok.Kind {
				case frame.StreamOpen:
					scope = tok.Declarations()
					features = true
					if r.writeDown(headerToOpen(tok)) != nil {
						return
					}
					r.opened.Store(true)
					continue
				case frame.StreamClose:
					_ = r.writeDown(closeFrame)
					r.stop("server closed the stream", dropUpstream, websocket.StatusNormalClosure, nil)
					return
				}
				out = standalone(out, tok, scope)
				ns := tok.Namespace(scope)
				if features && tok.LocalName() == "features" && ns == nsStream {
					out = r.filterFeatures(out)
				}
				features = false
				if r.writeDown(out) != nil {
					return
				}
				if cap(out) > 64<<10 {
					out = nil
				}
				if tok.LocalName() == "success" && (ns == nsSASL || ns == nsSASL2) {
					r.authenticated.Store(true)
					if ns == nsSASL {
						// RFC 6120 §6.4.6: both sides restart the stream.
						sc.Restart()
					}
				}
			}
		}
		if err != nil {
			if r.ctx.Err() == nil {
				r.stop("server connection lost: "+errText(err), dropUpstream, websocket.StatusBadGateway, nil)
			}
			return
		}
	}
}

// filterFeatures hides <starttls/> (the bridge owns TLS upstream) and reads
// the server's XEP-0478 stanza size limit.
func (r *relay) filterFeatures(out []byte) []byte {
	if rg, ok := findChild(out, nsTLS, "starttls"); ok {
		out = stripChild(out, rg)
	}
	if v, ok := childText(out, nsLimits, "limits", "max-bytes"); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 && int64(n) < r.maxBytes.Load() {
			r.maxBytes.Store(int64(n))
			r.log.Debug("stanza limit lowered by the server (XEP-0478)", "max_bytes", n)
		}
	}
	return out
}

func errText(err error) string {
	if errors.Is(err, io.EOF) {
		return "EOF"
	}
	return err.Error()
}
