// XEP-0372 References (urn:xmpp:reference:0): <reference type='mention'
// uri/>, how a client marks a mention of a user in a room.

package stanza

func parseReference(m *Message, k *node) {
	if k.name.Local == "reference" && k.attrValue("type") == "mention" {
		if u := k.attrValue("uri"); u != "" {
			m.Mentions = append(m.Mentions, u)
		}
	}
}
