// RFC 6120 §4.3 stream features, with the inline features of XEP-0388
// (SASL2), XEP-0386 (Bind 2), XEP-0484 (FAST) and XEP-0198 (Stream
// Management), and the names of top-level elements (RFC 6120 §4.1, §8;
// RFC 7395 §3.3.3: one element per WebSocket message).

package client

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"

	"github.com/waxwing-im/waxwing/wasm/stanza"
)

// Namespaces read and written by this package.
const (
	NSClient    = "jabber:client"                       // RFC 6120 §4.8.3
	NSStream    = "http://etherx.jabber.org/streams"    // RFC 6120 §4.8.1
	NSStreams   = "urn:ietf:params:xml:ns:xmpp-streams" // RFC 6120 §4.9.2, stream error conditions
	NSStanzas   = "urn:ietf:params:xml:ns:xmpp-stanzas" // RFC 6120 §8.3.3, stanza error conditions
	NSTLS       = "urn:ietf:params:xml:ns:xmpp-tls"     // RFC 6120 §5
	NSSASL      = "urn:ietf:params:xml:ns:xmpp-sasl"    // RFC 6120 §6
	NSBind      = "urn:ietf:params:xml:ns:xmpp-bind"    // RFC 6120 §7
	NSSASL2     = "urn:xmpp:sasl:2"                     // XEP-0388
	NSBind2     = "urn:xmpp:bind:0"                     // XEP-0386
	NSFAST      = "urn:xmpp:fast:0"                     // XEP-0484
	NSSM        = "urn:xmpp:sm:3"                       // XEP-0198
	NSCarbons   = "urn:xmpp:carbons:2"                  // XEP-0280
	NSCSI       = "urn:xmpp:csi:0"                      // XEP-0352
	NSRoster    = "jabber:iq:roster"                    // RFC 6121 §2
	NSRosterVer = "urn:xmpp:features:rosterver"         // RFC 6121 §2.6
	NSMAM       = "urn:xmpp:mam:2"                      // XEP-0313
	NSBridge    = "urn:waxwing:bridge:0"                // `waxwing serve` stream error conditions
)

// streamPrefix is what encoding/xml reports as the namespace of a
// stream:-prefixed element whose prefix is not declared in the message
// itself (a server may rely on the declaration of its stream header).
const streamPrefix = "stream"

// Features is what a server offers in <stream:features/>.
type Features struct {
	SASL      []string      // RFC 6120 <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>, server order
	SASL2     *SASL2Feature // nil unless <authentication xmlns='urn:xmpp:sasl:2'>
	Bind      bool          // <bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>
	SM        bool          // <sm xmlns='urn:xmpp:sm:3'>
	CSI       bool          // <csi xmlns='urn:xmpp:csi:0'>
	RosterVer bool          // <ver xmlns='urn:xmpp:features:rosterver'>
	StartTLS  bool          // <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>
}

// SASL2Feature is the XEP-0388 <authentication/> feature and what it offers
// inline.
type SASL2Feature struct {
	Mechanisms []string      // server order
	Bind2      *Bind2Feature // inline <bind xmlns='urn:xmpp:bind:0'>, nil if absent
	InlineSM   bool          // inline <sm xmlns='urn:xmpp:sm:3'/>: <resume/> may go inside <authenticate/>
	FAST       []string      // inline <fast xmlns='urn:xmpp:fast:0'> mechanisms, server order
}

// Bind2Feature is the XEP-0386 inline <bind/> feature.
type Bind2Feature struct {
	// Inline lists the feature vars the server can enable inside <bind/>
	// (e.g. urn:xmpp:carbons:2, urn:xmpp:csi:0, urn:xmpp:sm:3), in server
	// order, each once (Prosody 0.12 with mod_sasl2_sm lists sm:3 twice).
	Inline []string
}

// Has reports whether ns can be enabled inline. A nil *Bind2Feature has
// nothing.
func (b *Bind2Feature) Has(ns string) bool {
	return b != nil && slices.Contains(b.Inline, ns)
}

// xmlPresent is an element whose presence alone matters.
type xmlPresent struct{}

type featuresXML struct {
	XMLName    xml.Name
	Mechanisms []struct {
		Mechanism []string `xml:"urn:ietf:params:xml:ns:xmpp-sasl mechanism"`
	} `xml:"urn:ietf:params:xml:ns:xmpp-sasl mechanisms"`
	Authentication *struct {
		Mechanism []string `xml:"urn:xmpp:sasl:2 mechanism"`
		Inline    *struct {
			Bind *struct {
				Inline *struct {
					Feature []struct {
						Var string `xml:"var,attr"`
					} `xml:"urn:xmpp:bind:0 feature"`
				} `xml:"urn:xmpp:bind:0 inline"`
			} `xml:"urn:xmpp:bind:0 bind"`
			SM   *xmlPresent `xml:"urn:xmpp:sm:3 sm"`
			FAST *struct {
				Mechanism []string `xml:"urn:xmpp:fast:0 mechanism"`
			} `xml:"urn:xmpp:fast:0 fast"`
		} `xml:"urn:xmpp:sasl:2 inline"`
	} `xml:"urn:xmpp:sasl:2 authentication"`
	Bind      *xmlPresent `xml:"urn:ietf:params:xml:ns:xmpp-bind bind"`
	SM        *xmlPresent `xml:"urn:xmpp:sm:3 sm"`
	CSI       *xmlPresent `xml:"urn:xmpp:csi:0 csi"`
	RosterVer *xmlPresent `xml:"urn:xmpp:features:rosterver ver"`
	StartTLS  *xmlPresent `xml:"urn:ietf:params:xml:ns:xmpp-tls starttls"`
}

// ParseFeatures parses one <stream:features/> element, received as one
// WebSocket message. The stream prefix may be declared on the element
// (Prosody's WebSocket, `waxwing serve`) or not at all.
func ParseFeatures(raw []byte) (Features, error) {
	var x featuresXML
	if err := decodeXML(raw, &x); err != nil {
		return Features{}, fmt.Errorf("malformed stream features: %w", err)
	}
	if !isStreamName(x.XMLName, "features") {
		return Features{}, fmt.Errorf("got <%s xmlns='%s'>, want <stream:features>", x.XMLName.Local, x.XMLName.Space)
	}
	f := Features{
		Bind:      x.Bind != nil,
		SM:        x.SM != nil,
		CSI:       x.CSI != nil,
		RosterVer: x.RosterVer != nil,
		StartTLS:  x.StartTLS != nil,
	}
	for _, m := range x.Mechanisms {
		f.SASL = appendNames(f.SASL, m.Mechanism...)
	}
	if a := x.Authentication; a != nil {
		s2 := &SASL2Feature{Mechanisms: appendNames(nil, a.Mechanism...)}
		if in := a.Inline; in != nil {
			s2.InlineSM = in.SM != nil
			if in.FAST != nil {
				s2.FAST = appendNames(nil, in.FAST.Mechanism...)
			}
			if in.Bind != nil {
				s2.Bind2 = &Bind2Feature{}
				if in.Bind.Inline != nil {
					for _, v := range in.Bind.Inline.Feature {
						s2.Bind2.Inline = appendNames(s2.Bind2.Inline, v.Var)
					}
				}
			}
		}
		f.SASL2 = s2
	}
	return f, nil
}

// appendNames appends the non-empty, trimmed names not yet in dst.
func appendNames(dst []string, names ...string) []string {
	for _, n := range names {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(dst, n) {
			dst = append(dst, n)
		}
	}
	return dst
}

// decodeXML decodes the first element of raw into v.
func decodeXML(raw []byte, v any) error {
	return xml.NewDecoder(bytes.NewReader(raw)).Decode(v)
}

// isStreamName reports whether n is local in the stream namespace, declared
// or not.
func isStreamName(n xml.Name, local string) bool {
	return n.Local == local && (n.Space == NSStream || n.Space == streamPrefix)
}

// ElementName returns the namespace and local name of a top-level element:
// its own xmlns, NSClient when it declares none, NSStream for a stream:
// element whose prefix is not declared in the message. It returns "", ""
// if raw does not start with a well-formed start tag.
func ElementName(raw []byte) (ns, local string) {
	se, ok := stanza.StartTag(raw)
	if !ok {
		return "", ""
	}
	switch se.Name.Space {
	case "":
		return NSClient, se.Name.Local
	case streamPrefix:
		return NSStream, se.Name.Local
	}
	return se.Name.Space, se.Name.Local
}

// ElementAttr returns the value of the unprefixed attribute name of the
// top-level element (for example its id or type), or "".
func ElementAttr(raw []byte, name string) string {
	se, ok := stanza.StartTag(raw)
	if !ok {
		return ""
	}
	for _, a := range se.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// IsStanza reports whether raw is a message, presence or iq in jabber:client:
// the elements XEP-0198 counts.
func IsStanza(raw []byte) bool {
	return isStanza(ElementName(raw))
}

func isStanza(ns, local string) bool {
	return ns == NSClient && (local == "message" || local == "presence" || local == "iq")
}
