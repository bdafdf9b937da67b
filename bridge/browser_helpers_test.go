//go:build !js

package bridge_test

// Helpers of the browser tier (browser_test.go): prerequisites, Chromium
// driven by chromedp, a frame-logging TCP proxy, the in-process bridge on a
// port Chromium may use, and a native RFC 7395 client.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/waxwing-im/waxwing/bridge"
	"github.com/waxwing-im/waxwing/internal/e2e"
	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/static"
)

// btStep bounds one step of a browser test (a page load, a login, a wait).
const btStep = 20 * time.Second

// --- prerequisites ----------------------------------------------------------

// btRequireWasm skips (fails under CI) when the browser program was not
// built into static/dist before this test binary was compiled.
func btRequireWasm(t testing.TB) {
	t.Helper()
	if !static.WasmBuilt() {
		e2e.Missing(t, "the browser program (static/dist/app.wasm) is not built into this binary: run make build")
	}
}

// btRequireProsody skips (fails under CI) when Prosody is not installed;
// xmppd's message names the packages.
func btRequireProsody(t testing.TB) {
	t.Helper()
	if err := xmppd.Available(xmppd.Prosody); err != nil {
		e2e.Missing(t, fmt.Sprintf("%v (apt-get install prosody prosody-modules lua-unbound)", err))
	}
}

// --- ports --------------------------------------------------------------------

// btRestrictedPorts is Chromium's list of ports it refuses to connect to
// (net/base/port_util.cc, kRestrictedPorts): ERR_UNSAFE_PORT.
var btRestrictedPorts = map[int]bool{
	1: true, 7: true, 9: true, 11: true, 13: true, 15: true, 17: true, 19: true, 20: true,
	21: true, 22: true, 23: true, 25: true, 37: true, 42: true, 43: true, 53: true, 69: true,
	77: true, 79: true, 87: true, 95: true, 101: true, 102: true, 103: true, 104: true,
	109: true, 110: true, 111: true, 113: true, 115: true, 117: true, 119: true, 123: true,
	135: true, 137: true, 139: true, 143: true, 161: true, 179: true, 389: true, 427: true,
	465: true, 512: true, 513: true, 514: true, 515: true, 526: true, 530: true, 531: true,
	532: true, 540: true, 548: true, 554: true, 556: true, 563: true, 587: true, 601: true,
	636: true, 989: true, 990: true, 993: true, 995: true, 1719: true, 1720: true, 1723: true,
	2049: true, 3659: true, 4045: true, 4190: true, 5060: true, 5061: true, 6000: true,
	6566: true, 6665: true, 6666: true, 6667: true, 6668: true, 6669: true, 6679: true,
	6697: true, 10080: true,
}

// btPort returns the port of a host:port address.
func btPort(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// btListen listens on a free loopback port that Chromium may connect to.
func btListen(t testing.TB) net.Listener {
	t.Helper()
	var held []net.Listener // keep refused ports so the kernel does not hand them out again
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if !btRestrictedPorts[btPort(ln.Addr().String())] {
			return ln
		}
		held = append(held, ln)
	}
	t.Fatal("no free loopback port outside Chromium's restricted list")
	return nil
}

// --- the bridge -----------------------------------------------------------------

// btBridge is an in-process `waxwing serve` on a loopback port.
type btBridge struct {
	addr string // host:port
	logs *btLog
}

func (b *btBridge) origin() string { return "http://" + b.addr }
func (b *btBridge) wsURL() string  { return "ws://" + b.addr + bridge.PathWebSocket }

// btStartBridge serves cfg (Listen and DataDir filled in) until t ends.
func btStartBridge(t testing.TB, cfg bridge.Config) *btBridge {
	t.Helper()
	ln := btListen(t)
	logs := &btLog{}
	cfg.Listen = ln.Addr().String()
	cfg.DataDir = t.TempDir()
	serveBridge(t, cfg, ln, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), logs.String)
	return &btBridge{addr: ln.Addr().String(), logs: logs}
}

// btLog collects log output safely across goroutines.
type btLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *btLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *btLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// --- Chromium, driven by chromedp -----------------------------------------------

// btBrowser is one headless Chromium, started by chromedp (over
// --remote-debugging-pipe) with a fresh profile; it stops when the test ends.
type btBrowser struct {
	ctx context.Context // the chromedp context that started it; no deadline
}

// btLaunch starts Chromium and waits until it answers.
func btLaunch(t testing.TB, chromium string) *btBrowser {
	t.Helper()
	out := &btLog{}
	logf := func(format string, args ...any) { fmt.Fprintf(out, "chromedp: "+format+"\n", args...) }
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1024, 768),
		chromedp.CombinedOutput(out),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(logf), chromedp.WithErrorf(logf))
	t.Cleanup(func() {
		// Close the browser gracefully, so that no child process still
		// writes in the profile when t.TempDir removes it.
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		if err := chromedp.Cancel(cctx); err != nil {
			logf("closing the browser: %v", err)
		}
		ccancel()
		cancel()
		acancel() // waits until the process has exited
		if t.Failed() {
			t.Logf("chromium output:\n%s", out.String())
		}
	})
	t0 := time.Now()
	btFirstRun(t, ctx, cancel, "starting "+chromium, out)
	vctx, vcancel := context.WithTimeout(ctx, btStep)
	defer vcancel()
	v, err := chromedp.CallBrowser(vctx, browser.GetVersion, cdp.Empty{})
	if err != nil {
		t.Fatalf("chromium did not answer: %v\n%s", err, out.String())
	}
	t.Logf("%s started in %v", v.Product, time.Since(t0).Round(time.Millisecond))
	return &btBrowser{ctx: ctx}
}

// btFirstRun runs the first action on a chromedp context: it starts the
// browser or opens the tab, whose life it binds to ctx. So ctx must carry no
// deadline; a timer cancels it instead when that takes longer than btStep.
func btFirstRun(t testing.TB, ctx context.Context, cancel context.CancelFunc, what string, out *btLog) {
	t.Helper()
	timer := time.AfterFunc(btStep, cancel)
	err := chromedp.Do(ctx)
	if !timer.Stop() {
		t.Fatalf("%s: no answer within %v\n%s", what, btStep, out.String())
	}
	if err != nil {
		t.Fatalf("%s: %v\n%s", what, err, out.String())
	}
}

// btPage is one tab. It records, from its opening on, the network events the
// tests look at and every console message.
type btPage struct {
	ctx context.Context // the tab's chromedp context; no deadline

	mu         sync.Mutex
	responses  []*network.Response
	webSockets []string // URLs of the WebSockets created
	handshakes []*network.WebSocketResponse
	console    []chromedp.ConsoleMessage
	syncs      int
}

// newPage opens a tab on about:blank (chromedp enables the Page, Runtime,
// Network and Log domains). Each script in onNewDocument runs before any
// script of every document the tab loads (CDP
// Page.addScriptToEvaluateOnNewDocument; CSP does not apply).
func (b *btBrowser) newPage(t testing.TB, onNewDocument ...string) *btPage {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	btFirstRun(t, ctx, cancel, "opening a tab", &btLog{})
	p := &btPage{ctx: ctx}
	if err := chromedp.Listen(ctx, p.record); err != nil {
		t.Fatal(err)
	}
	msgs := chromedp.Console(ctx) // subscribed now; read in the background
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m)
			p.mu.Unlock()
		}
	}()
	sctx, scancel := context.WithTimeout(ctx, btStep)
	defer scancel()
	for _, s := range onNewDocument {
		if _, err := chromedp.Call(sctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: s}); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// record runs on chromedp's reader goroutine for every event of the tab, so
// an event is recorded before the reply to any later command arrives.
func (p *btPage) record(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventResponseReceived:
		p.responses = append(p.responses, e.Response)
	case *network.EventWebSocketCreated:
		p.webSockets = append(p.webSockets, e.URL)
	case *network.EventWebSocketHandshakeResponseReceived:
		p.handshakes = append(p.handshakes, e.Response)
	}
}

// navigate loads url and waits for it to load.
func (p *btPage) navigate(t testing.TB, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, btStep)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate %s: %v", url, err)
	}
}

// btEval evaluates a JavaScript expression in the page within d, awaiting it
// if it is a promise, and decodes its JSON value. A thrown exception is an
// error.
func btEval[T any](p *btPage, d time.Duration, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, d)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise, func(e *runtime.EvaluateParams) {
		e.UserGesture = new(true)
	}))
}

// screenshot captures the page as PNG.
func (p *btPage) screenshot() ([]byte, error) {
	ctx, cancel := context.WithTimeout(p.ctx, btStep)
	defer cancel()
	return chromedp.Run(ctx, chromedp.CaptureScreenshot())
}

// syncConsole waits until every console message the page wrote before the
// call has been recorded (chromedp delivers them on another goroutine): it
// writes a marker and waits for it.
func (p *btPage) syncConsole(d time.Duration) error {
	p.mu.Lock()
	p.syncs++
	marker := fmt.Sprintf("btSync %d", p.syncs)
	p.mu.Unlock()
	js, _ := json.Marshal(marker)
	if _, err := btEval[chromedp.Void](p, d, "console.debug("+string(js)+")"); err != nil {
		return fmt.Errorf("console sync: %w", err)
	}
	for deadline := time.Now().Add(d); ; time.Sleep(5 * time.Millisecond) {
		p.mu.Lock()
		seen := slices.ContainsFunc(p.console, func(m chromedp.ConsoleMessage) bool { return m.Text == marker })
		p.mu.Unlock()
		if seen {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("console sync: %q not seen within %v", marker, d)
		}
	}
}

// messages returns the console messages recorded so far, without the
// markers of syncConsole.
func (p *btPage) messages() []chromedp.ConsoleMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(p.console), func(m chromedp.ConsoleMessage) bool {
		return m.Type == chromedp.ConsoleDebug && strings.HasPrefix(m.Text, "btSync ")
	})
}

// consoleErrors returns every console.error/assert call, uncaught exception
// and browser log entry of level error that this page has reported.
func (p *btPage) consoleErrors(t testing.TB) []string {
	t.Helper()
	if err := p.syncConsole(btStep); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range p.messages() {
		switch {
		case m.IsException():
			out = append(out, "exception: "+m.Text)
		case m.Source != "" && m.Type == chromedp.ConsoleError:
			out = append(out, "log "+m.Source+": "+m.Text+" "+m.URL)
		case m.Source == "" && (m.Type == chromedp.ConsoleError || m.Type == "assert"):
			out = append(out, "console."+string(m.Type)+": "+m.Text)
		}
	}
	return out
}

// consoleLog returns every console message of the page, for diagnostics.
func (p *btPage) consoleLog() string {
	_ = p.syncConsole(2 * time.Second) // best effort: the page may be gone
	var sb strings.Builder
	for _, m := range p.messages() {
		sb.WriteString(m.String() + "\n")
	}
	return sb.String()
}

// seen returns copies of the recorded responses, WebSocket URLs and
// WebSocket handshake responses.
func (p *btPage) seen() ([]*network.Response, []string, []*network.WebSocketResponse) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.responses), slices.Clone(p.webSockets), slices.Clone(p.handshakes)
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
	p := &btProxy{ln: btListen(t), target: target, conns: map[net.Conn]bool{}}
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

// --- a native RFC 7395 client -----------------------------------------------------

// btClient is a minimal XMPP-over-WebSocket client: one message per element,
// SASL PLAIN, resource binding, and a reader that queues every message.
type btClient struct {
	ws   *websocket.Conn
	jid  string
	msgs chan []byte
	errc chan error
}

// btLogin connects to url with origin, authenticates and binds.
func btLogin(ctx context.Context, url, origin, domain, user, pass string) (*btClient, error) {
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		Subprotocols: []string{"xmpp"},
		HTTPHeader:   http.Header{"Origin": {origin}},
	})
	if err != nil {
		return nil, err
	}
	if ws.Subprotocol() != "xmpp" {
		ws.CloseNow()
		return nil, errors.New("the xmpp subprotocol was not selected")
	}
	ws.SetReadLimit(4 << 20)
	c := &btClient{ws: ws, msgs: make(chan []byte, 64), errc: make(chan error, 1)}
	go func() {
		for {
			_, m, err := ws.Read(context.Background())
			if err != nil {
				c.errc <- err
				close(c.msgs)
				return
			}
			c.msgs <- m
		}
	}()
	open := "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='" + domain + "' version='1.0'/>"
	features := func(m []byte) bool { return bytes.Contains(m, []byte("features")) }
	steps := []struct {
		send string
		what string
		ok   func([]byte) bool
	}{
		{open, "stream features", features},
		{"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
			base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)) + "</auth>",
			"SASL success", func(m []byte) bool { return bytes.HasPrefix(m, []byte("<success")) }},
		{open, "stream features after SASL", features},
		{"<iq type='set' id='bind1' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>",
			"bind result", func(m []byte) bool { return bytes.Contains(m, []byte("bind1")) }},
	}
	var last []byte
	for _, s := range steps {
		if err := ws.Write(ctx, websocket.MessageText, []byte(s.send)); err != nil {
			ws.CloseNow()
			return nil, err
		}
		if last, err = c.waitFor(ctx, s.what, s.ok); err != nil {
			ws.CloseNow()
			return nil, err
		}
	}
	i, j := bytes.Index(last, []byte("<jid>")), bytes.Index(last, []byte("</jid>"))
	if i < 0 || j < i || !bytes.Contains(last, []byte("result")) {
		ws.CloseNow()
		return nil, fmt.Errorf("bind failed: %s", last)
	}
	c.jid = string(last[i+len("<jid>") : j])
	return c, nil
}

// waitFor returns the next message satisfying ok, discarding others; a SASL
// failure, a stream error or the end of the socket is an error.
func (c *btClient) waitFor(ctx context.Context, what string, ok func([]byte) bool) ([]byte, error) {
	for {
		select {
		case m, open := <-c.msgs:
			if !open {
				return nil, fmt.Errorf("waiting for %s: %w", what, <-c.errc)
			}
			if ok(m) {
				return m, nil
			}
			if bytes.HasPrefix(m, []byte("<failure")) || bytes.Contains(m, []byte("stream:error")) || bytes.HasPrefix(m, []byte("<close")) {
				return nil, fmt.Errorf("waiting for %s: got %.300s", what, m)
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
}

func (c *btClient) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = c.ws.Write(ctx, websocket.MessageText, []byte("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"))
	c.ws.CloseNow()
}
