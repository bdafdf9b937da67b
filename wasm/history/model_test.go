package history

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/client"
)

// A model of the convergence proof without a server: a simulated archive
// (Prosody's: second-precision times, busy seconds of dozens of entries,
// archive order within a second, a message re-sent after a failed
// resumption archived twice, entries without a body) grows while devices
// see some of it live (inbound messages with the archive's stanza-id, the
// account's own messages as carbons, except on the device that sent them
// from its outbox), catch up forward, start fresh in the middle (the newest
// page, then older pages) and page back to the start; now and then a link
// dies part-way through an answer, and the session is resumed (the engine
// asks again) or a new one bound (a new catch-up). The archive answers each query the engine
// really sends (RSM after/before/max, the overlap's start time). At the end
// every device holds each message once, in the archive's order (a message
// archived twice at its earliest copy), whatever it saw when. The same on
// an archive like ejabberd's: microsecond times that are the entries'
// ids, one entry in 25 in the microsecond of the one before (two or three
// entries with one id, in the archive in either order: held as a set, in
// the same order on every device), RSM paging by comparing ids (id > after,
// id < before, no item-not-found), and entries visible up to 8 s after
// their time (beyond the overlap, within Config.Settle), also just below a
// range's bottom fetched while it was the newest.
func TestModelConvergence(t *testing.T) {
	runs := 15 // WAXWING_MODEL_RUNS: more
	if n, err := strconv.Atoi(os.Getenv("WAXWING_MODEL_RUNS")); err == nil && n > 0 {
		runs = n
	}
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("WAXWING_MODEL_SEED"), 10, 64); err == nil {
		seed, runs = s, 1
	}
	for _, server := range []string{"prosody", "ejabberd"} {
		t.Run(server, func(t *testing.T) {
			for i := range runs {
				s := seed + uint64(i)
				if !modelRun(t, s, server == "ejabberd") {
					t.Fatalf("seed %d failed (WAXWING_MODEL_SEED=%d replays it)", s, s)
				}
			}
		})
	}
}

// modelEntry is one archive entry.
type modelEntry struct {
	id       string
	stamp    time.Time
	from, to string // bare JIDs; from self: the account's own message
	origin   string
	body     string        // "": no body (a receipt)
	copyOf   int           // ≥ 0: a second copy of that entry (archived twice)
	late     time.Duration // visible only this long after its time (ejabberd)
	sender   int           // ≥ 0: the device that sent it from its outbox (it sees no carbon)
}

type modelArchive struct {
	entries []modelEntry
	now     time.Time
	rng     *rand.Rand
	// ejabberd: times in microseconds, and an entry may become visible
	// up to 8 s after its time (its id is taken before the write).
	ejabberd bool
	final    bool // everything is visible
}

func (a *modelArchive) add(busy bool) int {
	if a.rng.IntN(4) == 0 && (!busy || a.rng.IntN(10) == 0) {
		a.now = a.now.Add(time.Second)
	}
	n := len(a.entries)
	e := modelEntry{id: fmt.Sprintf("A%04d", n), stamp: a.now, copyOf: -1, sender: -1}
	if a.ejabberd {
		// Its id is its time in microseconds; one entry in 25 is routed
		// in the microsecond of the one before and gets its id too.
		if n == 0 || a.rng.IntN(25) != 0 {
			a.now = a.now.Add(time.Duration(1+a.rng.IntN(5000)) * time.Microsecond)
		}
		e.stamp = a.now
		e.id = strconv.FormatInt(a.now.UnixMicro(), 10)
		if a.rng.IntN(10) == 0 {
			e.late = time.Duration(a.rng.IntN(3000)) * time.Millisecond
			if a.rng.IntN(3) == 0 {
				// Well beyond the overlap (within modelSettle).
				e.late = time.Duration(5500+a.rng.IntN(2500)) * time.Millisecond
			}
		}
	}
	peer := []string{"bob@x", "carol@x"}[a.rng.IntN(2)]
	switch r := a.rng.IntN(20); {
	case r < 2 && n > 0:
		// A re-sent copy of a recent own message.
		for j := n - 1; j >= 0 && j >= n-15; j-- {
			if o := a.entries[j]; o.from == self && o.body != "" && o.copyOf < 0 {
				e.from, e.to, e.origin, e.body, e.copyOf, e.sender = o.from, o.to, o.origin, o.body, j, o.sender
				break
			}
		}
		if e.copyOf >= 0 {
			break
		}
		fallthrough
	case r < 10:
		e.from, e.to = self, peer
	case r < 18:
		e.from, e.to = peer, self
	default:
		e.from, e.to = peer, self // a receipt: no body
	}
	if e.copyOf < 0 {
		e.origin = fmt.Sprintf("o%04d", n)
		if a.rng.IntN(20) < 18 {
			e.body = fmt.Sprintf("msg %04d", n)
		}
	}
	a.entries = append(a.entries, e)
	return n
}

// inner is the message an entry archived.
func (e modelEntry) inner() string {
	from, to := e.from+"/r", e.to+"/web"
	s := "<message xmlns='jabber:client' type='chat' from='" + from + "' to='" + to + "' id='" + e.origin + "'>"
	if e.body != "" {
		s += "<body>" + e.body + "</body>"
	} else {
		s += "<received xmlns='urn:xmpp:receipts' id='x" + e.origin + "'/>"
	}
	return s + "<origin-id xmlns='urn:xmpp:sid:0' id='" + e.origin + "'/></message>"
}

// live is how a device receives an entry as it is archived: an inbound
// message with the archive's stanza-id, or the carbon of an own message.
func (e modelEntry) live() string {
	sid := "<stanza-id xmlns='urn:xmpp:sid:0' by='" + self + "' id='" + e.id + "'/>"
	if e.from == self {
		return "<message xmlns='jabber:client' from='" + self + "' to='" + self + "/web'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>" +
			e.inner() + "</forwarded></sent>" + sid + "</message>"
	}
	return strings.Replace(e.inner(), "</message>", sid+"</message>", 1)
}

func (e modelEntry) result(q string) string {
	return "<message xmlns='jabber:client' to='" + self + "/web'><result xmlns='urn:xmpp:mam:2' queryid='" + q + "' id='" + e.id +
		"'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='" + e.stamp.Format(time.RFC3339Nano) + "'/>" +
		e.inner() + "</forwarded></result></message>"
}

var (
	qAfter  = regexp.MustCompile(`<after>([^<]*)</after>`)
	qBefore = regexp.MustCompile(`<before>([^<]*)</before>|<before/>`)
	qStart  = regexp.MustCompile(`<field var='start'><value>([^<]*)</value>`)
	qMax    = regexp.MustCompile(`<max>([0-9]+)</max>`)
)

// answer answers one archive query over the entries visible now.
func (a *modelArchive) answer(raw []byte) []string {
	q := string(raw)
	id := queryID.FindStringSubmatch(q)[1]
	limit := 250
	if m := qMax.FindStringSubmatch(q); m != nil {
		limit, _ = strconv.Atoi(m[1])
	}
	var vis []modelEntry
	for _, e := range a.entries {
		if a.final || !a.now.Before(e.stamp.Add(e.late)) {
			vis = append(vis, e)
		}
	}
	index := func(id string) int {
		for i, e := range vis {
			if e.id == id {
				return i
			}
		}
		return -1
	}
	lo, hi := 0, len(vis)
	if m := qStart.FindStringSubmatch(q); m != nil {
		st, _ := time.Parse(time.RFC3339Nano, m[1])
		for lo < hi && vis[lo].stamp.Before(st) {
			lo++
		}
	}
	errAnswer := "<iq xmlns='jabber:client' type='error' id='" + id + "'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
	if a.ejabberd {
		// ejabberd compares ids (mod_mam_mnesia's filter_by_rsm: id >
		// after, id < before), which need not exist.
		num := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
		if m := qAfter.FindStringSubmatch(q); m != nil {
			for after := num(m[1]); lo < hi && num(vis[lo].id) <= after; lo++ {
			}
		}
		if m := qBefore.FindStringSubmatch(q); m != nil && m[1] != "" {
			before, i := num(m[1]), lo
			for i < hi && num(vis[i].id) < before {
				i++
			}
			hi = i
		}
	}
	if m := qAfter.FindStringSubmatch(q); m != nil && !a.ejabberd {
		i := index(m[1])
		if i < 0 {
			return []string{errAnswer}
		}
		lo = max(lo, i+1)
	}
	fromEnd := false
	if m := qBefore.FindStringSubmatch(q); m != nil {
		fromEnd = true
		if m[1] != "" && !a.ejabberd {
			i := index(m[1])
			if i < 0 {
				return []string{errAnswer}
			}
			hi = i
		}
	}
	var page []modelEntry
	complete := false
	if fromEnd {
		from := max(lo, hi-limit)
		page, complete = vis[from:hi], from == lo
	} else {
		to := min(hi, lo+limit)
		page, complete = vis[lo:to], to == hi
	}
	var out []string
	for _, e := range page {
		out = append(out, e.result(id))
	}
	return append(out, mamFin(id, complete))
}

// modelSettle is the devices' Config.Settle: the model's archive grows
// faster than people write (hundreds of entries a minute), and every
// catch-up pages again over what is not settled, so the model's window is
// as short as its late entries allow.
const modelSettle = 8 * time.Second

// modelDevice is one device: an engine on a memory store whose queries
// the archive answers.
type modelDevice struct {
	e   *Engine
	st  *store.Memory
	out chan []byte
	h   uint32
	rng *rand.Rand // links that die part-way through an answer (nil: never)
}

func newModelDevice(t *testing.T, now func() time.Time, rng *rand.Rand) *modelDevice {
	st := store.NewMemory()
	return modelDeviceOn(t, st, st, now, rng)
}

// modelDeviceOn is a model device on s, whose memory store is mem; rng as
// for modelDevice.
func modelDeviceOn(t *testing.T, s store.Store, mem *store.Memory, now func() time.Time, rng *rand.Rand) *modelDevice {
	e, err := New(Config{Store: s, Self: self, Now: now, PageSize: 10, Settle: modelSettle})
	if err != nil {
		t.Fatal(err)
	}
	d := &modelDevice{e: e, st: mem, out: make(chan []byte, 64), rng: rng}
	e.out = func(raw []byte) error {
		if isMAMQuery(raw) {
			d.out <- raw
		}
		return nil
	}
	return d
}

func (d *modelDevice) handle(t *testing.T, raw string) {
	d.h++
	if err := d.e.HandleStanza(context.Background(), []byte(raw), d.h); err != nil {
		t.Fatalf("HandleStanza: %v", err)
	}
}

// pump answers the device's queries until none is asked.
func (d *modelDevice) pump(t *testing.T, a *modelArchive) {
	for {
		select {
		case raw := <-d.out:
			d.deliver(t, a, raw)
		default:
			return
		}
	}
}

// deliver answers one query. Now and then (rng set) the link dies part-way
// through the answer: the session is resumed (the engine asks again; the
// server re-sends the rest of the old answer too) or a new one is bound
// (its catch-up replaces the one in flight).
func (d *modelDevice) deliver(t *testing.T, a *modelArchive, raw []byte) {
	ans := a.answer(raw)
	if d.rng == nil || d.rng.IntN(8) != 0 {
		for _, s := range ans {
			d.handle(t, s)
		}
		return
	}
	cut := d.rng.IntN(len(ans))
	for _, s := range ans[:cut] {
		d.handle(t, s)
	}
	ctx := context.Background()
	if d.rng.IntN(2) == 0 {
		d.e.Online(ctx)
		for _, s := range ans[cut:] {
			d.handle(t, s)
		}
		return
	}
	out, err := d.e.afterBind(ctx, client.Bound{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out {
		if isMAMQuery(r) {
			d.out <- r
		}
	}
	d.e.Online(ctx)
}

func isMAMQuery(raw []byte) bool {
	return strings.Contains(string(raw), "urn:xmpp:mam:2") && strings.Contains(string(raw), "<query")
}

// send stores an own message as the outbox does once it is on the wire
// (provisional, no archive id): the archive then holds it, this device
// gets no carbon of it.
func (d *modelDevice) send(t *testing.T, e modelEntry) {
	err := d.st.Update(context.Background(), func(tx store.Tx) error {
		_, err := tx.PutMessage(store.Message{
			Key: "out-" + e.origin, Conversation: e.to, Kind: store.Chat, OriginID: e.origin, StanzaID: e.origin,
			From: self, Direction: store.Outbound, Time: e.stamp, Body: e.body, State: store.StateSent, Pos: d.e.provisional(),
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// unread returns the conversation with peer and how many inbound messages
// it holds after its read position.
func (d *modelDevice) unread(t *testing.T, peer string) (store.Conversation, int) {
	t.Helper()
	cs, err := d.st.Conversations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var c store.Conversation
	for _, x := range cs {
		if x.Peer == peer {
			c = x
		}
	}
	n := 0
	for _, m := range all(t, d.st, peer) {
		if m.Direction == store.Inbound && m.Pos > c.ReadPos {
			n++
		}
	}
	return c, n
}

// catchUp runs a forward catch-up (or, for a device holding nothing, the
// newest page).
func (d *modelDevice) catchUp(t *testing.T, a *modelArchive) {
	if err := d.e.startCatchUp(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	d.pump(t, a)
}

// older fetches older pages until the start of the archive.
func (d *modelDevice) older(t *testing.T, a *modelArchive, pages int) {
	for range pages {
		done := make(chan error, 1)
		var more bool
		go func() {
			var err error
			more, err = d.e.FetchOlder(context.Background())
			done <- err
		}()
		for {
			select { // answer what is asked first: the same seed, the same run
			case raw := <-d.out:
				d.deliver(t, a, raw)
				continue
			default:
			}
			select {
			case err := <-done:
				if errors.Is(err, ErrOffline) {
					more = true // the link died under it: ask again
				} else if err != nil {
					t.Fatalf("FetchOlder: %v", err)
				}
				goto next
			case raw := <-d.out:
				d.deliver(t, a, raw)
			}
		}
	next:
		if !more {
			return
		}
	}
}

func modelRun(t *testing.T, seed uint64, ejabberd bool) bool {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0x6d6f64))
	a := &modelArchive{now: time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC), rng: rng, ejabberd: ejabberd}
	now := func() time.Time { return a.now.Add(time.Hour) }
	devs := []*modelDevice{newModelDevice(t, now, rng)}
	steps := 60 + rng.IntN(120)
	for step := range steps {
		n, busy := rng.IntN(6), rng.IntN(10) == 0 // a busy second: many entries share its stamp
		if busy {
			n = 10 + rng.IntN(30)
		}
		for range n {
			i := a.add(busy)
			e := &a.entries[i]
			if e.from == self && e.body != "" && e.copyOf < 0 && rng.IntN(3) == 0 {
				e.sender = rng.IntN(len(devs)) // sent from a device's outbox
				devs[e.sender].send(t, *e)
			}
			// Some devices see it live, at once or never (offline).
			for j, d := range devs {
				if rng.IntN(3) > 0 && (e.body != "" || rng.IntN(2) == 0) && e.late == 0 && j != e.sender {
					d.handle(t, e.live())
				}
			}
		}
		if step == steps/3 || step == steps/2 {
			devs = append(devs, newModelDevice(t, now, rng)) // a new device half-way
		}
		for _, d := range devs {
			switch rng.IntN(6) {
			case 0, 1:
				d.catchUp(t, a)
			case 2:
				d.older(t, a, 1)
			case 3:
				// The user reads a conversation: its unread count now
				// counts from a position inside the history.
				if err := d.e.MarkRead(context.Background(), []string{"bob@x", "carol@x"}[rng.IntN(2)]); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	ok := true
	want := map[string][]string{}
	for _, e := range a.entries {
		if e.body != "" && e.copyOf < 0 {
			peer := e.to
			if e.from != self {
				peer = e.from
			}
			want[peer] = append(want[peer], e.body)
		}
	}
	// Entries ejabberd gave one id (the same microsecond) have no order a
	// client can know: its archive returns them in either order. They are
	// compared as a set (twins, below); every other entry in order.
	idOf := map[string]string{}
	for _, e := range a.entries {
		if e.body != "" && e.copyOf < 0 {
			idOf[e.body] = e.id
		}
	}
	twins := func(bodies []string) []string {
		out := slices.Clone(bodies)
		for i := 0; i < len(out); {
			j := i + 1
			for j < len(out) && idOf[out[j]] == idOf[out[i]] {
				j++
			}
			slices.Sort(out[i:j])
			i = j
		}
		return out
	}
	for peer := range want {
		want[peer] = twins(want[peer])
	}
	a.final = true
	first := map[string][]string{} // each conversation as the first device holds it, twins in its order
	for n, d := range devs {
		d.rng = nil
		d.catchUp(t, a)
		d.catchUp(t, a) // places what arrived live during the first
		d.older(t, a, 1000)
		for _, peer := range []string{"bob@x", "carol@x"} {
			var got []string
			var at []store.Pos
			for _, m := range all(t, d.st, peer) {
				got, at = append(got, m.Body), append(at, m.Pos)
				if m.Pos >= store.Provisional {
					t.Errorf("seed %d device %d: %q not placed by the archive", seed, n, m.Body)
					ok = false
				}
			}
			// Every device holds twins in the same order as every other,
			// but for messages at one position (twins whose offsets tie,
			// timeIDPos), which come in the store's order of keys.
			for i := 0; i < len(got); {
				j := i + 1
				for j < len(got) && at[j] == at[i] {
					j++
				}
				slices.Sort(got[i:j])
				i = j
			}
			if n == 0 {
				first[peer] = got
			} else if g, f := strings.Join(got, "|"), strings.Join(first[peer], "|"); g != f {
				t.Errorf("seed %d device %d, %s: differs from device 0: %s", seed, n, peer, listDiff(got, first[peer]))
				ok = false
			}
			got = twins(got)
			if g, w := strings.Join(got, "|"), strings.Join(want[peer], "|"); g != w {
				t.Errorf("seed %d device %d, %s: %s", seed, n, peer, listDiff(got, want[peer]))
				ok = false
			}
			if c, unread := d.unread(t, peer); c.Unread != unread {
				t.Errorf("seed %d device %d, %s: unread count %d, but %d inbound messages after its read position %d", seed, n, peer, c.Unread, unread, c.ReadPos)
				ok = false
			}
		}
	}
	return ok
}

// listDiff describes how got differs from want: what is missing, what is
// extra, and where the order first differs.
func listDiff(got, want []string) string {
	in := func(l []string) map[string]bool {
		m := map[string]bool{}
		for _, s := range l {
			m[s] = true
		}
		return m
	}
	g, w := in(got), in(want)
	var missing, extra []string
	for _, s := range want {
		if !g[s] {
			missing = append(missing, s)
		}
	}
	for _, s := range got {
		if !w[s] {
			extra = append(extra, s)
		}
	}
	out := fmt.Sprintf("%d held, %d in the archive; missing %q, extra %q", len(got), len(want), missing, extra)
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			lo, hi := max(0, i-3), min(len(got), len(want), i+4)
			return out + fmt.Sprintf("; order differs at %d: held %q, archive %q", i, got[lo:hi], want[lo:hi])
		}
	}
	return out
}
