// XEP-0359 Unique and Stable Stanza IDs: <stanza-id by id/> added by the
// archive that stores a message (the account for one-to-one chats, the room
// for groupchat) and <origin-id id/> set by the sending client.

package stanza

// StanzaID is one <stanza-id/>: the id By assigned. Trust it only when By
// is the archive that vouches for it (wasm/rules.TrustStanzaID).
type StanzaID struct {
	By, ID string
}

// parseSID reads an urn:xmpp:sid:0 child of a message. Stanza-ids are kept
// as found, including any with an empty by or id (the rules reject those);
// only the first origin-id counts.
func parseSID(m *Message, k *node) {
	switch k.name.Local {
	case "stanza-id":
		m.StanzaIDs = append(m.StanzaIDs, StanzaID{By: k.attrValue("by"), ID: k.attrValue("id")})
	case "origin-id":
		if m.OriginID == "" {
			m.OriginID = k.attrValue("id")
		}
	}
}

// StanzaIDBy returns the id of the first stanza-id whose by is exactly by.
func (m *Message) StanzaIDBy(by string) (string, bool) {
	for _, s := range m.StanzaIDs {
		if s.By == by && s.ID != "" {
			return s.ID, true
		}
	}
	return "", false
}
