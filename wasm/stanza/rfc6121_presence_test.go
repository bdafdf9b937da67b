package stanza_test

import (
	"reflect"
	"testing"

	"github.com/waxwing-im/waxwing/wasm/stanza"
)

var presenceWire = []string{
	`<presence from='juliet@example.com/balcony' to='romeo@example.net/orchard' xml:lang='en'><show>away</show><status>be right back</status><status xml:lang='es'>estoy ausente</status><priority>1</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://psi-im.org' ver='q07IKJEyjvHSyhy//CH0CxmKi8w='/></presence>`,
	`<presence from='coven@chat.shakespeare.lit/thirdwitch' id='n13mt3l' to='hag66@shakespeare.lit/pda'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' jid='hag66@shakespeare.lit/pda' role='participant'/><status code='100'/><status code='110'/><status code='210'/></x></presence>`,
	`<presence from='romeo@example.net' to='juliet@example.com' type='subscribe'/>`,
	`<presence xmlns='jabber:client' from='alice@localhost/x' to='alice@localhost/y'><show>dnd</show><delay xmlns='urn:xmpp:delay' from='localhost' stamp='2026-11-20T23:30:01Z'>Client Inactive</delay></presence>`,
	`<presence type='error' from='nobody@x'><error type='cancel'><remote-server-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`,
}

func TestParsePresence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want stanza.Presence
	}{
		{"RFC 6121 §4.7 with caps", presenceWire[0], stanza.Presence{From: "juliet@example.com/balcony", To: "romeo@example.net/orchard", Show: "away", Status: "be right back", Priority: 1,
			Caps: &stanza.Caps{Hash: "sha-1", Node: "http://psi-im.org", Ver: "q07IKJEyjvHSyhy//CH0CxmKi8w="}}},
		{"XEP-0045 self-presence", presenceWire[1], stanza.Presence{From: "coven@chat.shakespeare.lit/thirdwitch", To: "hag66@shakespeare.lit/pda", ID: "n13mt3l",
			MUCUser: &stanza.MUCUser{Affiliation: "member", Role: "participant", JID: "hag66@shakespeare.lit/pda", Status: []int{100, 110, 210}}}},
		{"subscribe", presenceWire[2], stanza.Presence{From: "romeo@example.net", To: "juliet@example.com", Type: "subscribe"}},
		{"ejabberd CSI delay", presenceWire[3], stanza.Presence{From: "alice@localhost/x", To: "alice@localhost/y", Show: "dnd",
			Delay: mustDelay(t, "2026-11-20T23:30:01Z", "localhost", "Client Inactive")}},
		{"error", presenceWire[4], stanza.Presence{From: "nobody@x", Type: "error", Error: &stanza.StanzaError{Type: "cancel", Condition: "remote-server-not-found"}}},
		{"bad priority", `<presence><priority>300</priority></presence>`, stanza.Presence{}},
	}
	for _, tt := range tests {
		got, err := stanza.ParsePresence([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
	if _, err := stanza.ParsePresence([]byte(`<message/>`)); err == nil {
		t.Error("message parsed as presence")
	}
}

func mustDelay(t *testing.T, stamp, from, reason string) *stanza.Delay {
	t.Helper()
	ts, err := stanza.ParseDateTime(stamp)
	if err != nil {
		t.Fatal(err)
	}
	return &stanza.Delay{Stamp: ts, StampRaw: stamp, From: from, Reason: reason}
}

func TestPresenceBuilders(t *testing.T) {
	t.Parallel()
	checkBuilt(t, "presence", []built{
		{string(stanza.Subscribe("romeo@example.net")), `<presence xmlns='jabber:client' type='subscribe' to='romeo@example.net'/>`},
		{string(stanza.Subscribed("romeo@example.net")), `<presence xmlns='jabber:client' type='subscribed' to='romeo@example.net'/>`},
		{string(stanza.Unsubscribed("a'b@x")), `<presence xmlns='jabber:client' type='unsubscribed' to='a&apos;b@x'/>`},
		{string(stanza.InitialPresence("", "", 0, nil)), `<presence xmlns='jabber:client'></presence>`},
		{string(stanza.InitialPresence("dnd", "in a <meeting>", 500, &stanza.Caps{Hash: "sha-1", Node: "https://waxwing.im", Ver: "abc="})),
			`<presence xmlns='jabber:client'><show>dnd</show><status>in a &lt;meeting&gt;</status><priority>127</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://waxwing.im' ver='abc='/></presence>`},
	})
}

func FuzzParsePresence(f *testing.F) {
	fuzzSeeds(f, presenceWire...)
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := stanza.ParsePresence(raw)
		if err != nil {
			return
		}
		if p.Priority < -128 || p.Priority > 127 {
			t.Fatalf("priority %d", p.Priority)
		}
		if (p.Type == "error") != (p.Error != nil) {
			t.Fatalf("type %q error %v", p.Type, p.Error)
		}
	})
}
