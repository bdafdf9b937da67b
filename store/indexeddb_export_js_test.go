package store

// SetDurability sets the durability hint of s's read-write transactions
// ("relaxed", "strict" or "default"), for the benchmarks.
func SetDurability(s *IndexedDB, d string) { s.durability = d }

// SetEditPreload sets how many archived edits a transaction reads at once
// (idbEditPreload) and returns the previous figure.
func SetEditPreload(n int) int {
	old := idbEditPreload
	idbEditPreload = n
	return old
}

// DedupRequests returns how many requests looked messages up by archive
// or origin key so far.
func DedupRequests() int64 { return idbDedupRequests.Load() }
