//go:build !js

package bridge

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/wasm/frame"
)

func TestBatchBytes(t *testing.T) {
	for _, tt := range []struct {
		query string
		want  int
	}{
		{"", 0},
		{"batch=65536", 65536},
		{"batch=4096", 4096},
		{"batch=4095", 0},
		{"batch=-1", 0},
		{"batch=lots", 0},
		{"other=1&batch=1048576", 1 << 20},
	} {
		q, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		if got := batchBytes(q); got != tt.want {
			t.Errorf("batchBytes(%q) = %d, want %d", tt.query, got, tt.want)
		}
	}
}

// TestFeedBatches checks what a batched translation sends: the same bytes
// as one message per element, stanzas and <r/>/<a/> together where they
// arrived together and fit, everything else alone, and every message
// made of whole elements.
func TestFeedBatches(t *testing.T) {
	msg := func(i int) string {
		return fmt.Sprintf("<message from='bob@example.org/r' id='m%d'><body>%s</body></message>", i, strings.Repeat("x", 100))
	}
	var burst strings.Builder
	for i := range 30 {
		burst.WriteString(msg(i))
	}
	input := []string{
		fakeHeader + "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>",
		"<iq type='result' id='b1'/><r xmlns='urn:xmpp:sm:3'/>" + burst.String() + "<a xmlns='urn:xmpp:sm:3' h='3'/>",
		msg(30)[:20],
		msg(30)[20:] + "<enabled xmlns='urn:xmpp:sm:3' id='sm1' resume='true'/>" + msg(31) + "</stream:stream>",
	}
	run := func(batchMax int) []string {
		d := newToBrowser(frame.Limits{MaxBytes: 1 << 16, MaxDepth: 64})
		d.batchMax = batchMax
		var out []string
		emit := func(p []byte) error { out = append(out, string(p)); return nil }
		for _, p := range input {
			if err := d.feed([]byte(p), emit); err != nil {
				t.Fatalf("feed: %v", err)
			}
		}
		return out
	}
	single := run(0)
	if len(single) != 39 {
		t.Fatalf("one message per element: %d messages, want 39", len(single))
	}
	for _, max := range []int{4096, 1 << 20} {
		batched := run(max)
		if strings.Join(batched, "") != strings.Join(single, "") {
			t.Fatalf("batchMax %d: the bytes differ from one message per element", max)
		}
		// Where each message ends, in elements.
		var ends []int
		k, n := 0, 0
		for _, m := range batched {
			for len(m) > 0 && k < len(single) && strings.HasPrefix(m, single[k]) {
				m, k, n = m[len(single[k]):], k+1, n+1
			}
			if m != "" {
				t.Fatalf("batchMax %d: a message does not end between elements", max)
			}
			ends = append(ends, n)
		}
		for i, m := range batched {
			if len(m) > max && ends[i]-prev(ends, i) > 1 {
				t.Errorf("batchMax %d: message %d holds %d bytes in %d elements", max, i, len(m), ends[i]-prev(ends, i))
			}
		}
		// open, features alone; the burst with the iq, <r/> and <a/>;
		// the split message alone; <enabled/> alone; the last message; close.
		alone := []string{"<open ", "<stream:features ", "<enabled ", "<close "}
		for _, m := range batched {
			for _, a := range alone {
				if strings.HasPrefix(m, a) && !slices.Contains(single, m) {
					t.Errorf("batchMax %d: %.40q shares a message", max, m)
				}
			}
		}
		if max == 1<<20 && len(batched) != 7 {
			t.Errorf("batchMax %d: %d messages, want 7 (open, features, burst, split message, enabled, message, close)", max, len(batched))
		}
		if max == 4096 && len(batched) < 8 {
			t.Errorf("batchMax %d: %d messages: the 4 KiB bound did not split the burst", max, len(batched))
		}
	}
}

func prev(ends []int, i int) int {
	if i == 0 {
		return 0
	}
	return ends[i-1]
}

// TestRelayBatches checks the relay end to end: a browser that asks for
// batches gets a burst in fewer messages, one that does not gets a message
// per stanza, and both the same bytes.
func TestRelayBatches(t *testing.T) {
	t.Parallel()
	f := newFakeUpstream(t)
	b := startBridge(t, f, nil)
	var burst strings.Builder
	for i := range 20 {
		fmt.Fprintf(&burst, "<message from='bob@%s/r' id='m%d'><body>hello %d</body></message>", testDomain, i, i)
	}
	for _, tt := range []struct {
		query   string
		batched bool
	}{{"", false}, {"?batch=65536", true}} {
		br, fc := b.openedQuery(t, f, tt.query)
		fc.send(t, burst.String())
		var got strings.Builder
		messages := 0
		for strings.Count(got.String(), "</message>") < 20 {
			m, err := br.read(5 * time.Second)
			if err != nil {
				t.Fatalf("%q: after %d messages: %v", tt.query, messages, err)
			}
			got.WriteString(m)
			messages++
		}
		want := strings.ReplaceAll(burst.String(), "<message from=", "<message xmlns='jabber:client' from=")
		if got.String() != want {
			t.Errorf("%q: got %.200q\nwant %.200q", tt.query, got.String(), want)
		}
		if tt.batched && messages >= 20 || !tt.batched && messages != 20 {
			t.Errorf("%q: the burst came in %d messages", tt.query, messages)
		}
	}
}

// FuzzToBrowserBatched checks that batching changes where messages end, not
// what the browser receives, and that a message ends between elements.
func FuzzToBrowserBatched(f *testing.F) {
	f.Add([]byte(fakeHeader+"<stream:features/><message><body>a</body></message><r xmlns='urn:xmpp:sm:3'/><iq type='get' id='1'/><presence/></stream:stream>"), 40, 4096)
	f.Add([]byte(fakeHeader+"<message/><stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error><message/>"), 7, 5000)
	f.Fuzz(func(t *testing.T, data []byte, cut, max int) {
		if cut < 0 || cut > len(data) {
			cut = len(data) / 2
		}
		run := func(batchMax int) []string {
			d := newToBrowser(frame.Limits{MaxBytes: 1 << 16, MaxDepth: 64})
			d.batchMax = batchMax
			var out []string
			emit := func(p []byte) error { out = append(out, string(p)); return nil }
			if d.feed(data[:cut], emit) == nil {
				_ = d.feed(data[cut:], emit)
			}
			return out
		}
		max = minBatchBytes + max%(1<<16)
		if max < minBatchBytes {
			max = minBatchBytes
		}
		single, batched := run(0), run(max)
		if strings.Join(single, "") != strings.Join(batched, "") {
			t.Fatalf("batched bytes differ:\n%q\n%q", single, batched)
		}
		k := 0
		for _, m := range batched {
			n := 0
			for len(m) > 0 && k < len(single) && strings.HasPrefix(m, single[k]) {
				m, k, n = m[len(single[k]):], k+1, n+1
			}
			if m != "" {
				t.Fatalf("a batched message does not end between elements: %q", batched)
			}
			if n > 1 && len(strings.Join(single[k-n:k], "")) > max {
				t.Fatalf("a batch of %d elements exceeds %d bytes", n, max)
			}
		}
	})
}
