// XEP-0066 Out of Band Data: <x xmlns='jabber:x:oob'><url/><desc/></x> in
// messages (how XEP-0363 uploads are shared).

package stanza

// OOB is one out-of-band URL with its optional description.
type OOB struct {
	URL, Desc string
}

func parseOOB(m *Message, k *node) {
	if k.name.Local != "x" {
		return
	}
	if u := k.childText(NSOOB, "url"); u != "" {
		m.OOB = append(m.OOB, OOB{URL: u, Desc: k.childText(NSOOB, "desc")})
	}
}
