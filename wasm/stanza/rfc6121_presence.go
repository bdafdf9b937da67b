// RFC 6121 §3 and §4 presence: subscription requests and answers, initial
// presence, and the presence a client receives (show, status, priority),
// with XEP-0045 occupant data and XEP-0115 capabilities.

package stanza

import (
	"strconv"
	"strings"
)

// Presence is a parsed <presence/>. Type "" is available.
type Presence struct {
	From, To, Type, ID string
	Show               string // away, chat, dnd, xa; "" is available
	Status             string
	Priority           int      // -128 to 127; 0 when missing or malformed
	MUCUser            *MUCUser // XEP-0045 occupant data
	Caps               *Caps    // XEP-0115
	Delay              *Delay   // XEP-0203
	Error              *StanzaError
}

// ParsePresence parses a <presence/> stanza.
func ParsePresence(raw []byte) (Presence, error) {
	n, err := parseStanzaRoot(raw, "presence")
	if err != nil {
		return Presence{}, err
	}
	p := Presence{From: n.attrValue("from"), To: n.attrValue("to"), Type: n.attrValue("type"), ID: n.attrValue("id")}
	for _, k := range n.kids {
		switch {
		case isClientNS(k.name.Space):
			switch k.name.Local {
			case "show":
				if p.Show == "" {
					p.Show = k.textTrim()
				}
			case "status":
				if p.Status == "" || k.lang() == "" {
					p.Status = k.textTrim()
				}
			case "priority":
				if v, err := strconv.Atoi(k.textTrim()); err == nil && v >= -128 && v <= 127 {
					p.Priority = v
				}
			}
		case k.is(NSMUCUser, "x") && p.MUCUser == nil:
			p.MUCUser = parseMUCUser(k)
		case k.is(NSCaps, "c") && p.Caps == nil:
			p.Caps = parseCaps(k)
		case k.is(NSDelay, "delay") && p.Delay == nil:
			p.Delay = parseDelay(k)
		}
	}
	if p.Type == "error" {
		p.Error = parseStanzaError(n)
	}
	return p, nil
}

// presenceTo returns <presence type to/>.
func presenceTo(typ, to string) []byte {
	var b strings.Builder
	b.WriteString("<presence xmlns='" + NSClient + "'")
	attrs(&b, "type", typ, "to", to)
	b.WriteString("/>")
	return []byte(b.String())
}

// Subscribe returns a subscription request to the bare JID to (§3.1.1).
func Subscribe(to string) []byte { return presenceTo("subscribe", to) }

// Subscribed approves to's subscription request (§3.1.4).
func Subscribed(to string) []byte { return presenceTo("subscribed", to) }

// Unsubscribed refuses or cancels to's subscription (§3.2).
func Unsubscribed(to string) []byte { return presenceTo("unsubscribed", to) }

// InitialPresence returns the initial available presence (§4.2) with the
// optional show, status, priority (0 is not sent) and capabilities.
func InitialPresence(show, status string, priority int, caps *Caps) []byte {
	var b strings.Builder
	b.WriteString("<presence xmlns='" + NSClient + "'>")
	textElement(&b, "show", show)
	textElement(&b, "status", status)
	if priority != 0 {
		b.WriteString("<priority>" + strconv.Itoa(max(-128, min(127, priority))) + "</priority>")
	}
	if caps != nil {
		writeCaps(&b, *caps)
	}
	b.WriteString("</presence>")
	return []byte(b.String())
}
