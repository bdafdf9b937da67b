package client_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/waxwing-im/waxwing/wasm/client"
)

// XEP-0198 elements from Prosody 0.12.3 and ejabberd 23.01 (servers.md
// §1.5, §1.6, §2.3).
const (
	wireSMEnabledProsody  = `<enabled id='f0rGiACLXcl6' resume='true' xmlns='urn:xmpp:sm:3' max='600'/>`
	wireSMEnabledEjabberd = `<enabled resume='true' max='600' id='g2gCbQAAAAtwcm9iZS1hbGljZW0AAAAIKYHWk91of+s=' xmlns='urn:xmpp:sm:3'/>`
	wireSMResumed         = `<resumed h='1' xmlns='urn:xmpp:sm:3' previd='LLZ4Q0xfjFai'/>`
	wireSMFailed          = `<failed xmlns='urn:xmpp:sm:3'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>`
)

func TestMarshalSM(t *testing.T) {
	t.Parallel()
	tests := []struct {
		got   []byte
		want  string
		local string
	}{
		{client.MarshalEnable(true), "<enable xmlns='urn:xmpp:sm:3' resume='true'/>", "enable"},
		{client.MarshalEnable(false), "<enable xmlns='urn:xmpp:sm:3'/>", "enable"},
		{client.MarshalResume("LLZ4Q0xfjFai", 0), "<resume xmlns='urn:xmpp:sm:3' previd='LLZ4Q0xfjFai' h='0'/>", "resume"},
		{client.MarshalResume("a'b<c", 4294967295), "<resume xmlns='urn:xmpp:sm:3' previd='a&apos;b&lt;c' h='4294967295'/>", "resume"},
		{client.MarshalR(), "<r xmlns='urn:xmpp:sm:3'/>", "r"},
		{client.MarshalA(3), "<a xmlns='urn:xmpp:sm:3' h='3'/>", "a"},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
		checkElement(t, tt.got, client.NSSM, tt.local)
	}
	// What MarshalResume writes, ParseResumed-style parsing reads back.
	h, err := client.ParseA(client.MarshalA(4294967295))
	if err != nil || h != 4294967295 {
		t.Errorf("ParseA(MarshalA(max)) = %d, %v", h, err)
	}
}

func TestParseEnabled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     client.SMEnabled
		wantErr  string
	}{
		{"§1.5 Prosody", wireSMEnabledProsody, client.SMEnabled{ID: "f0rGiACLXcl6", Resume: true, Max: 600}, ""},
		{"§2.3 ejabberd", wireSMEnabledEjabberd, client.SMEnabled{ID: "g2gCbQAAAAtwcm9iZS1hbGljZW0AAAAIKYHWk91of+s=", Resume: true, Max: 600}, ""},
		{"XEP-0198 location, resume='1'", `<enabled xmlns='urn:xmpp:sm:3' id='some-long-sm-id' location='[2001:41D0:1:A49b::1]:9222' resume='1'/>`,
			client.SMEnabled{ID: "some-long-sm-id", Resume: true, Location: "[2001:41D0:1:A49b::1]:9222"}, ""},
		{"no resumption", `<enabled xmlns='urn:xmpp:sm:3' id='x'/>`, client.SMEnabled{ID: "x"}, ""},
		{"resume='false', bad max", `<enabled xmlns='urn:xmpp:sm:3' resume='false' max='ten'/>`, client.SMEnabled{}, ""},
		{"negative max", `<enabled xmlns='urn:xmpp:sm:3' max='-5'/>`, client.SMEnabled{}, ""},
		{"sm:2", `<enabled xmlns='urn:xmpp:sm:2' id='x'/>`, client.SMEnabled{}, "want <enabled xmlns='urn:xmpp:sm:3'>"},
		{"resumed", wireSMResumed, client.SMEnabled{}, "want <enabled"},
		{"malformed", `<enabled xmlns='urn:xmpp:sm:3'`, client.SMEnabled{}, "malformed"},
	}
	for _, tt := range tests {
		got, err := client.ParseEnabled([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
}

func TestParseResumed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     client.SMResumed
		wantErr  string
	}{
		{"§1.6 Prosody", wireSMResumed, client.SMResumed{PrevID: "LLZ4Q0xfjFai", H: 1}, ""},
		{"§2.3 ejabberd attribute order", `<resumed xmlns='urn:xmpp:sm:3' previd='g2gCbQ' h='0'/>`, client.SMResumed{PrevID: "g2gCbQ", H: 0}, ""},
		{"largest h", `<resumed xmlns='urn:xmpp:sm:3' previd='p' h='4294967295'/>`, client.SMResumed{PrevID: "p", H: 4294967295}, ""},
		{"h overflows", `<resumed xmlns='urn:xmpp:sm:3' previd='p' h='4294967296'/>`, client.SMResumed{}, "bad h"},
		{"h signed", `<resumed xmlns='urn:xmpp:sm:3' previd='p' h='+1'/>`, client.SMResumed{}, "bad h"},
		{"h missing", `<resumed xmlns='urn:xmpp:sm:3' previd='p'/>`, client.SMResumed{}, "without h"},
		{"enabled", wireSMEnabledProsody, client.SMResumed{}, "want <resumed"},
	}
	for _, tt := range tests {
		got, err := client.ParseResumed([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
}

func TestParseFailed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     client.SMFailed
		wantErr  string
	}{
		{"§1.6 Prosody after a rebind", wireSMFailed, client.SMFailed{Condition: "item-not-found"}, ""},
		{"XEP-0198 timed out, with h", `<failed xmlns='urn:xmpp:sm:3' h='12'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>`,
			client.SMFailed{H: u32(12), Condition: "item-not-found"}, ""},
		{"enable before bind", `<failed xmlns='urn:xmpp:sm:3'><unexpected-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>`,
			client.SMFailed{Condition: "unexpected-request"}, ""},
		{"no condition", `<failed xmlns='urn:xmpp:sm:3'/>`, client.SMFailed{}, ""},
		{"bad h", `<failed xmlns='urn:xmpp:sm:3' h='x'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>`, client.SMFailed{}, "bad h"},
		{"SASL failure", wireSASL2WrongPassword, client.SMFailed{}, "want <failed"},
	}
	for _, tt := range tests {
		got, err := client.ParseFailed([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %s, %v; want %s", tt.name, dumpFailed(got), err, dumpFailed(tt.want))
		}
	}
}

func TestParseA(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    uint32
		wantErr string
	}{
		{`<a xmlns='urn:xmpp:sm:3' h='1'/>`, 1, ""},
		{`<a h='0' xmlns='urn:xmpp:sm:3'/>`, 0, ""},
		{`<a xmlns='urn:xmpp:sm:3'/>`, 0, "without h"},
		{`<a xmlns='urn:xmpp:sm:3' h=''/>`, 0, "bad h"},
		{`<a xmlns='urn:xmpp:sm:3' h='0x10'/>`, 0, "bad h"},
		{`<r xmlns='urn:xmpp:sm:3'/>`, 0, "want <a"},
		{`<a xmlns='urn:xmpp:sm:2' h='1'/>`, 0, "want <a"},
		{`<a href='x'>link</a>`, 0, "want <a"},
	}
	for _, tt := range tests {
		got, err := client.ParseA([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseA(%s) error %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseA(%s) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

// FuzzParseSM runs every XEP-0198 parser on the same input.
func FuzzParseSM(f *testing.F) {
	fuzzSeeds(f, `<a xmlns='urn:xmpp:sm:3' h='1'/>`, `<failed xmlns='urn:xmpp:sm:3' h='12'/>`)
	f.Fuzz(func(t *testing.T, raw []byte) {
		ns, local := client.ElementName(raw)
		if _, err := client.ParseEnabled(raw); err == nil && (ns != client.NSSM || local != "enabled") {
			t.Fatalf("ParseEnabled accepted {%s}%s", ns, local)
		}
		if _, err := client.ParseResumed(raw); err == nil && (ns != client.NSSM || local != "resumed") {
			t.Fatalf("ParseResumed accepted {%s}%s", ns, local)
		}
		if _, err := client.ParseFailed(raw); err == nil && (ns != client.NSSM || local != "failed") {
			t.Fatalf("ParseFailed accepted {%s}%s", ns, local)
		}
		if _, err := client.ParseA(raw); err == nil && (ns != client.NSSM || local != "a") {
			t.Fatalf("ParseA accepted {%s}%s", ns, local)
		}
	})
}
