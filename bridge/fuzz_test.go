//go:build !js

package bridge

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/waxwing-im/waxwing/wasm/frame"
)

// standsAlone reports whether msg is one element whose every prefix is
// declared within it (RFC 7395 §3.3.3: each message is a whole element).
// Prefixes that the input never declared (known is false for them) are the
// input's fault and not checked.
func standsAlone(msg []byte, known func(prefix string) bool) error {
	d := xml.NewDecoder(bytes.NewReader(msg))
	var stack []map[string]bool
	declared := func(p string) bool {
		if p == "" || p == "xml" || p == "xmlns" || !known(p) {
			return true
		}
		for i := len(stack) - 1; i >= 0; i-- {
			if stack[i][p] {
				return true
			}
		}
		return false
	}
	elements := 0
	for {
		t, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil && strings.Contains(err.Error(), "invalid XML name") && bytes.ContainsFunc(msg, func(r rune) bool { return r >= 0x80 }) {
			// XML 1.0 5th edition allows more name characters than
			// encoding/xml's tables; the scanner follows the former.
			return nil
		}
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				elements++
			}
			m := map[string]bool{}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" {
					m[a.Name.Local] = true
				}
			}
			stack = append(stack, m)
			if !declared(t.Name.Space) {
				return errors.New("undeclared prefix " + t.Name.Space)
			}
			for _, a := range t.Attr {
				if !declared(a.Name.Space) {
					return errors.New("undeclared attribute prefix " + a.Name.Space)
				}
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 && len(bytes.TrimSpace(t)) > 0 {
				return errors.New("text outside the element")
			}
		}
	}
	if elements != 1 {
		return errors.New("not exactly one element")
	}
	return nil
}

// fromInput reports whether msg is an element of data with only namespace
// declarations inserted after its name.
func fromInput(data, msg []byte) bool {
	if bytes.Contains(data, msg) {
		return true
	}
	nameEnd := bytes.IndexAny(msg, " \t\r\n/>")
	if nameEnd < 0 {
		return false
	}
	rest := msg[nameEnd:]
	for cut := 0; cut < len(rest); {
		// Skip one inserted declaration " xmlns[:p]='...'".
		if !bytes.HasPrefix(rest[cut:], []byte(" xmlns")) {
			return false
		}
		q := bytes.IndexByte(rest[cut:], '\'')
		if q < 0 {
			return false
		}
		e := bytes.IndexByte(rest[cut+q+1:], '\'')
		if e < 0 {
			return false
		}
		cut += q + 1 + e + 1
		joined := append(append([]byte{}, msg[:nameEnd]...), rest[cut:]...)
		if bytes.Contains(data, joined) {
			return true
		}
	}
	return false
}

func FuzzToBrowser(f *testing.F) {
	for _, seed := range []string{
		fakeHeader + "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>",
		fakeHeader + "<stream:features/><success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>" + fakeHeader + "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>",
		fakeHeader + "<message from='a@b/c'><body>x &amp; y</body><stanza-id xmlns='urn:xmpp:sid:0' id='1' by='a@b'/></message><stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>",
		"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback'><db:result/><x:y xmlns:x='u'/></stream:stream>",
		fakeHeader + "<stream:features><limits xmlns='urn:xmpp:stream-limits:0'><max-bytes>10000</max-bytes></limits></stream:features>",
	} {
		f.Add([]byte(seed), len(seed)/2)
	}
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		d := newToBrowser(frame.Limits{MaxBytes: 1 << 16, MaxDepth: 64})
		if cut < 0 || cut > len(data) {
			cut = len(data) / 2
		}
		emit := func(msg []byte) error {
			// Prefixes the stream header declared must travel with the
			// element; others are the input's own fault.
			known := func(p string) bool { _, ok := d.scope[p]; return ok }
			if err := standsAlone(msg, known); err != nil {
				t.Fatalf("message %q does not stand alone: %v", msg, err)
			}
			s := string(msg)
			isFraming := strings.HasPrefix(s, "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing'") || s == string(closeFrame)
			if !isFraming && !strings.Contains(s, "features") && !fromInput(data, msg) {
				t.Fatalf("message %q is not an input element plus declarations", msg)
			}
			if strings.Contains(s, "features") && hasChild(msg, nsTLS, "starttls") {
				t.Fatalf("starttls shown to the browser: %q", msg)
			}
			return nil
		}
		if err := d.feed(data[:cut], emit); err != nil {
			return
		}
		_ = d.feed(data[cut:], emit)
	})
}

func FuzzFromBrowser(f *testing.F) {
	for _, seed := range []string{
		openFrame + "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGEAYg==</auth>" + openFrame + "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq><close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/><message/>",
		"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='evil.example' version='1.0'/>",
		"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/>",
		openFrame + "<message xmlns='jabber:client'><body>&lt;x&gt;</body></message>",
		"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='" + testDomain + "' version='1.0' from='a@" + testDomain + "' xml:lang='en' evil='x'/>",
	} {
		f.Add([]byte(seed), 13)
	}
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		u := newFromBrowser(testDomain, frame.Limits{MaxBytes: 1 << 16, MaxDepth: 64})
		if cut < 0 || cut > len(data) {
			cut = len(data) / 2
		}
		// What goes upstream must be a well-formed RFC 6120 stream, the
		// server's parser restarting at each header, as it does.
		check := frame.NewScanner(frame.Stream, frame.Limits{MaxBytes: 1 << 17, MaxDepth: 128})
		opened, closed := false, false
		run := func(p []byte) bool {
			u.sc.Write(p)
			for {
				step, ok, err := u.next()
				if err != nil {
					return false
				}
				if !ok {
					return true
				}
				switch step.kind {
				case stepReject:
					return false
				case stepOpen:
					if to, _ := step.tok.Attr("to"); !strings.EqualFold(strings.TrimSuffix(to, "."), testDomain) {
						t.Fatalf("opened a stream to %q", to)
					}
					check.Reset()
					opened = true
				case stepStanza:
					if !opened {
						return false // the relay refuses stanzas before <open/>
					}
					if !bytes.Contains(data, step.bytes) {
						t.Fatalf("stanza %q is not from the input", step.bytes)
					}
				case stepClose:
					if !opened {
						return false
					}
				}
				if closed {
					t.Fatalf("%q forwarded after <close/>", step.bytes)
				}
				closed = step.kind == stepClose
				check.Write(step.bytes)
				for {
					_, ok, err := check.Next()
					if err != nil {
						t.Fatalf("upstream stream is not well-formed after %q: %v", step.bytes, err)
					}
					if !ok {
						break
					}
				}
			}
		}
		if run(data[:cut]) {
			run(data[cut:])
		}
	})
}
