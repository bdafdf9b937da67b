package history

import "github.com/waxwing-im/waxwing/store"

// lookUpPage looks up at once, before a page commit places and applies
// its results, what it will look each of them up by: the archive id of
// every result that is not an edit (placedAt, apply) and the sender's
// origin-id of those stored as messages (apply's deduplication). The
// store answers the lookups one by one that follow from what it found
// (IndexedDB: one batch of requests instead of an awaited request each).
func (e *Engine) lookUpPage(tx store.Tx, results []result) error {
	ids := make([]string, 0, len(results))
	var origins []store.OriginKey
	for _, r := range results {
		m := r.msg
		if isEdit(m) {
			continue // looked up among edits, whose archive ids the store reads at once
		}
		ids = append(ids, r.id)
		if m.OriginID != "" && (m.HasBody || len(m.OOB) > 0) {
			from := bare(m.From)
			if from == "" {
				from = e.cfg.Self
			}
			origins = append(origins, store.OriginKey{From: from, OriginID: m.OriginID})
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.LookUpMessages(e.cfg.Self, ids, origins)
	return err
}
