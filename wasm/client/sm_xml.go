// XEP-0198 Stream Management: the elements <enable/>, <enabled/>,
// <resume/>, <resumed/>, <failed/>, <r/> and <a/> (urn:xmpp:sm:3), classic
// and inline (XEP-0198 §"SASL2 And BIND2 Interaction").

package client

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/waxwing-im/waxwing/wasm/frame"
)

// SMEnabled is <enabled/>: Stream Management is on. ID is the resumption id
// when Resume is true. Max is the server's resumption timeout in seconds
// (0: not given). Location is the server's preferred reconnection address.
type SMEnabled struct {
	ID       string
	Resume   bool
	Max      int
	Location string
}

// SMResumed is <resumed/>: the stream was resumed, and the server handled H
// of the client's stanzas.
type SMResumed struct {
	PrevID string
	H      uint32
}

// SMFailed is <failed/>: enabling or resuming failed. H, when the server
// gives it, counts the client's stanzas the server handled before the old
// session ended. Condition is the RFC 6120 stanza error condition, e.g.
// item-not-found, unexpected-request, feature-not-implemented ("" if none).
type SMFailed struct {
	H         *uint32
	Condition string
}

// MarshalEnable returns <enable/>, asking for resumption if resume is true.
func MarshalEnable(resume bool) []byte {
	if resume {
		return []byte("<enable xmlns='" + NSSM + "' resume='true'/>")
	}
	return []byte("<enable xmlns='" + NSSM + "'/>")
}

// MarshalResume returns <resume/> for the session prevID, with h the count
// of stanzas the client handled in it.
func MarshalResume(prevID string, h uint32) []byte {
	return []byte(resumeElement(prevID, h))
}

func resumeElement(prevID string, h uint32) string {
	return "<resume xmlns='" + NSSM + "' previd='" + frame.Escape(prevID) + "' h='" + strconv.FormatUint(uint64(h), 10) + "'/>"
}

// MarshalR returns <r/>, a request for an acknowledgement.
func MarshalR() []byte { return []byte("<r xmlns='" + NSSM + "'/>") }

// MarshalA returns <a/>, acknowledging h handled stanzas.
func MarshalA(h uint32) []byte {
	return []byte("<a xmlns='" + NSSM + "' h='" + strconv.FormatUint(uint64(h), 10) + "'/>")
}

// smXML holds the attributes and children of any urn:xmpp:sm:3 element.
type smXML struct {
	XMLName  xml.Name
	ID       string     `xml:"id,attr"`
	Resume   string     `xml:"resume,attr"`
	Max      string     `xml:"max,attr"`
	Location string     `xml:"location,attr"`
	PrevID   string     `xml:"previd,attr"`
	H        *string    `xml:"h,attr"`
	Children []childXML `xml:",any"`
}

// decodeSM decodes raw, which must be the urn:xmpp:sm:3 element local.
func decodeSM(raw []byte, local string) (smXML, error) {
	var x smXML
	if err := decodeXML(raw, &x); err != nil {
		return x, fmt.Errorf("malformed <%s/>: %w", local, err)
	}
	if x.XMLName.Space != NSSM || x.XMLName.Local != local {
		return x, fmt.Errorf("got <%s xmlns='%s'>, want <%s xmlns='%s'>", x.XMLName.Local, x.XMLName.Space, local, NSSM)
	}
	return x, nil
}

// parseH parses an XEP-0198 sequence number, an xs:unsignedInt.
func parseH(s string) (uint32, error) {
	h, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("bad h=%q: want an unsigned 32-bit integer", s)
	}
	return uint32(h), nil
}

// xsBool parses an xs:boolean.
func xsBool(s string) bool {
	s = strings.TrimSpace(s)
	return s == "true" || s == "1"
}

func (x smXML) enabled() SMEnabled {
	e := SMEnabled{ID: x.ID, Resume: xsBool(x.Resume), Location: x.Location}
	if m, err := strconv.Atoi(strings.TrimSpace(x.Max)); err == nil && m > 0 {
		e.Max = m
	}
	return e
}

func (x smXML) resumed() (SMResumed, error) {
	if x.H == nil {
		return SMResumed{}, errors.New("<resumed/> without h")
	}
	h, err := parseH(*x.H)
	if err != nil {
		return SMResumed{}, err
	}
	return SMResumed{PrevID: x.PrevID, H: h}, nil
}

func (x smXML) failed() (SMFailed, error) {
	var f SMFailed
	f.Condition, _, _, _ = splitConditions(x.Children, NSStanzas, "")
	if x.H != nil {
		h, err := parseH(*x.H)
		if err != nil {
			return f, err
		}
		f.H = &h
	}
	return f, nil
}

// ParseEnabled parses <enabled/>. A max that is not a positive integer is
// ignored (Max 0).
func ParseEnabled(raw []byte) (SMEnabled, error) {
	x, err := decodeSM(raw, "enabled")
	if err != nil {
		return SMEnabled{}, err
	}
	return x.enabled(), nil
}

// ParseResumed parses <resumed/>.
func ParseResumed(raw []byte) (SMResumed, error) {
	x, err := decodeSM(raw, "resumed")
	if err != nil {
		return SMResumed{}, err
	}
	return x.resumed()
}

// ParseFailed parses <failed/>. A malformed h is an error, with the
// condition still filled in.
func ParseFailed(raw []byte) (SMFailed, error) {
	x, err := decodeSM(raw, "failed")
	if err != nil {
		return SMFailed{}, err
	}
	return x.failed()
}

// ParseA parses <a/> and returns its h.
func ParseA(raw []byte) (uint32, error) {
	x, err := decodeSM(raw, "a")
	if err != nil {
		return 0, err
	}
	if x.H == nil {
		return 0, errors.New("<a/> without h")
	}
	return parseH(*x.H)
}
