package rules_test

import (
	"strings"
	"testing"

	"github.com/waxwing-im/waxwing/wasm/rules"
	"github.com/waxwing-im/waxwing/wasm/stanza"
)

const self = "alice@localhost"

// persistent, ephemeral: shorthands for the table.
func p(u rules.Urgency) rules.Verdict { return rules.Verdict{Persistent: true, Urgency: u} }
func e(u rules.Urgency) rules.Verdict { return rules.Verdict{Urgency: u} }
func pu(u rules.Urgency) rules.Verdict {
	return rules.Verdict{Persistent: true, Urgency: u, Unwrapped: true}
}

// Every row is one stanza as alice@localhost (in room probe@conference.localhost
// as "alice") receives it, and the verdict the client and the push path
// reach.
var classifyTests = []struct {
	name, in string
	want     rules.Verdict
	reason   string
}{
	// One-to-one.
	{"Prosody live chat", `<message xmlns='jabber:client' from='bob@localhost/probe~9M7E7Rqqjrex' to='alice@localhost' type='chat' id='b2'><body>bob to alice 2</body><stanza-id xmlns='urn:xmpp:sid:0' by='alice@localhost' id='zq3m'/></message>`,
		p(rules.Normal), "direct message"},
	{"ejabberd live chat to full JID", `<message to='alice@localhost/probe-alice' from='bob@localhost/probe-bob' type='chat' id='b1' xmlns='jabber:client'><archived by='alice@localhost' id='1795217489191448' xmlns='urn:xmpp:mam:tmp'/><stanza-id by='alice@localhost' id='1795217489191448' xmlns='urn:xmpp:sid:0'/><body>bob to alice 1</body></message>`,
		p(rules.Normal), "direct message"},
	{"normal message without type", `<message from='bob@localhost/x' to='alice@localhost'><body>hi</body></message>`, p(rules.Normal), "direct message"},
	{"whitespace body", `<message from='bob@localhost/x' type='chat'><body>  </body></message>`, e(rules.None), "empty body"},
	{"empty body", `<message from='bob@localhost/x' type='chat'><body/></message>`, e(rules.None), "empty body"},
	{"file share without body", `<message from='bob@localhost/x' type='chat'><x xmlns='jabber:x:oob'><url>https://up/a.png</url></x></message>`, p(rules.Normal), "direct message"},
	{"body + no-store hint", `<message from='bob@localhost/x' type='chat'><body>off the record</body><no-store xmlns='urn:xmpp:hints'/></message>`, e(rules.Normal), "no-store hint"},
	{"body + no-permanent-store hint", `<message from='bob@localhost/x' type='chat'><body>otr</body><no-permanent-store xmlns='urn:xmpp:hints'/></message>`, e(rules.Normal), "no-permanent-store"},
	{"chat state only", `<message from='bob@localhost/x' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`, e(rules.None), "chat state only (composing)"},
	{"chat state gone", `<message from='bob@localhost/x' type='chat'><gone xmlns='http://jabber.org/protocol/chatstates'/><no-store xmlns='urn:xmpp:hints'/></message>`, e(rules.None), "chat state only (gone)"},
	{"body + active chat state", `<message from='bob@localhost/x' type='chat' id='c1'><body>hey</body><active xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/><markable xmlns='urn:xmpp:chat-markers:0'/></message>`, p(rules.Normal), "direct message"},
	{"receipt only", `<message from='bob@localhost/x' id='r9' type='chat'><received xmlns='urn:xmpp:receipts' id='a1'/></message>`, e(rules.None), "receipt for 'a1'"},
	{"displayed marker only", `<message from='bob@localhost/x' type='chat'><displayed xmlns='urn:xmpp:chat-markers:0' id='a1'/></message>`, e(rules.None), "displayed marker for 'a1'"},
	{"marker with chat state", `<message from='bob@localhost/x' type='chat'><received xmlns='urn:xmpp:chat-markers:0' id='a1'/><active xmlns='http://jabber.org/protocol/chatstates'/></message>`, e(rules.None), "received marker"},
	{"encrypted without body (OMEMO)", `<message to='alice@localhost' from='bob@localhost/x' id='o1' type='chat'><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='27183'><key rid='31415'>AA</key><iv>AA</iv></header><payload>AA</payload></encrypted><store xmlns='urn:xmpp:hints'/></message>`,
		p(rules.Normal), "encrypted message (eu.siacs.conversations.axolotl)"},
	{"encrypted with fallback body (OMEMO 2)", `<message from='bob@localhost/x' type='chat'><encrypted xmlns='urn:xmpp:omemo:2'/><body>I sent you an OMEMO encrypted message</body></message>`, p(rules.Normal), "encrypted message"},
	{"OpenPGP (XEP-0027)", `<message from='bob@localhost/x' type='chat'><x xmlns='jabber:x:encrypted'>AA</x></message>`, p(rules.Normal), "jabber:x:encrypted"},
	{"correction", `<message from='bob@localhost/x' type='chat'><body>fixed</body><replace xmlns='urn:xmpp:message-correct:0' id='a1'/></message>`, p(rules.Low), "correction of 'a1'"},
	{"retraction", `<message type='chat' from='bob@localhost/x' id='retract-message-1'><retract id='wrong-recipient-1' xmlns='urn:xmpp:message-retract:1'/><fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:message-retract:1'/><body>/me retracted a previous message</body><store xmlns='urn:xmpp:hints'/></message>`,
		p(rules.Low), "retraction of 'wrong-recipient-1'"},
	{"reaction", `<message from='bob@localhost/x' type='chat'><reactions id='744f' xmlns='urn:xmpp:reactions:0'><reaction>👋</reaction></reactions><store xmlns='urn:xmpp:hints'/></message>`, p(rules.Low), "reactions to '744f'"},
	{"JMI propose", `<message from='bob@localhost/x' to='alice@localhost' type='chat'><propose xmlns='urn:xmpp:jingle-message:0' id='ca3c'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose><store xmlns='urn:xmpp:hints'/></message>`, p(rules.High), "call proposed"},
	{"JMI retract", `<message from='bob@localhost/x' to='alice@localhost' type='chat'><retract xmlns='urn:xmpp:jingle-message:0' id='ca3c'/><store xmlns='urn:xmpp:hints'/></message>`, p(rules.Low), "call retract"},
	{"JMI ringing to full JID", `<message from='bob@localhost/phone' to='alice@localhost/web' type='chat'><ringing xmlns='urn:xmpp:jingle-message:0' id='ca3c'/><store xmlns='urn:xmpp:hints'/></message>`, e(rules.None), "ringing"},
	{"IBB data to full JID", `<message from='bob@localhost/x' to='alice@localhost/web' id='ibb1'><data xmlns='http://jabber.org/protocol/ibb' seq='0' sid='i781hf64'>qANQR1DBwU4DX7jmYZnncm</data></message>`, e(rules.None), "in-band bytestream"},
	{"error bounce", `<message xmlns='jabber:client' from='nobody@localhost' to='alice@localhost/x' type='error' id='m9'><body>hi</body><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`, e(rules.Low), "error bounce (service-unavailable)"},
	{"headline", `<message from='news.localhost' type='headline'><body>Server restarts at noon</body></message>`, e(rules.None), "headline"},
	{"nothing at all", `<message from='bob@localhost/x' type='chat'/>`, e(rules.None), "nothing to keep"},
	{"MUC invitation", `<message from='probe@conference.localhost' to='alice@localhost'><x xmlns='http://jabber.org/protocol/muc#user'><invite from='bob@localhost/x'><reason>join us</reason></invite></x></message>`, p(rules.Normal), "room invitation"},
	// Carbons.
	{"received carbon", `<message xmlns='jabber:client' from='alice@localhost' to='alice@localhost/web' type='chat'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='bob@localhost/x' to='alice@localhost/phone' type='chat'><body>hi phone</body></message></forwarded></received></message>`,
		pu(rules.Normal), "received carbon: direct message"},
	{"sent carbon", `<message xmlns='jabber:client' from='alice@localhost' to='alice@localhost/web' type='chat'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' to='bob@localhost' from='alice@localhost/phone' type='chat'><body>from my phone</body></message></forwarded></sent></message>`,
		pu(rules.None), "sent carbon: direct message with a body, sent by the user"},
	{"sent carbon of a displayed marker", `<message from='alice@localhost' type='chat'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' to='bob@localhost' type='chat'><displayed xmlns='urn:xmpp:chat-markers:0' id='b7'/></message></forwarded></sent></message>`,
		rules.Verdict{Unwrapped: true}, "sent carbon: displayed marker"},
	{"forged carbon (from a peer)", `<message xmlns='jabber:client' from='tybalt@capulet.example/home' to='alice@localhost' type='chat'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='bob@localhost/x' to='alice@localhost' type='chat'><body>I love you</body></message></forwarded></received></message>`,
		e(rules.None), "forged carbon: outer from 'tybalt@capulet.example/home' is not the own bare JID 'alice@localhost'"},
	{"forged carbon (own full JID)", `<message from='alice@localhost/evil' type='chat'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' to='bob@localhost'><body>x</body></message></forwarded></sent></message>`,
		e(rules.None), "forged carbon"},
	{"forged carbon (no from)", `<message type='chat'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='bob@localhost/x'><body>x</body></message></forwarded></received></message>`,
		e(rules.None), "forged carbon: outer from ''"},
	{"empty carbon", `<message from='alice@localhost' type='chat'><received xmlns='urn:xmpp:carbons:2'/></message>`, e(rules.None), "without a forwarded message"},
	// Archive results.
	{"Prosody MAM result", `<message to='alice@localhost/tag~TUWBYOSoOpGi'><result id='zq3m' queryid='q1' xmlns='urn:xmpp:mam:2'><forwarded xmlns='urn:xmpp:forward:0'><delay stamp='2026-11-20T23:24:12Z' xmlns='urn:xmpp:delay'/><message from='bob@localhost/probe' to='alice@localhost' type='chat' id='b1' xmlns='jabber:client'><body>bob to alice 1</body></message></forwarded></result></message>`,
		pu(rules.None), "archive result: history is never urgent; direct message"},
	{"MAM result from a room archive", `<message from='probe@conference.localhost' to='alice@localhost/x'><result id='r1' queryid='q7' xmlns='urn:xmpp:mam:2'><forwarded xmlns='urn:xmpp:forward:0'><message from='probe@conference.localhost/bob' type='groupchat' xmlns='jabber:client'><body>old</body></message></forwarded></result></message>`,
		pu(rules.None), "believe it only as the answer to query 'q7'"},
	{"MAM tombstone without message", `<message><result xmlns='urn:xmpp:mam:2' queryid='q' id='gone1'><forwarded xmlns='urn:xmpp:forward:0'/></result></message>`, e(rules.None), "without a message"},
	// Rooms.
	{"group chatter", `<message from='probe@conference.localhost/bob' to='alice@localhost/x' type='groupchat'><body>lunch?</body><stanza-id xmlns='urn:xmpp:sid:0' by='probe@conference.localhost' id='r2'/></message>`, p(rules.Low), "group chatter in probe@conference.localhost"},
	{"MUC mention by nick", `<message from='probe@conference.localhost/bob' type='groupchat'><body>Alice: lunch?</body></message>`, p(rules.Normal), "mention of 'alice'"},
	{"MUC nick inside another word is no mention", `<message from='probe@conference.localhost/bob' type='groupchat'><body>malice aforethought</body></message>`, p(rules.Low), "group chatter"},
	{"MUC mention by reference", `<message from='probe@conference.localhost/bob' type='groupchat'><body>hey you</body><reference xmlns='urn:xmpp:reference:0' type='mention' uri='xmpp:alice@localhost' begin='4' end='7'/></message>`, p(rules.Normal), "mention of 'alice@localhost'"},
	{"MUC reflection of own message", `<message from='probe@conference.localhost/alice' type='groupchat'><body>I said alice</body></message>`, p(rules.None), "own nick 'alice'"},
	{"MUC subject", `<message from='probe@conference.localhost' type='groupchat'><subject>Welcome</subject></message>`, p(rules.None), "room subject"},
	{"MUC private message", `<message from='probe@conference.localhost/bob' to='alice@localhost/x' type='chat'><body>psst</body><x xmlns='http://jabber.org/protocol/muc#user'/></message>`, p(rules.Normal), "private message from room occupant"},
	{"MUC encrypted", `<message from='probe@conference.localhost/bob' type='groupchat'><encrypted xmlns='eu.siacs.conversations.axolotl'/></message>`, p(rules.Low), "encrypted groupchat"},
	// MDS.
	{"MDS event from own account", `<message from='alice@localhost' to='alice@localhost/web' type='headline' id='ev'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:mds:displayed:0'><item id='bob@localhost'><displayed xmlns='urn:xmpp:mds:displayed:0'><stanza-id xmlns='urn:xmpp:sid:0' by='alice@localhost' id='z1'/></displayed></item></items></event></message>`,
		e(rules.None), "MDS displayed update"},
	{"MDS event forged by a peer", `<message from='bob@localhost' type='headline'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:mds:displayed:0'><item id='carol@localhost'><displayed xmlns='urn:xmpp:mds:displayed:0'><stanza-id xmlns='urn:xmpp:sid:0' by='alice@localhost' id='z1'/></displayed></item></items></event></message>`,
		e(rules.None), "forged MDS event"},
}

func TestClassify(t *testing.T) {
	t.Parallel()
	if len(classifyTests) < 40 {
		t.Fatalf("only %d rows", len(classifyTests))
	}
	for _, tt := range classifyTests {
		m, err := stanza.ParseMessage([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		got, reason := rules.Classify(m, self, "alice")
		if got != tt.want || !strings.Contains(reason, tt.reason) {
			t.Errorf("%s:\ngot  %+v %q\nwant %+v %q", tt.name, got, reason, tt.want, tt.reason)
		}
	}
}

func TestUrgencyString(t *testing.T) {
	t.Parallel()
	for u, want := range map[rules.Urgency]string{rules.None: "none", rules.Low: "low", rules.Normal: "normal", rules.High: "high", 9: "none"} {
		if u.String() != want {
			t.Errorf("%d: %s", u, u)
		}
	}
}

func TestRoute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		to     string
		bare   bool
		reason string
	}{
		{"", true, "own account"},
		{"bob@localhost", true, "conversation"},
		{"probe@conference.localhost", true, "conversation"},
		{"localhost", true, "conversation"},
		{"bob@localhost/phone", false, "ephemeral"},
		{"probe@conference.localhost/bob", false, "full JID"},
		{"bob@localhost/", false, "full JID"},
	}
	for _, tt := range tests {
		bare, reason := rules.Route(tt.to)
		if bare != tt.bare || !strings.Contains(reason, tt.reason) {
			t.Errorf("Route(%q) = %v %q, want %v %q", tt.to, bare, reason, tt.bare, tt.reason)
		}
	}
}

func FuzzClassify(f *testing.F) {
	for _, tt := range classifyTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := stanza.ParseMessage(raw)
		if err != nil {
			return
		}
		v, reason := rules.Classify(m, self, "alice", "")
		if reason == "" {
			t.Fatal("no reason")
		}
		if v.Unwrapped && m.Inner == nil {
			t.Fatal("unwrapped nothing")
		}
		if m.Carbon != stanza.NotCarbon && m.From != self && (v != rules.Verdict{}) {
			t.Fatalf("forged carbon accepted: %+v", v)
		}
		_, _, _ = rules.TrustStanzaID(m, rules.Archive(m, self))
	})
}
