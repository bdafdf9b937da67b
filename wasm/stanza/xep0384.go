// XEP-0384 OMEMO Encryption (<encrypted/> in eu.siacs.conversations.axolotl,
// the deployed 0.3, and urn:xmpp:omemo:2), and the other end-to-end
// encrypted payloads a server cannot read: XEP-0027 <x xmlns='jabber:x:encrypted'/>
// and XEP-0373 <openpgp xmlns='urn:xmpp:openpgp:0'/>.

package stanza

// encryptedPayloads maps the namespace of each encrypted payload to its
// element name.
var encryptedPayloads = map[string]string{
	NSOMEMO:              "encrypted",
	NSOMEMO2:             "encrypted",
	"urn:xmpp:omemo:0":   "encrypted",
	"jabber:x:encrypted": "x",
	"urn:xmpp:openpgp:0": "openpgp",
}

// parseEncryption records the first encrypted payload.
func parseEncryption(m *Message, k *node) {
	if local, ok := encryptedPayloads[k.name.Space]; ok && local == k.name.Local && m.Encryption == "" {
		m.Encryption = k.name.Space
	}
}
