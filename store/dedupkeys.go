// The IndexedDB store's set of the deduplication keys it holds: what lets
// a transaction know that no message has an archive id or an origin-id
// without asking IndexedDB (a catch-up into a new store looks up two keys
// per archived message, and on a new device none is ever found).

package store

import (
	"fmt"
	"hash/maphash"
)

// DefaultDedupKeysMax bounds a dedupKeys: past it the set is given up (lookups
// ask IndexedDB again). A key costs about 16 bytes, so the set stays
// within a few MiB; a message has up to two keys.
const DefaultDedupKeysMax = 400_000

// dedupKeys holds a 64-bit hash of every key of the records of a store
// written since it was known to be empty: a key whose hash is absent is
// held by no record. It is complete only for the store version it was
// last brought to (version): a write by anyone else (another tab, another
// connection) moves the store's version past it, and then the set says
// nothing (validFor).
type dedupKeys struct {
	seed    maphash.Seed
	hashes  map[uint64]struct{}
	max     int
	full    bool   // more than max keys were added: the set is incomplete
	version uint64 // the store version the set is complete for
}

// newDedupKeys returns the set of an empty store at version.
func newDedupKeys(version uint64, max int) *dedupKeys {
	return &dedupKeys{seed: maphash.MakeSeed(), hashes: make(map[uint64]struct{}), max: max, version: version}
}

// add adds key; it reports false when the set is (now) full.
func (k *dedupKeys) add(key string) bool {
	if k.full {
		return false
	}
	if len(k.hashes) >= k.max {
		k.full, k.hashes = true, nil
		return false
	}
	k.hashes[maphash.String(k.seed, key)] = struct{}{}
	return true
}

// mayHold reports whether a record may have key: false only when none has.
func (k *dedupKeys) mayHold(key string) bool {
	if k.full {
		return true
	}
	_, ok := k.hashes[maphash.String(k.seed, key)]
	return ok
}

// validFor decides whether set can answer for a transaction that read the
// store's version: only if nothing was written since the set's last
// commit. The reason says why not.
func (k *dedupKeys) validFor(version uint64) (bool, string) {
	switch {
	case k == nil:
		return false, "no key set (the store was not empty when opened)"
	case k.full:
		return false, fmt.Sprintf("the key set is full (%d keys)", k.max)
	case version != k.version:
		return false, fmt.Sprintf("the store is at version %d, the key set at %d: another connection wrote", version, k.version)
	}
	return true, fmt.Sprintf("the key set is complete at version %d", version)
}
