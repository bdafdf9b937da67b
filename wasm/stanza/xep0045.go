// XEP-0045 Multi-User Chat: the <x xmlns='http://jabber.org/protocol/muc#user'/>
// a room adds to private messages, archived messages and occupant presence
// (§7.2.3 item with affiliation, role, jid, nick; status codes; §7.8.2
// mediated invitations).

package stanza

import "strconv"

// MUCUser is a muc#user <x/>: the occupant's item, if any, the status
// codes, and whether it carries a mediated invitation.
type MUCUser struct {
	Affiliation, Role string
	JID, Nick         string // the occupant's real JID when the room reveals it
	Status            []int  // status codes, e.g. 110 (this is you), 201 (room created)
	Invite            bool
}

func parseMUCUser(k *node) *MUCUser {
	u := &MUCUser{}
	for _, c := range k.kids {
		if c.name.Space != NSMUCUser {
			continue
		}
		switch c.name.Local {
		case "item":
			u.Affiliation, u.Role = c.attrValue("affiliation"), c.attrValue("role")
			u.JID, u.Nick = c.attrValue("jid"), c.attrValue("nick")
		case "status":
			if code, err := strconv.Atoi(c.attrValue("code")); err == nil && code >= 100 && code <= 999 {
				u.Status = append(u.Status, code)
			}
		case "invite":
			u.Invite = true
		}
	}
	return u
}

// HasStatus reports whether the status code is among u's; false for a nil u.
func (u *MUCUser) HasStatus(code int) bool {
	if u == nil {
		return false
	}
	for _, c := range u.Status {
		if c == code {
			return true
		}
	}
	return false
}
