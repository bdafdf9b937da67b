// XEP-0490 Message Displayed Synchronization (urn:xmpp:mds:displayed:0,
// version 1.0): the PEP node whose item ids are conversations and whose
// <displayed/> payload holds the XEP-0359 stanza-id of the last message
// displayed, its publication and the pubsub event that announces it.

package stanza

import "strings"

// Displayed is one MDS item: in conversation Chat (a contact's or room's
// bare JID; a full JID for a room's private messages), everything up to
// the message StanzaID was displayed. StanzaID.By is the user's account for
// chats and the room for groupchats.
type Displayed struct {
	Chat     string
	StanzaID StanzaID
}

// parseMDSEvent reads a pubsub <event/> for the MDS node. Items without an
// id or a stanza-id are skipped.
func parseMDSEvent(m *Message, k *node) {
	if k.name.Local != "event" {
		return
	}
	for _, items := range k.kids {
		if !items.is(NSPubSubEvent, "items") || items.attrValue("node") != NSMDS {
			continue
		}
		for _, it := range items.kids {
			if !it.is(NSPubSubEvent, "item") {
				continue
			}
			sid := it.child(NSMDS, "displayed").child(NSSID, "stanza-id")
			if chat := it.attrValue("id"); chat != "" && sid != nil {
				m.Displayed = append(m.Displayed, Displayed{Chat: chat, StanzaID: StanzaID{By: sid.attrValue("by"), ID: sid.attrValue("id")}})
			}
		}
	}
}

// MDSPublish returns the PEP publication (XEP-0490 §"Flagging chat as
// displayed") of d to the own account's node, with the publish-options the
// XEP requires: persist_items true, max_items max, send_last_published_item
// never, access_model whitelist.
func MDSPublish(id string, d Displayed) []byte {
	return mdsPublish(id, d, field{"pubsub#persist_items", "true"}, field{"pubsub#max_items", "max"},
		field{"pubsub#send_last_published_item", "never"}, field{"pubsub#access_model", "whitelist"})
}

// MDSPublishCompat is MDSPublish with only the publish-options every PEP
// service knows (persist_items, access_model), for servers that refuse the
// others with resource-constraint (ejabberd before 23.04: processone/ejabberd
// #3044). A node they create this way may keep one item only (ejabberd 23.01): the
// sync engine raises its max_items after such a publish.
func MDSPublishCompat(id string, d Displayed) []byte {
	return mdsPublish(id, d, field{"pubsub#persist_items", "true"}, field{"pubsub#access_model", "whitelist"})
}

func mdsPublish(id string, d Displayed, opts ...field) []byte {
	var b strings.Builder
	iqOpen(&b, "set", id, "")
	b.WriteString("<pubsub xmlns='" + NSPubSub + "'><publish node='" + NSMDS + "'><item")
	attrs(&b, "id", d.Chat)
	b.WriteString("><displayed xmlns='" + NSMDS + "'><stanza-id xmlns='" + NSSID + "'")
	attrs(&b, "by", d.StanzaID.By, "id", d.StanzaID.ID)
	b.WriteString("/></displayed></item></publish><publish-options>")
	writeSubmitForm(&b, NSPublishOpts, opts...)
	b.WriteString("</publish-options></pubsub></iq>")
	return []byte(b.String())
}
