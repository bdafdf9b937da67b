package client

import (
	"context"
	"sync"

	"github.com/waxwing-im/waxwing/store"
)

// State is what a device keeps between connections; it lives in the
// store (tier 0) so that the history database can keep it in the same
// transactions as messages.
type State = store.Session

// SMState is the XEP-0198 state of the last session.
type SMState = store.SMState

// Outgoing is a stanza sent but not yet acknowledged by the server.
type Outgoing = store.Outgoing

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
