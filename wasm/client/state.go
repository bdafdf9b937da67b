package client

import (
	"context"
	"slices"
	"sync"
	"time"
)

// State is what a device keeps between connections. It never holds the
// password.
type State struct {
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

// Outgoing is a stanza sent but not yet acknowledged by the server.
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
func (s State) TokenUsable(now time.Time, offered []string) bool {
	return s.FASTToken != "" && now.Before(s.FASTExpiry) && slices.Contains(offered, s.FASTMechanism)
}

// Clone returns a deep copy.
func (s State) Clone() State {
	s.SM.Unacked = slices.Clone(s.SM.Unacked)
	return s
}

// StateStore keeps the State of one account on one device. The IndexedDB
// store implements it in the browser; MemoryState in tests and tools.
//
// UpdateState is an atomic read-modify-write: the handler of inbound
// stanzas uses it (or its own transaction) to commit SM.Inbound with the
// stanza, and the session uses it so that its saves never lower that count.
type StateStore interface {
	LoadState(ctx context.Context) (State, error)
	UpdateState(ctx context.Context, f func(*State) error) error
}

// SaveState replaces the stored state with s (tests and tools).
func SaveState(ctx context.Context, store StateStore, s State) error {
	return store.UpdateState(ctx, func(st *State) error { *st = s.Clone(); return nil })
}

// serialAfter reports whether a comes after b in XEP-0198's counter space
// (2^32 wrap-around, RFC 1982 serial number arithmetic).
func serialAfter(a, b uint32) bool { return a != b && a-b < 1<<31 }

// MemoryState is a StateStore in memory.
type MemoryState struct {
	mu sync.Mutex
	s  State
}

// LoadState returns a copy of the state.
func (m *MemoryState) LoadState(context.Context) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.s.Clone(), nil
}

// UpdateState runs f on the state, atomically; an error leaves it unchanged.
func (m *MemoryState) UpdateState(_ context.Context, f func(*State) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.s.Clone()
	if err := f(&st); err != nil {
		return err
	}
	m.s = st
	return nil
}
