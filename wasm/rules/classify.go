// Routing 2.0 verdicts for messages, after Prosody's mod_cloud_notify
// (is_important, is_urgent), mod_csi_simple (is_important), XEP-0313
// §"Business Rules" (what an archive keeps), XEP-0280 §11 (carbons from the
// own bare JID only) and XEP-0334 hints.

package rules

import (
	"strings"

	"github.com/waxwing-im/waxwing/wasm/stanza"
)

// Urgency says how soon a stanza should reach the user.
type Urgency int

// Urgencies, lowest first.
const (
	None   Urgency = iota // nothing to notify: state, receipts, own messages
	Low                   // shown, never wakes a device: group chatter, reactions, corrections
	Normal                // a notification: a direct message, a mention in a room
	High                  // wakes at once: a call (XEP-0353 propose)
)

// String returns none, low, normal or high.
func (u Urgency) String() string {
	switch u {
	case Low:
		return "low"
	case Normal:
		return "normal"
	case High:
		return "high"
	}
	return "none"
}

// Verdict is what to do with a stanza.
type Verdict struct {
	// Persistent: archived, stored and synced to all devices; otherwise
	// ephemeral (chat states, receipts and markers without a body,
	// full-JID traffic, no-store hints, errors, headlines).
	Persistent bool
	Urgency    Urgency
	// Unwrapped: the verdict is about m.Inner, the message of a genuine
	// carbon or an archive result.
	Unwrapped bool
}

// Classify returns the verdict for message m received by the account whose
// bare JID is self. nicks are the user's nicknames in the room m comes from
// (for mentions; none for one-to-one chats). The reason names the rule.
func Classify(m stanza.Message, self string, nicks ...string) (Verdict, string) {
	switch {
	case m.Carbon != stanza.NotCarbon:
		if m.From != self || self == "" {
			return Verdict{}, "forged carbon: outer from " + quote(m.From) + " is not the own bare JID " + quote(self) + " (XEP-0280 §11), dropped"
		}
		if m.Inner == nil {
			return Verdict{}, m.Carbon.String() + " carbon without a forwarded message, dropped"
		}
		v, why := classify(*m.Inner, self, nicks, m.Carbon == stanza.Sent)
		v.Unwrapped = true
		return v, m.Carbon.String() + " carbon: " + why
	case m.MAM != nil:
		if m.Inner == nil {
			return Verdict{}, "archive result " + quote(m.MAM.ID) + " without a message (removed from the archive)"
		}
		v, why := classify(*m.Inner, self, nicks, sameBare(bare(m.Inner.From), self))
		v.Unwrapped, v.Urgency = true, None
		why = "archive result: history is never urgent; " + why
		if m.From != "" && !sameBare(m.From, self) {
			why += "; from the archive " + m.From + ": believe it only as the answer to query " + quote(m.MAM.QueryID) + " sent there"
		}
		return v, why
	}
	return classify(m, self, nicks, false)
}

// classify decides for a message that is not a wrapper; outgoing is true
// for the user's own messages (sent carbons, own archived messages).
func classify(m stanza.Message, self string, nicks []string, outgoing bool) (Verdict, string) {
	v, why := content(m, self, nicks)
	if outgoing && v.Urgency > None {
		v.Urgency, why = None, why+", sent by the user"
	}
	if !v.Persistent {
		return v, why
	}
	switch {
	case m.Hints.NoStore:
		v.Persistent, why = false, why+", but no-store hint: ephemeral"
	case m.Hints.NoPermanentStore:
		v.Persistent, why = false, why+", but no-permanent-store hint: ephemeral"
	}
	return v, why
}

// content classifies by what m carries, most important first.
func content(m stanza.Message, self string, nicks []string) (Verdict, string) {
	persistent := func(u Urgency) Verdict { return Verdict{Persistent: true, Urgency: u} }
	groupchat := m.Type == "groupchat"
	switch {
	case m.Type == "error":
		cond := "undefined-condition"
		if m.Error != nil {
			cond = m.Error.Condition
		}
		return Verdict{Urgency: Low}, "error bounce (" + cond + "): ephemeral, shown against the sent message"
	case len(m.Displayed) > 0:
		if m.From != "" && !sameBare(m.From, self) {
			return Verdict{}, "forged MDS event: from " + m.From + ", not the own account, dropped"
		}
		return Verdict{}, "MDS displayed update (XEP-0490): read state, not history"
	case m.Type == "headline":
		return Verdict{}, "headline: ephemeral by definition"
	case m.JMI != nil && m.JMI.Action == "propose":
		return persistent(High), "call proposed (XEP-0353 propose)"
	case m.JMI != nil && m.JMI.Action == "ringing":
		return Verdict{}, "call ringing (XEP-0353): one device's signal"
	case m.JMI != nil:
		return persistent(Low), "call " + m.JMI.Action + " (XEP-0353)"
	case m.Retract != "":
		return persistent(Low), "retraction of " + quote(m.Retract) + " (XEP-0424)"
	case m.Replace != "":
		return persistent(Low), "correction of " + quote(m.Replace) + " (XEP-0308)"
	case m.Reactions != nil:
		return persistent(Low), "reactions to " + quote(m.Reactions.ID) + " (XEP-0444)"
	case m.Encryption != "":
		if groupchat {
			return persistent(Low), "encrypted groupchat message (" + m.Encryption + ")"
		}
		return persistent(Normal), "encrypted message (" + m.Encryption + "): content unknown, treated as a direct message"
	case groupchat && m.HasSubject && strings.TrimSpace(m.Body) == "":
		return persistent(None), "room subject"
	case strings.TrimSpace(m.Body) != "" || len(m.OOB) > 0:
		return message(m, self, nicks)
	case m.MUCUser != nil && m.MUCUser.Invite:
		return persistent(Normal), "room invitation (XEP-0045)"
	case m.ChatState != "" && !m.ReceiptRequest && m.ReceiptReceived == "" && m.Marker == nil:
		return Verdict{}, "chat state only (" + string(m.ChatState) + ")"
	case m.ReceiptReceived != "":
		return Verdict{}, "receipt for " + quote(m.ReceiptReceived) + " without a body"
	case m.Marker != nil:
		return Verdict{}, string(m.Marker.Type) + " marker for " + quote(m.Marker.ID) + " without a body"
	case slicesHasPrefix(m.Payloads, "{http://jabber.org/protocol/ibb}"):
		return Verdict{}, "in-band bytestream data: one session's traffic"
	case m.HasBody:
		return Verdict{}, "empty body"
	}
	return Verdict{}, "nothing to keep"
}

// message classifies a message with a body.
func message(m stanza.Message, self string, nicks []string) (Verdict, string) {
	switch {
	case m.Type == "groupchat":
		nick := resource(m.From)
		for _, n := range nicks {
			if n != "" && n == nick {
				return Verdict{Persistent: true}, "groupchat message from the user's own nick " + quote(nick)
			}
		}
		if who, ok := mentioned(m, self, nicks); ok {
			return Verdict{Persistent: true, Urgency: Normal}, "mention of " + quote(who) + " in room " + bare(m.From)
		}
		return Verdict{Persistent: true, Urgency: Low}, "group chatter in " + bare(m.From)
	case m.MUCUser != nil:
		return Verdict{Persistent: true, Urgency: Normal}, "private message from room occupant " + m.From
	}
	return Verdict{Persistent: true, Urgency: Normal}, "direct message with a body"
}

// mentioned reports whether a groupchat message mentions the user: an
// XEP-0372 mention of the own JID or of the room JID with one of the
// user's nicks, or a nick as a word of the body.
func mentioned(m stanza.Message, self string, nicks []string) (string, bool) {
	room := bare(m.From)
	for _, uri := range m.Mentions {
		target := strings.TrimPrefix(uri, "xmpp:")
		if sameBare(target, self) {
			return self, true
		}
		for _, n := range nicks {
			if n != "" && target == room+"/"+n {
				return n, true
			}
		}
	}
	body := strings.ToLower(m.Body)
	for _, n := range nicks {
		if n != "" && containsWord(body, strings.ToLower(n)) {
			return n, true
		}
	}
	return "", false
}

// containsWord reports whether word occurs in s with no letter or digit
// right before or after it.
func containsWord(s, word string) bool {
	for i := 0; i+len(word) <= len(s); {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(word)
		if (start == 0 || !isWordByte(s[start-1])) && (end == len(s) || !isWordByte(s[end])) {
			return true
		}
		i = start + 1
	}
	return false
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}

func slicesHasPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func quote(s string) string { return "'" + s + "'" }
