// RFC 6120 §6 SASL and §7 resource binding (for servers without XEP-0388),
// XEP-0280 Message Carbons enable, RFC 6121 §2 roster get with §2.6
// versioning, and RFC 6121 §4.2 initial presence. Every stanza carries
// xmlns='jabber:client': Prosody's WebSocket closes the stream on a stanza
// without it.

package client

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/waxwing-im/waxwing/wasm/frame"
	"github.com/waxwing-im/waxwing/wasm/stanza"
)

// MarshalSASLAuth returns an RFC 6120 <auth/>. A nil initial response sends
// none; an empty one is sent as "=" (RFC 6120 §6.4.2).
func MarshalSASLAuth(mech string, initial []byte) []byte {
	start := "<auth xmlns='" + NSSASL + "' mechanism='" + frame.Escape(mech) + "'"
	switch {
	case initial == nil:
		return []byte(start + "/>")
	case len(initial) == 0:
		return []byte(start + ">=</auth>")
	}
	return []byte(start + ">" + base64.StdEncoding.EncodeToString(initial) + "</auth>")
}

// MarshalSASLResponse returns an RFC 6120 <response/> carrying data (an
// empty element for empty data).
func MarshalSASLResponse(data []byte) []byte {
	if len(data) == 0 {
		return []byte("<response xmlns='" + NSSASL + "'/>")
	}
	return []byte("<response xmlns='" + NSSASL + "'>" + base64.StdEncoding.EncodeToString(data) + "</response>")
}

// ParseSASLChallenge returns the decoded data of an RFC 6120 <challenge/>.
func ParseSASLChallenge(raw []byte) ([]byte, error) {
	return parseSASLData(raw, NSSASL, "challenge")
}

// ParseSASLSuccess parses an RFC 6120 <success/>. additional is nil when
// the server sent no additional data, and empty (not nil) when it sent "="
// (RFC 6120 §6.4.6). A <failure/> is returned as its *AuthError.
func ParseSASLSuccess(raw []byte) (additional []byte, err error) {
	if ae := ParseFailure(raw); ae != nil {
		return nil, ae
	}
	var x struct {
		XMLName xml.Name
		Text    string `xml:",chardata"`
	}
	if err := decodeXML(raw, &x); err != nil {
		return nil, fmt.Errorf("malformed SASL success: %w", err)
	}
	if x.XMLName.Space != NSSASL || x.XMLName.Local != "success" {
		return nil, fmt.Errorf("got <%s xmlns='%s'>, want <success xmlns='%s'>", x.XMLName.Local, x.XMLName.Space, NSSASL)
	}
	if strings.TrimSpace(x.Text) == "" {
		return nil, nil
	}
	d, err := decodeSASLData(x.Text)
	if err != nil {
		return nil, fmt.Errorf("SASL success: %w", err)
	}
	return d, nil
}

// MarshalBind returns an RFC 6120 §7 resource binding request. An empty
// resource lets the server choose one.
func MarshalBind(id, resource string) []byte {
	s := "<iq xmlns='" + NSClient + "' type='set' id='" + frame.Escape(id) + "'><bind xmlns='" + NSBind + "'"
	if resource == "" {
		return []byte(s + "/></iq>")
	}
	return []byte(s + "><resource>" + frame.Escape(resource) + "</resource></bind></iq>")
}

// ParseBindResult returns the full JID of a resource binding result. An iq
// of type 'error' is returned as its *stanza.StanzaError.
func ParseBindResult(raw []byte) (jid string, err error) {
	if _, err := ParseIQResult(raw); err != nil {
		return "", err
	}
	var x struct {
		Bind *struct {
			JID string `xml:"urn:ietf:params:xml:ns:xmpp-bind jid"`
		} `xml:"urn:ietf:params:xml:ns:xmpp-bind bind"`
	}
	if err := decodeXML(raw, &x); err != nil {
		return "", fmt.Errorf("malformed bind result: %w", err)
	}
	if x.Bind == nil || strings.TrimSpace(x.Bind.JID) == "" {
		return "", errors.New("bind result without <jid/>")
	}
	jid = strings.TrimSpace(x.Bind.JID)
	if !strings.Contains(jid, "/") {
		return "", fmt.Errorf("bind result %q is not a full JID", jid)
	}
	return jid, nil
}

// ParseIQResult checks that raw is a jabber:client iq of type 'result' and
// returns its id. An iq of type 'error' is returned as its *stanza.StanzaError.
func ParseIQResult(raw []byte) (id string, err error) {
	ns, local := ElementName(raw)
	if ns != NSClient || local != "iq" {
		return "", fmt.Errorf("got <%s xmlns='%s'>, want an iq", local, ns)
	}
	switch t := ElementAttr(raw, "type"); t {
	case "result":
		return ElementAttr(raw, "id"), nil
	case "error":
		if se := stanza.ParseError(raw); se != nil {
			return ElementAttr(raw, "id"), se
		}
		return ElementAttr(raw, "id"), &stanza.StanzaError{Type: "cancel", Condition: "undefined-condition", Text: "malformed error stanza"}
	default:
		return "", fmt.Errorf("got an iq of type %q, want result", t)
	}
}

// MarshalCarbonsEnable returns the XEP-0280 request to enable carbons.
func MarshalCarbonsEnable(id string) []byte {
	return []byte("<iq xmlns='" + NSClient + "' type='set' id='" + frame.Escape(id) + "'><enable xmlns='" + NSCarbons + "'/></iq>")
}

// MarshalRosterGet returns a roster request with versioning (RFC 6121
// §2.6.2): ver is the version of the cached roster, or "" to ask for the
// whole roster and a version to cache (an empty ver attribute is sent).
// Only for servers that advertise roster versioning (Features.RosterVer);
// otherwise use MarshalRosterGetUnversioned.
func MarshalRosterGet(id, ver string) []byte {
	return []byte("<iq xmlns='" + NSClient + "' type='get' id='" + frame.Escape(id) + "'><query xmlns='" + NSRoster + "' ver='" + frame.Escape(ver) + "'/></iq>")
}

// MarshalRosterGetUnversioned returns a roster request without 'ver', for
// servers that do not advertise roster versioning (RFC 6121 §2.6.3).
func MarshalRosterGetUnversioned(id string) []byte {
	return []byte("<iq xmlns='" + NSClient + "' type='get' id='" + frame.Escape(id) + "'><query xmlns='" + NSRoster + "'/></iq>")
}

// MarshalPresence returns initial presence (RFC 6121 §4.2).
func MarshalPresence() []byte {
	return []byte("<presence xmlns='" + NSClient + "'/>")
}
