package stanza_test

import (
	"reflect"
	"testing"

	"github.com/waxwing-im/waxwing/wasm/stanza"
)

// RFC 6121 §2 examples.
var rosterWire = []string{
	`<iq id='bv1bs71f' to='juliet@example.com/chamber' type='result'><query xmlns='jabber:iq:roster' ver='ver11'><item jid='romeo@example.net' name='Romeo' subscription='both'><group>Friends</group></item><item jid='mercutio@example.com' name='Mercutio' subscription='from'/><item jid='benvolio@example.net' name='Benvolio' subscription='both'/></query></iq>`,
	`<iq id='a78b4q6ha463' to='juliet@example.com/chamber' type='set'><query xmlns='jabber:iq:roster' ver='ver14'><item jid='nurse@example.com' name='Nurse' subscription='none' ask='subscribe'><group>Servants</group><group> Servants </group></item></query></iq>`,
	`<iq from='juliet@example.com' id='hu2bac18' to='juliet@example.com/balcony' type='set'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com' subscription='remove'/></query></iq>`,
	`<iq from='juliet@example.com' id='r1' type='result'/>`,
}

func TestRosterBuilders(t *testing.T) {
	t.Parallel()
	checkBuilt(t, "iq", []built{
		{string(stanza.RosterGet("r1", "", true)), `<iq xmlns='jabber:client' type='get' id='r1'><query xmlns='jabber:iq:roster' ver=''/></iq>`},
		{string(stanza.RosterGet("r2", "ver'14", true)), `<iq xmlns='jabber:client' type='get' id='r2'><query xmlns='jabber:iq:roster' ver='ver&apos;14'/></iq>`},
		{string(stanza.RosterGet("r3", "ver14", false)), `<iq xmlns='jabber:client' type='get' id='r3'><query xmlns='jabber:iq:roster'/></iq>`},
		{string(stanza.RosterSet("s1", stanza.RosterItem{JID: "nurse@example.com", Name: "Nurse & co", Subscription: "both", Groups: []string{"Servants", "<b>"}})),
			`<iq xmlns='jabber:client' type='set' id='s1'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com' name='Nurse &amp; co'><group>Servants</group><group>&lt;b&gt;</group></item></query></iq>`},
		{string(stanza.RosterRemove("d1", "nurse@example.com")), `<iq xmlns='jabber:client' type='set' id='d1'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com' subscription='remove'/></query></iq>`},
	})
}

func TestParseRoster(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     stanza.Roster
		wantErr  string
	}{
		{"§2.1.4 result", rosterWire[0], stanza.Roster{ID: "bv1bs71f", Ver: "ver11", Items: []stanza.RosterItem{
			{JID: "romeo@example.net", Name: "Romeo", Subscription: "both", Groups: []string{"Friends"}},
			{JID: "mercutio@example.com", Name: "Mercutio", Subscription: "from"},
			{JID: "benvolio@example.net", Name: "Benvolio", Subscription: "both"}}}, ""},
		{"§2.6 push with ver, groups trimmed once", rosterWire[1], stanza.Roster{ID: "a78b4q6ha463", Push: true, Ver: "ver14", Items: []stanza.RosterItem{
			{JID: "nurse@example.com", Name: "Nurse", Subscription: "none", Ask: "subscribe", Groups: []string{"Servants"}}}}, ""},
		{"§2.5 remove push", rosterWire[2], stanza.Roster{ID: "hu2bac18", From: "juliet@example.com", Push: true, Items: []stanza.RosterItem{
			{JID: "nurse@example.com", Subscription: "remove"}}}, ""},
		{"§2.6.3 unchanged", rosterWire[3], stanza.Roster{ID: "r1", From: "juliet@example.com", Unchanged: true}, ""},
		{"empty roster", `<iq type='result' id='e'><query xmlns='jabber:iq:roster' ver='v0'/></iq>`, stanza.Roster{ID: "e", Ver: "v0"}, ""},
		{"item without jid dropped, approved", `<iq type='result' id='e'><query xmlns='jabber:iq:roster'><item name='x'/><item jid='a@b' approved='true'/></query></iq>`,
			stanza.Roster{ID: "e", Items: []stanza.RosterItem{{JID: "a@b", Subscription: "none", Approved: true}}}, ""},
		{"push with two items", `<iq type='set' id='p'><query xmlns='jabber:iq:roster'><item jid='a@b'/><item jid='c@d'/></query></iq>`, stanza.Roster{}, "exactly one item"},
		{"push without query", `<iq type='set' id='p'/>`, stanza.Roster{}, "without <query"},
		{"error", `<iq type='error' id='p'><error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`, stanza.Roster{}, "forbidden (auth)"},
		{"get", `<iq type='get' id='p'/>`, stanza.Roster{}, "of type 'get'"},
	}
	for _, tt := range tests {
		got, err := stanza.ParseRoster([]byte(tt.in))
		if !matchErr(t, tt.name, err, tt.wantErr) {
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

func FuzzParseRoster(f *testing.F) {
	fuzzSeeds(f, rosterWire...)
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := stanza.ParseRoster(raw)
		if err != nil {
			return
		}
		if r.Push && len(r.Items) != 1 {
			t.Fatalf("push with %d items", len(r.Items))
		}
		for _, it := range r.Items {
			if it.JID == "" || it.Subscription == "" {
				t.Fatalf("item %+v", it)
			}
		}
	})
}
