package client_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/waxwing-im/waxwing/wasm/client"
)

// Failures and stream errors as seen on the wire (servers.md §1.4, §1.5,
// §1.7, §2.3) and as `waxwing serve` writes them (bridge/rfc7395.go).
const (
	wireSASL2WrongPassword      = `<failure xmlns='urn:xmpp:sasl:2'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/><text>The response provided by the client doesn&apos;t match the one we calculated.</text></failure>`
	wireSASL2EncryptionRequired = `<failure xmlns='urn:xmpp:sasl:2'><encryption-required xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></failure>`
	wireFASTWrongToken          = `<failure xmlns='urn:xmpp:sasl:2'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></failure>`
	wireEjabberdWrongPassword   = `<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/><text xml:lang='en'>Invalid username or password</text></failure>`
	wireProsodyStreamError      = `<stream:error xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>No stream features to proceed with</text></stream:error>`
	wireBridgeStreamError       = `<stream:error xmlns:stream='http://etherx.jabber.org/streams'><remote-connection-failed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>certificate for other.example</text><upstream-tls-failed xmlns='urn:waxwing:bridge:0'/></stream:error>`
)

func TestParseFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want *client.AuthError
	}{
		{"§1.5 SASL2 wrong password", wireSASL2WrongPassword, &client.AuthError{SASL2: true, Condition: "not-authorized",
			Text: "The response provided by the client doesn't match the one we calculated."}},
		{"§1.4 SASL2 without TLS", wireSASL2EncryptionRequired, &client.AuthError{SASL2: true, Condition: "encryption-required"}},
		{"§1.7 wrong FAST token", wireFASTWrongToken, &client.AuthError{SASL2: true, Condition: "not-authorized"}},
		{"§2.3 ejabberd wrong password", wireEjabberdWrongPassword, &client.AuthError{Condition: "not-authorized", Text: "Invalid username or password"}},
		{"§6 SCRAM after a failed FAST", `<failure xmlns='urn:xmpp:sasl:2'><invalid-mechanism xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></failure>`,
			&client.AuthError{SASL2: true, Condition: "invalid-mechanism"}},
		{"Prosody mod_sasl2 internal error: condition without namespace", `<failure xmlns='urn:xmpp:sasl:2'><temporary-auth-failure/></failure>`,
			&client.AuthError{SASL2: true, Condition: "temporary-auth-failure"}},
		{"XEP-0388 example with an application condition", `<failure xmlns='urn:xmpp:sasl:2'>
  <aborted xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>
  <optional-application-specific xmlns='urn:something:else'/>
  <text>This is a terrible example.</text>
</failure>`, &client.AuthError{SASL2: true, Condition: "aborted", Text: "This is a terrible example.",
			AppCondition: "optional-application-specific", AppNS: "urn:something:else"}},
		{"account disabled", `<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><account-disabled/><text>gone</text></failure>`,
			&client.AuthError{Condition: "account-disabled", Text: "gone"}},
		{"no condition", `<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`, &client.AuthError{}},
		{"SM failed is not a SASL failure", `<failed xmlns='urn:xmpp:sm:3'/>`, nil},
		{"failure in another namespace", `<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`, nil},
		{"success", wireSuccessBare, nil},
		{"junk", `]]>`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := client.ParseFailure([]byte(tt.in))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
	// A failure element that does not decode is still a failure.
	if got := client.ParseFailure([]byte(`<failure xmlns='urn:xmpp:sasl:2'><text>`)); got == nil || !got.SASL2 || got.Condition != "" {
		t.Errorf("truncated failure = %#v", got)
	}
}

func TestAuthErrorString(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		e    client.AuthError
		want string
	}{
		{client.AuthError{SASL2: true, Condition: "not-authorized", Text: "bad"}, "sasl2 failure: not-authorized: bad"},
		{client.AuthError{Condition: "aborted", AppCondition: "x"}, "sasl failure: aborted (x)"},
		{client.AuthError{}, "sasl failure: unspecified condition"},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%+v.Error() = %q, want %q", tt.e, got, tt.want)
		}
	}
}

func TestParseStreamError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want *client.StreamError
	}{
		{"§1.4 Prosody websocket without features", wireProsodyStreamError,
			&client.StreamError{Condition: "undefined-condition", Text: "No stream features to proceed with"}},
		{"bridge: upstream TLS failed", wireBridgeStreamError, &client.StreamError{Condition: "remote-connection-failed",
			Text: "certificate for other.example", AppCondition: "upstream-tls-failed", AppNS: client.NSBridge}},
		{"bridge: upstream unreachable, no text", `<stream:error xmlns:stream='http://etherx.jabber.org/streams'><remote-connection-failed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><upstream-unreachable xmlns='urn:waxwing:bridge:0'/></stream:error>`,
			&client.StreamError{Condition: "remote-connection-failed", AppCondition: "upstream-unreachable", AppNS: client.NSBridge}},
		{"§1.4 Prosody websocket without jabber:client", `<stream:error><unsupported-stanza-type xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`,
			&client.StreamError{Condition: "unsupported-stanza-type"}},
		{"XEP-0198 handled-count-too-high", `<stream:error xmlns:stream='http://etherx.jabber.org/streams'>
  <undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>
  <handled-count-too-high xmlns='urn:xmpp:sm:3' h='10' send-count='8'/>
  <text xml:lang='en' xmlns='urn:ietf:params:xml:ns:xmpp-streams'>
    You acknowledged 10 stanzas, but I only sent you 8 so far.
  </text>
</stream:error>`, &client.StreamError{Condition: "undefined-condition", AppCondition: "handled-count-too-high", AppNS: client.NSSM,
			Text: "You acknowledged 10 stanzas, but I only sent you 8 so far."}},
		{"XEP-0198 conflict after a resume elsewhere", `<stream:error xmlns:stream='http://etherx.jabber.org/streams'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`,
			&client.StreamError{Condition: "conflict"}},
		{"no condition", `<stream:error xmlns:stream='http://etherx.jabber.org/streams'/>`, &client.StreamError{Condition: "undefined-condition"}},
		{"truncated start tag", `<stream:error xmlns:stream='http://etherx.jabber.org/streams'`, nil},
		{"jabber:client error is a stanza error's child, not a stream error", `<error xmlns='jabber:client'/>`, nil},
		{"SASL failure", wireSASL2WrongPassword, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := client.ParseStreamError([]byte(tt.in))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
	// A stream error whose start tag is fine but whose body is not still
	// ends the stream.
	got := client.ParseStreamError([]byte(`<stream:error xmlns:stream='http://etherx.jabber.org/streams'><conflict></stream:error>`))
	if got == nil || got.Condition != "undefined-condition" || !strings.Contains(got.Text, "malformed") {
		t.Errorf("malformed stream error = %#v", got)
	}
	if s := (&client.StreamError{Condition: "conflict", AppCondition: "x", Text: "t"}).Error(); s != "stream error: conflict (x): t" {
		t.Errorf("Error() = %q", s)
	}
}

func FuzzParseFailure(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		if e := client.ParseFailure(raw); e != nil {
			if _, local := client.ElementName(raw); local != "failure" {
				t.Fatalf("failure from <%s>", local)
			}
			_ = e.Error()
		}
	})
}

func FuzzParseStreamError(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		if e := client.ParseStreamError(raw); e != nil {
			if e.Condition == "" {
				t.Fatal("stream error without a condition")
			}
			_ = e.Error()
		}
	})
}
