//go:build !js

package xmppws_test

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/wasm/xmppws"
)

// What arrives while the application is busy is read ahead, up to a byte
// budget (then the server waits: TCP pushes back), and is then read in
// order; Pending says whether Read can return without waiting.
func TestReadAhead(t *testing.T) {
	c, p, err := dial(t, "xmpp")
	if err != nil {
		t.Fatal(err)
	}
	const n, size = 40, 200 << 10 // 8 MB in all, 4 times the budget
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("<message xmlns='jabber:client' id='%02d'>", i) + strings.Repeat("x", size) + "</message>"
	}
	if c.Pending() {
		t.Fatal("Pending before anything arrived")
	}
	go func() {
		for _, m := range want {
			p.send(m)
		}
	}()
	// Let it read ahead as far as it will.
	var peak int64
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		peak = max(peak, c.Ahead())
	}
	if peak == 0 || !c.Pending() {
		t.Fatalf("nothing read ahead (peak %d, pending %v)", peak, c.Pending())
	}
	if peak > xmppws.ReadAheadBytes {
		t.Errorf("read ahead %d bytes, over the budget of %d", peak, xmppws.ReadAheadBytes)
	}
	all := strings.Join(want, "")
	buf := make([]byte, 64<<10)
	var got strings.Builder
	for got.Len() < len(all) {
		k, err := c.Read(buf)
		if err != nil && err != io.EOF {
			t.Fatalf("Read: %v", err)
		}
		got.Write(buf[:k])
	}
	if got.String() != all {
		t.Fatal("the messages were not read whole and in order")
	}
	if c.Pending() || c.Ahead() != 0 {
		t.Errorf("after reading everything: pending %v, %d bytes ahead", c.Pending(), c.Ahead())
	}
}
