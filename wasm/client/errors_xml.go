// Error elements from the server: RFC 6120 §6.5 SASL failures (also inside
// XEP-0388 <failure xmlns='urn:xmpp:sasl:2'>), RFC 6120 §4.9 stream errors
// (with the application conditions of `waxwing serve` and XEP-0198), and
// RFC 6120 §8.3 stanza errors.

package client

import (
	"encoding/xml"
	"strings"
)

// AuthError is a SASL <failure/>, from RFC 6120 SASL or XEP-0388 SASL2.
// Condition is one of the RFC 6120 §6.5 conditions: aborted,
// account-disabled, credentials-expired, encryption-required,
// incorrect-encoding, invalid-authzid, invalid-mechanism,
// malformed-request, mechanism-too-weak, not-authorized,
// temporary-auth-failure; "" if the server named none.
type AuthError struct {
	Condition string
	Text      string
	SASL2     bool // the failure came in urn:xmpp:sasl:2

	// AppCondition and AppNS name an application-specific condition
	// (XEP-0388 allows one in SASL2 failures), if any.
	AppCondition, AppNS string
}

func (e *AuthError) Error() string {
	var b strings.Builder
	if e.SASL2 {
		b.WriteString("sasl2 failure: ")
	} else {
		b.WriteString("sasl failure: ")
	}
	if e.Condition == "" {
		b.WriteString("unspecified condition")
	} else {
		b.WriteString(e.Condition)
	}
	if e.AppCondition != "" {
		b.WriteString(" (" + e.AppCondition + ")")
	}
	if e.Text != "" {
		b.WriteString(": " + e.Text)
	}
	return b.String()
}

// childXML is any child element, with its text.
type childXML struct {
	XMLName xml.Name
	Text    string `xml:",chardata"`
}

type conditionsXML struct {
	XMLName  xml.Name
	Children []childXML `xml:",any"`
}

// conditions splits the children of an error element into the defined
// condition (in ns, or failing that in alt), the text (local name "text" in
// ns or alt) and the first application condition (any other namespace).
func (x conditionsXML) conditions(ns, alt string) (cond, text, appCond, appNS string) {
	return splitConditions(x.Children, ns, alt)
}

func splitConditions(children []childXML, ns, alt string) (cond, text, appCond, appNS string) {
	var altCond string
	for _, c := range children {
		switch {
		case c.XMLName.Local == "text" && (c.XMLName.Space == ns || c.XMLName.Space == alt):
			if text == "" {
				text = strings.TrimSpace(c.Text)
			}
		case c.XMLName.Space == ns:
			if cond == "" {
				cond = c.XMLName.Local
			}
		case c.XMLName.Space == alt && alt != "":
			if altCond == "" {
				altCond = c.XMLName.Local
			}
		default:
			if appCond == "" {
				appCond, appNS = c.XMLName.Local, c.XMLName.Space
			}
		}
	}
	if cond == "" {
		cond = altCond
	}
	return cond, text, appCond, appNS
}

// ParseFailure returns the SASL failure raw carries: <failure/> in the RFC
// 6120 SASL namespace or in urn:xmpp:sasl:2. It returns nil for any other
// element. A failure it cannot decode still yields an AuthError, with no
// condition.
func ParseFailure(raw []byte) *AuthError {
	ns, local := ElementName(raw)
	if local != "failure" || (ns != NSSASL && ns != NSSASL2) {
		return nil
	}
	e := &AuthError{SASL2: ns == NSSASL2}
	var x conditionsXML
	if err := decodeXML(raw, &x); err != nil {
		e.Text = "malformed failure: " + err.Error()
		return e
	}
	// Prosody's mod_sasl2 sends the condition of an internal error without
	// a namespace, so it inherits urn:xmpp:sasl:2: accept it there too.
	alt := ""
	if e.SASL2 {
		alt = NSSASL2
	}
	e.Condition, e.Text, e.AppCondition, e.AppNS = x.conditions(NSSASL, alt)
	return e
}

// StreamError is a <stream:error/> (RFC 6120 §4.9): the stream is over.
// AppCondition and AppNS name an application-specific condition, such as
// the bridge's (NSBridge: upstream-unreachable, upstream-tls-failed,
// upstream-no-tls) or XEP-0198's handled-count-too-high.
type StreamError struct {
	Condition, Text, AppCondition, AppNS string
}

func (e *StreamError) Error() string {
	s := "stream error: " + e.Condition
	if e.AppCondition != "" {
		s += " (" + e.AppCondition + ")"
	}
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}

// ParseStreamError returns the stream error raw carries, or nil if raw is
// not a <stream:error/>. An error it cannot decode yields
// undefined-condition.
func ParseStreamError(raw []byte) *StreamError {
	ns, local := ElementName(raw)
	if local != "error" || ns != NSStream {
		return nil
	}
	var x conditionsXML
	if err := decodeXML(raw, &x); err != nil {
		return &StreamError{Condition: "undefined-condition", Text: "malformed stream error: " + err.Error()}
	}
	e := &StreamError{}
	e.Condition, e.Text, e.AppCondition, e.AppNS = x.conditions(NSStreams, "")
	if e.Condition == "" {
		e.Condition = "undefined-condition"
	}
	return e
}
