//go:build !js

package bridge_test

// Helpers of the browser tier (browser_test.go) that internal/e2e does not
// have: the in-process bridge on a port Chromium may use and a
// frame-logging TCP proxy. Chromium is driven through internal/e2e; the
// native RFC 7395 client is bench_test.go's.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/waxwing-im/waxwing/bridge"
	"github.com/waxwing-im/waxwing/internal/e2e"
	"github.com/waxwing-im/waxwing/static"
)

// --- prerequisites ----------------------------------------------------------

// btRequireWasm skips (fails under CI) when the browser program was not
// built into static/dist before this test binary was compiled.
func btRequireWasm(t testing.TB) {
	t.Helper()
	if !static.WasmBuilt() {
		e2e.Missing(t, "the browser program (static/dist/app.wasm) is not built into this binary: run make build")
	}
}

// --- the bridge -----------------------------------------------------------------

// btBridge is an in-process `waxwing serve` on a loopback port.
type btBridge struct {
	addr string // host:port
	logs *e2e.LogBuffer
}

func (b *btBridge) origin() string { return "http://" + b.addr }
func (b *btBridge) wsURL() string  { return "ws://" + b.addr + bridge.PathWebSocket }

// btStartBridge serves cfg (Listen and DataDir filled in) until t ends.
func btStartBridge(t testing.TB, cfg bridge.Config) *btBridge {
	t.Helper()
	ln := e2e.ListenLoopback(t)
	logs := &e2e.LogBuffer{}
	cfg.Listen = ln.Addr().String()
	cfg.DataDir = t.TempDir()
	serveBridge(t, cfg, ln, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), logs.String)
	return &btBridge{addr: ln.Addr().String(), logs: logs}
}

// --- frame-logging proxy --------------------------------------------------------

// btFrame is the header of one WebSocket frame seen on the wire.
type btFrame struct {
	Fin    bool
	Opcode byte
	Len    int64
}

func (f btFrame) String() string {
	fin := 0
	if f.Fin {
		fin = 1
	}
	return fmt.Sprintf("FIN=%d op=%d len=%d", fin, f.Opcode, f.Len)
}

// btSocket is what the proxy saw of one WebSocket connection.
type btSocket struct {
	Client      []btFrame // client → server
	Server      []btFrame // server → client
	CloseCode   int       // of the server's close frame, 0 if none
	CloseReason string
}

// btProxy forwards TCP connections to target. On a connection whose first
// request is a WebSocket upgrade it records the header of every frame in
// both directions (RFC 6455 §5.2) and the server's close code. Other
// connections are forwarded as they are; their requests must have no body
// or a Content-Length one, as the GETs of the pages under test do.
type btProxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	sockets []*btSocket // in upgrade order
	errs    []error
	conns   map[net.Conn]bool
	closed  bool
	wg      sync.WaitGroup
}

func btStartProxy(t testing.TB, target string) *btProxy {
	t.Helper()
	p := &btProxy{ln: e2e.ListenLoopback(t), target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		p.ln.Close()
		p.mu.Lock()
		p.closed = true
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *btProxy) addr() string { return p.ln.Addr().String() }

func (p *btProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range cs {
		p.conns[c] = true
	}
	return true
}

func (p *btProxy) fail(err error) {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return
	}
	p.mu.Lock()
	p.errs = append(p.errs, err)
	p.mu.Unlock()
}

func (p *btProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, s) {
			c.Close()
			s.Close()
			return
		}
		// The client side decides, from its first request, whether the
		// server side parses frames.
		sock := make(chan *btSocket, 1)
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			if ws := <-sock; ws != nil {
				p.fail(p.backward(c, s, ws))
			} else {
				_, _ = io.Copy(c, s)
			}
			c.Close()
			s.Close()
		}()
		go func() {
			defer p.wg.Done()
			p.fail(p.forward(s, c, sock))
			// Only half-close: what the server still sends (such as its
			// close frame after refusing a write) must reach the client
			// and the log. The other goroutine closes both when it ends.
			if tc, ok := s.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			} else {
				s.Close()
			}
		}()
	}
}

// forward copies client c to server s, parsing as it goes; it sends the
// connection's btSocket on sock (nil if the first request is no upgrade).
func (p *btProxy) forward(s, c net.Conn, sock chan<- *btSocket) error {
	decided := false
	defer func() {
		if !decided {
			sock <- nil
		}
	}()
	r := bufio.NewReaderSize(c, 32<<10)
	var ws *btSocket
	for ws == nil {
		head, upgrade, bodyLen, err := btReadHead(r)
		if _, werr := s.Write(head); werr != nil && err == nil {
			err = werr
		}
		if err != nil {
			return err
		}
		if upgrade && decided {
			// Chromium opens every WebSocket on a fresh connection; if that
			// ever changes, say so instead of logging nothing.
			p.fail(errors.New("proxy: WebSocket upgrade on a reused HTTP connection; its frames are not logged"))
			_, err := io.Copy(s, r)
			return err
		}
		if upgrade {
			ws = &btSocket{}
			p.mu.Lock()
			p.sockets = append(p.sockets, ws)
			p.mu.Unlock()
		}
		if !decided {
			decided = true
			sock <- ws
		}
		if ws == nil {
			if _, err := io.CopyN(s, r, bodyLen); err != nil {
				return err
			}
		}
	}
	return p.frames(s, r, ws, true)
}

// backward copies server s to client c: the upgrade response, then frames.
func (p *btProxy) backward(c, s net.Conn, ws *btSocket) error {
	r := bufio.NewReaderSize(s, 32<<10)
	head, _, _, err := btReadHead(r)
	if _, werr := c.Write(head); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(head, []byte("HTTP/1.1 101")) {
		_, err := io.Copy(c, r)
		return err
	}
	return p.frames(c, r, ws, false)
}

// btReadHead reads one HTTP/1.1 request or response head.
func btReadHead(r *bufio.Reader) (head []byte, upgrade bool, bodyLen int64, err error) {
	var b bytes.Buffer
	for {
		line, err := r.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			return b.Bytes(), false, 0, err
		}
		name, value, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ":")
		value = strings.TrimSpace(value)
		switch {
		case strings.EqualFold(name, "Upgrade") && strings.EqualFold(value, "websocket"):
			upgrade = true
		case strings.EqualFold(name, "Content-Length"):
			bodyLen, _ = strconv.ParseInt(value, 10, 64)
		}
		if line == "\r\n" || line == "\n" {
			return b.Bytes(), upgrade, bodyLen, nil
		}
	}
}

// frames forwards WebSocket frames from r to w, recording their headers.
func (p *btProxy) frames(w io.Writer, r *bufio.Reader, ws *btSocket, fromClient bool) error {
	var hdr [14]byte
	for {
		if _, err := io.ReadFull(r, hdr[:2]); err != nil {
			return err
		}
		f := btFrame{Fin: hdr[0]&0x80 != 0, Opcode: hdr[0] & 0x0f, Len: int64(hdr[1] & 0x7f)}
		masked := hdr[1]&0x80 != 0
		ext := 0
		switch f.Len {
		case 126:
			ext = 2
		case 127:
			ext = 8
		}
		if masked {
			ext += 4
		}
		if _, err := io.ReadFull(r, hdr[2:2+ext]); err != nil {
			return err
		}
		switch f.Len {
		case 126:
			f.Len = int64(binary.BigEndian.Uint16(hdr[2:4]))
		case 127:
			f.Len = int64(binary.BigEndian.Uint64(hdr[2:10]))
		}
		if _, err := w.Write(hdr[:2+ext]); err != nil {
			return err
		}
		p.mu.Lock()
		if fromClient {
			ws.Client = append(ws.Client, f)
		} else {
			ws.Server = append(ws.Server, f)
		}
		p.mu.Unlock()
		if f.Opcode != 8 || fromClient || masked || f.Len > 125 {
			if _, err := io.CopyN(w, r, f.Len); err != nil {
				return err
			}
			continue
		}
		// The server's close frame (RFC 6455 §5.5.1): status code, reason.
		payload := make([]byte, f.Len)
		if _, err := io.ReadFull(r, payload); err != nil {
			return err
		}
		if len(payload) >= 2 {
			p.mu.Lock()
			ws.CloseCode = int(binary.BigEndian.Uint16(payload))
			ws.CloseReason = string(payload[2:])
			p.mu.Unlock()
		}
		if _, err := w.Write(payload); err != nil {
			return err
		}
	}
}

// sockets returns a copy of what was seen of every WebSocket so far.
func (p *btProxy) seen() []btSocket {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]btSocket, len(p.sockets))
	for i, s := range p.sockets {
		out[i] = btSocket{
			Client:      append([]btFrame(nil), s.Client...),
			Server:      append([]btFrame(nil), s.Server...),
			CloseCode:   s.CloseCode,
			CloseReason: s.CloseReason,
		}
	}
	return out
}

func (p *btProxy) errors() []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]error(nil), p.errs...)
}

// btFragmented finds, among the client frames of the sockets, a message of
// want bytes sent as a FIN=0 text frame and continuation frames up to FIN=1.
func btFragmented(sockets []btSocket, want int64) (frames []btFrame, socket int) {
	for k, s := range sockets {
		fs := s.Client
		for i := range fs {
			if fs[i].Fin || fs[i].Opcode != 1 {
				continue
			}
			seq, total := []btFrame{fs[i]}, fs[i].Len
			for j := i + 1; j < len(fs) && fs[j].Opcode == 0; j++ {
				seq = append(seq, fs[j])
				total += fs[j].Len
				if fs[j].Fin {
					break
				}
			}
			if len(seq) >= 2 && seq[len(seq)-1].Fin && total == want {
				return seq, k
			}
		}
	}
	return nil, -1
}
