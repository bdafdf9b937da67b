// XEP-0444 Message Reactions (urn:xmpp:reactions:0): <reactions id> with
// one <reaction/> per emoji, the full current set (empty: all removed).

package stanza

// Reactions is the sender's full set of reactions to the message ID.
type Reactions struct {
	ID     string
	Emojis []string // trimmed, each once, in order
}

func parseReactions(m *Message, k *node) {
	if k.name.Local != "reactions" || m.Reactions != nil {
		return
	}
	r := &Reactions{ID: k.attrValue("id")}
	for _, c := range k.kids {
		if !c.is(NSReactions, "reaction") {
			continue
		}
		e := c.textTrim()
		if e != "" && !contains(r.Emojis, e) {
			r.Emojis = append(r.Emojis, e)
		}
	}
	m.Reactions = r
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
