package store

import (
	"cmp"
	"slices"
	"strings"
)

// ApplyEdits returns msgs with the edits that target them applied: the
// Corrected, Retracted and Reactions fields are computed from edits alone
// (whatever msgs held in them is dropped). It is the one place every Store
// applies corrections (XEP-0308), retractions (XEP-0424) and reactions
// (XEP-0444) on read. Neither argument is modified; the result shares Raw
// with msgs.
//
// An edit applies only to messages of its own Conversation:
//   - Correction: Target is the message's StanzaID or OriginID and From its
//     sender; the one with the highest (Pos, Key) gives the Body.
//   - Retraction: Target is the message's ArchiveID, OriginID or StanzaID and
//     From its sender; the Body becomes "" and any correction is dropped.
//   - Reaction: Target is the message's StanzaID, OriginID or ArchiveID; for
//     each sender the one with the highest (Pos, Key) is that sender's full
//     set (empty: none). Reactions maps each reaction to its senders, sorted;
//     it is nil when nobody reacted.
//
// Edits that match no message are ignored.
func ApplyEdits(msgs []Message, edits []Edit) []Message {
	out := make([]Message, len(msgs))
	byID := make(map[string][]int, len(msgs)*2)
	for i, m := range msgs {
		m.Corrected, m.Retracted, m.Reactions = false, false, nil
		out[i] = m
		for _, id := range [...]string{m.StanzaID, m.OriginID, m.ArchiveID} {
			if ids := byID[id]; id != "" && (len(ids) == 0 || ids[len(ids)-1] != i) {
				byID[id] = append(ids, i)
			}
		}
	}
	if len(edits) == 0 {
		return out
	}

	correction := make(map[int]*Edit)
	retracted := make(map[int]bool)
	reactions := make(map[int]map[string]*Edit) // message → sender → latest
	for i := range edits {
		e := &edits[i]
		if e.Target == "" {
			continue
		}
		for _, j := range byID[e.Target] {
			m := &out[j]
			if m.Conversation != e.Conversation {
				continue
			}
			switch e.Kind {
			case Correction:
				if e.From == m.From && (e.Target == m.StanzaID || e.Target == m.OriginID) && after(e, correction[j]) {
					correction[j] = e
				}
			case Retraction:
				if e.From == m.From {
					retracted[j] = true
				}
			case Reaction:
				bySender := reactions[j]
				if bySender == nil {
					bySender = make(map[string]*Edit)
					reactions[j] = bySender
				}
				if after(e, bySender[e.From]) {
					bySender[e.From] = e
				}
			}
		}
	}

	for j, e := range correction {
		out[j].Body, out[j].Corrected = e.Body, true
	}
	for j := range retracted {
		out[j].Body, out[j].Corrected, out[j].Retracted = "", false, true
	}
	for j, bySender := range reactions {
		out[j].Reactions = reactionSets(bySender)
	}
	return out
}

// after reports whether e comes after prev (nil: nothing yet) in (Pos, Key)
// order.
func after(e, prev *Edit) bool {
	return prev == nil || cmp.Or(cmp.Compare(e.Pos, prev.Pos), strings.Compare(e.Key, prev.Key)) > 0
}

// reactionSets maps each reaction to the sorted senders whose latest set
// holds it; nil if there are none.
func reactionSets(bySender map[string]*Edit) map[string][]string {
	var sets map[string][]string
	for sender, e := range bySender {
		for _, r := range e.Reactions {
			if r == "" || slices.Contains(sets[r], sender) {
				continue
			}
			if sets == nil {
				sets = make(map[string][]string)
			}
			sets[r] = append(sets[r], sender)
		}
	}
	for _, senders := range sets {
		slices.Sort(senders)
	}
	return sets
}
