// Package store is Waxwing's history database: the model a client keeps
// (accounts, conversations, messages, sync state, session state), the Store
// interface, and its in-memory and IndexedDB implementations.
//
// The model and implementations arrive with the history-database issue; this
// package exists now so that the dependency tiers in README.md are fixed from
// the first commit.
package store
