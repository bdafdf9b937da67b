// XEP-0203 Delayed Delivery: <delay xmlns='urn:xmpp:delay' stamp from/>,
// with the stamp in the XEP-0082 DateTime profile.

package stanza

import (
	"strings"
	"time"
)

// Delay is a <delay/>: when the delaying entity From received the stanza.
// Stamp is the zero time when the stamp is missing or not an XEP-0082
// DateTime; StampRaw keeps it as written. Reason is the element's text
// (ejabberd writes "Resent" for Stream Management resends).
type Delay struct {
	Stamp    time.Time
	StampRaw string
	From     string
	Reason   string
}

func parseDelay(k *node) *Delay {
	d := &Delay{StampRaw: k.attrValue("stamp"), From: k.attrValue("from"), Reason: k.textTrim()}
	d.Stamp, _ = ParseDateTime(d.StampRaw)
	return d
}

// ParseDateTime parses an XEP-0082 DateTime (CCYY-MM-DDThh:mm:ss[.sss]TZD,
// TZD Z or ±hh:mm) and returns it in UTC.
func ParseDateTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// FormatDateTime formats t as an XEP-0082 DateTime in UTC, with
// milliseconds only when t has them.
func FormatDateTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/int(time.Millisecond) != 0 {
		return t.Format("2006-01-02T15:04:05.000Z")
	}
	return t.Format("2006-01-02T15:04:05Z")
}
