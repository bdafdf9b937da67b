package client

import (
	"strings"
	"testing"
	"time"
)

func TestDeadLinkVerdict(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	const d = 10 * time.Second
	var none time.Time
	tests := []struct {
		name              string
		now, asked, heard time.Time
		dead              bool
		reason            string
	}{
		{"nothing asked", t0.Add(time.Hour), none, none, false, "no acknowledgement overdue"},
		{"asked, within the timeout", t0.Add(d), t0, none, false, "no acknowledgement overdue"},
		{"overdue, nothing received since the session was made", t0.Add(d + time.Millisecond), t0, none, true, "nothing received"},
		{"overdue, last heard before the timeout", t0.Add(d + time.Second), t0, t0.Add(-time.Second), true, "nothing received"},
		{"overdue, the server is sending", t0.Add(3 * d), t0, t0.Add(3*d - time.Second), false, "the server is sending"},
		{"overdue, heard just within the timeout", t0.Add(3 * d), t0, t0.Add(2 * d), false, "the server is sending"},
		{"overdue six times over, the server still sending", t0.Add(6*d + time.Millisecond), t0, t0.Add(6 * d), true, "still sending"},
	}
	for _, tt := range tests {
		dead, reason := deadLink(tt.now, tt.asked, tt.heard, d)
		if dead != tt.dead || !strings.Contains(reason, tt.reason) {
			t.Errorf("%s: deadLink = %v, %q; want %v, %q", tt.name, dead, reason, tt.dead, tt.reason)
		}
	}
}
