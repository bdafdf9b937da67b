// XEP-0085 Chat State Notifications
// (http://jabber.org/protocol/chatstates).

package stanza

// ChatState is a chat state, "" for none.
type ChatState string

// Chat states.
const (
	Active    ChatState = "active"
	Composing ChatState = "composing"
	Paused    ChatState = "paused"
	Inactive  ChatState = "inactive"
	Gone      ChatState = "gone"
)

func parseChatState(m *Message, k *node) {
	switch s := ChatState(k.name.Local); s {
	case Active, Composing, Paused, Inactive, Gone:
		if m.ChatState == "" {
			m.ChatState = s
		}
	}
}
