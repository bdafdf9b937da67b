// XEP-0059 Result Set Management: <set xmlns='http://jabber.org/protocol/rsm'>
// in queries (max, after, before) and in answers (first with its index,
// last, count).

package stanza

import (
	"strconv"
	"strings"
)

// RSMSet is an answer's <set/>: the ids of the first and last item of the
// page, and the optional count of the whole result set and index of the
// first item (-1 when not given; XEP-0313 says not to depend on them).
type RSMSet struct {
	First, Last string
	FirstIndex  int
	Count       int
}

// ParseRSMSet parses a <set xmlns='http://jabber.org/protocol/rsm'/>
// element on its own.
func ParseRSMSet(raw []byte) (RSMSet, error) {
	n, err := parseTree(raw)
	if err != nil {
		return RSMSet{FirstIndex: -1, Count: -1}, err
	}
	if !n.is(NSRSM, "set") {
		return RSMSet{FirstIndex: -1, Count: -1}, errWant(n, NSRSM, "set")
	}
	return parseRSM(n), nil
}

// parseRSM reads set n; a nil n is an empty set.
func parseRSM(n *node) RSMSet {
	s := RSMSet{FirstIndex: -1, Count: -1}
	if n == nil {
		return s
	}
	if f := n.child(NSRSM, "first"); f != nil {
		s.First = f.textTrim()
		s.FirstIndex = nonNegative(f.attrValue("index"))
	}
	s.Last = n.childText(NSRSM, "last")
	if c := n.child(NSRSM, "count"); c != nil {
		s.Count = nonNegative(c.textTrim())
	}
	return s
}

// nonNegative parses a non-negative integer, -1 if s is not one.
func nonNegative(s string) int {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || v < 0 {
		return -1
	}
	return v
}

// writeRSM writes a query's <set/>: max when max > 0, <after/> when after is
// given, <before/> when before is given or last is true (an empty <before/>
// asks for the last page). Nothing is written when there is nothing to say.
func writeRSM(b *strings.Builder, max int, after, before string, last bool) {
	if max <= 0 && after == "" && before == "" && !last {
		return
	}
	b.WriteString("<set xmlns='" + NSRSM + "'>")
	if max > 0 {
		b.WriteString("<max>" + strconv.Itoa(max) + "</max>")
	}
	textElement(b, "after", after)
	if before != "" {
		textElement(b, "before", before)
	} else if last {
		b.WriteString("<before/>")
	}
	b.WriteString("</set>")
}
