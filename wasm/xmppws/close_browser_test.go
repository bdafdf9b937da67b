//go:build !js

package xmppws_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/waxwing-im/waxwing/internal/e2e"
	"github.com/waxwing-im/waxwing/internal/wasmtest"
)

// closeServer accepts WebSockets and records the close code each one got
// from the page: /binary answers with a binary message (the page must close
// with unsupported data), any other path waits; GET /closed?path=/binary
// waits until that path's socket was closed and answers its code.
type closeServer struct {
	mu    sync.Mutex
	cond  *sync.Cond
	codes map[string]websocket.StatusCode
}

func (s *closeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if r.URL.Path == "/closed" {
		want := r.URL.Query().Get("path")
		deadline := time.AfterFunc(10*time.Second, func() { s.cond.Broadcast() })
		defer deadline.Stop()
		start := time.Now()
		s.mu.Lock()
		code, ok := s.codes[want]
		for !ok && time.Since(start) < 10*time.Second {
			s.cond.Wait()
			code, ok = s.codes[want]
		}
		s.mu.Unlock()
		if !ok {
			http.Error(w, "no close frame from the page", http.StatusGatewayTimeout)
			return
		}
		fmt.Fprint(w, int(code))
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true, Subprotocols: []string{"xmpp"}})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	if r.URL.Path == "/binary" {
		_ = ws.Write(ctx, websocket.MessageBinary, []byte("<a/>"))
	}
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			s.mu.Lock()
			s.codes[r.URL.Path] = websocket.CloseStatus(err)
			s.cond.Broadcast()
			s.mu.Unlock()
			return
		}
	}
}

// TestBrowserClose runs TestPageClose in Chromium: every close the package
// sends from a page reaches the server with a code WebSocket.close accepts.
func TestBrowserClose(t *testing.T) {
	t.Parallel()
	s := &closeServer{codes: map[string]websocket.StatusCode{}}
	s.cond = sync.NewCond(&s.mu)
	ln := e2e.ListenLoopback(t)
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	out := wasmtest.Run(t, ".", "-test.v", "-test.run=^TestPageClose$", "-xmppws.server=http://"+ln.Addr().String())
	if !strings.Contains(out, "--- PASS: TestPageClose") {
		t.Errorf("TestPageClose did not pass in the browser")
	}
}
