// XEP-0424 Message Retraction (urn:xmpp:message-retract:1, version 0.4):
// <retract id/> and the archive's <retracted/> tombstone; also the form
// before 0.4, <apply-to xmlns='urn:xmpp:fasten:0' id> (XEP-0422) around
// <retract xmlns='urn:xmpp:message-retract:0'/>.

package stanza

func parseRetract(m *Message, k *node) {
	switch {
	case k.is(NSRetract, "retract"):
		if m.Retract == "" {
			m.Retract = k.attrValue("id")
		}
	case k.is(NSRetract, "retracted"):
		m.Retracted = true
	case k.is(NSFasten, "apply-to"):
		if k.child(NSRetract0, "retract") != nil && m.Retract == "" {
			m.Retract = k.attrValue("id")
		}
	}
}
