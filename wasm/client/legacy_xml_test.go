package client_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/waxwing-im/waxwing/wasm/client"
	"github.com/waxwing-im/waxwing/wasm/stanza"
)

func TestMarshalLegacy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		got       []byte
		want      string
		ns, local string
	}{
		{"auth with initial response", client.MarshalSASLAuth("SCRAM-SHA-1", []byte("n,,n=alice,r=x")),
			"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>biwsbj1hbGljZSxyPXg=</auth>", client.NSSASL, "auth"},
		{"auth without initial response", client.MarshalSASLAuth("X", nil),
			"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='X'/>", client.NSSASL, "auth"},
		{"auth with an empty initial response: '=' (RFC 6120 §6.4.2)", client.MarshalSASLAuth("X", []byte{}),
			"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='X'>=</auth>", client.NSSASL, "auth"},
		{"auth mechanism escaped", client.MarshalSASLAuth("a'<", nil),
			"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='a&apos;&lt;'/>", client.NSSASL, "auth"},
		{"response", client.MarshalSASLResponse([]byte("c=biws")),
			"<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>Yz1iaXdz</response>", client.NSSASL, "response"},
		{"empty response", client.MarshalSASLResponse(nil),
			"<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>", client.NSSASL, "response"},
		{"§2.3 bind", client.MarshalBind("bind1", "probe-alice"),
			"<iq xmlns='jabber:client' type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>probe-alice</resource></bind></iq>", client.NSClient, "iq"},
		{"bind, server-chosen resource", client.MarshalBind("b", ""),
			"<iq xmlns='jabber:client' type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>", client.NSClient, "iq"},
		{"bind escaped", client.MarshalBind("i'd", "<r&>"),
			"<iq xmlns='jabber:client' type='set' id='i&apos;d'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>&lt;r&amp;&gt;</resource></bind></iq>", client.NSClient, "iq"},
		{"carbons", client.MarshalCarbonsEnable("carbons1"),
			"<iq xmlns='jabber:client' type='set' id='carbons1'><enable xmlns='urn:xmpp:carbons:2'/></iq>", client.NSClient, "iq"},
		{"roster, cached version", client.MarshalRosterGet("r1", "ver14"),
			"<iq xmlns='jabber:client' type='get' id='r1'><query xmlns='jabber:iq:roster' ver='ver14'/></iq>", client.NSClient, "iq"},
		{"roster, bootstrap versioning", client.MarshalRosterGet("r1", ""),
			"<iq xmlns='jabber:client' type='get' id='r1'><query xmlns='jabber:iq:roster' ver=''/></iq>", client.NSClient, "iq"},
		{"roster, no versioning", client.MarshalRosterGetUnversioned("r1"),
			"<iq xmlns='jabber:client' type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>", client.NSClient, "iq"},
		{"presence", client.MarshalPresence(), "<presence xmlns='jabber:client'/>", client.NSClient, "presence"},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, tt.got, tt.want)
		}
		checkElement(t, tt.got, tt.ns, tt.local)
	}
	if !client.IsStanza(client.MarshalPresence()) || !client.IsStanza(client.MarshalBind("a", "b")) {
		t.Error("marshalled stanzas are not stanzas")
	}
}

func TestParseSASLSuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    []byte
		wantErr string
	}{
		{"§2.3 ejabberd with the server-final message", `<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>` + serverFinalB64 + `</success>`, []byte(serverFinal), ""},
		{"no additional data", `<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`, nil, ""},
		{"empty additional data", `<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>=</success>`, []byte{}, ""},
		{"failure", wireEjabberdWrongPassword, nil, "not-authorized"},
		{"SASL2 success", wireSuccessBare, nil, "want <success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"},
		{"bad base64", `<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%%</success>`, nil, "base64"},
		{"malformed", `<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>`, nil, "malformed"},
	}
	for _, tt := range tests {
		got, err := client.ParseSASLSuccess([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || string(got) != string(tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("%s: got %q (nil %v), %v; want %q (nil %v)", tt.name, got, got == nil, err, tt.want, tt.want == nil)
		}
	}
	var ae *client.AuthError
	if _, err := client.ParseSASLSuccess([]byte(wireEjabberdWrongPassword)); !errors.As(err, &ae) || ae.SASL2 {
		t.Errorf("failure error = %#v", err)
	}
}

func TestParseSASLChallenge(t *testing.T) {
	t.Parallel()
	got, err := client.ParseSASLChallenge([]byte(`<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>cj1meWtvK2QybGJiRmdPTlJ2OXFreGRhd0wzcmZjTkhZSlkxWlZ2V1ZzN2oscz1RU1hDUitRNnNlazhiZjkyLGk9NDA5Ng==</challenge>`))
	if want := "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"; err != nil || string(got) != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	if got, err := client.ParseSASLChallenge([]byte(`<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`)); err != nil || got == nil || len(got) != 0 {
		t.Errorf("empty challenge = %q, %v", got, err)
	}
	if _, err := client.ParseSASLChallenge([]byte(wireChallenge)); err == nil {
		t.Error("SASL2 challenge accepted as SASL")
	}
}

func TestParseBindResult(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, wantErr string
	}{
		{"§2.3 ejabberd", `<iq type='result' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@localhost/probe-alice</jid></bind></iq>`, "alice@localhost/probe-alice", ""},
		{"Prosody", `<iq xmlns='jabber:client' id='bind1' type='result'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>
			alice@localhost/waxwing-d4565fa7</jid></bind></iq>`, "alice@localhost/waxwing-d4565fa7", ""},
		{"conflict", `<iq xmlns='jabber:client' type='error' id='bind1'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`, "", "stanza error: conflict"},
		{"no jid", `<iq xmlns='jabber:client' type='result' id='bind1'/>`, "", "without <jid/>"},
		{"bare jid", `<iq type='result' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@localhost</jid></bind></iq>`, "", "not a full JID"},
		{"get", `<iq type='get' id='bind1'/>`, "", "want result"},
		{"not an iq", wireSMEnabledProsody, "", "want an iq"},
		{"malformed", `<iq type='result' id='bind1'><bind>`, "", "malformed"},
	}
	for _, tt := range tests {
		got, err := client.ParseBindResult([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	var se *stanza.StanzaError
	if _, err := client.ParseBindResult([]byte(`<iq type='error' id='b'><error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`)); !errors.As(err, &se) || se.Condition != "bad-request" {
		t.Errorf("error = %#v", err)
	}
}

func TestParseIQResult(t *testing.T) {
	t.Parallel()
	if id, err := client.ParseIQResult([]byte(`<iq xmlns='jabber:client' type='result' id='carbons1'/>`)); err != nil || id != "carbons1" {
		t.Errorf("result = %q, %v", id, err)
	}
	id, err := client.ParseIQResult([]byte(`<iq type='error' id='carbons1'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`))
	var se *stanza.StanzaError
	if id != "carbons1" || !errors.As(err, &se) || se.Condition != "service-unavailable" {
		t.Errorf("error = %q, %#v", id, err)
	}
}

func FuzzParseSASLSuccess(f *testing.F) {
	fuzzSeeds(f, `<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>=</success>`)
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, _ = client.ParseSASLSuccess(raw)
	})
}

func FuzzParseBindResult(f *testing.F) {
	fuzzSeeds(f, `<iq type='result' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@localhost/probe-alice</jid></bind></iq>`)
	f.Fuzz(func(t *testing.T, raw []byte) {
		jid, err := client.ParseBindResult(raw)
		if err == nil && !strings.Contains(jid, "/") {
			t.Fatalf("bind result %q is not a full JID", jid)
		}
		if _, err := client.ParseIQResult(raw); err == nil && !client.IsStanza(raw) {
			t.Fatal("iq result that is not a stanza")
		}
	})
}
