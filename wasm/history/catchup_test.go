package history_test

// What the catch-up benchmarks (bench_test.go natively, on the memory store;
// indexeddb_js_test.go in Chromium, on IndexedDB) and the IndexedDB test in
// the browser share, natively and under js/wasm alike: one device of an
// account (a store, the engine and the client core, running until stopped),
// the catch-up of a whole archive (XEP-0313), and the raw fetch of the same
// archive with no store behind it, the anchor the catch-up is compared with.

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/client"
	"github.com/waxwing-im/waxwing/wasm/history"
	"github.com/waxwing-im/waxwing/wasm/stanza"
	"github.com/waxwing-im/waxwing/wasm/xmppws"
)

// account is where a device connects, and as whom.
type account struct {
	URL      string          // the bridge's WebSocket URL
	Dial     *xmppws.Options // Origin, natively; nil in the browser
	JID      string          // bare
	Password string
}

// rig is one device: an engine and a client on a store, running until
// stop. The store outlives it, as IndexedDB outlives a tab.
type rig struct {
	st     store.Store
	eng    *history.Engine
	cl     *client.Client
	cancel context.CancelFunc
	online chan struct{} // closed at the first LinkOnline
	ended  chan struct{} // closed when Run has returned
	err    error         // what Run returned, once ended is closed
}

// startRig starts a device of acct on st (a new process: a new engine on
// whatever st holds).
func startRig(acct account, st store.Store, device string, log *slog.Logger) (*rig, error) {
	eng, err := history.New(history.Config{Store: st, Self: acct.JID, Log: log})
	if err != nil {
		return nil, err
	}
	cfg := client.Config{URL: acct.URL, JID: acct.JID, Software: "waxwing-test", Device: device, Log: log, Dial: acct.Dial}
	eng.Wire(&cfg)
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{st: st, eng: eng, cancel: cancel, online: make(chan struct{}), ended: make(chan struct{})}
	var once sync.Once
	r.cl = client.NewClient(cfg, client.Credentials{Password: acct.Password}, client.Options{
		OnState: func(ls client.LinkState) {
			if ls.State == client.LinkOnline {
				once.Do(func() { close(r.online) })
				go eng.Online(ctx)
			}
		},
	})
	eng.Attach(r.cl)
	go func() {
		r.err = r.cl.Run(ctx)
		close(r.ended)
	}()
	return r, nil
}

// waitOnline waits for the device's first session.
func (r *rig) waitOnline(ctx context.Context) error {
	select {
	case <-r.online:
		return nil
	case <-r.ended:
		return fmt.Errorf("the client ended before it was online: %v", r.err)
	case <-ctx.Done():
		return fmt.Errorf("not online: %w", ctx.Err())
	}
}

// stop ends the device as a closed tab does: the link drops without
// closing the stream (the server keeps the session for resumption).
func (r *rig) stop() {
	if s := r.cl.Session(); s != nil {
		s.Drop()
	}
	r.cancel()
	<-r.ended
}

// catchUp brings the whole archive into the device's store: the newest
// page and anything since (Sync), then older pages down to the archive's
// start. It returns how many older pages it fetched.
func catchUp(ctx context.Context, eng *history.Engine) (int, error) {
	if err := eng.Sync(ctx); err != nil {
		return 0, fmt.Errorf("Sync: %w", err)
	}
	for pages := 1; ; pages++ {
		more, err := eng.FetchOlder(ctx)
		if err != nil {
			return pages, fmt.Errorf("FetchOlder (page %d): %w", pages, err)
		}
		if !more {
			return pages, nil
		}
	}
}

// timedStore is a store that adds up the time its transactions take
// (Update, and UpdateState for the client's session state): the part of a
// catch-up spent in the store, whatever the server's share.
type timedStore struct {
	store.Store
	mu    sync.Mutex
	n     int
	spent time.Duration
}

func (s *timedStore) Update(ctx context.Context, f func(store.Tx) error) error {
	defer s.count(time.Now())
	return s.Store.Update(ctx, f)
}

func (s *timedStore) UpdateState(ctx context.Context, f func(*store.Session) error) error {
	defer s.count(time.Now())
	return s.Store.UpdateState(ctx, f)
}

func (s *timedStore) count(start time.Time) {
	d := time.Since(start)
	s.mu.Lock()
	s.n++
	s.spent += d
	s.mu.Unlock()
}

// total returns the number of transactions so far and their time.
func (s *timedStore) total() (int, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n, s.spent
}

// archived is one message as an archive holds it, or as a store holds what
// it took from the archive.
type archived struct {
	ID, From, Body string
}

// stored returns every message of st with its archive id, conversation
// after conversation, each in store order.
func stored(ctx context.Context, st store.Store) (map[string][]archived, int, error) {
	convs, err := st.Conversations(ctx)
	if err != nil {
		return nil, 0, err
	}
	out, n := map[string][]archived{}, 0
	for _, c := range convs {
		ms, err := st.Messages(ctx, c.Peer, math.MaxInt64, 0)
		if err != nil {
			return nil, 0, err
		}
		for _, m := range ms {
			out[c.Peer] = append(out[c.Peer], archived{ID: m.ArchiveID, From: m.From, Body: m.Body})
		}
		n += len(ms)
	}
	return out, n, nil
}

// history250 is the engine's default page size, asked by the raw fetch too
// (Prosody answers at most max_archive_query_results, 50 by default).
const history250 = 250

// rawFetch is the anchor of the catch-up figures: it pages through the
// whole archive of acct the way the engine does (the newest page, then
// before the oldest result held, pageSize results asked per page) on a
// bare session of the client core, and keeps the results in memory only.
// It returns them in archive order, with the number of pages.
func rawFetch(ctx context.Context, acct account, pageSize int) ([]archived, int, error) {
	var mu sync.Mutex
	var qid string
	// An archived message with its sender-chosen origin-id.
	type entry struct {
		archived
		origin string
		state  bool // a receipt or marker: no body
	}
	var page []entry
	fins := make(chan []byte, 1)
	handler := client.HandlerFunc(func(_ context.Context, raw []byte, _ uint32) error {
		switch _, local := client.ElementName(raw); local {
		case "message":
			m, err := stanza.ParseMessage(raw)
			if err != nil || m.MAM == nil || m.Inner == nil {
				return nil
			}
			mu.Lock()
			if m.MAM.QueryID == qid {
				page = append(page, entry{archived{ID: m.MAM.ID, From: m.Inner.From, Body: m.Inner.Body}, m.Inner.OriginID,
					m.Inner.Body == "" && len(m.Inner.OOB) == 0})
			}
			mu.Unlock()
		case "iq":
			iq, err := stanza.ParseIQ(raw)
			mu.Lock()
			mine := err == nil && iq.ID == qid
			mu.Unlock()
			if mine {
				fins <- raw
			}
		}
		return nil
	})
	cfg := client.Config{URL: acct.URL, JID: acct.JID, Software: "waxwing-test", Device: "raw-fetch", Dial: acct.Dial,
		Store: store.NewMemory(), Handler: handler}
	s, err := client.Connect(ctx, cfg, client.Credentials{Password: acct.Password})
	if err != nil {
		return nil, 0, fmt.Errorf("connecting: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	defer func() {
		_ = s.Close()
		<-served
	}()
	var all []entry
	before := ""
	for pages := 1; ; pages++ {
		id := fmt.Sprintf("raw%d", pages)
		mu.Lock()
		qid, page = id, nil
		mu.Unlock()
		q := stanza.MAMQuery{ID: id, QueryID: id, Max: pageSize, Before: before, LastPage: before == ""}
		if err := s.SendTransient(q.Bytes()); err != nil {
			return nil, pages, err
		}
		var raw []byte
		select {
		case raw = <-fins:
		case err := <-served:
			return nil, pages, fmt.Errorf("the session ended: %v", err)
		case <-ctx.Done():
			return nil, pages, ctx.Err()
		}
		fin, err := stanza.ParseMAMFin(raw)
		if err != nil {
			return nil, pages, fmt.Errorf("page %d: %w", pages, err)
		}
		mu.Lock()
		got := page
		mu.Unlock()
		all = append(got, all...)
		if fin.Complete || len(got) == 0 {
			// A message re-sent after a failed resumption (the seeding
			// sessions run under load) is archived twice; the engine keeps
			// its earliest copy (T24), and so does this list.
			seen := map[string]bool{}
			var out []archived
			for _, e := range all {
				if e.state {
					// Prosody archives chat receipts (those the engine
					// sends for offline messages, say): state, not a
					// message the store keeps.
					continue
				}
				key := bareJID(e.From) + "\x00" + e.origin
				if e.origin != "" && seen[key] {
					continue
				}
				seen[key] = true
				out = append(out, e.archived)
			}
			return out, pages, nil
		}
		before = got[0].ID
	}
}

// sameHistory compares what a store holds of its conversation with peer
// with what the archive holds (archive order, each message once).
func sameHistory(st, arch []archived) error {
	if len(st) != len(arch) {
		held := map[string]bool{}
		for _, s := range st {
			held[s.ID] = true
		}
		var only []archived
		for _, a := range arch {
			if !held[a.ID] {
				only = append(only, a)
			}
		}
		return fmt.Errorf("the store holds %d messages, the archive %d; only in the archive: %+v", len(st), len(arch), only)
	}
	seen := map[string]bool{}
	for i, a := range arch {
		s := st[i]
		if seen[s.ID] {
			return fmt.Errorf("message %d: archive id %q twice in the store", i, s.ID)
		}
		seen[s.ID] = true
		from := bareJID(a.From)
		if s.ID != a.ID || s.Body != a.Body || bareJID(s.From) != from {
			return fmt.Errorf("message %d: the store has %+v, the archive %+v", i, s, a)
		}
	}
	return nil
}

func bareJID(j string) string {
	b, _, _ := strings.Cut(j, "/")
	return b
}

// TestSameHistory checks the comparison the browser test ends with.
func TestSameHistory(t *testing.T) {
	arch := []archived{{"a1", "bob@x/phone", "hi"}, {"a2", "me@x/laptop", "hello"}, {"a3", "bob@x/phone", "hi"}}
	for _, tc := range []struct {
		name  string
		st    []archived
		fails bool
	}{
		{"the same, senders bare", []archived{{"a1", "bob@x", "hi"}, {"a2", "me@x", "hello"}, {"a3", "bob@x", "hi"}}, false},
		{"one missing", []archived{{"a1", "bob@x", "hi"}, {"a3", "bob@x", "hi"}}, true},
		{"one twice", []archived{{"a1", "bob@x", "hi"}, {"a1", "bob@x", "hi"}, {"a3", "bob@x", "hi"}}, true},
		{"out of order", []archived{{"a2", "me@x", "hello"}, {"a1", "bob@x", "hi"}, {"a3", "bob@x", "hi"}}, true},
		{"another body", []archived{{"a1", "bob@x", "hi"}, {"a2", "me@x", "hullo"}, {"a3", "bob@x", "hi"}}, true},
		{"another sender", []archived{{"a1", "bob@x", "hi"}, {"a2", "bob@x", "hello"}, {"a3", "bob@x", "hi"}}, true},
		{"no archive id", []archived{{"a1", "bob@x", "hi"}, {"", "me@x", "hello"}, {"a3", "bob@x", "hi"}}, true},
	} {
		if err := sameHistory(tc.st, arch); (err != nil) != tc.fails {
			t.Errorf("%s: sameHistory = %v, want failure %v", tc.name, err, tc.fails)
		}
	}
}
