// These tests need a local WebSocket server, which js/wasm cannot listen on.

//go:build !js

package probe_test

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/waxwing-im/waxwing/wasm/probe"
)

const (
	serverOpen  = `<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0' id='abc' from='localhost'/>`
	serverClose = `<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>`
)

// after says what the fake server does once it has sent its replies.
type after int

const (
	closeStream after = iota // wait for the client's <close/>, answer it, close the WebSocket
	dropSocket               // close the TCP connection without a close handshake
	hang                     // say nothing until the client goes away
)

// fakeServer is a scripted RFC 7395 endpoint. It records what the client sent.
type fakeServer struct {
	subprotocols []string
	replies      []string
	after        after

	mu       sync.Mutex
	received []string
	done     chan struct{}
}

func (s *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer close(s.done)
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: s.subprotocols})
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	read := func() (string, bool) {
		_, b, err := c.Read(ctx)
		if err != nil {
			return "", false
		}
		s.mu.Lock()
		s.received = append(s.received, string(b))
		s.mu.Unlock()
		return string(b), true
	}
	if _, ok := read(); !ok {
		return
	}
	for _, m := range s.replies {
		if c.Write(ctx, websocket.MessageText, []byte(m)) != nil {
			return
		}
	}
	switch s.after {
	case dropSocket:
		c.CloseNow()
	case closeStream:
		for {
			m, ok := read()
			if !ok {
				return
			}
			if strings.HasPrefix(m, "<close") {
				c.Write(ctx, websocket.MessageText, []byte(serverClose))
				c.Close(websocket.StatusNormalClosure, "")
				return
			}
		}
	case hang:
		for {
			if _, ok := read(); !ok {
				return
			}
		}
	}
}

func (s *fakeServer) messages() []string {
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}

func TestCheck(t *testing.T) {
	t.Parallel()
	xmpp := []string{"xmpp"}
	tests := []struct {
		name    string
		server  *fakeServer
		timeout time.Duration
		want    string // Summary, or a substring of the error
		wantErr bool
		closed  bool // the client must have sent <close/>
	}{
		{name: "prosody", server: &fakeServer{subprotocols: xmpp, replies: []string{serverOpen, prosodyWebSocket}},
			want: "Server localhost reachable · SASL2 · SCRAM-SHA-1, PLAIN", closed: true},
		{name: "ejabberd", server: &fakeServer{subprotocols: xmpp, replies: []string{serverOpen, ejabberdTLS}},
			want: "Server localhost reachable · SASL · PLAIN, SCRAM-SHA-1-PLUS, SCRAM-SHA-1", closed: true},
		{name: "features answered by a dropped connection", server: &fakeServer{subprotocols: xmpp, replies: []string{serverOpen, prosodyWebSocket}, after: dropSocket},
			want: "Server localhost reachable · SASL2 · SCRAM-SHA-1, PLAIN"},
		{name: "unrelated frames first", server: &fakeServer{subprotocols: xmpp, replies: []string{serverOpen, `<iq xmlns='jabber:client' type='get' id='1'/>`, ejabberdAfterSASL}},
			want: "Server localhost reachable · no login mechanisms offered", closed: true},

		{name: "prosody strict: no features on insecure ws", server: &fakeServer{subprotocols: xmpp, replies: []string{serverOpen,
			`<stream:error xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>No stream features to proceed with</text></stream:error>`,
			serverClose}, after: dropSocket},
			want: "the server refused the stream: stream error: undefined-condition: No stream features to proceed with", wantErr: true},
		{name: "host-unknown", server: &fakeServer{subprotocols: xmpp, replies: []string{serverOpen,
			`<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`}, after: dropSocket},
			want: "stream error: host-unknown", wantErr: true},
		{name: "see-other-uri", server: &fakeServer{subprotocols: xmpp, replies: []string{
			`<close xmlns='urn:ietf:params:xml:ns:xmpp-framing' see-other-uri='wss://other.example.org/xmpp'/>`}, after: dropSocket},
			want: "redirects to wss://other.example.org/xmpp", wantErr: true},
		{name: "close before features", server: &fakeServer{subprotocols: xmpp, replies: []string{serverOpen, serverClose}, after: dropSocket},
			want: "closed the stream before offering stream features", wantErr: true},
		{name: "connection dropped", server: &fakeServer{subprotocols: xmpp, replies: []string{serverOpen}, after: dropSocket},
			want: "closed the connection before offering stream features", wantErr: true},
		{name: "not xml", server: &fakeServer{subprotocols: xmpp, replies: []string{"hello"}, after: dropSocket},
			want: "malformed XML", wantErr: true},
		{name: "no xmpp subprotocol", server: &fakeServer{replies: []string{serverOpen, prosodyWebSocket}, after: hang},
			want: "does not speak XMPP", wantErr: true},
		{name: "silent server", server: &fakeServer{subprotocols: xmpp, replies: []string{serverOpen}, after: hang}, timeout: 200 * time.Millisecond,
			want: "no stream features from the server: context deadline exceeded", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.server.done = make(chan struct{})
			srv := httptest.NewServer(tt.server)
			t.Cleanup(srv.Close)
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()

			f, err := probe.Check(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), "localhost")
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Check = %+v, want an error containing %q", f, tt.want)
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Errorf("Check error %q, want it to contain %q", err, tt.want)
				}
			} else if err != nil {
				t.Fatalf("Check: %v", err)
			} else if got := f.Summary("localhost"); got != tt.want {
				t.Errorf("Summary = %q, want %q", got, tt.want)
			}

			msgs := tt.server.messages()
			if tt.name == "no xmpp subprotocol" {
				if len(msgs) != 0 {
					t.Errorf("client sent %q to a non-XMPP endpoint", msgs)
				}
				return
			}
			if len(msgs) == 0 {
				t.Fatal("client sent nothing")
			}
			var open struct {
				XMLName xml.Name
				To      string `xml:"to,attr"`
				Version string `xml:"version,attr"`
			}
			if err := xml.Unmarshal([]byte(msgs[0]), &open); err != nil {
				t.Fatalf("client's first message %q: %v", msgs[0], err)
			}
			if open.XMLName != (xml.Name{Space: probe.NSFraming, Local: "open"}) || open.To != "localhost" || open.Version != "1.0" {
				t.Errorf("client opened with %q", msgs[0])
			}
			if tt.closed {
				if len(msgs) < 2 || !strings.HasPrefix(msgs[len(msgs)-1], "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'") {
					t.Errorf("client did not close the stream; it sent %q", msgs)
				}
			}
		})
	}
}

func TestCheckStreamErrorType(t *testing.T) {
	t.Parallel()
	s := &fakeServer{subprotocols: []string{"xmpp"}, done: make(chan struct{}), after: dropSocket, replies: []string{
		`<stream:error xmlns:stream='http://etherx.jabber.org/streams'><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>no such host</text></stream:error>`}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	_, err := probe.Check(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http"), "nowhere.example")
	var se *probe.StreamError
	if !errors.As(err, &se) || se.Condition != "host-unknown" || se.Text != "no such host" {
		t.Fatalf("Check error = %v, want a *StreamError host-unknown / no such host", err)
	}
}

func TestCheckEscapesDomain(t *testing.T) {
	t.Parallel()
	s := &fakeServer{subprotocols: []string{"xmpp"}, done: make(chan struct{}), replies: []string{serverOpen, prosodyWebSocket}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	const domain = `a'b"c<d>&e`
	if _, err := probe.Check(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http"), domain); err != nil {
		t.Fatalf("Check: %v", err)
	}
	var open struct {
		To string `xml:"to,attr"`
	}
	msgs := s.messages()
	if err := xml.Unmarshal([]byte(msgs[0]), &open); err != nil || open.To != domain {
		t.Errorf("open %q: to = %q (err %v), want %q", msgs[0], open.To, err, domain)
	}
}

func TestCheckNotWebSocket(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	_, err := probe.Check(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http"), "localhost")
	var de *probe.DialError
	if !errors.As(err, &de) || de.Err == nil || err.Error() != "cannot open a WebSocket to "+de.URL {
		t.Fatalf("Check error = %v, want a *DialError", err)
	}
}
