// XEP-0184 Message Delivery Receipts: <request/> and <received id/>
// (urn:xmpp:receipts).

package stanza

import "strings"

func parseReceipt(m *Message, k *node) {
	switch k.name.Local {
	case "request":
		m.ReceiptRequest = true
	case "received":
		if m.ReceiptReceived == "" {
			m.ReceiptReceived = k.attrValue("id")
		}
	}
}

// Receipt returns the receipt for the message id to to: a <message/> of
// type typ with <received id/> and its own id msgID. XEP-0184 calls using
// the received message's type good practice; a receipt for a groupchat
// message goes to the room's bare JID.
func Receipt(to, typ, msgID, id string) []byte {
	var b strings.Builder
	messageOpen(&b, typ, to, msgID)
	b.WriteString("<received xmlns='" + NSReceipts + "'")
	attrs(&b, "id", id)
	b.WriteString("/></message>")
	return []byte(b.String())
}
