package history

import (
	"context"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/client"
)

func clientBound() client.Bound { return client.Bound{JID: self + "/web"} }

// These tests drive the engine as the client core does (HandleStanza,
// AfterBind) without a server, for the failure modes the sync engine must
// survive; the integration tests run the same paths against real servers.

const self = "alice@example.org"

func newTestEngine(t *testing.T) (*Engine, *store.Memory) {
	t.Helper()
	st := store.NewMemory()
	e, err := New(Config{Store: st, Self: self, Now: newTestNow()})
	if err != nil {
		t.Fatal(err)
	}
	return e, st
}

// newTestNow is the engine's clock in these tests: an hour after the
// archive times of mamPage.
func newTestNow() func() time.Time {
	return func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) }
}

// mamResult is one archive result of query q: a message from bob with body
// "m-"+id archived at stamp.
func mamResult(q, id, stamp string) string {
	return "<message xmlns='jabber:client' to='" + self + "/web'><result xmlns='urn:xmpp:mam:2' queryid='" + q + "' id='" + id +
		"'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='" + stamp + "'/>" +
		chat("bob@x/a", "m-"+id, "m-"+id, "m-"+id) + "</forwarded></result></message>"
}

// mamPage is a page of results of q, all archived in the same second.
func mamPage(q string, ids ...string) []string {
	var s []string
	for _, id := range ids {
		s = append(s, mamResult(q, id, "2026-11-21T11:00:00Z"))
	}
	return s
}

// mamFin ends a page of q.
func mamFin(q string, complete bool) string {
	return "<iq xmlns='jabber:client' type='result' id='" + q + "'><fin xmlns='urn:xmpp:mam:2' complete='" + strconv.FormatBool(complete) + "'/></iq>"
}

func latestRange(t *testing.T, e *Engine) (store.Range, bool) {
	t.Helper()
	arch, err := e.archive(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return arch.Latest()
}

func bodies(ms []store.Message) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Body)
	}
	return strings.Join(s, " ")
}

func feed(t *testing.T, e *Engine, stanzas ...string) {
	t.Helper()
	for i, s := range stanzas {
		if err := e.HandleStanza(context.Background(), []byte(s), uint32(i+1)); err != nil {
			t.Fatalf("stanza %d: %v", i, err)
		}
	}
}

func all(t *testing.T, st *store.Memory, conv string) []store.Message {
	t.Helper()
	ms, err := st.Messages(context.Background(), conv, math.MaxInt64, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func chat(from, id, origin, body string, sids ...string) string {
	s := "<message xmlns='jabber:client' type='chat' from='" + from + "' to='" + self + "/web' id='" + id + "'><body>" + body + "</body>"
	if origin != "" {
		s += "<origin-id xmlns='urn:xmpp:sid:0' id='" + origin + "'/>"
	}
	for i := 0; i+1 < len(sids); i += 2 {
		s += "<stanza-id xmlns='urn:xmpp:sid:0' by='" + sids[i] + "' id='" + sids[i+1] + "'/>"
	}
	return s + "</message>"
}

func TestMatch(t *testing.T) {
	stored := store.Message{Key: "k1", From: "bob@x", OriginID: "o1", Body: "hi", ArchiveID: "A1"}
	for _, tc := range []struct {
		name      string
		c         Candidate
		byArchive *store.Message
		byOrigin  []store.Message
		want      string // key of the copy, "" for new
		reason    string
	}{
		{"same archive id", Candidate{ArchiveID: "A1"}, &stored, nil, "k1", "archive id"},
		{"same sender, origin-id and body", Candidate{From: "bob@x", OriginID: "o1", Body: "hi"}, nil, []store.Message{stored}, "k1", "same sender"},
		{"archived twice under two ids (T24)", Candidate{ArchiveID: "A2", From: "bob@x", OriginID: "o1", Body: "hi"}, nil, []store.Message{stored}, "k1", "same sender"},
		{"origin-id reused for another body (T22)", Candidate{From: "bob@x", OriginID: "o1", Body: "ok"}, nil, []store.Message{stored}, "", "reused"},
		{"no origin-id: never by the id attribute (Dino #194)", Candidate{From: "bob@x", Body: "hi"}, nil, nil, "", "no origin-id"},
		{"nothing stored", Candidate{From: "bob@x", OriginID: "o9", Body: "hi"}, nil, nil, "", "no stored"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := Match(tc.c, tc.byArchive, tc.byOrigin)
			key := ""
			if got != nil {
				key = got.Key
			}
			if key != tc.want || !strings.Contains(reason, tc.reason) {
				t.Fatalf("Match = %q, %q; want %q, reason with %q", key, reason, tc.want, tc.reason)
			}
		})
	}
}

// T23: a contact forges a stanza-id in the account's name for an id that
// exists: the message is stored, the stored one is untouched.
func TestForgedStanzaID(t *testing.T) {
	e, st := newTestEngine(t)
	feed(t, e,
		chat("bob@x/phone", "1", "o1", "genuine", self, "A1"),
		chat("mallory@x/pc", "2", "o2", "forged", self, "A1", self, "A1-again"),
	)
	bob, mal := all(t, st, "bob@x"), all(t, st, "mallory@x")
	if len(bob) != 1 || bob[0].Body != "genuine" || bob[0].ArchiveID != "A1" {
		t.Fatalf("bob's message: %+v", bob)
	}
	if len(mal) != 1 || mal[0].Body != "forged" || mal[0].ArchiveID != "" {
		t.Fatalf("mallory's message must be stored without the forged id: %+v", mal)
	}
}

// The same sender-chosen id from two senders is two messages; a forged
// carbon (not from the own bare JID) is not stored.
func TestSameIDTwoSendersAndForgedCarbon(t *testing.T) {
	e, st := newTestEngine(t)
	feed(t, e,
		chat("bob@x/a", "same", "same", "from bob"),
		chat("carol@x/a", "same", "same", "from carol"),
		"<message xmlns='jabber:client' from='mallory@x' to='"+self+"/web'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"+
			chat("bob@x/a", "f", "f1", "forged carbon")+"</forwarded></received></message>",
	)
	if b, c := all(t, st, "bob@x"), all(t, st, "carol@x"); len(b) != 1 || len(c) != 1 || b[0].Body != "from bob" || c[0].Body != "from carol" {
		t.Fatalf("bob %+v, carol %+v", b, c)
	}
	if n := len(all(t, st, "bob@x")); n != 1 {
		t.Fatalf("the forged carbon was stored: %d messages", n)
	}
}

// An answer to our query from another entity is ignored.
func TestForgedAnswerIgnored(t *testing.T) {
	e, st := newTestEngine(t)
	called := false
	e.expect("q1", func(context.Context, []byte) error { called = true; return nil })
	feed(t, e, "<iq xmlns='jabber:client' type='result' id='q1' from='mallory@x'/>")
	if called {
		t.Fatal("a forged answer reached the query's handler")
	}
	feed(t, e, "<iq xmlns='jabber:client' type='result' id='q1' from='"+self+"'/>")
	if !called {
		t.Fatal("the genuine answer did not")
	}
	_ = st
}

var queryID = regexp.MustCompile(`queryid='([^']+)'`)

// Conversations #3408: a live message that arrives during catch-up is
// stored at once but does not move the catch-up position past pages not
// seen yet; the next page places it.
func TestLiveDuringCatchUp(t *testing.T) {
	e, st := newTestEngine(t)
	ctx := context.Background()
	// A new device's first catch-up (the newest page).
	q := bindQuery(t, e)
	// Page 1 (A1, A2), then a live message A4 while page 2 is unseen.
	feed(t, e, append(mamPage(q, "A1", "A2"), chat("bob@x/a", "m-A4", "m-A4", "m-A4", self, "A4"), mamFin(q, true))...)
	if r, _ := latestRange(t, e); r.Last != "A2" {
		t.Fatalf("coverage ends at %q: a live message moved it", r.Last)
	}
	ms := all(t, st, "bob@x")
	if len(ms) != 3 || ms[2].Body != "m-A4" || ms[2].Pos < store.Provisional {
		t.Fatalf("live message must be stored, provisional, last: %+v", ms)
	}
	// The next catch-up brings A3 and places A4 after it.
	if err := e.startCatchUp(ctx, false); err != ErrOffline {
		t.Fatalf("offline catch-up: %v", err)
	}
	raw, err := e.newCatchUp(ctx, nil, settleChain{})
	if err != nil {
		t.Fatal(err)
	}
	q2 := firstQuery(t, [][]byte{raw})
	// The held range (A1, A2) was fetched while it was the newest: the
	// catch-up pages again from the overlap before its bottom.
	if !strings.Contains(string(raw), "<value>2026-11-21T10:59:55Z</value>") {
		t.Fatalf("catch-up must page from 5 s before A1: %s", raw)
	}
	feed(t, e, append(mamPage(q2, "A1", "A2", "A3", "A4"), mamFin(q2, true))...)
	for _, m := range all(t, st, "bob@x") {
		if m.Pos >= store.Provisional {
			t.Fatalf("%s still provisional", m.Body)
		}
	}
	if got := bodies(all(t, st, "bob@x")); got != "m-A1 m-A2 m-A3 m-A4" {
		t.Fatalf("order %q", got)
	}
}

// An expired archive position leaves a recorded gap, never a silent one.
func TestExpiredPosition(t *testing.T) {
	e, _ := newTestEngine(t)
	ctx := context.Background()
	err := e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		_, err := tx.PutArchive(store.Archive{JID: self, Ranges: []store.Range{{First: "old1", Last: "old9", FirstPos: firstPos, LastPos: firstPos + 8}}, Below: []store.GapReason{store.GapStart}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	q := bindQuery(t, e)
	feed(t, e, "<iq xmlns='jabber:client' type='error' id='"+q+"'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
	// The engine asks again from the archive's start (offline here: the
	// query is registered); answer it.
	e.mu.Lock()
	var q2 string
	for id := range e.queries {
		q2 = id
	}
	e.mu.Unlock()
	if q2 == "" || q2 == q {
		t.Fatalf("no new query after item-not-found (%q)", q2)
	}
	feed(t, e,
		"<message xmlns='jabber:client'><result xmlns='urn:xmpp:mam:2' queryid='"+q2+"' id='new1'><forwarded xmlns='urn:xmpp:forward:0'>"+chat("bob@x/a", "n", "n", "after the gap")+"</forwarded></result></message>",
		"<iq xmlns='jabber:client' type='result' id='"+q2+"'><fin xmlns='urn:xmpp:mam:2' complete='true'/></iq>")
	arch, _ := e.archive(ctx)
	if len(arch.Ranges) != 2 || arch.Below[1] != store.GapExpired || arch.Ranges[1].First != "new1" {
		t.Fatalf("want a second range above a recorded expired gap: %+v", arch)
	}
}

// bindQuery runs the engine's AfterBind and returns the id of the archive
// query it pipelines.
func bindQuery(t *testing.T, e *Engine) string {
	t.Helper()
	out, err := e.afterBind(context.Background(), clientBound())
	if err != nil {
		t.Fatal(err)
	}
	return firstQuery(t, out)
}

func firstQuery(t *testing.T, out [][]byte) string {
	t.Helper()
	for _, o := range out {
		if m := queryID.FindSubmatch(o); m != nil {
			return string(m[1])
		}
	}
	t.Fatalf("no archive query in %q", out)
	return ""
}

// A message archived twice (a resend after a failed resumption) whose later
// copy a device saw first: when the earlier copy arrives, the message takes
// its id, and read state kept under the later id moves with it (and is
// published again), or no device holding only the earlier id could place it.
func TestArchivedTwiceMovesReadState(t *testing.T) {
	e, st := newTestEngine(t)
	ctx := context.Background()
	msg := chat("bob@x/a", "r1", "o1", "sent twice")
	feed(t, e, chat("bob@x/a", "r1", "o1", "sent twice", self, "X"))
	if err := e.MarkRead(ctx, "bob@x"); err != nil {
		t.Fatal(err)
	}
	e.published("bob@x", "X") // as if the server had taken the publication
	q := bindQuery(t, e)
	res := func(id, stamp string) string {
		return "<message xmlns='jabber:client' to='" + self + "/web'><result xmlns='urn:xmpp:mam:2' queryid='" + q + "' id='" + id +
			"'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='" + stamp + "'/>" + msg + "</forwarded></result></message>"
	}
	feed(t, e, res("Y", "2026-11-21T11:00:00Z"), res("X", "2026-11-21T11:00:03Z"), mamFin(q, true))
	ms := all(t, st, "bob@x")
	if len(ms) != 1 || ms[0].ArchiveID != "Y" {
		t.Fatalf("want one message at its earliest copy Y: %+v", ms)
	}
	c, ok, err := conversation(st, "bob@x")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if c.ReadUpTo != "Y" || c.ReadPos != ms[0].Pos || c.Unread != 0 {
		t.Fatalf("read state %q at %d (unread %d); want Y at %d, 0 unread", c.ReadUpTo, c.ReadPos, c.Unread, ms[0].Pos)
	}
	e.mu.Lock()
	dirty := e.mdsDirty["bob@x"]
	e.mu.Unlock()
	if !dirty {
		t.Fatal("the moved read state is not published again")
	}
}

func conversation(st store.Store, peer string) (c store.Conversation, ok bool, err error) {
	err = st.Update(context.Background(), func(tx store.Tx) error {
		c, ok, err = tx.Conversation(peer)
		return err
	})
	return c, ok, err
}

// ejabberd 23.01 gave one archive id to two messages routed in the same
// microsecond (seen in the convergence test). Both are kept, each once,
// whichever arrives first and however often they are paged again; one seen
// live first is placed by its own archive entry, not by the other's.
func TestArchiveIDCollision(t *testing.T) {
	const id, at = "1795253734740980", "2026-11-21T11:00:00.74098Z"
	result := func(q, from, origin, body string) string {
		return "<message xmlns='jabber:client' to='" + self + "/web'><result xmlns='urn:xmpp:mam:2' queryid='" + q + "' id='" + id +
			"'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='" + at + "'/>" +
			chat(from, origin, origin, body) + "</forwarded></result></message>"
	}
	for _, live := range []bool{false, true} {
		e, st := newTestEngine(t)
		if live {
			feed(t, e, chat("carol@x/c", "oc", "oc", "from carol", self, id))
		}
		for range 2 { // paged again: nothing doubles
			q := bindQuery(t, e)
			feed(t, e, result(q, "bob@x/b", "ob", "from bob"), result(q, "carol@x/c", "oc", "from carol"), mamFin(q, true))
		}
		for peer, want := range map[string]string{"bob@x": "from bob", "carol@x": "from carol"} {
			ms := all(t, st, peer)
			if bodies(ms) != want {
				t.Fatalf("live %v: %s holds %q, want %q", live, peer, bodies(ms), want)
			}
			if ms[0].Pos >= store.Provisional || !strings.HasPrefix(ms[0].ArchiveID, id) {
				t.Errorf("live %v: %s's message not placed by the archive: pos %d, archive id %q", live, peer, ms[0].Pos, ms[0].ArchiveID)
			}
		}
	}
}

// Two edits (here corrections, from two senders) that the archive gave one
// id: both are kept, the second under id/origin-id, as two messages are
// (TestArchiveIDCollision); edits were looked up by archive id alone, and
// the second was dropped as a copy of the first.
func TestArchiveIDCollisionEdits(t *testing.T) {
	const id, at = "1795253734740980", "2026-11-21T11:00:00.74098Z"
	result := func(q, resultID, stamp, from, origin, body, replace string) string {
		inner := chat(from, origin, origin, body)
		if replace != "" {
			inner = strings.Replace(inner, "</message>", "<replace xmlns='urn:xmpp:message-correct:0' id='"+replace+"'/></message>", 1)
		}
		return "<message xmlns='jabber:client' to='" + self + "/web'><result xmlns='urn:xmpp:mam:2' queryid='" + q + "' id='" + resultID +
			"'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='" + stamp + "'/>" +
			inner + "</forwarded></result></message>"
	}
	e, st := newTestEngine(t)
	for range 2 { // paged again: nothing doubles
		q := bindQuery(t, e)
		feed(t, e,
			result(q, "1795253734000001", "2026-11-21T11:00:00.000001Z", "bob@x/b", "ob", "from bob", ""),
			result(q, "1795253734000002", "2026-11-21T11:00:00.000002Z", "carol@x/c", "oc", "from carol", ""),
			result(q, id, at, "bob@x/b", "ob2", "from bob, corrected", "ob"),
			result(q, id, at, "carol@x/c", "oc2", "from carol, corrected", "oc"),
			mamFin(q, true))
	}
	for peer, want := range map[string]string{"bob@x": "from bob, corrected", "carol@x": "from carol, corrected"} {
		if got := bodies(all(t, st, peer)); got != want {
			t.Errorf("%s holds %q, want %q", peer, got, want)
		}
	}
}
