package stanza_test

import (
	"slices"
	"testing"
)

// Wire fixtures: transcripts from Prosody 0.12.3 and ejabberd 23.01
// (servers.md §1.8, §2.3) and examples from the XEP text.
const (
	// servers.md §1.8: Prosody MAM result; the result id equals the live stanza-id.
	wireProsodyMAMResult = `<message to='alice@localhost/tag~TUWBYOSoOpGi'><result id='zq3mAe6Yj2u7H2xuEY8sFV6h' queryid='q1' xmlns='urn:xmpp:mam:2'><forwarded xmlns='urn:xmpp:forward:0'><delay stamp='2026-11-20T23:24:12Z' xmlns='urn:xmpp:delay'/><message from='bob@localhost/probe~9M7E7Rqqjrex' to='alice@localhost' type='chat' id='b1' xml:lang='en' xmlns='jabber:client'><body>bob to alice 1</body></message></forwarded></result></message>`
	wireProsodyMAMFin    = `<iq id='mam1' type='result'><fin complete='true' xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><last>Se__1fvQcV9YRjzhNqCdWUoC</last><first>zq3mAe6Yj2u7H2xuEY8sFV6h</first><count>4</count></set></fin></iq>`
	// servers.md §1.8: a live message on Prosody.
	wireProsodyLive = `<message xmlns='jabber:client' from='bob@localhost/probe~9M7E7Rqqjrex' to='alice@localhost' type='chat' id='b2' xml:lang='en'><body>bob to alice 2</body><stanza-id xmlns='urn:xmpp:sid:0' by='alice@localhost' id='zq3mAe6Yj2u7H2xuEY8sFV6h'/></message>`
	// servers.md §2.3: ejabberd adds <archived/> and a numeric stanza-id.
	wireEjabberdLive = `<message xml:lang='en' to='alice@localhost/probe-alice' from='bob@localhost/probe-bob' type='chat' id='b1' xmlns='jabber:client'><archived by='alice@localhost' id='1795217489191448' xmlns='urn:xmpp:mam:tmp'/><stanza-id by='alice@localhost' id='1795217489191448' xmlns='urn:xmpp:sid:0'/><body>bob to alice 1</body></message>`
	// servers.md §2.3: SM resend with a Resent delay.
	wireEjabberdResent = `<message xml:lang='en' to='alice@localhost/probe-alice' from='bob@localhost/probe-bob' type='chat' id='m1' xmlns='jabber:client'><body>m1</body><delay xmlns='urn:xmpp:delay' from='localhost' stamp='2026-11-20T23:30:01.123456Z'>Resent</delay></message>`
	// XEP-0280 §6 and §7.
	wireCarbonReceived = `<message xmlns='jabber:client' from='romeo@montague.example' to='romeo@montague.example/home' type='chat'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='juliet@capulet.example/balcony' to='romeo@montague.example/garden' type='chat'><body>What man art thou that, thus bescreen'd in night, so stumblest on my counsel?</body><thread>0e3141cd80894871a68e6fe6b1ec56fa</thread></message></forwarded></received></message>`
	wireCarbonSent     = `<message xmlns='jabber:client' from='romeo@montague.example' to='romeo@montague.example/garden' type='chat'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' to='juliet@capulet.example/balcony' from='romeo@montague.example/home' type='chat' id='s1'><body>Neither, fair saint, if either thee dislike.</body><origin-id xmlns='urn:xmpp:sid:0' id='s1'/><thread>0e3141cd80894871a68e6fe6b1ec56fa</thread></message></forwarded></sent></message>`
	// XEP-0280 §11: Tybalt's forged carbon.
	wireCarbonForged = `<message xmlns='jabber:client' from='tybalt@capulet.example/home' to='romeo@montague.example' type='chat'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='juliet@capulet.example/balcony' to='romeo@montague.example/garden' type='chat'><body>Romeo, I love you!</body></message></forwarded></received></message>`
	// XEP-0313 §5.2 result without a queryid on the inner; XEP-0313 metadata.
	wireMAMMetadata      = `<iq type='result' id='jui8921rr9'><metadata xmlns='urn:xmpp:mam:2'><start id='YWxwaGEg' timestamp='2008-08-22T21:09:04Z' /><end id='b21lZ2Eg' timestamp='2020-04-20T14:34:21Z' /></metadata></iq>`
	wireMAMMetadataEmpty = `<iq type='result' id='md2'><metadata xmlns='urn:xmpp:mam:2'/></iq>`
	wireMAMNotFound      = `<iq type='error' id='q29303'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`
	// servers.md §1.8: a room message archived by the room.
	wireMUCMessage = `<message xmlns='jabber:client' from='probe@conference.localhost/bob' to='alice@localhost/tag' type='groupchat' id='g1'><body>hello @alice</body><stanza-id xmlns='urn:xmpp:sid:0' by='probe@conference.localhost' id='Mx1-room'/><occupant-id xmlns='urn:xmpp:occupant-id:0' id='occ1'/><reference xmlns='urn:xmpp:reference:0' type='mention' uri='xmpp:alice@localhost' begin='6' end='12'/></message>`
)

var allWire = []string{
	wireProsodyMAMResult, wireProsodyMAMFin, wireProsodyLive, wireEjabberdLive, wireEjabberdResent,
	wireCarbonReceived, wireCarbonSent, wireCarbonForged, wireMAMMetadata, wireMAMMetadataEmpty,
	wireMAMNotFound, wireMUCMessage,
}

// fuzzSeeds adds every wire fixture and extra to f.
func fuzzSeeds(f *testing.F, extra ...string) {
	for _, s := range slices.Concat(allWire, extraWire, extra) {
		f.Add([]byte(s))
	}
}
