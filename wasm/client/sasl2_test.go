package client_test

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/wasm/client"
)

// What Prosody 0.12.3 answered (servers.md §1.4–§1.7, §6), and the
// XEP-0198/0386/0388/0484 examples for what it cannot do yet. Elided SCRAM
// data is a real RFC 5802 server-final message; the FAST additional data is
// HMAC-SHA-256(token, "Responder") for the §1.7 token, whose first bytes
// (F3gE) match the transcript.
const (
	serverFinalB64 = "dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9" // "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="
	serverFinal    = "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="
	fastToken      = "secret-token:fast-am1QE1sz1mbl3tcWhFeeNv-j-6x4j1fzQcwF"
	fastResponder  = "F3gEm84N3sXGCphOilRrbmmjnFUb53dsC55fKELpeKg="

	// §1.5: SCRAM + Bind 2 + inline carbons (strict config, TLS).
	wireSuccessBind2 = `<success xmlns='urn:xmpp:sasl:2'><additional-data>` + serverFinalB64 + `</additional-data>
     <bound xmlns='urn:xmpp:bind:0'><enabled xmlns='urn:xmpp:carbons:2'/></bound>
     <authorization-identifier>alice@localhost/probe~Uk5h3wclxrRq</authorization-identifier></success>`

	// §1.4: the same over Prosody's WebSocket.
	wireSuccessWS = `<success xmlns='urn:xmpp:sasl:2'><additional-data>` + serverFinalB64 + `</additional-data><bound xmlns='urn:xmpp:bind:0'><enabled xmlns='urn:xmpp:carbons:2'/></bound><authorization-identifier>alice@localhost/ws~Uk5h3wclxrRq</authorization-identifier></success>`

	// §1.6: SASL2 without <bind/> (before a classic resume): bare JID.
	wireSuccessBare = `<success xmlns='urn:xmpp:sasl:2'><additional-data>` + serverFinalB64 + `</additional-data><authorization-identifier>alice@localhost</authorization-identifier></success>`

	// §1.7: SCRAM with <request-token/>: a token, and <bound/> empty.
	wireSuccessToken = `<success xmlns='urn:xmpp:sasl:2'><additional-data>` + serverFinalB64 + `</additional-data><bound xmlns='urn:xmpp:bind:0'/>
     <token expiry='2026-12-11T23:35:45Z' xmlns='urn:xmpp:fast:0' token='` + fastToken + `'/>
     <authorization-identifier>alice@localhost/fast~Uk5h3wclxrRq</authorization-identifier></success>`

	// §1.7: FAST login with the token.
	wireSuccessFAST = `<success xmlns='urn:xmpp:sasl:2'><additional-data>` + fastResponder + `</additional-data>
     <bound xmlns='urn:xmpp:bind:0'><enabled xmlns='urn:xmpp:carbons:2'/></bound>
     <authorization-identifier>alice@localhost/fast~Uk5h3wclxrRq</authorization-identifier></success>`

	// XEP-0388 §"Success", XEP-0198 §"Inline Stream Resumption" (and §6 of
	// servers.md with the second compat module).
	wireSuccessInlineResumed = `<success xmlns='urn:xmpp:sasl:2'>
  <additional-data>
    SGFkIHlvdSBnb2luZywgdGhlcmUsIGRpZG4ndCBJPw==
  </additional-data>
  <authorization-identifier>juliet@montague.example</authorization-identifier>
  <resumed xmlns='urn:xmpp:sm:3' h='345' previd='124'/>
</success>`

	// XEP-0198 example "Client failed to resume stream", with Bind 2's
	// current namespace and an inline <enabled/>.
	wireSuccessResumeFailedRebound = `<success xmlns='urn:xmpp:sasl:2'>
    <additional-data>` + serverFinalB64 + `</additional-data>
    <authorization-identifier>user@example.com/resource</authorization-identifier>
    <failed xmlns='urn:xmpp:sm:3' h='7'>
        <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
    </failed>
    <bound xmlns='urn:xmpp:bind:0'>
        <enabled xmlns='urn:xmpp:sm:3' id='some-long-sm-id' resume='1' max='300' location='[2001:41D0:1:A49b::1]:9222'/>
    </bound>
</success>`

	// XEP-0198 example "Client failed to resume stream and to enable
	// management of newly bound stream".
	wireSuccessBothFailed = `<success xmlns='urn:xmpp:sasl:2'>
    <additional-data>` + serverFinalB64 + `</additional-data>
    <authorization-identifier>user@example.com/resource</authorization-identifier>
    <failed xmlns='urn:xmpp:sm:3'>
        <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
    </failed>
    <bound xmlns='urn:xmpp:bind:0'>
        <failed xmlns='urn:xmpp:sm:3'>
            <internal-server-error xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>
        </failed>
    </bound>
</success>`

	// XEP-0484 §"Server provides token to client" (authorization-identity
	// sic), with the XEP-0386 archive metadata.
	wireSuccessMAM = `<success xmlns='urn:xmpp:sasl:2'>
  <authorization-identity>user@example.com/AwesomeXMPP.4232f4d4</authorization-identity>
  <bound xmlns='urn:xmpp:bind:0'>
    <metadata xmlns='urn:xmpp:mam:2'>
      <start id='YWxwaGEg' timestamp='2008-08-22T21:09:04Z' />
      <end id='b21lZ2Eg' timestamp='2020-04-20T14:34:21Z' />
    </metadata>
  </bound>
  <token xmlns='urn:xmpp:fast:0'
         expiry='2020-03-12T14:36:15.5+01:00'
         token='WXZzciBwYmFmdmZnZiBqdmd1IGp2eXFhcmZm' />
</success>`

	// XEP-0388 §"Continue".
	wireContinue = `<continue xmlns='urn:xmpp:sasl:2'>
  <additional-data>
    SSdtIGJvcmVkIG5vdy4=
  </additional-data>
  <tasks>
    <task>HOTP-EXAMPLE</task>
    <task>TOTP-EXAMPLE</task>
  </tasks>
  <text>This account requires 2FA</text>
</continue>`

	// XEP-0388 §"Challenges and Responses" (wrapped, as there).
	wireChallenge = `<challenge xmlns='urn:xmpp:sasl:2'>
  cj0xMkM0Q0Q1Qy1FMzhFLTRBOTgtOEY2RC0xNUMzOEY1MUNDQzZhMDkxMTdhNi1hYzUwLTRmMmYtOTNmMS05Mzc5OWMyYmRkZjYscz1RU1hDUitRNnNlazhiZjkyLGk9NDA5Ng==
</challenge>`
)

func TestAuthRequestMarshal(t *testing.T) {
	t.Parallel()
	clientFirst := []byte("n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL")
	cf := base64.StdEncoding.EncodeToString(clientFirst)
	ua := "<user-agent id='d4565fa7-4d72-4749-b3d3-740edbf87770'><software>probe</software><device>ci</device></user-agent>"
	tests := []struct {
		name string
		req  client.AuthRequest
		want string
	}{
		{"§1.5 SCRAM, Bind 2, carbons, SM enable with resume", client.AuthRequest{
			Mechanism: "SCRAM-SHA-1", InitialResponse: clientFirst,
			UserAgentID: "d4565fa7-4d72-4749-b3d3-740edbf87770", Software: "probe", Device: "ci",
			Bind: &client.BindRequest{Tag: "probe", Carbons: true, SMEnable: true, SMResume: true},
		}, "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-1'><initial-response>" + cf + "</initial-response>" + ua +
			"<bind xmlns='urn:xmpp:bind:0'><tag>probe</tag><enable xmlns='urn:xmpp:carbons:2'/><enable xmlns='urn:xmpp:sm:3' resume='true'/></bind></authenticate>"},
		{"§1.6 without bind, before a classic resume", client.AuthRequest{
			Mechanism: "SCRAM-SHA-1", InitialResponse: clientFirst,
			UserAgentID: "d4565fa7-4d72-4749-b3d3-740edbf87770", Software: "probe", Device: "ci",
		}, "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-1'><initial-response>" + cf + "</initial-response>" + ua + "</authenticate>"},
		{"§1.7 request a token", client.AuthRequest{
			Mechanism: "SCRAM-SHA-1", InitialResponse: clientFirst,
			UserAgentID: "d4565fa7-4d72-4749-b3d3-740edbf87770", Software: "probe", Device: "ci",
			RequestToken: "HT-SHA-256-NONE", Bind: &client.BindRequest{Tag: "fast"},
		}, "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-1'><initial-response>" + cf + "</initial-response>" + ua +
			"<request-token xmlns='urn:xmpp:fast:0' mechanism='HT-SHA-256-NONE'/><bind xmlns='urn:xmpp:bind:0'><tag>fast</tag></bind></authenticate>"},
		{"§1.7 FAST login", client.AuthRequest{
			Mechanism: "HT-SHA-256-NONE", InitialResponse: []byte("alice\x00x"),
			UserAgentID: "d4565fa7-4d72-4749-b3d3-740edbf87770", Software: "probe", Device: "ci",
			FAST: true, Bind: &client.BindRequest{Tag: "fast", Carbons: true},
		}, "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='HT-SHA-256-NONE'><initial-response>YWxpY2UAeA==</initial-response>" + ua +
			"<fast xmlns='urn:xmpp:fast:0'/><bind xmlns='urn:xmpp:bind:0'><tag>fast</tag><enable xmlns='urn:xmpp:carbons:2'/></bind></authenticate>"},
		{"XEP-0198 inline resume with Bind 2 fallback, CSI inactive wins", client.AuthRequest{
			Mechanism: "HT-SHA-256-NONE", InitialResponse: []byte("alice\x00x"), FAST: true, FASTCount: 3,
			Resume: &client.ResumeRequest{PrevID: "LLZ4Q0xfjFai", H: 4294967295},
			Bind:   &client.BindRequest{Tag: "w", SMEnable: true, CSIActive: true, CSIInactive: true},
		}, "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='HT-SHA-256-NONE'><initial-response>YWxpY2UAeA==</initial-response>" +
			"<resume xmlns='urn:xmpp:sm:3' previd='LLZ4Q0xfjFai' h='4294967295'/><fast xmlns='urn:xmpp:fast:0' count='3'/>" +
			"<bind xmlns='urn:xmpp:bind:0'><tag>w</tag><enable xmlns='urn:xmpp:sm:3'/><inactive xmlns='urn:xmpp:csi:0'/></bind></authenticate>"},
		{"log out: invalidate the token, CSI active, empty bind", client.AuthRequest{
			Mechanism: "HT-SHA-256-NONE", InitialResponse: []byte{1}, FAST: true, FASTInvalidate: true,
			Bind: &client.BindRequest{CSIActive: true},
		}, "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='HT-SHA-256-NONE'><initial-response>AQ==</initial-response>" +
			"<fast xmlns='urn:xmpp:fast:0' invalidate='true'/><bind xmlns='urn:xmpp:bind:0'><active xmlns='urn:xmpp:csi:0'/></bind></authenticate>"},
		{"no initial response", client.AuthRequest{Mechanism: "X"},
			"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='X'></authenticate>"},
		{"empty initial response is an empty element (XEP-0388)", client.AuthRequest{Mechanism: "X", InitialResponse: []byte{}},
			"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='X'><initial-response/></authenticate>"},
		{"user agent without id", client.AuthRequest{Mechanism: "X", Software: "Waxwing"},
			"<authenticate xmlns='urn:xmpp:sasl:2' mechanism='X'><user-agent><software>Waxwing</software></user-agent></authenticate>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.req.Marshal()
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			checkElement(t, got, client.NSSASL2, "authenticate")
		})
	}
}

// TestAuthRequestEscaping decodes what Marshal wrote and gets every value
// back: nothing a user or server supplies can inject markup.
func TestAuthRequestEscaping(t *testing.T) {
	t.Parallel()
	evil := `a'b"c<d>e&f]]>g`
	req := client.AuthRequest{
		Mechanism: evil, InitialResponse: []byte(evil), UserAgentID: evil, Software: evil, Device: evil,
		Resume: &client.ResumeRequest{PrevID: evil, H: 9}, RequestToken: evil, FAST: true,
		Bind: &client.BindRequest{Tag: evil},
	}
	raw := req.Marshal()
	checkElement(t, raw, client.NSSASL2, "authenticate")
	var x struct {
		Mechanism string `xml:"mechanism,attr"`
		Initial   string `xml:"urn:xmpp:sasl:2 initial-response"`
		UA        struct {
			ID       string `xml:"id,attr"`
			Software string `xml:"urn:xmpp:sasl:2 software"`
			Device   string `xml:"urn:xmpp:sasl:2 device"`
		} `xml:"urn:xmpp:sasl:2 user-agent"`
		Resume struct {
			PrevID string `xml:"previd,attr"`
		} `xml:"urn:xmpp:sm:3 resume"`
		RequestToken struct {
			Mechanism string `xml:"mechanism,attr"`
		} `xml:"urn:xmpp:fast:0 request-token"`
		Bind struct {
			Tag string `xml:"urn:xmpp:bind:0 tag"`
		} `xml:"urn:xmpp:bind:0 bind"`
	}
	if err := xml.Unmarshal(raw, &x); err != nil {
		t.Fatal(err)
	}
	ir, _ := base64.StdEncoding.DecodeString(x.Initial)
	for name, got := range map[string]string{
		"mechanism": x.Mechanism, "initial-response": string(ir), "user-agent id": x.UA.ID,
		"software": x.UA.Software, "device": x.UA.Device, "previd": x.Resume.PrevID,
		"request-token": x.RequestToken.Mechanism, "tag": x.Bind.Tag,
	} {
		if got != evil {
			t.Errorf("%s = %q, want %q", name, got, evil)
		}
	}
}

func TestMarshalResponse(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   []byte
		want string
	}{
		{[]byte("c=biws,r=x,p=y"), "<response xmlns='urn:xmpp:sasl:2'>Yz1iaXdzLHI9eCxwPXk=</response>"},
		{nil, "<response xmlns='urn:xmpp:sasl:2'/>"},
		{[]byte{}, "<response xmlns='urn:xmpp:sasl:2'/>"},
	} {
		got := client.MarshalResponse(tt.in)
		if string(got) != tt.want {
			t.Errorf("MarshalResponse(%q) = %s, want %s", tt.in, got, tt.want)
		}
		checkElement(t, got, client.NSSASL2, "response")
	}
	checkElement(t, client.MarshalAbort(), client.NSSASL2, "abort")
}

func u32(v uint32) *uint32 { return &v }

func TestParseSuccess(t *testing.T) {
	t.Parallel()
	final := []byte(serverFinal)
	responder, _ := base64.StdEncoding.DecodeString(fastResponder)
	tests := []struct {
		name    string
		in      string
		want    client.AuthResult
		wantErr string
	}{
		{"§1.5 bound with carbons", wireSuccessBind2, client.AuthResult{
			AdditionalData: final, AuthzID: "alice@localhost/probe~Uk5h3wclxrRq", Bound: true, Carbons: true}, ""},
		{"§1.4 websocket", wireSuccessWS, client.AuthResult{
			AdditionalData: final, AuthzID: "alice@localhost/ws~Uk5h3wclxrRq", Bound: true, Carbons: true}, ""},
		{"§1.6 no bind: bare JID", wireSuccessBare, client.AuthResult{
			AdditionalData: final, AuthzID: "alice@localhost"}, ""},
		{"§1.7 token issued", wireSuccessToken, client.AuthResult{
			AdditionalData: final, AuthzID: "alice@localhost/fast~Uk5h3wclxrRq", Bound: true,
			Token: &client.FASTToken{Token: fastToken, Expiry: time.Date(2026, 12, 11, 23, 35, 45, 0, time.UTC)}}, ""},
		{"§1.7 FAST login", wireSuccessFAST, client.AuthResult{
			AdditionalData: responder, AuthzID: "alice@localhost/fast~Uk5h3wclxrRq", Bound: true, Carbons: true}, ""},
		{"XEP-0388 inline resumption (wrapped base64)", wireSuccessInlineResumed, client.AuthResult{
			AdditionalData: []byte("Had you going, there, didn't I?"), AuthzID: "juliet@montague.example",
			Resumed: &client.SMResumed{PrevID: "124", H: 345}}, ""},
		{"XEP-0198 resumption failed, rebound with inline SM", wireSuccessResumeFailedRebound, client.AuthResult{
			AdditionalData: final, AuthzID: "user@example.com/resource", Bound: true,
			ResumeFailed: &client.SMFailed{H: u32(7), Condition: "item-not-found"},
			SMEnabled:    &client.SMEnabled{ID: "some-long-sm-id", Resume: true, Max: 300, Location: "[2001:41D0:1:A49b::1]:9222"}}, ""},
		{"XEP-0198 resumption and enable both failed", wireSuccessBothFailed, client.AuthResult{
			AdditionalData: final, AuthzID: "user@example.com/resource", Bound: true,
			ResumeFailed:   &client.SMFailed{Condition: "item-not-found"},
			SMEnableFailed: &client.SMFailed{Condition: "internal-server-error"}}, ""},
		{"XEP-0484 token, MAM metadata, authorization-identity", wireSuccessMAM, client.AuthResult{
			AuthzID: "user@example.com/AwesomeXMPP.4232f4d4", Bound: true,
			Token: &client.FASTToken{Token: "WXZzciBwYmFmdmZnZiBqdmd1IGp2eXFhcmZm",
				Expiry: time.Date(2020, 3, 12, 13, 36, 15, 500e6, time.UTC)},
			MAMMetadata: []byte(`<metadata xmlns='urn:xmpp:mam:2'>
      <start id='YWxwaGEg' timestamp='2008-08-22T21:09:04Z' />
      <end id='b21lZ2Eg' timestamp='2020-04-20T14:34:21Z' />
    </metadata>`)}, ""},
		{"empty additional-data is empty, not absent",
			`<success xmlns='urn:xmpp:sasl:2'><additional-data/><authorization-identifier>a@b</authorization-identifier></success>`,
			client.AuthResult{AdditionalData: []byte{}, AuthzID: "a@b"}, ""},
		{"token without a usable expiry",
			`<success xmlns='urn:xmpp:sasl:2'><token xmlns='urn:xmpp:fast:0' token='t' expiry='soon'/></success>`,
			client.AuthResult{Token: &client.FASTToken{Token: "t"}}, ""},
		{"token without a token is no token",
			`<success xmlns='urn:xmpp:sasl:2'><token xmlns='urn:xmpp:fast:0' expiry='2026-12-11T23:35:45Z'/></success>`,
			client.AuthResult{}, ""},
		{"elements in other namespaces are ignored",
			`<success xmlns='urn:xmpp:sasl:2'><bound xmlns='urn:xmpp:bind2:1'/><resumed xmlns='urn:xmpp:sm:2' h='1' previd='x'/><token token='t'/></success>`,
			client.AuthResult{}, ""},
		{"failure is an AuthError", wireSASL2WrongPassword, client.AuthResult{}, "not-authorized"},
		{"bad base64", `<success xmlns='urn:xmpp:sasl:2'><additional-data>***</additional-data></success>`, client.AuthResult{}, "base64"},
		{"resumed without h", `<success xmlns='urn:xmpp:sasl:2'><resumed xmlns='urn:xmpp:sm:3' previd='x'/></success>`, client.AuthResult{}, "without h"},
		{"resumed with a negative h", `<success xmlns='urn:xmpp:sasl:2'><resumed xmlns='urn:xmpp:sm:3' previd='x' h='-1'/></success>`, client.AuthResult{}, "bad h"},
		{"failed with h beyond 32 bits", `<success xmlns='urn:xmpp:sasl:2'><failed xmlns='urn:xmpp:sm:3' h='4294967296'/></success>`, client.AuthResult{}, "bad h"},
		{"SASL1 success", `<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`, client.AuthResult{}, "want <success xmlns='urn:xmpp:sasl:2'>"},
		{"malformed", `<success xmlns='urn:xmpp:sasl:2'><bound>`, client.AuthResult{}, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := client.ParseSuccess([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Compare expiries as instants.
			if got.Token != nil && tt.want.Token != nil {
				if !got.Token.Expiry.Equal(tt.want.Token.Expiry) {
					t.Errorf("expiry %v, want %v", got.Token.Expiry, tt.want.Token.Expiry)
				}
				got.Token.Expiry = tt.want.Token.Expiry
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %s\nwant %s", dumpResult(got), dumpResult(tt.want))
			}
		})
	}
	// A failure comes back as the *AuthError.
	_, err := client.ParseSuccess([]byte(wireFASTWrongToken))
	var ae *client.AuthError
	if !errors.As(err, &ae) || ae.Condition != "not-authorized" || !ae.SASL2 {
		t.Errorf("ParseSuccess(failure) error = %#v", err)
	}
}

func dumpResult(r client.AuthResult) string {
	s := fmt.Sprintf("%+v", r)
	if r.SMEnabled != nil {
		s += fmt.Sprintf(" SMEnabled=%+v", *r.SMEnabled)
	}
	if r.Resumed != nil {
		s += fmt.Sprintf(" Resumed=%+v", *r.Resumed)
	}
	if r.Token != nil {
		s += fmt.Sprintf(" Token=%+v", *r.Token)
	}
	for name, f := range map[string]*client.SMFailed{"SMEnableFailed": r.SMEnableFailed, "ResumeFailed": r.ResumeFailed} {
		if f != nil {
			s += " " + name + "=" + dumpFailed(*f)
		}
	}
	return s
}

func dumpFailed(f client.SMFailed) string {
	if f.H == nil {
		return fmt.Sprintf("{H:nil Condition:%s}", f.Condition)
	}
	return fmt.Sprintf("{H:%d Condition:%s}", *f.H, f.Condition)
}

func TestParseChallenge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want, wantErr string
	}{
		{wireChallenge, "r=12C4CD5C-E38E-4A98-8F6D-15C38F51CCC6a09117a6-ac50-4f2f-93f1-93799c2bddf6,s=QSXCR+Q6sek8bf92,i=4096", ""},
		{`<challenge xmlns='urn:xmpp:sasl:2'>cj0y</challenge>`, "r=2", ""},
		{`<challenge xmlns='urn:xmpp:sasl:2'/>`, "", ""},
		{`<challenge xmlns='urn:xmpp:sasl:2'>=</challenge>`, "", ""},
		{`<challenge xmlns='urn:xmpp:sasl:2'>!!</challenge>`, "", "base64"},
		{`<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>cj0y</challenge>`, "", "want <challenge xmlns='urn:xmpp:sasl:2'>"},
		{`<challenge xmlns='urn:xmpp:sasl:2'>cj0y`, "", "malformed"},
	}
	for _, tt := range tests {
		got, err := client.ParseChallenge([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseChallenge(%.50q) error %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || string(got) != tt.want || got == nil {
			t.Errorf("ParseChallenge(%.50q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseContinue(t *testing.T) {
	t.Parallel()
	ce, err := client.ParseContinue([]byte(wireContinue))
	if err != nil {
		t.Fatal(err)
	}
	want := &client.ContinueError{Tasks: []string{"HOTP-EXAMPLE", "TOTP-EXAMPLE"}, Text: "This account requires 2FA", AdditionalData: []byte("I'm bored now.")}
	if !reflect.DeepEqual(ce, want) {
		t.Errorf("got %+v, want %+v", ce, want)
	}
	if msg := ce.Error(); !strings.Contains(msg, "HOTP-EXAMPLE, TOTP-EXAMPLE") || !strings.Contains(msg, "2FA") {
		t.Errorf("Error() = %q", msg)
	}
	if _, err := client.ParseContinue([]byte(wireSuccessBare)); !errors.Is(err, client.ErrNotContinue) {
		t.Errorf("ParseContinue(success) error = %v, want ErrNotContinue", err)
	}
	if _, err := client.ParseContinue([]byte(`<continue xmlns='urn:xmpp:sasl:2'>`)); err == nil {
		t.Error("ParseContinue(truncated) succeeded")
	}
}

func FuzzParseSuccess(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := client.ParseSuccess(raw)
		if err != nil {
			return
		}
		if r.Token != nil && r.Token.Token == "" {
			t.Fatal("token without a value")
		}
		if r.MAMMetadata != nil && !bytes.HasPrefix(r.MAMMetadata, []byte("<metadata xmlns='urn:xmpp:mam:2'>")) {
			t.Fatalf("metadata %q", r.MAMMetadata)
		}
		if (r.Carbons || r.SMEnabled != nil || r.SMEnableFailed != nil || r.MAMMetadata != nil) && !r.Bound {
			t.Fatal("bind results without <bound/>")
		}
	})
}

func FuzzParseChallenge(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := client.ParseChallenge(raw)
		if err == nil && d == nil {
			t.Fatal("nil data without an error")
		}
		if d2, err := client.ParseSASLChallenge(raw); err == nil && d2 == nil {
			t.Fatal("nil data without an error (SASL1)")
		}
	})
}

func FuzzParseContinue(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		ce, err := client.ParseContinue(raw)
		if (ce == nil) == (err == nil) {
			t.Fatalf("ParseContinue = %v, %v: want exactly one", ce, err)
		}
		if ce != nil {
			_ = ce.Error()
		}
	})
}
