package stanza_test

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/waxwing-im/waxwing/wasm/frame"
)

// checkElement fails unless raw is one well-formed element named local in
// jabber:client, as the frame scanner and encoding/xml see it: what goes in
// one WebSocket message.
func checkElement(t *testing.T, raw []byte, local string) {
	t.Helper()
	sc := frame.NewScanner(frame.Fragments, frame.Limits{})
	sc.Write(raw)
	tok, ok, err := sc.Next()
	if err != nil || !ok || tok.Kind != frame.Element || len(tok.Raw) != len(raw) {
		t.Fatalf("%s: not one complete element (ok=%v err=%v)", raw, ok, err)
	}
	d := xml.NewDecoder(strings.NewReader(string(raw)))
	first := true
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if se, ok := tok.(xml.StartElement); ok && first {
			first = false
			if se.Name.Space != "jabber:client" || se.Name.Local != local {
				t.Fatalf("%s: element %v, want {jabber:client}%s", raw, se.Name, local)
			}
		}
	}
}

// built is a builder's output and what it should be.
type built struct{ got, want string }

// checkBuilt compares each builder output with its expected bytes and checks
// that it is one element named local.
func checkBuilt(t *testing.T, local string, tests []built) {
	t.Helper()
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got  %s\nwant %s", tt.got, tt.want)
		}
		checkElement(t, []byte(tt.got), local)
	}
}
