package stanza_test

import (
	"reflect"
	"testing"

	"github.com/waxwing-im/waxwing/wasm/stanza"
)

func TestParseIQ(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     stanza.IQ
		wantErr  string
	}{
		{"result with payload", wireMAMMetadata, stanza.IQ{ID: "jui8921rr9", Type: "result", Payload: "{urn:xmpp:mam:2}metadata"}, ""},
		{"empty result", `<iq xmlns='jabber:client' id='ping1' to='alice@localhost/probe' type='result' from='localhost'/>`, stanza.IQ{ID: "ping1", Type: "result", From: "localhost", To: "alice@localhost/probe"}, ""},
		{"error with text and by, original payload kept", `<iq type='error' id='e'><query xmlns='urn:xmpp:mam:2'/><error type='modify' by='localhost'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>Unknown field</text><app xmlns='urn:example'/></error></iq>`,
			stanza.IQ{ID: "e", Type: "error", Payload: "{urn:xmpp:mam:2}query", Error: &stanza.StanzaError{Type: "modify", Condition: "bad-request", Text: "Unknown field", By: "localhost", AppCondition: "app", AppNS: "urn:example"}}, ""},
		{"error first", `<iq type='error' id='e'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
			stanza.IQ{ID: "e", Type: "error", Error: &stanza.StanzaError{Type: "cancel", Condition: "service-unavailable"}}, ""},
		{"not an iq", wireProsodyLive, stanza.IQ{}, "want <iq"},
	}
	for _, tt := range tests {
		got, err := stanza.ParseIQ([]byte(tt.in))
		if !matchErr(t, tt.name, err, tt.wantErr) {
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
	e := &stanza.StanzaError{Type: "wait", Condition: "resource-constraint", Text: "slow down"}
	if got := e.Error(); got != "stanza error: resource-constraint (wait): slow down" {
		t.Errorf("Error() = %q", got)
	}
}

func TestParseRSMSet(t *testing.T) {
	t.Parallel()
	got, err := stanza.ParseRSMSet([]byte(`<set xmlns='http://jabber.org/protocol/rsm'><first index='-3'>a</first><last> b </last><count>0</count></set>`))
	if err != nil || got != (stanza.RSMSet{First: "a", Last: "b", FirstIndex: -1, Count: 0}) {
		t.Errorf("got %+v, %v", got, err)
	}
	if _, err := stanza.ParseRSMSet([]byte(`<set xmlns='urn:other'/>`)); err == nil {
		t.Error("set in another namespace")
	}
	if _, err := stanza.ParseRSMSet(nil); err == nil {
		t.Error("nil parsed")
	}
}

func TestParseError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want *stanza.StanzaError
	}{
		{"bind conflict", `<iq xmlns='jabber:client' type='error' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>in use</text></error></iq>`,
			&stanza.StanzaError{Type: "cancel", Condition: "conflict", Text: "in use"}},
		{"no xmlns, by, app condition", `<iq type='error' id='c1'><error type='cancel' by='localhost'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><x xmlns='urn:example'/></error></iq>`,
			&stanza.StanzaError{Type: "cancel", By: "localhost", Condition: "service-unavailable", AppCondition: "x", AppNS: "urn:example"}},
		{"message error", `<message xmlns='jabber:client' type='error'><error type='wait'><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
			&stanza.StanzaError{Type: "wait", Condition: "resource-constraint"}},
		{"presence error", `<presence xmlns='jabber:client' type='error'><error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`,
			&stanza.StanzaError{Type: "auth", Condition: "forbidden"}},
		{"payload named error is not the error", `<iq xmlns='jabber:client' type='error'><error xmlns='urn:example'/></iq>`,
			&stanza.StanzaError{Type: "cancel", Condition: "undefined-condition"}},
		{"result", `<iq xmlns='jabber:client' type='result' id='x'/>`, nil},
		{"other namespace", `<iq xmlns='jabber:server' type='error'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`, nil},
		{"SASL failure", `<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl' type='error'><not-authorized/></failure>`, nil},
		{"malformed", `<iq type='error'><error>`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := stanza.ParseError([]byte(tt.in))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func FuzzParseError(f *testing.F) {
	f.Add([]byte(`<iq type='error' id='c1'><error type='cancel' by='localhost'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><x xmlns='urn:example'/></error></iq>`))
	f.Add([]byte(`<message xmlns='jabber:client' type='error'><error type='wait'><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if e := stanza.ParseError(raw); e != nil && e.Condition == "" {
			t.Fatal("stanza error without a condition")
		}
	})
}
