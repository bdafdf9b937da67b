// XEP-0297 Stanza Forwarding: <forwarded xmlns='urn:xmpp:forward:0'>, the
// wrapper XEP-0280 carbons and XEP-0313 archive results carry a message in,
// with the XEP-0203 delay of the forwarding entity.

package stanza

// unwrapForwarded parses the message inside <forwarded/> f, and the delay
// of the forwarded element. It returns nil when there is no message.
func unwrapForwarded(f *node, raw []byte) *Message {
	if f == nil {
		return nil
	}
	// The message is in jabber:client; a forwarded message written without
	// xmlns (as in XEP-0424's tombstone example) inherits the forward
	// namespace, and its children with it.
	var mn *node
	for _, k := range f.kids {
		if k.name.Local == "message" && (isClientNS(k.name.Space) || k.name.Space == NSForward) {
			mn = k
			break
		}
	}
	if mn == nil {
		return nil
	}
	inner := parseMessageNode(mn, raw, false)
	if d := f.child(NSDelay, "delay"); d != nil {
		inner.Delay = parseDelay(d)
	}
	return &inner
}
