//go:build !js

package client_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/internal/xmppd/xmppdtest"
	"github.com/waxwing-im/waxwing/wasm/client"
	"github.com/waxwing-im/waxwing/wasm/xmppws"
)

// device is one client device: its session state and what it has received,
// kept under one lock, so that a stanza and the inbound count commit
// together, as one IndexedDB transaction does.
type device struct {
	mu       sync.Mutex
	st       client.State
	bodies   []string // bodies received, in order
	trace    []string // bodies and connection events, for failure reports
	raws     map[string]string
	failNext bool              // the next HandleStanza fails (a crash before the commit)
	archived []string          // bodies of archive (MAM) results, in order
	iqs      map[string][]byte // iq results and errors by id
}

func (d *device) mark(s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.trace = append(d.trace, s)
}

func (d *device) LoadState(context.Context) (client.State, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st.Clone(), nil
}

func (d *device) UpdateState(_ context.Context, f func(*client.State) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.st.Clone()
	if err := f(&st); err != nil {
		return err
	}
	d.st = st
	return nil
}

func (d *device) HandleStanza(ctx context.Context, raw []byte, h uint32) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failNext {
		d.failNext = false
		d.trace = append(d.trace, "CRASH")
		return fmt.Errorf("simulated crash before the commit")
	}
	var m struct {
		XMLName xml.Name
		ID      string `xml:"id,attr"`
		Type    string `xml:"type,attr"`
		Body    string `xml:"body"`
		MAM     *struct {
			Body string `xml:"forwarded>message>body"`
		} `xml:"urn:xmpp:mam:2 result"`
	}
	err := xml.Unmarshal(raw, &m)
	switch {
	case err != nil:
	case m.XMLName.Local == "iq" && (m.Type == "result" || m.Type == "error"):
		if d.iqs == nil {
			d.iqs = map[string][]byte{}
		}
		d.iqs[m.ID] = raw
	case m.XMLName.Local == "message" && m.MAM != nil:
		d.archived = append(d.archived, m.MAM.Body)
	}
	if err == nil && m.XMLName.Local == "message" && m.Body != "" {
		d.bodies = append(d.bodies, m.Body)
		d.trace = append(d.trace, m.Body)
		if d.raws == nil {
			d.raws = map[string]string{}
		}
		d.raws[m.Body] = string(raw)
	}
	d.st.SM.Inbound = h
	return nil
}

func (d *device) received() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.bodies...)
}

type env struct {
	srv    *xmppd.Server
	url    string
	origin string

	mu       sync.Mutex
	sessions []*client.Session // dropped when the top-level test ends
}

// setup starts a real server of kind and `waxwing serve` in front of it.
func setup(t *testing.T, kind xmppd.Kind, opts xmppd.Options) *env {
	t.Helper()
	opts.Users = map[string]string{"alice": "alice-pw", "bob": "bob-pw"}
	srv := xmppdtest.Start(t, kind, opts)
	url, origin := xmppdtest.Bridge(t, srv)
	e := &env{srv: srv, url: url, origin: origin}
	t.Cleanup(func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, s := range e.sessions {
			s.Drop()
		}
	})
	return e
}

func (e *env) config(user string, d *device) client.Config {
	var log *slog.Logger
	if os.Getenv("WAXWING_CLIENT_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("user", user)
	}
	return client.Config{
		URL:      e.url,
		JID:      user + "@" + e.srv.Domain,
		Dial:     &xmppws.Options{HTTPHeader: http.Header{"Origin": {e.origin}}},
		Store:    d,
		Handler:  d,
		Software: "waxwing-test",
		Device:   "go test",
		Log:      log,
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// connect connects and serves in the background.
func (e *env) connect(t *testing.T, user string, d *device, cred client.Credentials) *client.Session {
	t.Helper()
	return e.connectConfig(t, e.config(user, d), cred)
}

// connectConfig connects with cfg (e.config's, changed) and serves the
// session until the top-level test ends.
func (e *env) connectConfig(t *testing.T, cfg client.Config, cred client.Credentials) *client.Session {
	t.Helper()
	s, err := client.Connect(ctxT(t), cfg, cred)
	if err != nil {
		t.Fatalf("%s: connect: %v", cfg.JID, err)
	}
	go s.Serve(context.Background())
	e.mu.Lock()
	e.sessions = append(e.sessions, s)
	e.mu.Unlock()
	return s
}

func message(to, id, body string) []byte {
	return []byte("<message xmlns='jabber:client' type='chat' to='" + to + "' id='" + id + "'><body>" + body +
		"</body><origin-id xmlns='urn:xmpp:sid:0' id='" + id + "'/></message>")
}

func waitBodies(t *testing.T, d *device, want ...string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := d.received()
		if strings.Join(got, "|") == strings.Join(want, "|") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %q\nwant     %q", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func presence() []byte { return []byte("<presence xmlns='jabber:client'/>") }

func TestIntegrationProsodySession(t *testing.T) {
	t.Parallel()
	e := setup(t, xmppd.Prosody, xmppd.Options{})
	pw := func(p string) client.Credentials { return client.Credentials{Password: p} }
	alice, bob := &device{}, &device{}

	// Fresh login: SASL2 + Bind 2, a FAST token comes back.
	s := e.connect(t, "alice", alice, pw("alice-pw"))
	st := s.Stats()
	if st.Path != client.PathFresh || !strings.HasPrefix(s.JID(), "alice@localhost/waxwing") {
		t.Fatalf("fresh login: %v, jid %q (%s)", st, s.JID(), st.Reason)
	}
	saved, _ := alice.LoadState(ctxT(t))
	if saved.FASTToken == "" || saved.DeviceID == "" {
		t.Fatalf("no FAST token or device id stored: %+v", saved)
	}
	t.Logf("fresh: %v", st)
	if err := s.Send(ctxT(t), presence()); err != nil {
		t.Fatal(err)
	}
	bs := e.connect(t, "bob", bob, pw("bob-pw"))
	if err := bs.Send(ctxT(t), presence()); err != nil {
		t.Fatal(err)
	}

	t.Run("message exchange", func(t *testing.T) {
		if err := bs.Send(ctxT(t), message("alice@localhost", "b1", "hello alice")); err != nil {
			t.Fatal(err)
		}
		waitBodies(t, alice, "hello alice")
		if err := s.Send(ctxT(t), message("bob@localhost", "a1", "hello bob")); err != nil {
			t.Fatal(err)
		}
		waitBodies(t, bob, "hello bob")
	})

	t.Run("resume after a drop, stanzas in flight both ways", func(t *testing.T) {
		s.Drop()
		// While alice is away: bob writes; alice's client has an unsent
		// message queued... sent into the dead link.
		if err := bs.Send(ctxT(t), message("alice@localhost", "b2", "while you were away")); err != nil {
			t.Fatal(err)
		}
		s2 := e.connect(t, "alice", alice, client.Credentials{})
		st := s2.Stats()
		if st.Path != client.PathResumed {
			t.Fatalf("path %s (%s)", st.Path, st.Reason)
		}
		if st.RoundTrips > 2 {
			t.Errorf("resume took %d round trips, want ≤ 2", st.RoundTrips)
		}
		t.Logf("resume: %v", st)
		waitBodies(t, alice, "hello alice", "while you were away")
		s = s2
	})

	t.Run("token login after the session ended", func(t *testing.T) {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s3 := e.connect(t, "alice", alice, client.Credentials{})
		st := s3.Stats()
		if st.Path != client.PathToken {
			t.Fatalf("path %s (%s)", st.Path, st.Reason)
		}
		if st.RoundTrips > 2 {
			t.Errorf("token login took %d round trips, want ≤ 2", st.RoundTrips)
		}
		t.Logf("token: %v", st)
		s = s3
	})

	t.Run("rebind when the session is gone, unacked stanzas re-sent once", func(t *testing.T) {
		st, _ := alice.LoadState(ctxT(t))
		st.SM.ID = "no-such-session"
		st.SM.Unacked = []client.Outgoing{{Seq: st.SM.Outbound + 1, Raw: message("bob@localhost", "a2", "queued while offline")}}
		s.Drop()
		if err := client.SaveState(ctxT(t), alice, st); err != nil {
			t.Fatal(err)
		}
		s4 := e.connect(t, "alice", alice, client.Credentials{})
		if p := s4.Stats().Path; p != client.PathRebound {
			t.Fatalf("path %s (%s)", p, s4.Stats().Reason)
		}
		waitBodies(t, bob, "hello bob", "queued while offline")
		s = s4
	})

	t.Run("wrong password", func(t *testing.T) {
		_, err := client.Connect(ctxT(t), e.config("alice", &device{}), pw("nope"))
		if client.KindOf(err) != client.ErrWrongPassword {
			t.Fatalf("error %v, want %s", err, client.ErrWrongPassword)
		}
	})

	t.Run("wrong token falls back to asking the user", func(t *testing.T) {
		d := &device{}
		good, _ := alice.LoadState(ctxT(t))
		good.SM = client.SMState{}
		good.FASTToken = "secret-token:forged"
		_ = client.SaveState(ctxT(t), d, good)
		_, err := client.Connect(ctxT(t), e.config("alice", d), client.Credentials{})
		if client.KindOf(err) != client.ErrTokenRejected {
			t.Fatalf("error %v, want %s", err, client.ErrTokenRejected)
		}
	})
}

func TestIntegrationEjabberdLegacy(t *testing.T) {
	t.Parallel()
	e := setup(t, xmppd.Ejabberd, xmppd.Options{})
	alice, bob := &device{}, &device{}
	s := e.connect(t, "alice", alice, client.Credentials{Password: "alice-pw"})
	if p := s.Stats().Path; p != client.PathLegacy {
		t.Fatalf("path %s (%s)", p, s.Stats().Reason)
	}
	t.Logf("legacy: %v", s.Stats())
	_ = s.Send(ctxT(t), presence())
	bs := e.connect(t, "bob", bob, client.Credentials{Password: "bob-pw"})
	_ = bs.Send(ctxT(t), presence())
	if err := bs.Send(ctxT(t), message("alice@localhost", "b1", "hi from bob")); err != nil {
		t.Fatal(err)
	}
	waitBodies(t, alice, "hi from bob")

	s.Drop()
	if err := bs.Send(ctxT(t), message("alice@localhost", "b2", "while away")); err != nil {
		t.Fatal(err)
	}
	s2 := e.connect(t, "alice", alice, client.Credentials{Password: "alice-pw"})
	if p := s2.Stats().Path; p != client.PathResumed {
		t.Fatalf("path %s (%s)", p, s2.Stats().Reason)
	}
	t.Logf("legacy resume: %v", s2.Stats())
	waitBodies(t, alice, "hi from bob", "while away")
}

// TestIntegrationProsodyInlineSM: with inline Stream Management (XEP-0198 in
// SASL2/Bind 2, made to work on Prosody 0.12.3 by a compat module), SM is
// enabled inside Bind 2 and a warm reconnect resumes inside <authenticate/>.
func TestIntegrationProsodyInlineSM(t *testing.T) {
	t.Parallel()
	e := setup(t, xmppd.Prosody, xmppd.Options{InlineSM: true})
	alice, bob := &device{}, &device{}
	s := e.connect(t, "alice", alice, client.Credentials{Password: "alice-pw"})
	if st := s.Stats(); st.Path != client.PathFresh || !strings.Contains(st.Reason, "Bind 2") || strings.Contains(st.Reason, "SM enabled after binding") {
		t.Fatalf("fresh: %v (%s)", st, st.Reason)
	}
	_ = s.Send(ctxT(t), presence())
	bs := e.connect(t, "bob", bob, client.Credentials{Password: "bob-pw"})
	_ = bs.Send(ctxT(t), presence())
	if err := bs.Send(ctxT(t), message("alice@localhost", "b1", "one")); err != nil {
		t.Fatal(err)
	}
	waitBodies(t, alice, "one")
	if saved, _ := alice.LoadState(ctxT(t)); saved.SM.ID == "" {
		t.Fatal("no SM id stored after an inline enable")
	}

	s.Drop()
	if err := bs.Send(ctxT(t), message("alice@localhost", "b2", "two")); err != nil {
		t.Fatal(err)
	}
	s2 := e.connect(t, "alice", alice, client.Credentials{})
	st := s2.Stats()
	if st.Path != client.PathResumed || !strings.Contains(st.Reason, "inline <resume/>") {
		t.Fatalf("path %s (%s)", st.Path, st.Reason)
	}
	if st.RoundTrips > 2 {
		t.Errorf("inline resume took %d round trips, want ≤ 2", st.RoundTrips)
	}
	t.Logf("inline resume: %v", st)
	waitBodies(t, alice, "one", "two")

	// A server restart loses the SM session: the token still works and
	// the client binds anew, re-sending what was not acknowledged.
	s2.Drop()
	if err := e.srv.Restart(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	st3, _ := alice.LoadState(ctxT(t))
	st3.SM.Unacked = append(st3.SM.Unacked, client.Outgoing{Seq: st3.SM.Outbound + 1, Raw: message("bob@localhost", "a9", "sent before the restart")})
	_ = client.SaveState(ctxT(t), alice, st3)
	s3 := e.connect(t, "alice", alice, client.Credentials{})
	if p := s3.Stats().Path; p != client.PathRebound {
		t.Fatalf("after restart: path %s (%s)", p, s3.Stats().Reason)
	}
	t.Logf("after restart: %v", s3.Stats())
	bob2 := &device{}
	bs2 := e.connect(t, "bob", bob2, client.Credentials{Password: "bob-pw"})
	_ = bs2.Send(ctxT(t), presence())
	// Delivered once: from offline storage, since bob was away.
	waitBodies(t, bob2, "sent before the restart")
	time.Sleep(300 * time.Millisecond)
	waitBodies(t, bob2, "sent before the restart")
}
