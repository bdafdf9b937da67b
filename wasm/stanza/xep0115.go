// XEP-0115 Entity Capabilities: <c xmlns='http://jabber.org/protocol/caps'
// hash node ver/> in presence.

package stanza

import "strings"

// Caps is an entity's capabilities: the verification string Ver computed
// with Hash (sha-1) over its features, and the software's Node URI.
type Caps struct {
	Hash, Node, Ver string
}

func parseCaps(k *node) *Caps {
	return &Caps{Hash: k.attrValue("hash"), Node: k.attrValue("node"), Ver: k.attrValue("ver")}
}

func writeCaps(b *strings.Builder, c Caps) {
	b.WriteString("<c xmlns='" + NSCaps + "'")
	attrs(b, "hash", c.Hash, "node", c.Node, "ver", c.Ver)
	b.WriteString("/>")
}
