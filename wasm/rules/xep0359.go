// XEP-0359 Unique and Stable Stanza IDs, §"Security Considerations" and
// XEP-0313 §"Communicating the archive ID": a stanza-id is trusted only when
// its by is the archive that vouches for it.

package rules

import (
	"strconv"
	"strings"

	"github.com/waxwing-im/waxwing/wasm/stanza"
)

// Archive returns the archive that vouches for m's stanza-id: the room's
// bare JID for a groupchat message, the own bare JID self otherwise.
func Archive(m stanza.Message, self string) string {
	if m.Type == "groupchat" {
		return bare(m.From)
	}
	return self
}

// TrustStanzaID returns the id of the stanza-id by archive (the own bare JID
// for chats, the room's bare JID for groupchat; see Archive), and whether
// it can be trusted. Stanza-ids by anyone else are ignored (any sender can
// add them); an archive that put two on one message is not trusted
// (XEP-0359 allows at most one per by).
func TrustStanzaID(m stanza.Message, archive string) (id string, ok bool, reason string) {
	if archive == "" {
		return "", false, "no archive to vouch for a stanza-id"
	}
	var found []string
	var others []string
	for _, s := range m.StanzaIDs {
		if sameBare(s.By, archive) {
			found = append(found, s.ID)
		} else {
			others = append(others, s.By)
		}
	}
	switch {
	case len(found) > 1:
		return "", false, "stanza-id: " + strconv.Itoa(len(found)) + " by " + archive + ", at most one allowed (XEP-0359 §5)"
	case len(found) == 1 && found[0] == "":
		return "", false, "stanza-id by " + archive + " without an id"
	case len(found) == 1:
		return found[0], true, "stanza-id by the archive " + archive
	case len(others) > 0:
		return "", false, "stanza-id by " + strings.Join(others, ", ") + ", not by the archive " + archive + ": untrusted"
	}
	return "", false, "no stanza-id"
}
