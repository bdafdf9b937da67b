package app

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/ui"
)

// Fakes of the browser platform, shared by the tabs of one "browser".

// browser is what the tabs of one browser profile share: localStorage,
// IndexedDB and a BroadcastChannel.
type browser struct {
	mu    sync.Mutex
	prefs map[string]string
	dbs   map[string]*store.Memory
	tabs  []*tab
}

func newBrowser() *browser {
	return &browser{prefs: map[string]string{}, dbs: map[string]*store.Memory{}}
}

func (b *browser) Get(k string) string { b.mu.Lock(); defer b.mu.Unlock(); return b.prefs[k] }
func (b *browser) Set(k, v string)     { b.mu.Lock(); defer b.mu.Unlock(); b.prefs[k] = v }
func (b *browser) Delete(k string)     { b.mu.Lock(); defer b.mu.Unlock(); delete(b.prefs, k) }

func (b *browser) Open(_ context.Context, jid string) (store.Store, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	db, ok := b.dbs[jid]
	if !ok {
		db = store.NewMemory()
		b.dbs[jid] = db
	}
	return handle{db}, nil
}

// stores adapts browser to Stores (Delete clashes with Prefs.Delete).
type stores struct{ b *browser }

func (s stores) Open(ctx context.Context, jid string) (store.Store, error) { return s.b.Open(ctx, jid) }
func (s stores) Delete(_ context.Context, jid string) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if _, ok := s.b.dbs[jid]; !ok {
		return errors.New("no such database")
	}
	delete(s.b.dbs, jid)
	return nil
}

// handle is one tab's connection to a shared database: closing it leaves
// the database to the other tabs.
type handle struct{ store.Store }

func (handle) Close() error { return nil }

// tab is one tab: an App, its view, its bus endpoint.
type tab struct {
	name string
	b    *browser
	app  *App
	ctx  context.Context
	stop context.CancelFunc

	mu    sync.Mutex
	shown ui.App
	n     int
	lead  context.CancelFunc
	led   chan struct{}
}

func (t *tab) Show(v ui.App) {
	t.mu.Lock()
	t.shown = v
	t.n++
	t.mu.Unlock()
}

func (t *tab) view() ui.App {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.shown
}

// Post delivers to every other tab, asynchronously, as BroadcastChannel does.
func (t *tab) Post(m Msg) {
	t.b.mu.Lock()
	others := make([]*tab, 0, len(t.b.tabs))
	for _, o := range t.b.tabs {
		if o != t {
			others = append(others, o)
		}
	}
	t.b.mu.Unlock()
	for _, o := range others {
		go o.app.Receive(o.ctx, m)
	}
}

func (b *browser) open(tb testing.TB, name, domain, url string, cfg func(*Config)) *tab {
	tb.Helper()
	t := &tab{name: name, b: b}
	t.ctx, t.stop = context.WithCancel(context.Background())
	c := Config{Domain: domain, URL: url, Stores: stores{b}, Prefs: b, Bus: t, View: t, Device: name}
	if cfg != nil {
		cfg(&c)
	}
	a, err := New(c)
	if err != nil {
		tb.Fatal(err)
	}
	t.app = a
	b.mu.Lock()
	b.tabs = append(b.tabs, t)
	b.mu.Unlock()
	a.Start(t.ctx)
	tb.Cleanup(func() { t.close() })
	return t
}

// takeLock makes the tab the leader (as the Web Lock would).
func (t *tab) takeLock() {
	ctx, cancel := context.WithCancel(t.ctx)
	t.mu.Lock()
	t.lead, t.led = cancel, make(chan struct{})
	led := t.led
	t.mu.Unlock()
	go func() {
		defer close(led)
		t.app.Lead(ctx)
	}()
}

// crash ends the tab as a killed browser tab does: the link drops without
// closing the stream, and the lock is released.
func (t *tab) crash() {
	t.app.mu.Lock()
	s := t.app.sess
	t.app.mu.Unlock()
	if s != nil {
		if cur := s.cl.Session(); cur != nil {
			cur.Drop()
		}
	}
	t.close()
}

func (t *tab) close() {
	t.b.mu.Lock()
	for i, o := range t.b.tabs {
		if o == t {
			t.b.tabs = append(t.b.tabs[:i], t.b.tabs[i+1:]...)
			break
		}
	}
	t.b.mu.Unlock()
	t.mu.Lock()
	lead, led := t.lead, t.led
	t.mu.Unlock()
	t.stop()
	if lead != nil {
		lead()
		<-led
	}
}

// waitView waits until the tab shows a view satisfying ok.
func waitView(tb testing.TB, t *tab, what string, d time.Duration, ok func(v ui.App) bool) ui.App {
	tb.Helper()
	deadline := time.Now().Add(d)
	for {
		v := t.view()
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: timed out waiting for %s; showing screen=%s conn=%+v login=%+v notice=%q inbox=%d chat=%v",
				t.name, what, v.Screen, v.Connection, v.Login, v.Notice, len(v.Inbox.Rows), chatSummary(v.Chat))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func chatSummary(c *ui.Chat) string {
	if c == nil {
		return "none"
	}
	var b strings.Builder
	b.WriteString(c.JID + ":")
	for _, it := range c.Items {
		if it.Kind == ui.ItemMessage {
			b.WriteString(" [" + it.Message.Body + " " + it.Message.State + "]")
		}
	}
	return b.String()
}

// message finds a message by body in the open chat.
func message(v ui.App, body string) (ui.Message, bool) {
	if v.Chat == nil {
		return ui.Message{}, false
	}
	for _, it := range v.Chat.Items {
		if it.Kind == ui.ItemMessage && it.Message.Body == body {
			return it.Message, true
		}
	}
	return ui.Message{}, false
}

func TestNormalizeJID(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"alice", "alice@example.org", ""},
		{" Alice@Example.org ", "alice@example.org", ""},
		{"alice@other.org", "", "only addresses ending in @example.org"},
		{"", "", "Enter your address"},
		{"a b", "", "not a valid address"},
		{"@example.org", "", "not a valid address"},
		{"alice/phone", "", "not a valid address"},
	} {
		got, err := normalizeJID(tc.in, "example.org")
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("normalizeJID(%q) = %q, %v; want %q, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}
