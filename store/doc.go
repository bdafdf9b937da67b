// Package store is Waxwing's history database: the model a client keeps
// (account, conversations, messages with their corrections, retractions and
// reactions, archive coverage, the outbox, and the session state), the Store
// interface, and its implementations: Memory (portable, for native tests and
// tools) and IndexedDB (the browser, indexeddb_js.go).
//
// Everything one incoming stanza changes commits in one transaction
// (Store.Update), so a crash never leaves a message stored without its
// conversation, or counted for XEP-0198 without being stored. Every record
// carries the store-wide version of its last change: readers ask for what
// changed since the version they have (the change feed) instead of rereading.
//
// One conformance suite, store/storetest, runs against every implementation.
package store
