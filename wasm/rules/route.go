// RFC 6121 §5.1 addressing: conversations are between bare JIDs; traffic to
// a full JID belongs to one session (RFC 7622 §3.4: the resourcepart).

package rules

import (
	"strings"
)

// bare returns jid without its resourcepart (RFC 7622 §3.1).
func bare(jid string) string {
	if i := strings.IndexByte(jid, '/'); i >= 0 {
		return jid[:i]
	}
	return jid
}

// resource returns the resourcepart of jid, "" for a bare JID.
func resource(jid string) string {
	if i := strings.IndexByte(jid, '/'); i >= 0 {
		return jid[i+1:]
	}
	return ""
}

// sameBare reports whether two bare JIDs are the same account; domain and
// localpart compare case-insensitively (RFC 7622 §3.2, §3.3).
func sameBare(a, b string) bool {
	return a != "" && strings.EqualFold(a, b)
}

// Route says how a stanza to to is handled: bare is true for a
// conversation (a bare JID, or no to at all: the own account), which is
// archived, carbon-copied and synced to every device; false for a full JID,
// whose traffic (IBB, Jingle signalling, ringing, MUC private messages to
// one occupant session) is ephemeral: for that session only.
func Route(to string) (bare bool, reason string) {
	switch {
	case to == "":
		return true, "no to: the own account"
	case resource(to) == "" && !strings.HasSuffix(to, "/"):
		return true, "bare JID " + to + ": a conversation, synced to all devices"
	default:
		return false, "full JID " + to + ": one session's traffic, ephemeral"
	}
}
