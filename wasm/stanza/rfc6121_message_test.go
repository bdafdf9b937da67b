package stanza_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/wasm/stanza"
)

// extraWire are the XEP examples the message tests use, added to every
// fuzz corpus.
var extraWire = []string{
	// XEP-0424 §4 and the tombstone of §5.
	`<message type='chat' to='lord@capulet.example' id='retract-message-1'><retract id="wrong-recipient-1" xmlns='urn:xmpp:message-retract:1'/><fallback xmlns="urn:xmpp:fallback:0" for='urn:xmpp:message-retract:1'/><body>/me retracted a previous message, but it's unsupported by your client.</body><store xmlns="urn:xmpp:hints"/></message>`,
	`<message id='aeb213' to='lord@capulet.example/chamber'><result xmlns='urn:xmpp:mam:2' queryid='f27' id='stanza-id-1'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2019-09-20T23:08:25Z'/><message type='groupchat' from='romeo@montague.example' to='lord@capulet.example' id='wrong-recipient-1'><retracted stamp='2019-09-20T23:09:32Z' xmlns='urn:xmpp:message-retract:1' id='retract-message-1'/></message></forwarded></result></message>`,
	// XEP-0444 §3.
	`<message to='romeo@capulet.net/orchard' id='96d73204-a57a-11e9-88b8-4889e7820c76' type='chat'><reactions id='744f6e18-a57a-11e9-a656-4889e7820c76' xmlns='urn:xmpp:reactions:0'><reaction>👋</reaction><reaction>🐢</reaction></reactions><store xmlns="urn:xmpp:hints"/></message>`,
	// XEP-0490 §3.4 PEP notification.
	`<message from='juliet@capulet.lit' to='juliet@capulet.lit/balcony' type='headline' id='new-displayed-pep-event'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:mds:displayed:0'><item id='romeo@montegue.lit'><displayed xmlns='urn:xmpp:mds:displayed:0'><stanza-id xmlns='urn:xmpp:sid:0' by='juliet@capulet.lit' id='0423e3a9-d516-493d-bb06-bee0e51ab9fb'/></displayed></item></items></event></message>`,
	// XEP-0353 §3.1.
	`<message from='romeo@montague.example/orchard' to='juliet@capulet.example' type='chat'><propose xmlns='urn:xmpp:jingle-message:0' id='ca3cf894-5325-482f-a412-a6e9f832298d'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose><store xmlns="urn:xmpp:hints"/></message>`,
	// XEP-0085, XEP-0184, XEP-0333, XEP-0334 bits.
	`<message from='juliet@capulet.lit/balcony' to='romeo@montague.lit' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/><no-store xmlns='urn:xmpp:hints'/></message>`,
	`<message from='kingrichard@royalty.england.lit/throne' id='bi29sg183b4v' to='northumberland@shakespeare.lit/westminster'><received xmlns='urn:xmpp:receipts' id='richard2-4.1.247'/></message>`,
	`<message from='northumberland@shakespeare.lit/westminster' id='message-2' to='kingrichard@royalty.england.lit/throne'><displayed xmlns='urn:xmpp:chat-markers:0' id='message-1'/></message>`,
	// OMEMO without a body.
	`<message to='juliet@capulet.lit' from='romeo@montague.lit/orchard' id='send1' type='chat'><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='27183'><key rid='31415'>BASE64</key><iv>BASE64</iv></header><payload>BASE64</payload></encrypted><store xmlns='urn:xmpp:hints'/></message>`,
	// RFC 6120 error bounce.
	`<message xmlns='jabber:client' from='nobody@localhost' to='alice@localhost/x' type='error' id='m9'><body>hi</body><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>User session not found</text></error></message>`,
}

func TestParseMessageWire(t *testing.T) {
	t.Parallel()
	t.Run("Prosody MAM result", func(t *testing.T) {
		m := mustParse(t, wireProsodyMAMResult)
		if m.MAM == nil || *m.MAM != (stanza.MAMResult{QueryID: "q1", ID: "zq3mAe6Yj2u7H2xuEY8sFV6h"}) {
			t.Fatalf("MAM %+v", m.MAM)
		}
		in := m.Inner
		if in == nil || in.From != "bob@localhost/probe~9M7E7Rqqjrex" || in.To != "alice@localhost" || in.ID != "b1" || in.Type != "chat" || in.Body != "bob to alice 1" || in.Lang != "en" {
			t.Fatalf("inner %+v", in)
		}
		if in.Delay == nil || !in.Delay.Stamp.Equal(time.Date(2026, 11, 20, 23, 24, 12, 0, time.UTC)) {
			t.Fatalf("inner delay %+v", in.Delay)
		}
		if want := `<message from='bob@localhost/probe~9M7E7Rqqjrex' to='alice@localhost' type='chat' id='b1' xml:lang='en' xmlns='jabber:client'><body>bob to alice 1</body></message>`; string(in.Raw) != want {
			t.Fatalf("inner raw %s", in.Raw)
		}
		if m.Carbon != stanza.NotCarbon || m.HasBody || string(m.Raw) != wireProsodyMAMResult {
			t.Fatalf("outer %+v", m)
		}
		// The kept bytes parse to the same message (without the result's delay).
		again := mustParse(t, string(in.Raw))
		if again.Body != in.Body || again.ID != in.ID || again.Delay != nil {
			t.Fatalf("reparsed %+v", again)
		}
	})
	t.Run("Prosody live", func(t *testing.T) {
		m := mustParse(t, wireProsodyLive)
		if len(m.StanzaIDs) != 1 || m.StanzaIDs[0] != (stanza.StanzaID{By: "alice@localhost", ID: "zq3mAe6Yj2u7H2xuEY8sFV6h"}) {
			t.Fatalf("stanza-ids %+v", m.StanzaIDs)
		}
		if id, ok := m.StanzaIDBy("alice@localhost"); !ok || id != "zq3mAe6Yj2u7H2xuEY8sFV6h" {
			t.Fatalf("StanzaIDBy %q %v", id, ok)
		}
		if _, ok := m.StanzaIDBy("bob@localhost"); ok {
			t.Fatal("StanzaIDBy another JID")
		}
	})
	t.Run("ejabberd live with archived", func(t *testing.T) {
		m := mustParse(t, wireEjabberdLive)
		if len(m.StanzaIDs) != 1 || m.StanzaIDs[0].ID != "1795217489191448" || m.Body != "bob to alice 1" {
			t.Fatalf("%+v", m)
		}
		if want := []string{"{urn:xmpp:mam:tmp}archived", "{urn:xmpp:sid:0}stanza-id", "{jabber:client}body"}; strings.Join(m.Payloads, " ") != strings.Join(want, " ") {
			t.Fatalf("payloads %q", m.Payloads)
		}
	})
	t.Run("ejabberd resent", func(t *testing.T) {
		m := mustParse(t, wireEjabberdResent)
		d := m.Delay
		if d == nil || d.From != "localhost" || d.Reason != "Resent" || !d.Stamp.Equal(time.Date(2026, 11, 20, 23, 30, 1, 123456000, time.UTC)) {
			t.Fatalf("delay %+v", d)
		}
	})
	t.Run("carbon received", func(t *testing.T) {
		m := mustParse(t, wireCarbonReceived)
		if m.Carbon != stanza.Received || m.From != "romeo@montague.example" || m.Inner == nil {
			t.Fatalf("%+v", m)
		}
		if m.Inner.From != "juliet@capulet.example/balcony" || m.Inner.Thread != "0e3141cd80894871a68e6fe6b1ec56fa" || !strings.HasPrefix(m.Inner.Body, "What man") {
			t.Fatalf("inner %+v", m.Inner)
		}
	})
	t.Run("carbon sent", func(t *testing.T) {
		m := mustParse(t, wireCarbonSent)
		if m.Carbon != stanza.Sent || m.Carbon.String() != "sent" || m.Inner == nil || m.Inner.OriginID != "s1" || m.Inner.To != "juliet@capulet.example/balcony" {
			t.Fatalf("%+v", m)
		}
		if !bytes.Contains(m.Raw, m.Inner.Raw) || !bytes.HasPrefix(m.Inner.Raw, []byte("<message")) || !bytes.HasSuffix(m.Inner.Raw, []byte("</message>")) {
			t.Fatalf("inner raw %s", m.Inner.Raw)
		}
	})
	t.Run("forged carbon is still parsed", func(t *testing.T) {
		m := mustParse(t, wireCarbonForged)
		if m.Carbon != stanza.Received || m.From != "tybalt@capulet.example/home" || m.Inner == nil {
			t.Fatalf("%+v", m)
		}
	})
	t.Run("MUC", func(t *testing.T) {
		m := mustParse(t, wireMUCMessage)
		if m.Type != "groupchat" || len(m.Mentions) != 1 || m.Mentions[0] != "xmpp:alice@localhost" {
			t.Fatalf("%+v", m)
		}
	})
}

func TestParseMessageTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		check    func(m stanza.Message) bool
	}{
		{"body language: the one matching the message", `<message xml:lang='en'><body xml:lang='de'>Hallo</body><body>Hello</body><body xml:lang='fr'>Salut</body></message>`,
			func(m stanza.Message) bool { return m.Body == "Hello" && m.HasBody }},
		{"body language: explicit match", `<message xml:lang='fr'><body xml:lang='de'>Hallo</body><body xml:lang='fr'>Salut</body></message>`,
			func(m stanza.Message) bool { return m.Body == "Salut" }},
		{"body language: none matches, the first", `<message xml:lang='en'><body xml:lang='de'>Hallo</body><body xml:lang='fr'>Salut</body></message>`,
			func(m stanza.Message) bool { return m.Body == "Hallo" }},
		{"empty body", `<message><body/></message>`, func(m stanza.Message) bool { return m.HasBody && m.Body == "" }},
		{"body keeps whitespace and entities", `<message><body> a &amp; b&#x1F600; </body></message>`, func(m stanza.Message) bool { return m.Body == " a & b😀 " }},
		{"subject", `<message type='groupchat'><subject>Topic</subject></message>`, func(m stanza.Message) bool { return m.HasSubject && m.Subject == "Topic" && !m.HasBody }},
		{"two stanza-ids kept as found", `<message><stanza-id xmlns='urn:xmpp:sid:0' by='mallory@evil' id='x'/><stanza-id xmlns='urn:xmpp:sid:0' by='alice@localhost' id='y'/><stanza-id xmlns='urn:xmpp:sid:0' id='z'/></message>`,
			func(m stanza.Message) bool {
				return len(m.StanzaIDs) == 3 && m.StanzaIDs[2] == (stanza.StanzaID{ID: "z"})
			}},
		{"first origin-id", `<message><origin-id xmlns='urn:xmpp:sid:0' id='o1'/><origin-id xmlns='urn:xmpp:sid:0' id='o2'/></message>`,
			func(m stanza.Message) bool { return m.OriginID == "o1" }},
		{"stanza-id in another namespace ignored", `<message><stanza-id xmlns='urn:xmpp:sid:1' by='a' id='b'/></message>`,
			func(m stanza.Message) bool { return len(m.StanzaIDs) == 0 }},
		{"carbon without forwarded", `<message from='a@b'><received xmlns='urn:xmpp:carbons:2'/></message>`,
			func(m stanza.Message) bool { return m.Carbon == stanza.Received && m.Inner == nil }},
		{"private carbon", `<message><private xmlns='urn:xmpp:carbons:2'/><no-copy xmlns='urn:xmpp:hints'/></message>`,
			func(m stanza.Message) bool { return m.PrivateCarbon && m.Hints.NoCopy && m.Carbon == stanza.NotCarbon }},
		{"inner is not unwrapped again", `<message from='a@b'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'/></forwarded></sent></message></forwarded></received></message>`,
			func(m stanza.Message) bool {
				return m.Inner != nil && m.Inner.Carbon == stanza.Sent && m.Inner.Inner == nil
			}},
		{"MAM result without message (removed from the archive)", `<message><result xmlns='urn:xmpp:mam:2' queryid='q' id='i'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2010-07-10T23:08:25Z'/></forwarded></result></message>`,
			func(m stanza.Message) bool { return m.MAM != nil && m.MAM.ID == "i" && m.Inner == nil }},
		{"MAM result: forwarded delay wins", `<message><result xmlns='urn:xmpp:mam:2' id='i'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2010-07-10T23:08:25Z'/><message xmlns='jabber:client'><delay xmlns='urn:xmpp:delay' stamp='2001-01-01T00:00:00Z'/></message></forwarded></result></message>`,
			func(m stanza.Message) bool { return m.Inner != nil && m.Inner.Delay.StampRaw == "2010-07-10T23:08:25Z" }},
		{"MAM mam:1 result is not MAM", `<message><result xmlns='urn:xmpp:mam:1' id='i'/></message>`,
			func(m stanza.Message) bool { return m.MAM == nil }},
		{"bad delay stamp", `<message><delay xmlns='urn:xmpp:delay' stamp='yesterday'/></message>`,
			func(m stanza.Message) bool {
				return m.Delay != nil && m.Delay.Stamp.IsZero() && m.Delay.StampRaw == "yesterday"
			}},
		{"receipt request", `<message id='r1'><body>x</body><request xmlns='urn:xmpp:receipts'/></message>`,
			func(m stanza.Message) bool { return m.ReceiptRequest && m.ReceiptReceived == "" }},
		{"receipt", extraWire[6], func(m stanza.Message) bool { return m.ReceiptReceived == "richard2-4.1.247" }},
		{"displayed marker", extraWire[7], func(m stanza.Message) bool {
			return m.Marker != nil && *m.Marker == stanza.Marker{Type: stanza.MarkerDisplayed, ID: "message-1"}
		}},
		{"markable", `<message><markable xmlns='urn:xmpp:chat-markers:0'/></message>`, func(m stanza.Message) bool { return m.Markable && m.Marker == nil }},
		{"chat state + no-store", extraWire[5], func(m stanza.Message) bool { return m.ChatState == stanza.Composing && m.Hints.NoStore }},
		{"unknown chat state", `<message><typing xmlns='http://jabber.org/protocol/chatstates'/></message>`, func(m stanza.Message) bool { return m.ChatState == "" }},
		{"all hints", `<message><no-permanent-store xmlns='urn:xmpp:hints'/><store xmlns='urn:xmpp:hints'/></message>`,
			func(m stanza.Message) bool { return m.Hints == stanza.Hints{NoPermanentStore: true, Store: true} }},
		{"correction", `<message><body>fixed</body><replace xmlns='urn:xmpp:message-correct:0' id='bad1'/></message>`, func(m stanza.Message) bool { return m.Replace == "bad1" }},
		{"retraction", extraWire[0], func(m stanza.Message) bool { return m.Retract == "wrong-recipient-1" && m.Hints.Store }},
		{"retraction, fastening form", `<message type='chat' to='x@y' id='r'><apply-to xmlns='urn:xmpp:fasten:0' id='origin-1'><retract xmlns='urn:xmpp:message-retract:0'/></apply-to></message>`,
			func(m stanza.Message) bool { return m.Retract == "origin-1" }},
		{"fastening of something else", `<message><apply-to xmlns='urn:xmpp:fasten:0' id='o'><like xmlns='urn:example:like'/></apply-to></message>`,
			func(m stanza.Message) bool { return m.Retract == "" }},
		{"tombstone", extraWire[1], func(m stanza.Message) bool { return m.Inner != nil && m.Inner.Retracted && m.Inner.Type == "groupchat" }},
		{"reactions", extraWire[2], func(m stanza.Message) bool {
			return m.Reactions != nil && m.Reactions.ID == "744f6e18-a57a-11e9-a656-4889e7820c76" && strings.Join(m.Reactions.Emojis, "") == "👋🐢"
		}},
		{"reactions removed", `<message><reactions xmlns='urn:xmpp:reactions:0' id='m'/></message>`,
			func(m stanza.Message) bool { return m.Reactions != nil && len(m.Reactions.Emojis) == 0 }},
		{"reactions deduplicated", `<message><reactions xmlns='urn:xmpp:reactions:0' id='m'><reaction>👍</reaction><reaction> 👍 </reaction><reaction/></reactions></message>`,
			func(m stanza.Message) bool { return len(m.Reactions.Emojis) == 1 }},
		{"MDS event", extraWire[3], func(m stanza.Message) bool {
			return len(m.Displayed) == 1 && m.Displayed[0] == stanza.Displayed{Chat: "romeo@montegue.lit", StanzaID: stanza.StanzaID{By: "juliet@capulet.lit", ID: "0423e3a9-d516-493d-bb06-bee0e51ab9fb"}}
		}},
		{"pubsub event for another node", `<message><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:bookmarks:1'><item id='r@c'><displayed xmlns='urn:xmpp:mds:displayed:0'><stanza-id xmlns='urn:xmpp:sid:0' by='a' id='b'/></displayed></item></items></event></message>`,
			func(m stanza.Message) bool { return len(m.Displayed) == 0 }},
		{"OOB", `<message><body>https://up.example/a.png</body><x xmlns='jabber:x:oob'><url> https://up.example/a.png </url><desc>cat</desc></x></message>`,
			func(m stanza.Message) bool {
				return len(m.OOB) == 1 && m.OOB[0] == stanza.OOB{URL: "https://up.example/a.png", Desc: "cat"}
			}},
		{"OMEMO", extraWire[8], func(m stanza.Message) bool { return m.Encryption == stanza.NSOMEMO && !m.HasBody }},
		{"OMEMO 2", `<message><encrypted xmlns='urn:xmpp:omemo:2'/></message>`, func(m stanza.Message) bool { return m.Encryption == stanza.NSOMEMO2 }},
		{"OX", `<message><openpgp xmlns='urn:xmpp:openpgp:0'>b64</openpgp></message>`, func(m stanza.Message) bool { return m.Encryption == "urn:xmpp:openpgp:0" }},
		{"JMI propose", extraWire[4], func(m stanza.Message) bool {
			return m.JMI != nil && m.JMI.Action == "propose" && m.JMI.ID == "ca3cf894-5325-482f-a412-a6e9f832298d" && len(m.JMI.Media) == 1 && m.JMI.Media[0] == "audio"
		}},
		{"JMI unknown action", `<message><wave xmlns='urn:xmpp:jingle-message:0' id='x'/></message>`, func(m stanza.Message) bool { return m.JMI == nil }},
		{"MUC private message", `<message from='room@muc/nick' type='chat'><body>psst</body><x xmlns='http://jabber.org/protocol/muc#user'/></message>`,
			func(m stanza.Message) bool { return m.MUCUser != nil && !m.MUCUser.HasStatus(110) }},
		{"MUC invite", `<message from='room@muc'><x xmlns='http://jabber.org/protocol/muc#user'><invite from='a@b'/><status code='abc'/><status code='104'/></x></message>`,
			func(m stanza.Message) bool {
				return m.MUCUser.Invite && m.MUCUser.HasStatus(104) && len(m.MUCUser.Status) == 1
			}},
		{"error bounce", extraWire[9], func(m stanza.Message) bool {
			return m.Error != nil && *m.Error == stanza.StanzaError{Type: "cancel", Condition: "service-unavailable", Text: "User session not found"}
		}},
		{"error without error element", `<message type='error'/>`, func(m stanza.Message) bool { return m.Error != nil && m.Error.Condition == "undefined-condition" }},
		{"no error for a chat", `<message type='chat'><error type='cancel'/></message>`, func(m stanza.Message) bool { return m.Error == nil }},
		{"prefixed jabber:client", `<c:message xmlns:c='jabber:client' id='p'><c:body>hi</c:body></c:message>`, func(m stanza.Message) bool { return m.ID == "p" && m.Body == "hi" }},
		{"body in a foreign namespace is not the body", `<message><body xmlns='urn:example'>no</body></message>`, func(m stanza.Message) bool { return !m.HasBody }},
		{"trailing bytes ignored", `<message id='a'/><message id='b'/>`, func(m stanza.Message) bool { return m.ID == "a" && string(m.Raw) == `<message id='a'/>` }},
	}
	for _, tt := range tests {
		m, err := stanza.ParseMessage([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !tt.check(m) {
			t.Errorf("%s: got %+v", tt.name, m)
		}
	}
}

func TestParseMessageErrors(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		``:                                 "no element",
		`junk`:                             "no element",
		`<message`:                         "malformed",
		`<message><body></message>`:        "malformed",
		`<presence/>`:                      "want <message",
		`<message xmlns='jabber:server'/>`: "want <message",
		`<message xmlns='jabber:component:accept'/>`:             "want <message",
		strings.Repeat("<a>", 300) + strings.Repeat("</a>", 300): "nested deeper",
	} {
		_, err := stanza.ParseMessage([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMessage(%.40q): %v, want %q", in, err, want)
		}
	}
}

func TestChatMessage(t *testing.T) {
	t.Parallel()
	got := stanza.ChatMessage("juliet@capulet.lit", "a1", "1 < 2 & 'x'")
	want := `<message xmlns='jabber:client' type='chat' to='juliet@capulet.lit' id='a1'><body>1 &lt; 2 &amp; &apos;x&apos;</body><origin-id xmlns='urn:xmpp:sid:0' id='a1'/><markable xmlns='urn:xmpp:chat-markers:0'/><request xmlns='urn:xmpp:receipts'/><active xmlns='http://jabber.org/protocol/chatstates'/></message>`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	checkElement(t, got, "message")
	m := mustParse(t, string(got))
	if m.Body != "1 < 2 & 'x'" || m.OriginID != "a1" || m.ID != "a1" || !m.Markable || !m.ReceiptRequest || m.ChatState != stanza.Active || m.Type != "chat" {
		t.Errorf("round trip %+v", m)
	}
	got = stanza.ChatMessage("r@m", "c2", "fixed", stanza.WithThread("t1"), stanza.WithReplace("c1"), stanza.WithOOB("https://x/a?b=1&c=2"), stanza.WithStoreHint(), stanza.WithoutMarkers(), stanza.WithoutChatState())
	checkElement(t, got, "message")
	m = mustParse(t, string(got))
	if m.Thread != "t1" || m.Replace != "c1" || len(m.OOB) != 1 || m.OOB[0].URL != "https://x/a?b=1&c=2" || !m.Hints.Store || m.Markable || m.ReceiptRequest || m.ChatState != "" {
		t.Errorf("options %+v", m)
	}
}

func mustParse(t *testing.T, raw string) stanza.Message {
	t.Helper()
	m, err := stanza.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatalf("ParseMessage(%.60q): %v", raw, err)
	}
	return m
}

func FuzzParseMessage(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := stanza.ParseMessage(raw)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(raw, m.Raw[:0]) || len(m.Raw) == 0 || len(m.Raw) > len(raw) {
			t.Fatalf("raw %q of %q", m.Raw, raw)
		}
		if m.Inner != nil {
			if !bytes.Contains(m.Raw, m.Inner.Raw) || m.Inner.Inner != nil {
				t.Fatalf("inner raw %q not inside %q", m.Inner.Raw, m.Raw)
			}
			if m.Carbon == stanza.NotCarbon && m.MAM == nil {
				t.Fatal("inner without a wrapper")
			}
		}
		if (m.Type == "error") != (m.Error != nil) {
			t.Fatalf("type %q, error %v", m.Type, m.Error)
		}
		if m.Error != nil && m.Error.Condition == "" {
			t.Fatal("error without a condition")
		}
	})
}
