// XEP-0333 Displayed Markers (urn:xmpp:chat-markers:0): <markable/> and the
// <received/>, <displayed/> and <acknowledged/> markers.

package stanza

import "strings"

// MarkerType is a chat marker.
type MarkerType string

// Chat markers.
const (
	MarkerReceived     MarkerType = "received"
	MarkerDisplayed    MarkerType = "displayed"
	MarkerAcknowledged MarkerType = "acknowledged"
)

// Marker is a chat marker for the message ID (the message's id attribute,
// or in a groupchat its stanza-id by the room).
type Marker struct {
	Type MarkerType
	ID   string
}

func parseMarker(m *Message, k *node) {
	switch t := MarkerType(k.name.Local); t {
	case MarkerReceived, MarkerDisplayed, MarkerAcknowledged:
		if m.Marker == nil {
			m.Marker = &Marker{Type: t, ID: k.attrValue("id")}
		}
	default:
		if k.name.Local == "markable" {
			m.Markable = true
		}
	}
}

// ChatMarker returns a message of type typ to to carrying marker t for the
// message id, with its own id msgID. A chat marker is sent only for a
// <markable/> message (XEP-0333 §4).
func ChatMarker(to, typ, msgID string, t MarkerType, id string) []byte {
	var b strings.Builder
	messageOpen(&b, typ, to, msgID)
	b.WriteString("<" + string(t) + " xmlns='" + NSMarkers + "'")
	attrs(&b, "id", id)
	b.WriteString("/></message>")
	return []byte(b.String())
}
