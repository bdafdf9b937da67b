package client

import (
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Min: 200 * time.Millisecond, Max: 10 * time.Second}
	tests := []struct {
		n    int
		r    float64
		want time.Duration
	}{
		{0, 0, 100 * time.Millisecond},             // floor: Min/2
		{0, 0.999999, 199999900 * time.Nanosecond}, // just under Min
		{1, 1, 400 * time.Millisecond},             // cap doubles
		{3, 1, 1600 * time.Millisecond},
		{10, 1, 10 * time.Second},          // never above Max
		{60, 0.5, 5050 * time.Millisecond}, // no overflow for large n
	}
	for _, tt := range tests {
		got := b.Delay(tt.n, tt.r)
		if d := got - tt.want; d > time.Microsecond || d < -time.Microsecond {
			t.Errorf("Delay(%d, %v) = %v, want %v", tt.n, tt.r, got, tt.want)
		}
	}
	// Defaults when unset.
	if got := (Backoff{}).Delay(0, 0); got != 125*time.Millisecond {
		t.Errorf("default floor %v", got)
	}
}
