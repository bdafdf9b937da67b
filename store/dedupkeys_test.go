package store

import (
	"fmt"
	"strings"
	"testing"
)

func TestDedupKeys(t *testing.T) {
	k := newDedupKeys(7, 3)
	for _, key := range []string{"me\x00a1", "peer\x00o1"} {
		if k.mayHold(key) {
			t.Errorf("an empty set may hold %q", key)
		}
		if !k.add(key) || !k.mayHold(key) {
			t.Errorf("after add(%q) the set does not hold it", key)
		}
	}
	if k.mayHold("me\x00a2") {
		t.Error("the set may hold a key never added")
	}
	tests := []struct {
		version uint64
		ok      bool
		reason  string
	}{
		{7, true, "complete at version 7"},
		{8, false, "at version 8, the key set at 7: another connection wrote"},
		{6, false, "at version 6"},
	}
	for _, tt := range tests {
		ok, reason := k.validFor(tt.version)
		if ok != tt.ok || !strings.Contains(reason, tt.reason) {
			t.Errorf("validFor(%d) = %v, %q; want %v, …%q…", tt.version, ok, reason, tt.ok, tt.reason)
		}
	}
	if ok, reason := (*dedupKeys)(nil).validFor(0); ok || !strings.Contains(reason, "not empty") {
		t.Errorf("nil set: validFor = %v, %q", ok, reason)
	}
	// Past max the set is given up: it may hold anything, and answers for
	// no version.
	if !k.add("me\x00a3") {
		t.Fatal("the third key did not fit a set of 3")
	}
	if k.add("me\x00a4") {
		t.Error("a fourth key fitted a set of 3")
	}
	if !k.mayHold("me\x00a5") {
		t.Error("a full set answered for a key")
	}
	if ok, reason := k.validFor(7); ok || !strings.Contains(reason, "full") {
		t.Errorf("full set: validFor = %v, %q", ok, reason)
	}
}

// TestDedupKeysNoFalseAbsence checks that every key added is held, among
// many.
func TestDedupKeysNoFalseAbsence(t *testing.T) {
	k := newDedupKeys(0, DefaultDedupKeysMax)
	const n = 50_000
	for i := range n {
		k.add(fmt.Sprintf("me@example.org\x00%08x-id", i))
	}
	absent := 0
	for i := range n {
		if !k.mayHold(fmt.Sprintf("me@example.org\x00%08x-id", i)) {
			t.Fatalf("key %d added but not held", i)
		}
		if !k.mayHold(fmt.Sprintf("me@example.org\x00%08x-other", i)) {
			absent++
		}
	}
	if absent < n-10 {
		t.Errorf("only %d of %d keys never added are known absent", absent, n)
	}
}
