// XEP-0353 Jingle Message Initiation (urn:xmpp:jingle-message:0): the
// <propose/>, <ringing/>, <proceed/>, <accept/>, <reject/>, <retract/> and
// <finish/> messages around a call.

package stanza

// JMI is a Jingle Message Initiation action for session ID; Media lists the
// media of a <propose/>'s RTP descriptions (audio, video).
type JMI struct {
	Action string
	ID     string
	Media  []string
}

func parseJMI(m *Message, k *node) {
	switch k.name.Local {
	case "propose", "ringing", "proceed", "accept", "reject", "retract", "finish":
	default:
		return
	}
	if m.JMI != nil {
		return
	}
	j := &JMI{Action: k.name.Local, ID: k.attrValue("id")}
	for _, d := range k.kids {
		if d.name.Local == "description" {
			if media := d.attrValue("media"); media != "" {
				j.Media = append(j.Media, media)
			}
		}
	}
	m.JMI = j
}
