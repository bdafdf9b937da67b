package probe_test

import (
	"slices"
	"testing"

	"github.com/waxwing-im/waxwing/wasm/probe"
)

// Samples from /work/shared/design/servers.md (Prosody 0.12.3, ejabberd 23.01),
// with the parts elided there filled in as the text describes them.
const (
	// §1.4: Prosody over ws:// with consider_websocket_secure = true.
	prosodyWebSocket = `<stream:features xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'>` +
		`<authentication xmlns='urn:xmpp:sasl:2'><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism>` +
		`<inline><bind xmlns='urn:xmpp:bind:0'><inline><feature var='urn:xmpp:carbons:2'/><feature var='urn:xmpp:csi:0'/></inline></bind>` +
		`<fast xmlns='urn:xmpp:fast:0'><mechanism>HT-SHA-256-NONE</mechanism></fast></inline></authentication>` +
		`<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms>` +
		`</stream:features>`

	// §1.4: Prosody after STARTTLS with the compat shim, FAST and SM inline.
	prosodyTLS = `<stream:features xmlns:stream='http://etherx.jabber.org/streams'>
     <authentication xmlns='urn:xmpp:sasl:2'><mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism>
       <inline>
         <bind xmlns='urn:xmpp:bind:0'><inline><feature var='urn:xmpp:carbons:2'/><feature var='urn:xmpp:csi:0'/>
           <feature var='urn:xmpp:sm:3'/><feature var='urn:xmpp:sm:3'/></inline></bind>
         <sm xmlns='urn:xmpp:sm:3'/>
         <fast xmlns='urn:xmpp:fast:0'><mechanism>HT-SHA-256-NONE</mechanism><mechanism>HT-SHA-256-EXPR</mechanism></fast>
       </inline></authentication>
     <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms>
   </stream:features>`

	// §1.4: Prosody before STARTTLS (strict config).
	prosodyPreTLS = `<stream:features xmlns:stream='http://etherx.jabber.org/streams'><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>`

	// §1.5: Prosody after SASL2 success.
	prosodyAfterSASL2 = `<stream:features xmlns:stream='http://etherx.jabber.org/streams'><sub xmlns='urn:xmpp:features:pre-approval'/><ver xmlns='urn:xmpp:features:rosterver'/><csi xmlns='urn:xmpp:csi:0'/><sm xmlns='urn:xmpp:sm:2'><optional/></sm><sm xmlns='urn:xmpp:sm:3'><optional/></sm><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><required/></bind><session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session></stream:features>`

	// §2.3: ejabberd after STARTTLS. The stream prefix is declared only on
	// the TCP stream header, so it is unresolved in a lone element.
	ejabberdTLS = `<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1-PLUS</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>`

	// §2.3: ejabberd after SASL.
	ejabberdAfterSASL = `<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session><sm xmlns='urn:xmpp:sm:2'/><sm xmlns='urn:xmpp:sm:3'/><ver xmlns='urn:xmpp:features:rosterver'/><csi xmlns='urn:xmpp:csi:0'/></stream:features>`
)

func TestParseFeatures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		sasl    []string
		sasl2   []string
		summary string // for domain "localhost"
		wantErr bool
	}{
		{name: "prosody websocket", in: prosodyWebSocket,
			sasl: []string{"SCRAM-SHA-1", "PLAIN"}, sasl2: []string{"SCRAM-SHA-1", "PLAIN"},
			summary: "Server localhost reachable · SASL2 · SCRAM-SHA-1, PLAIN"},
		{name: "prosody tls, FAST mechanisms are not SASL2 mechanisms", in: prosodyTLS,
			sasl: []string{"PLAIN", "SCRAM-SHA-1"}, sasl2: []string{"PLAIN", "SCRAM-SHA-1"},
			summary: "Server localhost reachable · SASL2 · PLAIN, SCRAM-SHA-1"},
		{name: "prosody before starttls", in: prosodyPreTLS,
			summary: "Server localhost reachable · no login mechanisms offered"},
		{name: "prosody after sasl2", in: prosodyAfterSASL2,
			summary: "Server localhost reachable · no login mechanisms offered"},
		{name: "ejabberd tls, undeclared stream prefix", in: ejabberdTLS,
			sasl:    []string{"PLAIN", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"},
			summary: "Server localhost reachable · SASL · PLAIN, SCRAM-SHA-1-PLUS, SCRAM-SHA-1"},
		{name: "ejabberd after sasl", in: ejabberdAfterSASL,
			summary: "Server localhost reachable · no login mechanisms offered"},
		{name: "whitespace around mechanism names",
			in:      "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\n <mechanism> PLAIN\n</mechanism><mechanism/></mechanisms></stream:features>",
			sasl:    []string{"PLAIN"},
			summary: "Server localhost reachable · SASL · PLAIN"},
		{name: "mechanisms in a foreign namespace are ignored",
			in:      "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:example'><mechanism>PLAIN</mechanism></mechanisms></stream:features>",
			summary: "Server localhost reachable · no login mechanisms offered"},

		{name: "open, not features", in: `<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0'/>`, wantErr: true},
		{name: "features in the wrong namespace", in: `<features xmlns='jabber:client'/>`, wantErr: true},
		{name: "truncated", in: `<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>`, wantErr: true},
		{name: "empty", in: ``, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := probe.ParseFeatures([]byte(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseFeatures = %+v, want an error", f)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFeatures: %v", err)
			}
			if !slices.Equal(f.SASL, tt.sasl) {
				t.Errorf("SASL = %q, want %q", f.SASL, tt.sasl)
			}
			if !slices.Equal(f.SASL2, tt.sasl2) {
				t.Errorf("SASL2 = %q, want %q", f.SASL2, tt.sasl2)
			}
			if got := f.Summary("localhost"); got != tt.summary {
				t.Errorf("Summary = %q, want %q", got, tt.summary)
			}
		})
	}
}

func TestResolveURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		page, ref, want string
		wantErr         bool
	}{
		{page: "https://chat.example.org/", ref: "/xmpp", want: "wss://chat.example.org/xmpp"},
		{page: "http://127.0.0.1:8080/some/page?x=1#frag", ref: "/xmpp", want: "ws://127.0.0.1:8080/xmpp"},
		{page: "https://chat.example.org/app/", ref: "xmpp", want: "wss://chat.example.org/app/xmpp"},
		{page: "https://chat.example.org/", ref: "wss://xmpp.example.org/ws", want: "wss://xmpp.example.org/ws"},
		{page: "https://chat.example.org/", ref: "ws://localhost:5280/ws", want: "ws://localhost:5280/ws"},
		{page: "http://a/", ref: "https://b/xmpp#x", want: "wss://b/xmpp"},
		{page: "https://chat.example.org/", ref: "//other.example.org/xmpp", want: "wss://other.example.org/xmpp"},
		{page: "https://chat.example.org/", ref: "ftp://x/y", wantErr: true},
		{page: "https://chat.example.org/", ref: "javascript:alert(1)", wantErr: true},
		{page: "file:///index.html", ref: "/xmpp", wantErr: true},
		{page: "https://chat.example.org/", ref: "http://[::1", wantErr: true},
	}
	for _, tt := range tests {
		got, err := probe.ResolveURL(tt.page, tt.ref)
		if (err != nil) != tt.wantErr {
			t.Errorf("ResolveURL(%q, %q) error = %v, want error %v", tt.page, tt.ref, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("ResolveURL(%q, %q) = %q, want %q", tt.page, tt.ref, got, tt.want)
		}
	}
}
