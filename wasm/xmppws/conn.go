package xmppws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/waxwing-im/waxwing/wasm/frame"
)

// Limits of the outgoing element scanner: generous, because the server
// enforces the real limits and says so in a stream error.
var writeLimits = frame.Limits{MaxBytes: 16 << 20, MaxDepth: 1024}

// readAhead is how many incoming messages are buffered before Read is
// called, within readAheadBytes. Reading ahead keeps control frames (ping,
// close) flowing while the application is busy, and lets a reader gather a
// burst (Pending) into one commit.
const (
	readAhead      = 64
	readAheadBytes = 2 << 20
)

// streamEnd is what mellium's Session.Close writes, even on a WebSocket.
const streamEnd = "</stream:stream>"

var closeElement = []byte(`<close xmlns="` + NSFraming + `"/>`)

// errStreamClosed is returned by Write after the stream was closed.
var errStreamClosed = errors.New("xmppws: write after the stream was closed with <close/>")

// Conn is an RFC 7395 connection as a net.Conn. Write sends every complete
// top-level element as one WebSocket text message; Read returns the bytes of
// incoming messages in order. Read and Write may be called concurrently.
//
// Deadlines follow net.Conn: a Read that times out returns an error
// wrapping os.ErrDeadlineExceeded and the connection stays usable. A Write
// whose deadline passes while a message is being sent closes the WebSocket
// (a message cannot be taken back half-sent); a Write called after its
// deadline sends nothing.
type Conn struct {
	ws           *websocket.Conn
	url          string
	confidential bool
	limit        int64 // bound of one incoming message checked by readLoop (0: coder/websocket checks it)

	ctx    context.Context // the connection's life
	cancel context.CancelFunc

	msgs  chan []byte   // messages read ahead; closed when the WebSocket ends
	ahead atomic.Int64  // bytes in msgs
	room  chan struct{} // Read took a message: readLoop may read ahead again
	done  chan struct{} // closed when the WebSocket has ended
	errMu sync.Mutex
	err   error // why it ended

	closeOnce sync.Once
	closed    chan struct{} // closed by Close and CloseNow

	readMu sync.Mutex
	cur    []byte // rest of the message being read
	rErr   error  // sticky: io.EOF after <close/>, or why the WebSocket ended
	rdl    deadline

	writeMu sync.Mutex
	sc      *frame.Scanner
	hold    []byte // the start of a possible </stream:stream>
	wErr    error  // sticky
	wdl     deadline
}

var _ net.Conn = (*Conn)(nil)

func newConn(ws *websocket.Conn, url string, limit int64) *Conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Conn{
		ws:           ws,
		url:          url,
		limit:        limit,
		confidential: isConfidential(url),
		ctx:          ctx,
		cancel:       cancel,
		msgs:         make(chan []byte, readAhead),
		room:         make(chan struct{}, 1),
		done:         make(chan struct{}),
		closed:       make(chan struct{}),
		rdl:          makeDeadline(),
		wdl:          makeDeadline(),
		sc:           frame.NewScanner(frame.Fragments, writeLimits),
	}
	go c.readLoop()
	return c
}

// readLoop reads messages until the WebSocket ends.
func (c *Conn) readLoop() {
	defer close(c.msgs)
	for {
		typ, p, err := c.ws.Read(c.ctx)
		if err == nil && typ != websocket.MessageText {
			err = errors.New("xmppws: the server sent a binary message; RFC 7395 uses text messages only")
			_ = closeWS(c.ws, websocket.StatusUnsupportedData, "RFC 7395 uses text messages only")
		}
		if err == nil && c.limit > 0 && int64(len(p)) > c.limit {
			err = fmt.Errorf("xmppws: %w: a message of %d bytes, over the bound of %d", websocket.ErrMessageTooBig, len(p), c.limit)
			_ = closeWS(c.ws, websocket.StatusMessageTooBig, "message too big")
		}
		if err != nil {
			c.end(err)
			return
		}
		// Past the byte budget, wait for Read to take a message (always
		// at least one message is read ahead, whatever its size).
		for c.ahead.Load() > 0 && c.ahead.Load()+int64(len(p)) > readAheadBytes {
			select {
			case <-c.room:
			case <-c.ctx.Done():
				c.end(net.ErrClosed)
				return
			}
		}
		c.ahead.Add(int64(len(p)))
		select {
		case c.msgs <- p:
		case <-c.ctx.Done():
			c.end(net.ErrClosed)
			return
		}
	}
}

func (c *Conn) end(err error) {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if c.err == nil {
		c.err = err
		close(c.done)
	}
}

// Done returns a channel that is closed when the WebSocket has ended, closed
// by either side or broken.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err reports why the WebSocket ended, nil before Done is closed. A close
// frame from the server is a websocket.CloseError (see
// websocket.CloseStatus).
func (c *Conn) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// Read reads the bytes of incoming messages in order. It returns io.EOF
// once the server has sent <close/> (RFC 7395 §3.6) or closed the WebSocket
// normally.
func (c *Conn) Read(p []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if len(p) == 0 {
		return 0, nil
	}
	for len(c.cur) == 0 {
		if c.rErr != nil {
			return 0, c.rErr
		}
		dl := c.rdl.wait()
		if isClosedChan(dl) {
			return 0, os.ErrDeadlineExceeded
		}
		select {
		case <-dl:
			return 0, os.ErrDeadlineExceeded
		case <-c.closed:
			return 0, net.ErrClosed
		case m, ok := <-c.msgs:
			c.ahead.Add(-int64(len(m)))
			select {
			case c.room <- struct{}{}:
			default:
			}
			switch {
			case !ok:
				c.rErr = c.readErr()
			case isClose(m):
				c.rErr = io.EOF
			default:
				c.cur = m
			}
		}
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

// Pending reports whether Read can return bytes without waiting: the rest
// of a message, or messages already received. A reader that gathers what
// has arrived (a group commit of stanzas received back to back) asks it.
func (c *Conn) Pending() bool {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	return len(c.cur) > 0 || len(c.msgs) > 0
}

// readErr is what Read returns once every message has been read.
func (c *Conn) readErr() error {
	if isClosedChan(c.closed) {
		return net.ErrClosed
	}
	err := c.Err()
	switch websocket.CloseStatus(err) {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway:
		return io.EOF
	}
	return fmt.Errorf("xmppws: read: %w", err)
}

// isClose reports whether the message m is <close/> (RFC 7395 §3.6).
func isClose(m []byte) bool {
	if !bytes.HasPrefix(m, []byte("<close")) {
		return false
	}
	sc := frame.NewScanner(frame.Fragments, frame.Limits{})
	sc.Write(m)
	tok, ok, err := sc.Next()
	return err == nil && ok && tok.LocalName() == "close" && tok.Namespace(nil) == NSFraming
}

// Write frames p: every top-level element completed by p is sent as one
// message; an unfinished element waits for the next Write. Whitespace
// between elements is dropped. A </stream:stream> between elements is sent
// as <close/>; nothing may be written after it. An element that is not
// well-formed fails the connection's writes.
func (c *Conn) Write(p []byte) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.wErr != nil {
		return 0, c.wErr
	}
	if isClosedChan(c.closed) {
		return 0, net.ErrClosed
	}
	dl := c.wdl.wait()
	if isClosedChan(dl) {
		return 0, os.ErrDeadlineExceeded
	}
	in := p
	if len(c.hold) > 0 {
		in = append(c.hold, p...)
		c.hold = nil
	}
	if c.sc.Buffered() == 0 {
		// Between elements: look for mellium's </stream:stream>.
		t := bytes.TrimLeft(in, " \t\r\n")
		switch {
		case bytes.HasPrefix(t, []byte(streamEnd)):
			if len(bytes.TrimLeft(t[len(streamEnd):], " \t\r\n")) > 0 {
				c.wErr = errors.New("xmppws: data after </stream:stream>")
				return 0, c.wErr
			}
			if err := c.send(dl, closeElement); err != nil {
				return 0, err
			}
			c.wErr = errStreamClosed
			return len(p), nil
		case len(t) > 0 && bytes.HasPrefix([]byte(streamEnd), t):
			c.hold = append([]byte(nil), t...)
			return len(p), nil
		}
	}
	c.sc.Write(in)
	for {
		tok, ok, err := c.sc.Next()
		if err != nil {
			c.wErr = fmt.Errorf("xmppws: write: %w", err)
			return 0, c.wErr
		}
		if !ok {
			return len(p), nil
		}
		if err := c.send(dl, tok.Raw); err != nil {
			return 0, err
		}
	}
}

// send writes one message. The deadline channel dl interrupts it.
func (c *Conn) send(dl <-chan struct{}, msg []byte) error {
	ctx, cancel := context.WithCancel(c.ctx)
	stop := make(chan struct{})
	defer cancel()
	defer close(stop)
	go func() {
		select {
		case <-dl:
			cancel()
		case <-stop:
		}
	}()
	if err := c.ws.Write(ctx, websocket.MessageText, msg); err != nil {
		if isClosedChan(dl) {
			c.wErr = fmt.Errorf("xmppws: write interrupted by its deadline, WebSocket closed: %w", os.ErrDeadlineExceeded)
		} else {
			c.wErr = fmt.Errorf("xmppws: write: %w", err)
		}
		return c.wErr
	}
	return nil
}

// Close closes the WebSocket with a normal closure (1000). It does not send
// <close/>: end the XMPP stream first (mellium: Session.Close). Closing a
// connection the server has already closed is not an error.
func (c *Conn) Close() error {
	return c.shut(func() error { return closeWS(c.ws, websocket.StatusNormalClosure, "") })
}

// CloseNow drops the connection without a close handshake, as when a
// browser tab is killed. In the browser, where a page can neither skip the
// handshake nor send "going away" (1001), it sends StatusDropped and does
// not wait for the answer (see drop).
func (c *Conn) CloseNow() error {
	return c.shut(c.drop)
}

func (c *Conn) shut(f func() error) error {
	err := net.ErrClosed
	c.closeOnce.Do(func() {
		close(c.closed)
		err = f()
		c.cancel()
		<-c.done
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
		c.rdl.set(time.Time{})
		c.wdl.set(time.Time{})
	})
	return err
}

// LocalAddr returns a placeholder: a WebSocket client has no useful local
// address (and none at all in the browser).
func (c *Conn) LocalAddr() net.Addr { return addr("websocket/local") }

// RemoteAddr returns the URL dialled.
func (c *Conn) RemoteAddr() net.Addr { return addr(c.url) }

type addr string

func (a addr) Network() string { return "websocket" }
func (a addr) String() string  { return string(a) }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.rdl.set(t)
	c.wdl.set(t)
	return nil
}

// SetReadDeadline sets the read deadline; the zero time means none.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.rdl.set(t)
	return nil
}

// SetWriteDeadline sets the write deadline; the zero time means none.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.wdl.set(t)
	return nil
}
