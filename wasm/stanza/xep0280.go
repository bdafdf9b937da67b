// XEP-0280 Message Carbons: <sent/> and <received/> (urn:xmpp:carbons:2)
// wrapping an XEP-0297 forwarded message, and the <private/> opt-out.

package stanza

// parseCarbon reads an urn:xmpp:carbons:2 child of a message. The first
// <sent/> or <received/> decides the kind.
func parseCarbon(m *Message, k *node, raw []byte, unwrap bool) {
	switch k.name.Local {
	case "private":
		m.PrivateCarbon = true
		return
	case "sent":
		if m.Carbon != NotCarbon {
			return
		}
		m.Carbon = Sent
	case "received":
		if m.Carbon != NotCarbon {
			return
		}
		m.Carbon = Received
	default:
		return
	}
	if unwrap && m.Inner == nil {
		m.Inner = unwrapForwarded(k.child(NSForward, "forwarded"), raw)
	}
}
