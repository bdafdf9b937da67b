package stanza_test

import (
	"strings"
	"testing"

	"github.com/waxwing-im/waxwing/wasm/stanza"
)

func TestMDSPublish(t *testing.T) {
	t.Parallel()
	got := stanza.MDSPublish("flag-as-displayed-1", stanza.Displayed{Chat: "romeo@montegue.lit",
		StanzaID: stanza.StanzaID{By: "juliet@capulet.lit", ID: "0f710f2b-52ed-4d52-b928-784dad74a52b"}})
	// XEP-0490 §3.2, as one line.
	want := `<iq xmlns='jabber:client' type='set' id='flag-as-displayed-1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:mds:displayed:0'><item id='romeo@montegue.lit'><displayed xmlns='urn:xmpp:mds:displayed:0'><stanza-id xmlns='urn:xmpp:sid:0' by='juliet@capulet.lit' id='0f710f2b-52ed-4d52-b928-784dad74a52b'/></displayed></item></publish><publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field><field var='pubsub#persist_items'><value>true</value></field><field var='pubsub#max_items'><value>max</value></field><field var='pubsub#send_last_published_item'><value>never</value></field><field var='pubsub#access_model'><value>whitelist</value></field></x></publish-options></pubsub></iq>`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	checkElement(t, got, "iq")
	// What is published reads back as the event the server sends.
	item := string(got)[strings.Index(string(got), "<item"):strings.Index(string(got), "</publish>")]
	ev := `<message from='juliet@capulet.lit' type='headline'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:mds:displayed:0'>` +
		strings.Replace(item, "<item", "<item xmlns='http://jabber.org/protocol/pubsub#event'", 1) + `</items></event></message>`
	m := mustParse(t, ev)
	if len(m.Displayed) != 1 || m.Displayed[0].Chat != "romeo@montegue.lit" || m.Displayed[0].StanzaID.ID != "0f710f2b-52ed-4d52-b928-784dad74a52b" {
		t.Errorf("round trip %+v", m.Displayed)
	}
}

func TestReceiptAndMarker(t *testing.T) {
	t.Parallel()
	checkBuilt(t, "message", []built{
		{string(stanza.Receipt("kingrichard@royalty.england.lit/throne", "chat", "bi29sg183b4v", "richard2-4.1.247")),
			`<message xmlns='jabber:client' type='chat' to='kingrichard@royalty.england.lit/throne' id='bi29sg183b4v'><received xmlns='urn:xmpp:receipts' id='richard2-4.1.247'/></message>`},
		{string(stanza.ChatMarker("romeo@montegue.lit", "chat", "m2", stanza.MarkerDisplayed, "the-msg-1")),
			`<message xmlns='jabber:client' type='chat' to='romeo@montegue.lit' id='m2'><displayed xmlns='urn:xmpp:chat-markers:0' id='the-msg-1'/></message>`},
		{string(stanza.ChatMarker("room@muc", "groupchat", "", stanza.MarkerReceived, "s&1")),
			`<message xmlns='jabber:client' type='groupchat' to='room@muc'><received xmlns='urn:xmpp:chat-markers:0' id='s&amp;1'/></message>`},
	})
}

func TestDateTime(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"2010-07-10T23:08:25Z":          "2010-07-10T23:08:25Z",
		"2010-07-10T23:08:25.123Z":      "2010-07-10T23:08:25.123Z",
		"2010-07-11T01:08:25+02:00":     "2010-07-10T23:08:25Z",
		" 2010-07-10T23:08:25.5-00:00 ": "2010-07-10T23:08:25.500Z",
	} {
		ts, err := stanza.ParseDateTime(in)
		if err != nil || stanza.FormatDateTime(ts) != want {
			t.Errorf("%q: %v %v, want %s", in, stanza.FormatDateTime(ts), err, want)
		}
	}
	if _, err := stanza.ParseDateTime("2010-07-10 23:08:25"); err == nil {
		t.Error("no T accepted")
	}
}
