package client_test

import (
	"encoding/xml"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/waxwing-im/waxwing/wasm/client"
	"github.com/waxwing-im/waxwing/wasm/frame"
)

// Stream features as Prosody 0.12.3 and ejabberd 23.01 sent them
// (/work/shared/design/servers.md §1.4, §1.5, §2.3), with the elided parts
// filled in as the text there describes them.
const (
	// §1.4: Prosody after STARTTLS with the compat shim and mod_sasl2_sm
	// (sm:3 listed twice inside Bind 2: a module bug).
	wireProsodyTLS = `<stream:features xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'>
     <authentication xmlns='urn:xmpp:sasl:2'><mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism>
       <inline>
         <bind xmlns='urn:xmpp:bind:0'><inline><feature var='urn:xmpp:carbons:2'/><feature var='urn:xmpp:csi:0'/>
           <feature var='urn:xmpp:sm:3'/><feature var='urn:xmpp:sm:3'/></inline></bind>
         <sm xmlns='urn:xmpp:sm:3'/>
         <fast xmlns='urn:xmpp:fast:0'><mechanism>HT-SHA-256-NONE</mechanism><mechanism>HT-SHA-256-EXPR</mechanism></fast>
       </inline></authentication>
     <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms>
   </stream:features>`

	// §1.4: Prosody's own WebSocket with consider_websocket_secure.
	wireProsodyWS = `<stream:features xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'><authentication xmlns='urn:xmpp:sasl:2'><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism><inline><bind xmlns='urn:xmpp:bind:0'><inline><feature var='urn:xmpp:carbons:2'/><feature var='urn:xmpp:csi:0'/></inline></bind><fast xmlns='urn:xmpp:fast:0'><mechanism>HT-SHA-256-NONE</mechanism></fast></inline></authentication><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms></stream:features>`

	// §1.4: loopback config, plain TCP: SASL2 without TLS, STARTTLS offered.
	wireProsodyLoopback = `<stream:features xmlns:stream='http://etherx.jabber.org/streams'><authentication xmlns='urn:xmpp:sasl:2'><mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism><inline><bind xmlns='urn:xmpp:bind:0'><inline><feature var='urn:xmpp:carbons:2'/><feature var='urn:xmpp:csi:0'/></inline></bind><fast xmlns='urn:xmpp:fast:0'><mechanism>HT-SHA-256-NONE</mechanism></fast></inline></authentication><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>`

	// §1.4: password_hash = "SHA-256".
	wireProsodySHA256 = `<stream:features xmlns:stream='http://etherx.jabber.org/streams'><authentication xmlns='urn:xmpp:sasl:2'><mechanism>SCRAM-SHA-256</mechanism><mechanism>PLAIN</mechanism><inline><bind xmlns='urn:xmpp:bind:0'><inline><feature var='urn:xmpp:carbons:2'/><feature var='urn:xmpp:csi:0'/></inline></bind></inline></authentication><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-256</mechanism><mechanism>PLAIN</mechanism></mechanisms></stream:features>`

	// §1.4: before STARTTLS, strict config.
	wireProsodyPreTLS = `<stream:features xmlns:stream='http://etherx.jabber.org/streams'><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>`

	// §1.5: right after SASL2 <success/> (no stream restart).
	wireProsodyAfterSASL2 = `<stream:features xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'><sub xmlns='urn:xmpp:features:pre-approval'/><ver xmlns='urn:xmpp:features:rosterver'/><csi xmlns='urn:xmpp:csi:0'/><c hash='sha-1' node='http://prosody.im' ver='x' xmlns='http://jabber.org/protocol/caps'/><sm xmlns='urn:xmpp:sm:2'><optional/></sm><sm xmlns='urn:xmpp:sm:3'><optional/></sm><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><required/></bind><session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session></stream:features>`

	// §2.3: ejabberd after STARTTLS; the stream prefix is declared only on
	// the TCP stream header.
	wireEjabberdTLS = `<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1-PLUS</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>`

	// §2.3: ejabberd after SASL and the restart.
	wireEjabberdAfterSASL = `<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://www.process-one.net/en/ejabberd/' ver='y'/><sm xmlns='urn:xmpp:sm:2'/><sm xmlns='urn:xmpp:sm:3'/><ver xmlns='urn:xmpp:features:rosterver'/><csi xmlns='urn:xmpp:csi:0'/></stream:features>`

	// XEP-0388 §"SASL mechanism negotiation": Bind 2 without an inline list.
	wireXEP0388Features = `<stream:features xmlns:stream='http://etherx.jabber.org/streams'>
  <authentication xmlns='urn:xmpp:sasl:2'>
    <mechanism>SCRAM-SHA-1</mechanism>
    <mechanism>SCRAM-SHA-1-PLUS</mechanism>
    <inline>
      <sm xmlns='urn:xmpp:sm:3'/>
      <bind xmlns='urn:xmpp:bind:0'/>
    </inline>
  </authentication>
  <sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'>
    <channel-binding type='tls-server-end-point'/>
    <channel-binding type='tls-exporter'/>
  </sasl-channel-binding>
</stream:features>`
)

func TestParseFeatures(t *testing.T) {
	t.Parallel()
	carbonsCSI := []string{client.NSCarbons, client.NSCSI}
	tests := []struct {
		name    string
		in      string
		want    client.Features
		wantErr string
	}{
		{"prosody TLS with shim and inline SM", wireProsodyTLS, client.Features{
			SASL: []string{"PLAIN", "SCRAM-SHA-1"},
			SASL2: &client.SASL2Feature{
				Mechanisms: []string{"PLAIN", "SCRAM-SHA-1"},
				Bind2:      &client.Bind2Feature{Inline: []string{client.NSCarbons, client.NSCSI, client.NSSM}},
				InlineSM:   true,
				FAST:       []string{"HT-SHA-256-NONE", "HT-SHA-256-EXPR"},
			}}, ""},
		{"prosody websocket", wireProsodyWS, client.Features{
			SASL: []string{"SCRAM-SHA-1", "PLAIN"},
			SASL2: &client.SASL2Feature{
				Mechanisms: []string{"SCRAM-SHA-1", "PLAIN"},
				Bind2:      &client.Bind2Feature{Inline: carbonsCSI},
				FAST:       []string{"HT-SHA-256-NONE"},
			}}, ""},
		{"prosody loopback TCP", wireProsodyLoopback, client.Features{
			SASL:     []string{"PLAIN", "SCRAM-SHA-1"},
			StartTLS: true,
			SASL2: &client.SASL2Feature{
				Mechanisms: []string{"PLAIN", "SCRAM-SHA-1"},
				Bind2:      &client.Bind2Feature{Inline: carbonsCSI},
				FAST:       []string{"HT-SHA-256-NONE"},
			}}, ""},
		{"prosody SHA-256 accounts, no FAST", wireProsodySHA256, client.Features{
			SASL: []string{"SCRAM-SHA-256", "PLAIN"},
			SASL2: &client.SASL2Feature{
				Mechanisms: []string{"SCRAM-SHA-256", "PLAIN"},
				Bind2:      &client.Bind2Feature{Inline: carbonsCSI},
			}}, ""},
		{"prosody before STARTTLS", wireProsodyPreTLS, client.Features{StartTLS: true}, ""},
		{"prosody after SASL2: sm:2 ignored, sm:3 seen", wireProsodyAfterSASL2, client.Features{
			Bind: true, SM: true, CSI: true, RosterVer: true}, ""},
		{"ejabberd TLS, undeclared stream prefix", wireEjabberdTLS, client.Features{
			SASL: []string{"PLAIN", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"}}, ""},
		{"ejabberd after SASL", wireEjabberdAfterSASL, client.Features{
			Bind: true, SM: true, CSI: true, RosterVer: true}, ""},
		{"XEP-0388 example: Bind 2 with no inline list", wireXEP0388Features, client.Features{
			SASL2: &client.SASL2Feature{
				Mechanisms: []string{"SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"},
				Bind2:      &client.Bind2Feature{},
				InlineSM:   true,
			}}, ""},
		{"empty features", `<stream:features xmlns:stream='http://etherx.jabber.org/streams'/>`, client.Features{}, ""},
		{"features in the wrong namespace are not features",
			`<stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind xmlns='urn:xmpp:bind2:1'/><sm xmlns='urn:xmpp:sm:2'/><mechanisms><mechanism>PLAIN</mechanism></mechanisms></stream:features>`,
			client.Features{}, ""},
		{"blank and repeated mechanisms", `<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism> SCRAM-SHA-1 </mechanism><mechanism/><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>`,
			client.Features{SASL: []string{"SCRAM-SHA-1"}}, ""},
		{"not features", `<success xmlns='urn:xmpp:sasl:2'/>`, client.Features{}, "want <stream:features>"},
		{"features in another namespace", `<features xmlns='jabber:client'/>`, client.Features{}, "want <stream:features>"},
		{"truncated", `<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms>`, client.Features{}, "malformed"},
		{"empty input", ``, client.Features{}, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := client.ParseFeatures([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %s\nwant %s", dumpFeatures(got), dumpFeatures(tt.want))
			}
		})
	}
}

func dumpFeatures(f client.Features) string {
	s := fmt.Sprintf("%+v", f)
	if f.SASL2 != nil {
		s += fmt.Sprintf(" SASL2=%+v", *f.SASL2)
		if f.SASL2.Bind2 != nil {
			s += fmt.Sprintf(" Bind2=%+v", *f.SASL2.Bind2)
		}
	}
	return s
}

func TestBind2FeatureHas(t *testing.T) {
	t.Parallel()
	var none *client.Bind2Feature
	if none.Has(client.NSCarbons) {
		t.Error("nil Bind2Feature has carbons")
	}
	b := &client.Bind2Feature{Inline: []string{client.NSCarbons, client.NSCSI}}
	for ns, want := range map[string]bool{client.NSCarbons: true, client.NSCSI: true, client.NSSM: false, "": false} {
		if got := b.Has(ns); got != want {
			t.Errorf("Has(%q) = %v, want %v", ns, got, want)
		}
	}
}

func TestElementName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, ns, local string
		stanza        bool
	}{
		{`<message xmlns='jabber:client' type='chat' id='m1'><body>hi</body></message>`, client.NSClient, "message", true},
		{`<presence from='alice@localhost/tag~TUWBYOSoOpGi'/>`, client.NSClient, "presence", true},
		{`<iq id='ping1' to='alice@localhost/probe~Uk5h3wclxrRq' type='result' from='localhost'/>`, client.NSClient, "iq", true},
		{`<message xmlns='jabber:server'/>`, "jabber:server", "message", false},
		{`<r xmlns='urn:xmpp:sm:3'/>`, client.NSSM, "r", false},
		{`<resumed h='1' xmlns='urn:xmpp:sm:3' previd='LLZ4Q0xfjFai'/>`, client.NSSM, "resumed", false},
		{`<success xmlns='urn:xmpp:sasl:2'><authorization-identifier>a@b</authorization-identifier></success>`, client.NSSASL2, "success", false},
		{`<stream:features xmlns:stream='http://etherx.jabber.org/streams'/>`, client.NSStream, "features", false},
		{`<stream:features/>`, client.NSStream, "features", false},
		{`<stream:error xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`, client.NSStream, "error", false},
		{`<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0' id='x' from='localhost'/>`, "urn:ietf:params:xml:ns:xmpp-framing", "open", false},
		{`<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>`, "urn:ietf:params:xml:ns:xmpp-framing", "close", false},
		{`  <?xml version='1.0'?><message xmlns='jabber:client'/>`, client.NSClient, "message", true},
		{`<c:message xmlns:c='jabber:client'/>`, client.NSClient, "message", true},
		{``, "", "", false},
		{`not xml`, "", "", false},
		{`<`, "", "", false},
	}
	for _, tt := range tests {
		ns, local := client.ElementName([]byte(tt.in))
		if ns != tt.ns || local != tt.local {
			t.Errorf("ElementName(%.60q) = %q, %q; want %q, %q", tt.in, ns, local, tt.ns, tt.local)
		}
		if got := client.IsStanza([]byte(tt.in)); got != tt.stanza {
			t.Errorf("IsStanza(%.60q) = %v, want %v", tt.in, got, tt.stanza)
		}
	}
}

func TestElementAttr(t *testing.T) {
	t.Parallel()
	raw := []byte(`<iq xmlns='jabber:client' type='result' id='a&amp;b' xml:lang='en'><x id='inner'/></iq>`)
	for name, want := range map[string]string{"type": "result", "id": "a&b", "lang": "", "to": ""} {
		if got := client.ElementAttr(raw, name); got != want {
			t.Errorf("ElementAttr(%q) = %q, want %q", name, got, want)
		}
	}
	if got := client.ElementAttr([]byte("junk"), "id"); got != "" {
		t.Errorf("ElementAttr(junk) = %q", got)
	}
}

// checkElement fails unless raw is one well-formed element in namespace ns
// named local, as the frame scanner and encoding/xml see it: what goes in
// one WebSocket message.
func checkElement(t *testing.T, raw []byte, ns, local string) {
	t.Helper()
	sc := frame.NewScanner(frame.Fragments, frame.Limits{})
	sc.Write(raw)
	tok, ok, err := sc.Next()
	if err != nil || !ok || tok.Kind != frame.Element || len(tok.Raw) != len(raw) {
		t.Fatalf("%s: not one complete element (ok=%v err=%v)", raw, ok, err)
	}
	d := xml.NewDecoder(strings.NewReader(string(raw)))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("%s: %v", raw, err)
			}
			break
		}
	}
	if gotNS, gotLocal := client.ElementName(raw); gotNS != ns || gotLocal != local {
		t.Fatalf("%s: element {%s}%s, want {%s}%s", raw, gotNS, gotLocal, ns, local)
	}
}

// fuzzSeeds adds every wire fixture of this package's tests to f.
func fuzzSeeds(f *testing.F, extra ...string) {
	for _, s := range slices.Concat(allWire, extra) {
		f.Add([]byte(s))
	}
}

var allWire = []string{
	wireProsodyTLS, wireProsodyWS, wireProsodyLoopback, wireProsodySHA256, wireProsodyPreTLS,
	wireProsodyAfterSASL2, wireEjabberdTLS, wireEjabberdAfterSASL, wireXEP0388Features,
	wireSuccessBind2, wireSuccessWS, wireSuccessBare, wireSuccessToken, wireSuccessFAST,
	wireSuccessInlineResumed, wireSuccessResumeFailedRebound, wireSuccessBothFailed, wireSuccessMAM,
	wireSASL2WrongPassword, wireSASL2EncryptionRequired, wireFASTWrongToken, wireEjabberdWrongPassword,
	wireProsodyStreamError, wireBridgeStreamError, wireSMEnabledProsody, wireSMEnabledEjabberd,
	wireSMResumed, wireSMFailed, wireContinue, wireChallenge,
}

func FuzzParseFeatures(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := client.ParseFeatures(raw)
		if err != nil {
			return
		}
		if got.SASL2 != nil && got.SASL2.Bind2 != nil {
			seen := map[string]bool{}
			for _, v := range got.SASL2.Bind2.Inline {
				if v == "" || seen[v] {
					t.Fatalf("Bind2 inline %q: empty or repeated", got.SASL2.Bind2.Inline)
				}
				seen[v] = true
			}
		}
		for _, m := range got.SASL {
			if m == "" || strings.TrimSpace(m) != m {
				t.Fatalf("mechanism %q not trimmed", m)
			}
		}
	})
}

func FuzzElementName(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		ns, local := client.ElementName(raw)
		if local == "" && ns != "" {
			t.Fatalf("namespace %q without a name", ns)
		}
		if client.IsStanza(raw) && ns != client.NSClient {
			t.Fatalf("stanza outside jabber:client: %q", ns)
		}
		_ = client.ElementAttr(raw, "id")
	})
}
