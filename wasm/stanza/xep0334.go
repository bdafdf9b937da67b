// XEP-0334 Message Processing Hints (urn:xmpp:hints): no-permanent-store,
// no-store, no-copy and store.

package stanza

// Hints are the processing hints a message carries.
type Hints struct {
	NoPermanentStore bool // do not archive (may be kept for offline delivery)
	NoStore          bool // do not store at all
	NoCopy           bool // do not copy to other resources (carbons)
	Store            bool // store even if it would not be
}

func parseHint(m *Message, k *node) {
	switch k.name.Local {
	case "no-permanent-store":
		m.Hints.NoPermanentStore = true
	case "no-store":
		m.Hints.NoStore = true
	case "no-copy":
		m.Hints.NoCopy = true
	case "store":
		m.Hints.Store = true
	}
}
