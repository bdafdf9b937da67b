// RFC 6121 §2 Managing the Roster (jabber:iq:roster): get with roster
// versioning (§2.6), set and remove (§2.3, §2.5), the result and roster
// pushes (§2.1.6).

package stanza

import (
	"strings"

	"github.com/waxwing-im/waxwing/wasm/frame"
)

// RosterItem is one contact.
type RosterItem struct {
	JID          string
	Name         string
	Subscription string // none, to, from, both; remove in a push that deletes the item
	Ask          string // "subscribe" while a subscription request is pending
	Approved     bool   // pre-approved (§3.4)
	Groups       []string
}

// Roster is a roster result or push. Unchanged is true for the empty
// result a server sends when the requested version is current (§2.6.3):
// the cached roster stays. Push is true for an iq of type 'set' (one item;
// accept it only when From is empty or the own bare JID, §2.1.6, and answer
// it with an iq result).
type Roster struct {
	ID, From  string
	Push      bool
	Unchanged bool
	Ver       string
	Items     []RosterItem
}

// RosterGet returns the roster request. With versioning (the server
// advertised urn:xmpp:features:rosterver), ver is sent, and ” asks for
// the whole roster and its version.
func RosterGet(id, ver string, versioning bool) []byte {
	var b strings.Builder
	iqOpen(&b, "get", id, "")
	b.WriteString("<query xmlns='" + NSRoster + "'")
	if versioning {
		b.WriteString(" ver='" + frame.Escape(ver) + "'")
	}
	b.WriteString("/></iq>")
	return []byte(b.String())
}

// RosterSet returns the iq that adds or updates item (its Subscription,
// Ask and Approved are the server's to set and are not sent).
func RosterSet(id string, item RosterItem) []byte {
	var b strings.Builder
	iqOpen(&b, "set", id, "")
	b.WriteString("<query xmlns='" + NSRoster + "'><item")
	attrs(&b, "jid", item.JID, "name", item.Name)
	b.WriteString(">")
	for _, g := range item.Groups {
		b.WriteString("<group>" + frame.Escape(g) + "</group>")
	}
	b.WriteString("</item></query></iq>")
	return []byte(b.String())
}

// RosterRemove returns the iq that removes jid from the roster (and
// cancels subscriptions both ways, §2.5).
func RosterRemove(id, jid string) []byte {
	var b strings.Builder
	iqOpen(&b, "set", id, "")
	b.WriteString("<query xmlns='" + NSRoster + "'><item")
	attrs(&b, "jid", jid, "subscription", "remove")
	b.WriteString("/></query></iq>")
	return []byte(b.String())
}

// ParseRoster parses a roster result or push. Items without a jid are
// dropped. An iq of type 'error' returns its *StanzaError.
func ParseRoster(raw []byte) (Roster, error) {
	n, err := parseStanzaRoot(raw, "iq")
	if err != nil {
		return Roster{}, err
	}
	r := Roster{ID: n.attrValue("id"), From: n.attrValue("from")}
	switch t := n.attrValue("type"); t {
	case "error":
		return Roster{}, parseStanzaError(n)
	case "set":
		r.Push = true
	case "result":
	default:
		return Roster{}, errMalformed("roster iq of type '" + t + "'")
	}
	q := n.child(NSRoster, "query")
	if q == nil {
		if r.Push {
			return Roster{}, errMissing(n, NSRoster, "query")
		}
		r.Unchanged = true
		return r, nil
	}
	r.Ver = q.attrValue("ver")
	for _, it := range q.kids {
		if !it.is(NSRoster, "item") || it.attrValue("jid") == "" {
			continue
		}
		item := RosterItem{
			JID: it.attrValue("jid"), Name: it.attrValue("name"),
			Subscription: it.attrValue("subscription"), Ask: it.attrValue("ask"),
			Approved: xsBool(it.attrValue("approved"), false),
		}
		if item.Subscription == "" {
			item.Subscription = "none"
		}
		for _, g := range it.kids {
			if name := g.textTrim(); g.is(NSRoster, "group") && name != "" && !contains(item.Groups, name) {
				item.Groups = append(item.Groups, name)
			}
		}
		r.Items = append(r.Items, item)
	}
	if r.Push && len(r.Items) != 1 {
		return Roster{}, errMalformed("roster push without exactly one item (RFC 6121 §2.1.6)")
	}
	return r, nil
}
