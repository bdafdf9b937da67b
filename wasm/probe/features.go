// Stream features, RFC 6120 §4.3.2, and the SASL mechanisms they offer:
// RFC 6120 §6.4.1 (<mechanisms/>) and XEP-0388 Extensible SASL Profile
// (<authentication/>).

package probe

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
)

// Namespaces read by this package.
const (
	NSStream  = "http://etherx.jabber.org/streams"    // RFC 6120 §4.8.1
	NSFraming = "urn:ietf:params:xml:ns:xmpp-framing" // RFC 7395
	NSSASL    = "urn:ietf:params:xml:ns:xmpp-sasl"    // RFC 6120 §6.4.1
	NSSASL2   = "urn:xmpp:sasl:2"                     // XEP-0388
	NSStreams = "urn:ietf:params:xml:ns:xmpp-streams" // RFC 6120 §4.9.2
)

// streamPrefix is the prefix servers use for stream elements. Over WebSocket
// each element is its own document, and a server that does not redeclare
// xmlns:stream on <stream:features> leaves the prefix unresolved;
// encoding/xml then reports the prefix itself as the namespace.
const streamPrefix = "stream"

// Features is what a server offers in its first <stream:features/>.
type Features struct {
	// SASL lists the RFC 6120 SASL mechanisms, in the server's order.
	SASL []string
	// SASL2 lists the XEP-0388 SASL2 mechanisms, in the server's order.
	// Mechanisms of inline features, such as XEP-0484 FAST, are not included.
	SASL2 []string
}

// featuresXML mirrors the parts of <stream:features/> that Features reports.
type featuresXML struct {
	XMLName    xml.Name
	Mechanisms []struct {
		Mechanism []string `xml:"urn:ietf:params:xml:ns:xmpp-sasl mechanism"`
	} `xml:"urn:ietf:params:xml:ns:xmpp-sasl mechanisms"`
	Authentication []struct {
		Mechanism []string `xml:"urn:xmpp:sasl:2 mechanism"`
	} `xml:"urn:xmpp:sasl:2 authentication"`
}

// isStream reports whether n names an element in the stream namespace.
func isStream(n xml.Name, local string) bool {
	return n.Local == local && (n.Space == NSStream || n.Space == streamPrefix)
}

// ParseFeatures parses one <stream:features/> element, as received in a
// single WebSocket message (RFC 7395 §3.3.3).
func ParseFeatures(b []byte) (Features, error) {
	var x featuresXML
	if err := xml.NewDecoder(bytes.NewReader(b)).Decode(&x); err != nil {
		return Features{}, fmt.Errorf("malformed stream features: %w", err)
	}
	if !isStream(x.XMLName, "features") {
		return Features{}, fmt.Errorf("got <%s xmlns='%s'>, want <stream:features>", x.XMLName.Local, x.XMLName.Space)
	}
	var f Features
	for _, m := range x.Mechanisms {
		f.SASL = appendMechanisms(f.SASL, m.Mechanism)
	}
	for _, a := range x.Authentication {
		f.SASL2 = appendMechanisms(f.SASL2, a.Mechanism)
	}
	return f, nil
}

func appendMechanisms(dst, names []string) []string {
	for _, n := range names {
		if n = strings.TrimSpace(n); n != "" {
			dst = append(dst, n)
		}
	}
	return dst
}

// Summary describes f in one line for people, for example
// "Server example.org reachable · SASL2 · SCRAM-SHA-1, PLAIN".
// SASL2 is named when offered, since a client will prefer it.
func (f Features) Summary(domain string) string {
	s := "Server " + domain + " reachable · "
	switch {
	case len(f.SASL2) > 0:
		return s + "SASL2 · " + strings.Join(f.SASL2, ", ")
	case len(f.SASL) > 0:
		return s + "SASL · " + strings.Join(f.SASL, ", ")
	default:
		return s + "no login mechanisms offered"
	}
}
