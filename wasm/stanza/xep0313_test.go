package stanza_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/wasm/stanza"
)

func TestMAMQueryBytes(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 20, 23, 24, 11, 0, time.UTC)
	tests := []struct {
		name string
		q    stanza.MAMQuery
		want string
	}{
		{"servers.md §1.8 start + max", stanza.MAMQuery{ID: "mam1", QueryID: "q1", Start: start, Max: 10},
			`<iq xmlns='jabber:client' type='set' id='mam1'><query xmlns='urn:xmpp:mam:2' queryid='q1'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field><field var='start'><value>2026-11-20T23:24:11Z</value></field></x><set xmlns='http://jabber.org/protocol/rsm'><max>10</max></set></query></iq>`},
		{"empty query", stanza.MAMQuery{ID: "juliet1"},
			`<iq xmlns='jabber:client' type='set' id='juliet1'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field></x></query></iq>`},
		{"room archive, last page, flipped", stanza.MAMQuery{ID: "r1", To: "probe@conference.localhost", QueryID: "q2", Max: 50, LastPage: true, FlipPage: true},
			`<iq xmlns='jabber:client' type='set' id='r1' to='probe@conference.localhost'><query xmlns='urn:xmpp:mam:2' queryid='q2'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field></x><set xmlns='http://jabber.org/protocol/rsm'><max>50</max><before/></set><flip-page/></query></iq>`},
		{"extended between two ids, with", stanza.MAMQuery{ID: "x", With: "juliet@capulet.lit", AfterID: "28482-98726-73623", BeforeID: "09af3-cc343-b409f"},
			`<iq xmlns='jabber:client' type='set' id='x'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field><field var='with'><value>juliet@capulet.lit</value></field><field var='after-id'><value>28482-98726-73623</value></field><field var='before-id'><value>09af3-cc343-b409f</value></field></x></query></iq>`},
		{"RSM after, end with millis, escaping", stanza.MAMQuery{ID: "a'b", QueryID: "<q>", End: time.Date(2010, 7, 7, 13, 23, 54, 5e6, time.FixedZone("x", 3600)), After: "09af3&", Before: "zz"},
			`<iq xmlns='jabber:client' type='set' id='a&apos;b'><query xmlns='urn:xmpp:mam:2' queryid='&lt;q&gt;'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field><field var='end'><value>2010-07-07T12:23:54.005Z</value></field></x><set xmlns='http://jabber.org/protocol/rsm'><after>09af3&amp;</after><before>zz</before></set></query></iq>`},
	}
	for _, tt := range tests {
		got := tt.q.Bytes()
		if string(got) != tt.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tt.name, got, tt.want)
		}
		checkElement(t, got, "iq")
	}
}

func TestParseMAMFin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     stanza.MAMFin
		wantErr  string
	}{
		{"servers.md §1.8 Prosody", wireProsodyMAMFin, stanza.MAMFin{ID: "mam1", Complete: true, Stable: true,
			Set: stanza.RSMSet{First: "zq3mAe6Yj2u7H2xuEY8sFV6h", Last: "Se__1fvQcV9YRjzhNqCdWUoC", FirstIndex: -1, Count: 4}}, ""},
		{"XEP-0313 limited page", `<iq type='result' id='q29302'><fin xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><first index='0'>28482-98726-73623</first><last>09af3-cc343-b409f</last><count>20</count></set></fin></iq>`,
			stanza.MAMFin{ID: "q29302", Stable: true, Set: stanza.RSMSet{First: "28482-98726-73623", Last: "09af3-cc343-b409f", FirstIndex: 0, Count: 20}}, ""},
		{"unstable, complete=1", `<iq type='result' id='u'><fin xmlns='urn:xmpp:mam:2' complete='1' stable='false'/></iq>`,
			stanza.MAMFin{ID: "u", Complete: true, Stable: false, Set: stanza.RSMSet{FirstIndex: -1, Count: -1}}, ""},
		{"empty result, bad count", `<iq type='result' id='e' xmlns='jabber:client'><fin xmlns='urn:xmpp:mam:2' complete='true'><set xmlns='http://jabber.org/protocol/rsm'><count>many</count></set></fin></iq>`,
			stanza.MAMFin{ID: "e", Complete: true, Stable: true, Set: stanza.RSMSet{FirstIndex: -1, Count: -1}}, ""},
		{"mam:1 fin", `<iq type='result' id='o'><fin xmlns='urn:xmpp:mam:1'/></iq>`, stanza.MAMFin{}, "without <fin"},
		{"item-not-found", wireMAMNotFound, stanza.MAMFin{}, "item-not-found"},
		{"a get", `<iq type='get' id='g'/>`, stanza.MAMFin{}, "want 'result'"},
		{"a message", wireProsodyLive, stanza.MAMFin{}, "want <iq"},
		{"malformed", `<iq type='result'><fin>`, stanza.MAMFin{}, "malformed"},
	}
	for _, tt := range tests {
		got, err := stanza.ParseMAMFin([]byte(tt.in))
		if !matchErr(t, tt.name, err, tt.wantErr) {
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
	_, err := stanza.ParseMAMFin([]byte(wireMAMNotFound))
	var se *stanza.StanzaError
	if !errors.As(err, &se) || se.Condition != "item-not-found" || se.Type != "cancel" {
		t.Errorf("item-not-found: %#v", err)
	}
}

func TestMAMMetadata(t *testing.T) {
	t.Parallel()
	got := stanza.MAMMetadataRequest("jui8921rr9", "")
	if want := `<iq xmlns='jabber:client' type='get' id='jui8921rr9'><metadata xmlns='urn:xmpp:mam:2'/></iq>`; string(got) != want {
		t.Errorf("request %s, want %s", got, want)
	}
	checkElement(t, got, "iq")
	tests := []struct {
		name, in string
		want     stanza.MAMMetadata
		wantErr  string
	}{
		{"XEP-0313 §6", wireMAMMetadata, stanza.MAMMetadata{
			Start: stanza.ArchivePoint{ID: "YWxwaGEg", Timestamp: time.Date(2008, 8, 22, 21, 9, 4, 0, time.UTC), TimestampRaw: "2008-08-22T21:09:04Z"},
			End:   stanza.ArchivePoint{ID: "b21lZ2Eg", Timestamp: time.Date(2020, 4, 20, 14, 34, 21, 0, time.UTC), TimestampRaw: "2020-04-20T14:34:21Z"}}, ""},
		{"empty archive", wireMAMMetadataEmpty, stanza.MAMMetadata{Empty: true}, ""},
		{"offset timestamp, bad timestamp", `<iq type='result' id='m'><metadata xmlns='urn:xmpp:mam:2'><start id='1' timestamp='2020-04-20T16:34:21+02:00'/><end id='2' timestamp='yesterday'/></metadata></iq>`,
			stanza.MAMMetadata{Start: stanza.ArchivePoint{ID: "1", Timestamp: time.Date(2020, 4, 20, 14, 34, 21, 0, time.UTC), TimestampRaw: "2020-04-20T16:34:21+02:00"},
				End: stanza.ArchivePoint{ID: "2", TimestampRaw: "yesterday"}}, ""},
		{"start only", `<iq type='result' id='m'><metadata xmlns='urn:xmpp:mam:2'><start id='1'/></metadata></iq>`, stanza.MAMMetadata{}, "both"},
		{"no metadata", `<iq type='result' id='m'/>`, stanza.MAMMetadata{}, "without <metadata"},
		{"feature-not-implemented", `<iq type='error' id='m'><error type='cancel'><feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>no</text></error></iq>`, stanza.MAMMetadata{}, "feature-not-implemented (cancel): no"},
	}
	for _, tt := range tests {
		got, err := stanza.ParseMAMMetadata([]byte(tt.in))
		if !matchErr(t, tt.name, err, tt.wantErr) {
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// matchErr reports whether the test should go on comparing values: err is
// nil and wantErr is empty. It fails the test when err does not match.
func matchErr(t *testing.T, name string, err error, wantErr string) bool {
	t.Helper()
	if wantErr == "" {
		if err != nil {
			t.Errorf("%s: unexpected error %v", name, err)
			return false
		}
		return true
	}
	if err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Errorf("%s: error %v, want %q", name, err, wantErr)
	}
	return false
}

func FuzzParseMAMFin(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		fin, err := stanza.ParseMAMFin(raw)
		if err == nil && (fin.Set.Count < -1 || fin.Set.FirstIndex < -1) {
			t.Fatalf("negative count %+v", fin.Set)
		}
		md, err := stanza.ParseMAMMetadata(raw)
		if err == nil && md.Empty != (md.Start.ID == "") {
			t.Fatalf("metadata %+v", md)
		}
		_, _ = stanza.ParseRSMSet(raw)
		_, _ = stanza.ParseIQ(raw)
	})
}
