// XEP-0313 Message Archive Management (urn:xmpp:mam:2, version 1.1): the
// query with its data-form filters (start, end, with, and the #extended
// after-id and before-id) and RSM paging, the <result/> messages, the
// <fin/> that ends a query, and the archive <metadata/>.

package stanza

import (
	"strings"
	"time"
)

// MAMResult is the <result/> of an archive result message: the query it
// answers and the archive's id of the message, which for a user archive on
// Prosody equals the live stanza-id (on ejabberd a numeric string; the
// sender's and recipient's archives differ).
type MAMResult struct {
	QueryID, ID string
}

// parseMAMResult reads an urn:xmpp:mam:2 child of a message.
func parseMAMResult(m *Message, k *node, raw []byte, unwrap bool) {
	if k.name.Local != "result" || m.MAM != nil {
		return
	}
	m.MAM = &MAMResult{QueryID: k.attrValue("queryid"), ID: k.attrValue("id")}
	if unwrap && m.Inner == nil {
		m.Inner = unwrapForwarded(k.child(NSForward, "forwarded"), raw)
	}
}

// MAMQuery is an archive query. Every field is optional.
type MAMQuery struct {
	ID      string // the iq id
	To      string // the archive: "" for the own account, a room's bare JID
	QueryID string // echoed in each result's queryid

	With       string    // only messages to or from this JID
	Start, End time.Time // only messages at or after Start, at or before End (zero: no bound)

	// AfterID and BeforeID are the XEP-0313 #extended form fields: only
	// messages after and before these archive ids (both may be given; the
	// server must advertise urn:xmpp:mam:2#extended).
	AfterID, BeforeID string

	// Max, After and Before are RSM paging: at most Max results (0: the
	// server's choice), the page after or before an archive id. LastPage
	// asks for the most recent page (an empty RSM <before/>) when Before is
	// empty.
	Max           int
	After, Before string
	LastPage      bool

	FlipPage bool // #extended: results newest first within the page
}

// Bytes returns the query <iq type='set'/>.
func (q MAMQuery) Bytes() []byte {
	var b strings.Builder
	iqOpen(&b, "set", q.ID, q.To)
	b.WriteString("<query xmlns='" + NSMAM + "'")
	attrs(&b, "queryid", q.QueryID)
	b.WriteString(">")
	var start, end string
	if !q.Start.IsZero() {
		start = FormatDateTime(q.Start)
	}
	if !q.End.IsZero() {
		end = FormatDateTime(q.End)
	}
	writeSubmitForm(&b, NSMAM,
		field{"with", q.With}, field{"start", start}, field{"end", end},
		field{"after-id", q.AfterID}, field{"before-id", q.BeforeID})
	writeRSM(&b, q.Max, q.After, q.Before, q.LastPage)
	if q.FlipPage {
		b.WriteString("<flip-page/>")
	}
	b.WriteString("</query></iq>")
	return []byte(b.String())
}

// MAMFin is the <fin/> of the iq result that ends a query. Complete is true
// when the last page was delivered; Stable is false only when the server
// says the results may still change (complete='false' and an absent
// complete mean the same, and so do stable='true' and an absent stable).
type MAMFin struct {
	ID       string // the iq id
	Complete bool
	Stable   bool
	Set      RSMSet
}

// ParseMAMFin parses the iq result ending a query. An iq of type 'error'
// returns its *StanzaError (item-not-found: an after/before id is not in
// the archive).
func ParseMAMFin(raw []byte) (MAMFin, error) {
	n, f, err := iqResultPayload(raw, NSMAM, "fin")
	if err != nil {
		return MAMFin{}, err
	}
	return MAMFin{
		ID:       n.attrValue("id"),
		Complete: xsBool(f.attrValue("complete"), false),
		Stable:   xsBool(f.attrValue("stable"), true),
		Set:      parseRSM(f.child(NSRSM, "set")),
	}, nil
}

// MAMMetadataRequest returns <iq type='get'><metadata xmlns='urn:xmpp:mam:2'/></iq>
// for archive to ("" for the own account).
func MAMMetadataRequest(id, to string) []byte {
	var b strings.Builder
	iqOpen(&b, "get", id, to)
	b.WriteString("<metadata xmlns='" + NSMAM + "'/></iq>")
	return []byte(b.String())
}

// MAMMetadata is the archive's first and last message. Empty is true for an
// empty archive (an empty <metadata/>), and Start and End are then zero.
type MAMMetadata struct {
	Empty      bool
	Start, End ArchivePoint
}

// ArchivePoint is an archived message's id and timestamp. Timestamp is zero
// when it is missing or malformed; TimestampRaw keeps it as written.
type ArchivePoint struct {
	ID           string
	Timestamp    time.Time
	TimestampRaw string
}

// ParseMAMMetadata parses the iq result of a metadata request. A <metadata/>
// with only one of <start/> and <end/> is an error.
func ParseMAMMetadata(raw []byte) (MAMMetadata, error) {
	_, md, err := iqResultPayload(raw, NSMAM, "metadata")
	if err != nil {
		return MAMMetadata{}, err
	}
	s, e := md.child(NSMAM, "start"), md.child(NSMAM, "end")
	if s == nil && e == nil {
		return MAMMetadata{Empty: true}, nil
	}
	if s == nil || e == nil || s.attrValue("id") == "" || e.attrValue("id") == "" {
		return MAMMetadata{}, errMalformed("archive metadata without both <start id/> and <end id/>")
	}
	return MAMMetadata{Start: archivePoint(s), End: archivePoint(e)}, nil
}

func archivePoint(n *node) ArchivePoint {
	p := ArchivePoint{ID: n.attrValue("id"), TimestampRaw: n.attrValue("timestamp")}
	p.Timestamp, _ = ParseDateTime(p.TimestampRaw)
	return p
}

// xsBool parses an xs:boolean, def when s is empty or not one.
func xsBool(s string, def bool) bool {
	switch strings.TrimSpace(s) {
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	return def
}
