package store

import (
	"slices"
	"time"
)

// Session is what a device keeps between connections of one account (the
// client core's session state, XEP-0198 and XEP-0484). It never holds the
// password.
type Session struct {
	DeviceID string // stable per-device id: the SASL2 <user-agent id>
	JID      string // bare JID of the account
	BoundJID string // the last full JID bound

	FASTMechanism string    // e.g. HT-SHA-256-NONE
	FASTToken     string    // XEP-0484 token
	FASTExpiry    time.Time // when the server stops accepting it

	SM SMState
}

// SMState is the XEP-0198 state of the last session.
type SMState struct {
	ID       string // resumption id; "" when there is nothing to resume
	Location string // preferred reconnection address the server gave, if any
	Max      time.Duration
	Since    time.Time // when the session was last known alive
	Inbound  uint32    // stanzas received and handled (persisted)
	Outbound uint32    // stanzas sent in this session
	Unacked  []Outgoing
}

// Outgoing is a stanza sent (or queued to be sent) but not yet acknowledged
// by the server.
type Outgoing struct {
	Seq uint32 // the outbound count once it was sent
	Raw []byte // exactly what was sent, so a resend keeps its origin-id
}

// Resumable reports whether the SM session may still be alive at now.
func (s SMState) Resumable(now time.Time) bool {
	if s.ID == "" {
		return false
	}
	return s.Max == 0 || s.Since.IsZero() || now.Sub(s.Since) < s.Max
}

// TokenUsable reports whether the FAST token may be used at now with one of
// the offered mechanisms.
func (s Session) TokenUsable(now time.Time, offered []string) bool {
	return s.FASTToken != "" && now.Before(s.FASTExpiry) && slices.Contains(offered, s.FASTMechanism)
}

// Clone returns a deep copy.
func (s Session) Clone() Session {
	s.SM.Unacked = slices.Clone(s.SM.Unacked)
	for i := range s.SM.Unacked {
		s.SM.Unacked[i].Raw = slices.Clone(s.SM.Unacked[i].Raw)
	}
	return s
}
