// Stream features, RFC 6120 §4.3.2, and the SASL mechanisms they offer:
// RFC 6120 §6.4.1 (<mechanisms/>) and XEP-0388 Extensible SASL Profile
// (<authentication/>).

package probe

import (
	"errors"
	"fmt"
	"strings"

	"github.com/waxwing-im/waxwing/wasm/client"
	"github.com/waxwing-im/waxwing/wasm/xmppws"
)

// NSFraming is the RFC 7395 framing namespace of <open/> and <close/>.
const NSFraming = xmppws.NSFraming

// Features is what a server offers in its first <stream:features/>.
type Features struct {
	// SASL lists the RFC 6120 SASL mechanisms, in the server's order.
	SASL []string
	// SASL2 lists the XEP-0388 SASL2 mechanisms, in the server's order.
	// Mechanisms of inline features, such as XEP-0484 FAST, are not included.
	SASL2 []string
}

// ParseFeatures parses one <stream:features/> element, as received in a
// single WebSocket message (RFC 7395 §3.3.3), with the client core's parser.
func ParseFeatures(b []byte) (Features, error) {
	if ns, local := client.ElementName(b); local != "features" || ns != client.NSStream {
		return Features{}, errors.New("not a <stream:features> element")
	}
	cf, err := client.ParseFeatures(b)
	if err != nil {
		return Features{}, fmt.Errorf("malformed stream features: %w", err)
	}
	f := Features{SASL: cf.SASL}
	if cf.SASL2 != nil {
		f.SASL2 = cf.SASL2.Mechanisms
	}
	return f, nil
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
