package history

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/stanza"
)

// Positions come from the archive's own order, and each catch-up pages
// again over the last moments held: an archive that makes an entry visible
// after a later one (ejabberd 23.01 under load: its ids are microsecond
// timestamps taken before the write) must not make a device miss it, nor
// order it differently from a device that saw it in time.

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestPositions(t *testing.T) {
	sec := at("2026-11-21T11:00:00Z")
	k := timeKey(sec)
	for _, tc := range []struct {
		name string
		got  store.Pos
		want store.Pos
	}{
		{"a time key is microseconds since 2000, spread", k, store.Pos(sec.Sub(keyEpoch).Microseconds()) * keySpread},
		{"keys stay below Provisional", timeKey(at("2141-12-31T00:00:00Z")), timeKey(at("2141-12-31T00:00:00Z"))},
		{"no time, no key", timeKey(time.Time{}), 0},
		{"before 2000, no key", timeKey(at("1999-12-31T23:59:59Z")), 0},
		{"beyond the key space, no key", timeKey(at("2200-01-01T00:00:00Z")), 0},
		{"after: the time key when it sorts after", posAfter(k-5, sec, 7), k},
		{"after: a tie follows the previous entry", posAfter(k, sec, 7), k + 1},
		{"after: an earlier time follows the previous entry", posAfter(k+3, sec.Add(-time.Second), 7), k + 4},
		{"after: no time follows the previous entry", posAfter(k, time.Time{}, 7), k + 1},
		{"after: nothing known, the time key", posAfter(0, sec, 7), k},
		{"after: nothing known and no time, the fallback", posAfter(0, time.Time{}, 7), 7},
		{"before: the time key when it sorts before", posBefore(k+9, sec), k},
		{"before: a tie precedes the next entry", posBefore(k, sec), k - 1},
		{"before: no time precedes the next entry", posBefore(k, time.Time{}), k - 1},
		{"before: under page-order positions, page order", posBefore(firstPos, sec), firstPos - 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, tc.got, tc.want)
		}
	}
	for _, s := range []string{"2026-11-21T11:00:00.123456Z", "2001-01-01T00:00:00Z", "2141-12-31T00:00:00Z"} {
		if got := posTime(timeKey(at(s))); !got.Equal(at(s)) {
			t.Errorf("posTime(timeKey(%s)) = %s", s, got)
		}
	}
	if got := posTime(k + 999); !got.Equal(sec) {
		t.Errorf("a tie's position stands for its entry's time: %s", got)
	}
	if top := timeKey(at("2141-12-31T00:00:00Z")); top <= 0 || top >= store.Provisional {
		t.Errorf("a key of 2141 is %d: outside (0, Provisional)", top)
	}
}

func TestOverlapVerdict(t *testing.T) {
	seekTime := at("2026-11-21T11:00:05.000005Z")
	r := func(id, stamp string) result {
		m := &stanza.Message{}
		if stamp != "" {
			m.Delay = &stanza.Delay{Stamp: at(stamp)}
		}
		return result{id: id, msg: m}
	}
	before, after := "2026-11-21T11:00:04Z", "2026-11-21T11:00:06Z"
	for _, tc := range []struct {
		name     string
		results  []result
		older    bool
		complete bool
		want     overlapState
		reason   string
	}{
		{"the page holds it", []result{r("a", before), r("SEEK", "2026-11-21T11:00:05.000005Z"), r("b", after)}, false, false, overlapHeld, "holds"},
		{"not reached yet", []result{r("a", before), r("b", before)}, false, false, overlapPending, "further"},
		{"passed after older entries: deleted alone", []result{r("a", before), r("b", after)}, false, false, overlapHeld, "deleted"},
		{"passed, older ones on an earlier page", []result{r("b", after)}, true, false, overlapHeld, "deleted"},
		{"passed with nothing older: perhaps expired", []result{r("b", after)}, false, false, overlapLost, "anything older"},
		{"empty and complete: perhaps expired", nil, false, true, overlapLost, "anything older"},
		{"no timestamps: cannot tell, ask after it", []result{r("a", ""), r("b", "")}, false, false, overlapLost, "anything older"},
		{"a tie with the newest held counts as older", []result{r("a", "2026-11-21T11:00:05.000005Z")}, false, true, overlapHeld, "deleted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, reason := overlapVerdict(tc.results, "SEEK", seekTime, tc.older, tc.complete)
			if got != tc.want || !strings.Contains(reason, tc.reason) {
				t.Fatalf("overlapVerdict = %d, %q; want %d, reason with %q", got, reason, tc.want, tc.reason)
			}
		})
	}
}

// entry is one archive entry: its id and archive time.
type entry struct{ id, stamp string }

// syncPages runs one catch-up of e against an archive whose visible
// entries are pages (one answer each, the last complete), and returns the
// first query it sent.
func syncPages(t *testing.T, e *Engine, pages ...[]entry) string {
	t.Helper()
	ctx := context.Background()
	var first []byte
	if _, ok := latestRange(t, e); ok {
		var err error
		if first, err = e.newCatchUp(ctx, nil, settleChain{}); err != nil {
			t.Fatal(err)
		}
	} else {
		out, err := e.afterBind(ctx, clientBound())
		if err != nil {
			t.Fatal(err)
		}
		first = out[len(out)-1]
	}
	q := firstQuery(t, [][]byte{first})
	for i, p := range pages {
		var s []string
		for _, en := range p {
			s = append(s, mamResult(q, en.id, en.stamp))
		}
		feed(t, e, append(s, mamFin(q, i == len(pages)-1))...)
		if i < len(pages)-1 {
			q = pendingQuery(t, e, q)
		}
	}
	return string(first)
}

// pendingQuery returns the id of the archive query the engine has asked
// since the one with id old (offline here: it is registered, not sent).
func pendingQuery(t *testing.T, e *Engine, old string) string {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for id := range e.queries {
		if id != old {
			return id
		}
	}
	t.Fatalf("no archive query after %s", old)
	return ""
}

// placed describes the messages of bob's conversation: body@position.
func placed(t *testing.T, st *store.Memory) string {
	t.Helper()
	var s []string
	for _, m := range all(t, st, "bob@x") {
		if m.Pos >= store.Provisional {
			t.Errorf("%s is not placed", m.Body)
		}
		s = append(s, fmt.Sprintf("%s@%d", m.Body, m.Pos))
	}
	return strings.Join(s, " ")
}

// ejabberd under load: E2 (archived between E1 and E3) becomes visible only
// after a catch-up has fetched E3. The next catch-up, which pages again
// from a little before E3, fetches it, and the device ends with the same
// entries at the same positions as one that saw them all at once.
func TestLateVisibleEntry(t *testing.T) {
	e1 := entry{"1795231553000001", "2026-11-21T10:59:40.000001Z"}
	e2 := entry{"1795231583000002", "2026-11-21T11:00:10.000002Z"}
	e3 := entry{"1795231583000003", "2026-11-21T11:00:10.000003Z"}
	e4 := entry{"1795231584000004", "2026-11-21T11:00:11.000004Z"}

	late, lateSt := newTestEngine(t)
	syncPages(t, late, []entry{e1, e3})
	q := syncPages(t, late, []entry{e2, e3, e4})
	// The first page was asked within Config.Settle of its entries: the
	// catch-up pages again from 5 s before the first (10:59:40).
	if !strings.Contains(q, "<value>2026-11-21T10:59:35Z</value>") || strings.Contains(q, "<after>") {
		t.Fatalf("the catch-up must page from 5 s before what is not settled (10:59:40): %s", q)
	}
	ontime, ontimeSt := newTestEngine(t)
	syncPages(t, ontime, []entry{e1, e2, e3, e4})

	got, want := placed(t, lateSt), placed(t, ontimeSt)
	if !strings.HasPrefix(got, "m-"+e1.id+"@") || strings.Count(got, " ") != 3 {
		t.Fatalf("late device: %s", got)
	}
	if got != want {
		t.Fatalf("positions differ:\n late   %s\n ontime %s", got, want)
	}
	if r, _ := latestRange(t, late); r.Last != e4.id {
		t.Fatalf("coverage ends at %s, want %s", r.Last, e4.id)
	}
}

// Prosody: second-precision times, archive order within a second. Two
// devices that page the same second differently (one page, or two split
// inside it, and an overlap that pages it again) give it the same order and
// positions.
func TestTiesKeepArchiveOrder(t *testing.T) {
	s := "2026-11-21T11:00:00Z"
	p := []entry{{"p1", s}, {"p2", s}, {"p3", s}, {"p4", s}, {"p5", "2026-11-21T11:00:01Z"}}
	split, splitSt := newTestEngine(t)
	syncPages(t, split, p[:2])
	// The range held was fetched while it was the newest (its bottom may
	// have a late entry below it): the catch-up pages again from the
	// overlap before its bottom, below the range.
	if q := syncPages(t, split, p[:3], p[3:]); !strings.Contains(q, "<value>2026-11-21T10:59:55Z</value>") || strings.Contains(q, "<after>") {
		t.Fatalf("the catch-up must page from 5 s before p1: %s", q)
	}
	whole, wholeSt := newTestEngine(t)
	syncPages(t, whole, p)
	got, want := placed(t, splitSt), placed(t, wholeSt)
	if got != want {
		t.Fatalf("positions differ:\n split %s\n whole %s", got, want)
	}
	if !strings.HasPrefix(bodies(all(t, splitSt, "bob@x")), "m-p1 m-p2 m-p3 m-p4 m-p5") {
		t.Fatalf("order %s", got)
	}
}

// The newest message held has expired (with everything before it): the
// overlap's page has only newer entries, nothing is committed from it, and
// paging after the newest held gets item-not-found: a recorded gap, never a
// silent one.
func TestOverlapFindsExpiry(t *testing.T) {
	e, st := newTestEngine(t)
	syncPages(t, e, []entry{{"old1", "2026-11-01T10:00:00Z"}, {"old2", "2026-11-01T11:00:00Z"}})
	ctx := context.Background()
	raw, err := e.newCatchUp(ctx, nil, settleChain{})
	if err != nil {
		t.Fatal(err)
	}
	q := firstQuery(t, [][]byte{raw})
	feed(t, e, mamResult(q, "new1", "2026-11-21T11:00:00Z"), mamFin(q, true))
	if n := len(all(t, st, "bob@x")); n != 2 {
		t.Fatalf("%d messages: the page that passed the newest held without it was committed", n)
	}
	q2 := pendingQuery(t, e, q)
	feed(t, e, "<iq xmlns='jabber:client' type='error' id='"+q2+"'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
	q3 := pendingQuery(t, e, q2)
	feed(t, e, mamResult(q3, "new1", "2026-11-21T11:00:00Z"), mamFin(q3, true))
	arch, _ := e.archive(ctx)
	if len(arch.Ranges) != 2 || arch.Below[1] != store.GapExpired || arch.Ranges[1].First != "new1" {
		t.Fatalf("want a second range above a recorded expired gap: %+v", arch)
	}
	if got := bodies(all(t, st, "bob@x")); got != "m-old1 m-old2 m-new1" {
		t.Fatalf("messages %q", got)
	}
}

// A new device's newest page, fetched within Config.Settle of its entries
// (a device set up right after a burst), with older history still to
// fetch: the next catch-up pages again from the page's first entry, not
// from a start time below it. What lies below the range is FetchOlder's,
// late entries with it; paging from below would hold every result until
// the range is reached and commit them all in one transaction (thousands,
// in the catch-up benchmark). Where the archive's start is held (the
// tests above), the catch-up still pages from below the range.
func TestRecheckNotBelowUnfetched(t *testing.T) {
	e, st := newTestEngine(t)
	ctx := context.Background()
	out, err := e.afterBind(ctx, clientBound())
	if err != nil {
		t.Fatal(err)
	}
	q := firstQuery(t, out)
	feed(t, e, mamResult(q, "p1", "2026-11-21T11:00:00Z"), mamResult(q, "p2", "2026-11-21T11:00:01Z"),
		mamResult(q, "p3", "2026-11-21T11:00:02Z"), mamFin(q, false))
	arch, err := e.archive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if arch.Recheck.IsZero() || arch.Below[0] != store.GapUnfetched {
		t.Fatalf("want the newest page unsettled with older history unfetched: %+v", arch)
	}
	raw, err := e.newCatchUp(ctx, nil, settleChain{})
	if err != nil {
		t.Fatal(err)
	}
	if s := string(raw); !strings.Contains(s, "<after>p1</after>") || strings.Contains(s, "var='start'") {
		t.Fatalf("the catch-up must page again after the range's first entry, not from below it: %s", s)
	}
	q2 := firstQuery(t, [][]byte{raw})
	feed(t, e, mamResult(q2, "p2", "2026-11-21T11:00:01Z"), mamResult(q2, "p3", "2026-11-21T11:00:02Z"),
		mamResult(q2, "p4", "2026-11-21T11:00:03Z"), mamFin(q2, true))
	if got := bodies(all(t, st, "bob@x")); got != "m-p1 m-p2 m-p3 m-p4" {
		t.Fatalf("messages %q", got)
	}
}

func TestRSMBound(t *testing.T) {
	at := at("2026-11-21T11:00:00.74098Z") // 1795258800740980 µs
	for _, tc := range []struct {
		name  string
		id    string
		at    time.Time
		older bool
		want  string
	}{
		{"ejabberd: after the id's microsecond less one", "1795258800740980", at, false, "1795258800740979"},
		{"ejabberd: before the id's microsecond plus one", "1795258800740980", at, true, "1795258800740981"},
		{"an id that is not the entry's time", "1795258800740981", at, false, "1795258800740981"},
		{"time not known", "1795258800740980", time.Time{}, false, "1795258800740980"},
		{"Prosody's ids", "5e1ad43e-0d6a-4b9c-9b5f-2a3c4d5e6f70", at, false, "5e1ad43e-0d6a-4b9c-9b5f-2a3c4d5e6f70"},
		{"a leading zero is not the same id", "01795258800740980", at, false, "01795258800740980"},
		{"no id", "", at, true, ""},
	} {
		if got := rsmBound(tc.id, tc.at, tc.older); got != tc.want {
			t.Errorf("%s: rsmBound(%q) = %q, want %q", tc.name, tc.id, got, tc.want)
		}
	}
}

func TestTimeIDPos(t *testing.T) {
	at := at("2026-11-21T11:00:00.74098Z") // 1795258800740980 µs
	k := timeKey(at)
	a, okA := timeIDPos("1795258800740980", at, "bob@x", "o1")
	b, okB := timeIDPos("1795258800740980", at, "carol@x", "o2")
	a2, _ := timeIDPos("1795258800740980", at, "bob@x", "o1")
	switch {
	case !okA || !okB:
		t.Fatal("ejabberd's ids (the entry's time in microseconds) have a position of their own")
	case a == b:
		t.Errorf("two entries of one microsecond share position %d", a)
	case a != a2:
		t.Errorf("the position depends on more than the entry: %d, then %d", a, a2)
	case a <= k || b <= k || a-k >= keySpread || b-k >= keySpread:
		t.Errorf("positions %d, %d outside the microsecond above %d", a, b, k)
	case !keyTime(a).Equal(at) || !keyTime(b).Equal(at):
		t.Errorf("keyTime does not give back the microsecond: %s, %s", keyTime(a), keyTime(b))
	}
	for _, id := range []string{"1795258800740981", "5e1ad43e-0d6a-4b9c-9b5f-2a3c4d5e6f70", ""} {
		if _, ok := timeIDPos(id, at, "bob@x", "o1"); ok {
			t.Errorf("id %q is not its entry's time: placed in archive order, not by timeIDPos", id)
		}
	}
}
