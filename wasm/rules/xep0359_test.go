package rules_test

import (
	"strings"
	"testing"

	"github.com/waxwing-im/waxwing/wasm/rules"
	"github.com/waxwing-im/waxwing/wasm/stanza"
)

func TestTrustStanzaID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		id       string
		ok       bool
		reason   string
	}{
		{"Prosody chat", `<message from='bob@localhost/x' type='chat'><body>b</body><stanza-id xmlns='urn:xmpp:sid:0' by='alice@localhost' id='zq3m'/></message>`, "zq3m", true, "by the archive alice@localhost"},
		{"ejabberd numeric id", `<message from='bob@localhost/x' type='chat'><archived by='alice@localhost' id='1795217489191448' xmlns='urn:xmpp:mam:tmp'/><stanza-id by='alice@localhost' id='1795217489191448' xmlns='urn:xmpp:sid:0'/></message>`, "1795217489191448", true, "archive"},
		{"by differs only in case", `<message from='bob@localhost/x' type='chat'><stanza-id xmlns='urn:xmpp:sid:0' by='Alice@LocalHost' id='c1'/></message>`, "c1", true, "archive"},
		{"forged by the peer", `<message from='bob@localhost/x' type='chat'><stanza-id xmlns='urn:xmpp:sid:0' by='bob@localhost' id='evil'/></message>`, "", false, "stanza-id by bob@localhost, not by the archive alice@localhost: untrusted"},
		{"forged one ignored, real one used", `<message from='bob@localhost/x' type='chat'><stanza-id xmlns='urn:xmpp:sid:0' by='bob@localhost' id='evil'/><stanza-id xmlns='urn:xmpp:sid:0' by='alice@localhost' id='good'/></message>`, "good", true, "archive"},
		{"two by the archive", `<message from='bob@localhost/x' type='chat'><stanza-id xmlns='urn:xmpp:sid:0' by='alice@localhost' id='a'/><stanza-id xmlns='urn:xmpp:sid:0' by='alice@localhost' id='b'/></message>`, "", false, "at most one"},
		{"empty id", `<message from='bob@localhost/x' type='chat'><stanza-id xmlns='urn:xmpp:sid:0' by='alice@localhost'/></message>`, "", false, "without an id"},
		{"none", `<message from='bob@localhost/x' type='chat'><body>x</body></message>`, "", false, "no stanza-id"},
		{"groupchat: the room vouches", `<message from='probe@conference.localhost/bob' type='groupchat'><body>x</body><stanza-id xmlns='urn:xmpp:sid:0' by='probe@conference.localhost' id='r1'/></message>`, "r1", true, "probe@conference.localhost"},
		{"groupchat: the account's id does not count", `<message from='probe@conference.localhost/bob' type='groupchat'><body>x</body><stanza-id xmlns='urn:xmpp:sid:0' by='alice@localhost' id='a1'/></message>`, "", false, "not by the archive probe@conference.localhost"},
	}
	for _, tt := range tests {
		m, err := stanza.ParseMessage([]byte(tt.in))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		id, ok, reason := rules.TrustStanzaID(m, rules.Archive(m, self))
		if id != tt.id || ok != tt.ok || !strings.Contains(reason, tt.reason) {
			t.Errorf("%s: got %q %v %q, want %q %v %q", tt.name, id, ok, reason, tt.id, tt.ok, tt.reason)
		}
	}
	if _, ok, reason := rules.TrustStanzaID(stanza.Message{}, ""); ok || !strings.Contains(reason, "no archive") {
		t.Errorf("empty archive: %v %q", ok, reason)
	}
}
