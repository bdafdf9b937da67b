package store

// SetDurability sets the durability hint of s's read-write transactions
// ("relaxed", "strict" or "default"), for the benchmarks.
func SetDurability(s *IndexedDB, d string) { s.durability = d }
