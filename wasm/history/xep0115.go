package history

// XEP-0115 Entity Capabilities and XEP-0030 Service Discovery: what this
// client supports, announced in presence so that the server's PEP sends it
// read-state notifications (XEP-0490 "+notify"), and told to whoever asks.

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"slices"
	"strings"
	"sync"

	"github.com/waxwing-im/waxwing/wasm/frame"
	"github.com/waxwing-im/waxwing/wasm/stanza"
)

const (
	nsDiscoInfo = "http://jabber.org/protocol/disco#info"
	capsNode    = "https://waxwing.im"
)

var (
	identity = [4]string{"client", "web", "", "Waxwing"} // category, type, lang, name
	features = []string{
		nsDiscoInfo,
		stanza.NSCaps,
		stanza.NSMDS + "+notify",
		stanza.NSReceipts,
		stanza.NSMarkers,
		stanza.NSChatStates,
		stanza.NSCorrect,
		stanza.NSReactions,
		stanza.NSRetract,
		"urn:xmpp:ping",
	}
)

// capsVer is the XEP-0115 §5.1 verification string of identity and
// features.
var capsVer = sync.OnceValue(func() string {
	fs := slices.Clone(features)
	slices.Sort(fs)
	var b strings.Builder
	b.WriteString(strings.Join(identity[:], "/") + "<")
	for _, f := range fs {
		b.WriteString(f + "<")
	}
	sum := sha1.Sum([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(sum[:])
})

// discoInfo answers a disco#info query (for our caps node or none).
func discoInfo(raw []byte) string {
	var q struct {
		Query struct {
			Node string `xml:"node,attr"`
		} `xml:"http://jabber.org/protocol/disco#info query"`
	}
	_ = xml.Unmarshal(raw, &q)
	node := ""
	if q.Query.Node != "" {
		if q.Query.Node != capsNode+"#"+capsVer() {
			return "<error type='cancel'><item-not-found xmlns='" + stanza.NSStanzas + "'/></error>"
		}
		node = " node='" + frame.Escape(q.Query.Node) + "'"
	}
	var b strings.Builder
	b.WriteString("<query xmlns='" + nsDiscoInfo + "'" + node + "><identity category='" + identity[0] + "' type='" + identity[1] + "' name='" + identity[3] + "'/>")
	for _, f := range features {
		b.WriteString("<feature var='" + f + "'/>")
	}
	b.WriteString("</query>")
	return b.String()
}
