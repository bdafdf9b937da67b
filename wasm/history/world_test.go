//go:build !js

package history_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/internal/xmppd/xmppdtest"
	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/client"
	"github.com/waxwing-im/waxwing/wasm/history"
	"github.com/waxwing-im/waxwing/wasm/xmppws"
)

// world is a real server behind a real `waxwing serve`, and devices on it.
type world struct {
	srv         *xmppd.Server
	url, origin string
}

func newWorld(t *testing.T, kind xmppd.Kind, opts xmppd.Options, users ...string) *world {
	t.Helper()
	opts.Users = map[string]string{}
	for _, u := range users {
		opts.Users[u] = u + "-pw"
	}
	srv := xmppdtest.Start(t, kind, opts)
	url, origin := xmppdtest.Bridge(t, srv)
	return &world{srv: srv, url: url, origin: origin}
}

func (w *world) jid(user string) string { return user + "@" + w.srv.Domain }

// device is one device of an account: a store, an engine and a client
// running until stopped ("killed": the store stays, as IndexedDB does).
type device struct {
	name string
	user string
	st   *store.Memory
	eng  *history.Engine
	cl   *client.Client

	mu     sync.Mutex
	stop   context.CancelFunc
	done   chan error
	online chan struct{} // closed at the first LinkOnline of this run
	// crash, if set, is asked before each inbound stanza: true simulates a
	// crash between receiving the stanza and committing it.
	crash func() bool
}

// crashy makes a device crash between receiving and committing a stanza.
type crashy struct {
	client.Handler
	crash func() bool
}

func (c crashy) HandleStanza(ctx context.Context, raw []byte, h uint32) error {
	if c.crash() {
		return fmt.Errorf("simulated crash before the commit")
	}
	return c.Handler.HandleStanza(ctx, raw, h)
}

// StoredCount passes on the engine's client.CountStorer.
func (c crashy) StoredCount() (uint32, bool) {
	if cs, ok := c.Handler.(client.CountStorer); ok {
		return cs.StoredCount()
	}
	return 0, false
}

func (w *world) device(t *testing.T, name, user string, crash ...func() bool) *device {
	d := &device{name: name, user: user, st: store.NewMemory()}
	if len(crash) > 0 {
		d.crash = crash[0]
	}
	w.start(t, d)
	t.Cleanup(func() { d.kill() })
	return d
}

// start runs a fresh engine and client on d's store (a new process).
func (w *world) start(t *testing.T, d *device) {
	t.Helper()
	var log *slog.Logger
	if v := os.Getenv("WAXWING_HISTORY_LOG"); v != "" {
		// WAXWING_HISTORY_LOG=1: everything; =info: what the engine
		// reports at Info and above.
		level := slog.LevelDebug
		if v == "info" {
			level = slog.LevelInfo
		}
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("dev", d.name)
	}
	// The engine's defaults, as the app has them: pages of 250 (ejabberd's
	// most). Pages of 50 made the convergence test's catch-ups, which page
	// again over what is not settled, five times as many queries for the
	// servers (ejabberd's session processes serve them, and write the
	// archive entries of the messages they receive meanwhile).
	eng, err := history.New(history.Config{Store: d.st, Self: w.jid(d.user), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	cfg := client.Config{
		URL: w.url, JID: w.jid(d.user), Software: "waxwing-test", Device: d.name, Log: log,
		Dial: &xmppws.Options{HTTPHeader: http.Header{"Origin": {w.origin}}},
	}
	eng.Wire(&cfg)
	if d.crash != nil {
		cfg.Handler = crashy{cfg.Handler, d.crash}
	}
	ctx, cancel := context.WithCancel(context.Background())
	online := make(chan struct{})
	var once sync.Once
	cl := client.NewClient(cfg, client.Credentials{Password: d.user + "-pw"}, client.Options{
		Backoff:    client.Backoff{Min: 20 * time.Millisecond, Max: 300 * time.Millisecond},
		AckTimeout: 10 * time.Second,
		OnState: func(ls client.LinkState) {
			if ls.State == client.LinkOnline {
				once.Do(func() { close(online) })
				go eng.Online(ctx)
			}
		},
	})
	eng.Attach(cl)
	done := make(chan error, 1)
	go func() { done <- cl.Run(ctx) }()
	d.mu.Lock()
	d.eng, d.cl, d.stop, d.done, d.online = eng, cl, cancel, done, online
	d.mu.Unlock()
}

// kill ends the device's process: the link drops without closing the
// stream, the store stays.
func (d *device) kill() {
	d.mu.Lock()
	stop, done, cl := d.stop, d.done, d.cl
	d.stop = nil
	d.mu.Unlock()
	if stop == nil {
		return
	}
	if s := cl.Session(); s != nil {
		s.Drop()
	}
	stop()
	<-done
}

func (d *device) engine() *history.Engine {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.eng
}

func (d *device) client() *client.Client {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cl
}

func (d *device) waitOnline(t *testing.T) {
	t.Helper()
	d.mu.Lock()
	ch := d.online
	d.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: not online after 30 s", d.name)
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// messages returns every message of conv, in order.
func (d *device) messages(t *testing.T, conv string) []store.Message {
	t.Helper()
	ms, err := d.st.Messages(context.Background(), conv, math.MaxInt64, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// digest describes a device's history: every conversation's messages in
// order (archive id, sender, direction, body), and its hash.
func (d *device) digest(t *testing.T) (string, []string) {
	t.Helper()
	convs, err := d.st.Conversations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range convs {
		for _, m := range d.messages(t, c.Peer) {
			lines = append(lines, fmt.Sprintf("%s|%s|%s|%d|%s", c.Peer, archiveIDOf(m), m.From, m.Direction, m.Body))
		}
	}
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:8]), lines
}

// archiveIDOf is the archive's id for m: a message kept under a collision
// id (the archive gave its id to two messages) has it before the "/".
func archiveIDOf(m store.Message) string {
	id, _, _ := strings.Cut(m.ArchiveID, "/")
	return id
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, what string, d time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v: %s", what, d, state)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
