package frame_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/waxwing-im/waxwing/wasm/frame"
)

// scanAll feeds input in pieces of the given sizes (cycled) and collects the
// tokens as "kind:name:raw" strings.
func scanAll(t testing.TB, mode frame.Mode, lim frame.Limits, input string, pieces ...int) ([]string, error) {
	s := frame.NewScanner(mode, lim)
	var out []string
	in := []byte(input)
	for i := 0; len(in) > 0; i++ {
		n := len(in)
		if len(pieces) > 0 {
			n = pieces[i%len(pieces)]
			if n > len(in) {
				n = len(in)
			}
		}
		s.Write(in[:n])
		in = in[n:]
		for {
			tok, ok, err := s.Next()
			if err != nil {
				return out, err
			}
			if !ok {
				break
			}
			if tok.Kind == frame.Element && !bytes.HasPrefix(tok.Raw, tok.StartTag) {
				t.Fatalf("StartTag %q is not a prefix of Raw %q", tok.StartTag, tok.Raw)
			}
			out = append(out, tok.Kind.String()+":"+tok.Name+":"+string(tok.Raw))
		}
	}
	return out, nil
}

func condition(err error) string {
	var fe *frame.Error
	if errors.As(err, &fe) {
		return fe.Condition
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

func TestFragments(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
		cond string // expected error condition, "" for none
	}{
		{"open", `<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="localhost" version="1.0"/>`,
			[]string{`element:open:<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="localhost" version="1.0"/>`}, ""},
		{"two stanzas and whitespace", " <message to='a'><body>hi &amp; &#233;&#x1F600;</body></message>\n<iq/> ",
			[]string{"element:message:<message to='a'><body>hi &amp; &#233;&#x1F600;</body></message>", "element:iq:<iq/>"}, ""},
		{"gt in attribute", `<m a='x>y' b="'"/>`, []string{`element:m:<m a='x>y' b="'"/>`}, ""},
		{"cdata", `<m><body><![CDATA[<not a tag> ]] ]]]></body></m>`,
			[]string{`element:m:<m><body><![CDATA[<not a tag> ]] ]]]></body></m>`}, ""},
		{"prefixed", `<stream:features xmlns:stream='http://etherx.jabber.org/streams'><a:b xmlns:a='x'/></stream:features>`,
			[]string{`element:stream:features:<stream:features xmlns:stream='http://etherx.jabber.org/streams'><a:b xmlns:a='x'/></stream:features>`}, ""},
		{"utf8 text", "<m>Grüße, 世界! 😀</m>", []string{"element:m:<m>Grüße, 世界! 😀</m>"}, ""},
		{"xml declaration first", `<?xml version='1.0' encoding='UTF-8'?><open/>`, []string{"element:open:<open/>"}, ""},
		{"incomplete", `<message><body>hi</body>`, nil, ""},

		{"comment", `<message><!-- hi --></message>`, nil, frame.CondRestrictedXML},
		{"top comment", `<!-- hi --><message/>`, nil, frame.CondRestrictedXML},
		{"doctype", `<!DOCTYPE m [<!ENTITY x "y">]><m>&x;</m>`, nil, frame.CondRestrictedXML},
		{"entity decl inside", `<m><!ENTITY x "y"></m>`, nil, frame.CondRestrictedXML},
		{"undeclared entity", `<m>&xxe;</m>`, nil, frame.CondRestrictedXML},
		{"undeclared entity in attribute", `<m a='&xxe;'/>`, nil, frame.CondRestrictedXML},
		{"processing instruction", `<m><?php echo 1 ?></m>`, nil, frame.CondRestrictedXML},
		{"top processing instruction", `<?xml-stylesheet href='x'?><m/>`, nil, frame.CondRestrictedXML},
		{"late xml declaration", `<m/><?xml version='1.0'?><n/>`, []string{"element:m:<m/>"}, frame.CondRestrictedXML},
		{"latin1", `<?xml version='1.0' encoding='ISO-8859-1'?><m/>`, nil, frame.CondUnsupportedEncoding},
		{"xml 1.1", `<?xml version='1.1'?><m/>`, nil, frame.CondNotWellFormed},
		{"utf16 bom", "\xfe\xff\x00<\x00m", nil, frame.CondNotWellFormed},
		{"nul", "<m>\x00</m>", nil, frame.CondNotWellFormed},
		{"bad utf8", "<m>\xff</m>", nil, frame.CondNotWellFormed},
		{"mismatched", `<a><b></a></b>`, nil, frame.CondNotWellFormed},
		{"stray end", `</a>`, nil, frame.CondNotWellFormed},
		{"text at top", `hello<m/>`, nil, frame.CondNotWellFormed},
		{"cdata at top", `<![CDATA[x]]>`, nil, frame.CondNotWellFormed},
		{"unquoted", `<m a=b/>`, nil, frame.CondNotWellFormed},
		{"lt in attribute", `<m a='<'/>`, nil, frame.CondNotWellFormed},
		{"bad char ref", `<m>&#0;</m>`, nil, frame.CondNotWellFormed},
		{"bad name", `<1m/>`, nil, frame.CondNotWellFormed},
		{"no space between attributes", `<m a='1'b='2'/>`, nil, frame.CondNotWellFormed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The result must not depend on how the bytes are cut.
			for _, pieces := range [][]int{nil, {1}, {2}, {3}, {7}, {1, 5, 2}} {
				got, err := scanAll(t, frame.Fragments, frame.Limits{}, tt.in, pieces...)
				if c := condition(err); c != tt.cond {
					t.Fatalf("pieces %v: condition %q, want %q (err %v)", pieces, c, tt.cond, err)
				}
				if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
					t.Fatalf("pieces %v:\n got %q\nwant %q", pieces, got, tt.want)
				}
			}
		})
	}
}

func TestStream(t *testing.T) {
	header := `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='localhost' id='abc' version='1.0'>`
	tests := []struct {
		name string
		in   string
		want []string
		cond string
	}{
		{"header only", header, []string{"stream-open:stream:stream:" + header[len(`<?xml version='1.0'?>`):]}, ""},
		{"features and close", header + `<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features> </stream:stream>`,
			[]string{
				"stream-open:stream:stream:" + header[len(`<?xml version='1.0'?>`):],
				"element:stream:features:<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>",
				"stream-close:stream:stream:</stream:stream>",
			}, ""},
		{"whitespace keepalive", header + " \n <r xmlns='urn:xmpp:sm:3'/>",
			[]string{"stream-open:stream:stream:" + header[len(`<?xml version='1.0'?>`):], "element:r:<r xmlns='urn:xmpp:sm:3'/>"}, ""},
		{"not a stream", `<message/>`, nil, frame.CondNotWellFormed},
		{"data after close", header + `</stream:stream><m/>`,
			[]string{"stream-open:stream:stream:" + header[len(`<?xml version='1.0'?>`):], "stream-close:stream:stream:</stream:stream>"}, frame.CondNotWellFormed},
		{"doctype before header", `<!DOCTYPE x><stream:stream>`, nil, frame.CondRestrictedXML},
		{"mid-stream declaration", header + `<?xml version='1.0'?>`,
			[]string{"stream-open:stream:stream:" + header[len(`<?xml version='1.0'?>`):]}, frame.CondRestrictedXML},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, pieces := range [][]int{nil, {1}, {3}, {64}} {
				got, err := scanAll(t, frame.Stream, frame.Limits{}, tt.in, pieces...)
				if c := condition(err); c != tt.cond {
					t.Fatalf("pieces %v: condition %q, want %q (err %v)", pieces, c, tt.cond, err)
				}
				if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
					t.Fatalf("pieces %v:\n got %q\nwant %q", pieces, got, tt.want)
				}
			}
		})
	}
}

func TestLimits(t *testing.T) {
	lim := frame.Limits{MaxBytes: 1024, MaxDepth: 16}
	tests := []struct {
		name string
		in   string
		cond string
	}{
		{"at limit", "<m>" + strings.Repeat("a", 1024-len("<m></m>")) + "</m>", ""},
		{"over limit", "<m>" + strings.Repeat("a", 1025-len("<m></m>")) + "</m>", frame.CondPolicyViolation},
		{"over limit, never closed", "<m>" + strings.Repeat("a", 5000), frame.CondPolicyViolation},
		{"huge start tag", "<m a='" + strings.Repeat("a", 5000), frame.CondPolicyViolation},
		{"depth at limit", strings.Repeat("<a>", 16) + strings.Repeat("</a>", 16), ""},
		{"depth over limit", strings.Repeat("<a>", 17) + strings.Repeat("</a>", 17), frame.CondPolicyViolation},
		{"100000 deep", strings.Repeat("<a>", 100000), frame.CondPolicyViolation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, pieces := range [][]int{nil, {1}, {100}} {
				_, err := scanAll(t, frame.Fragments, lim, tt.in, pieces...)
				if c := condition(err); c != tt.cond {
					t.Fatalf("pieces %v: condition %q, want %q (err %v)", pieces, c, tt.cond, err)
				}
			}
		})
	}
}

// TestBufferBounded checks that a stream of many elements does not make the
// scanner hold more than the unfinished element.
func TestBufferBounded(t *testing.T) {
	s := frame.NewScanner(frame.Fragments, frame.Limits{})
	stanza := []byte("<message><body>" + strings.Repeat("x", 1000) + "</body></message>")
	for i := 0; i < 1000; i++ {
		s.Write(stanza[:500])
		s.Write(stanza[500:])
		if _, ok, err := s.Next(); !ok || err != nil {
			t.Fatalf("element %d: ok=%v err=%v", i, ok, err)
		}
		if b := s.Buffered(); b != 0 {
			t.Fatalf("element %d: %d bytes still buffered", i, b)
		}
	}
}

// TestIdleScannerIsSmall checks that a scanner gives back a large buffer
// once everything in it is consumed.
func TestIdleScannerIsSmall(t *testing.T) {
	s := frame.NewScanner(frame.Fragments, frame.Limits{})
	big := []byte("<message><body>" + strings.Repeat("x", 100000) + "</body></message>")
	s.Write(big[:50000])
	if _, ok, _ := s.Next(); ok {
		t.Fatal("element complete too early")
	}
	s.Write(big[50000:])
	tok, ok, err := s.Next()
	if !ok || err != nil || string(tok.Raw) != string(big) {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	if _, ok, _ := s.Next(); ok {
		t.Fatal("unexpected token")
	}
	if c := s.Cap(); c > 4096 {
		t.Fatalf("idle scanner holds %d bytes", c)
	}
	if string(tok.Raw) != string(big) {
		t.Fatal("earlier token changed")
	}
}

func TestAttrs(t *testing.T) {
	s := frame.NewScanner(frame.Stream, frame.Limits{})
	s.Write([]byte(`<s:stream xmlns="jabber:client" xmlns:s='http://etherx.jabber.org/streams' to="a&amp;b" x = 'q&#x22;'>` +
		`<s:features/><message xmlns='jabber:server'/><iq/>`))
	var toks []frame.Token
	for {
		tok, ok, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		toks = append(toks, tok)
	}
	if len(toks) != 4 {
		t.Fatalf("got %d tokens", len(toks))
	}
	if v, _ := toks[0].Attr("to"); v != "a&b" {
		t.Errorf("to = %q", v)
	}
	if v, _ := toks[0].Attr("x"); v != `q"` {
		t.Errorf("x = %q", v)
	}
	scope := toks[0].Declarations()
	if scope[""] != "jabber:client" || scope["s"] != "http://etherx.jabber.org/streams" {
		t.Errorf("declarations = %v", scope)
	}
	for i, want := range []string{"", "http://etherx.jabber.org/streams", "jabber:server", "jabber:client"} {
		if i == 0 {
			continue
		}
		if got := toks[i].Namespace(scope); got != want {
			t.Errorf("token %d namespace %q, want %q", i, got, want)
		}
	}
}

// checkInvariants is the property every fuzz input must satisfy: no panic;
// every element is well-formed XML that encoding/xml also accepts; and the
// elements are exactly the input's bytes, in order.
func checkInvariants(t *testing.T, mode frame.Mode, data []byte, cut int) {
	s := frame.NewScanner(mode, frame.Limits{MaxBytes: 4096, MaxDepth: 32})
	if cut > len(data) || cut < 0 {
		cut = len(data) / 2
	}
	var joined []byte
	check := func() bool {
		for {
			tok, ok, err := s.Next()
			if err != nil {
				var fe *frame.Error
				if !errors.As(err, &fe) {
					t.Fatalf("error of type %T: %v", err, err)
				}
				return false
			}
			if !ok {
				return true
			}
			if !bytes.Contains(data, tok.Raw) {
				t.Fatalf("token bytes %q are not from the input", tok.Raw)
			}
			joined = append(joined, tok.Raw...)
			if tok.Kind != frame.Element {
				continue
			}
			d := xml.NewDecoder(bytes.NewReader(tok.Raw))
			for {
				_, err := d.RawToken()
				if err == io.EOF {
					break
				}
				if err != nil && strings.Contains(err.Error(), "invalid XML name") && bytes.ContainsFunc(tok.Raw, func(r rune) bool { return r >= 0x80 }) {
					// XML 1.0 5th edition allows more name characters than the
					// tables encoding/xml uses; the server has the last word.
					break
				}
				if err != nil {
					t.Fatalf("scanner accepted %q, encoding/xml says %v", tok.Raw, err)
				}
			}
		}
	}
	s.Write(data[:cut])
	if check() {
		s.Write(data[cut:])
		check()
	}
	// Whatever was emitted appears in the input in order: every byte of joined
	// is in data, as a subsequence.
	i := 0
	for _, c := range data {
		if i < len(joined) && joined[i] == c {
			i++
		}
	}
	if i != len(joined) {
		t.Fatalf("emitted bytes are not a subsequence of the input")
	}
}

func FuzzFragments(f *testing.F) {
	for _, seed := range fuzzSeeds {
		f.Add([]byte(seed), len(seed)/3)
	}
	f.Fuzz(func(t *testing.T, data []byte, cut int) { checkInvariants(t, frame.Fragments, data, cut) })
}

func FuzzStream(f *testing.F) {
	for _, seed := range fuzzSeeds {
		f.Add([]byte("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"+seed+"</stream:stream>"), 7)
	}
	f.Fuzz(func(t *testing.T, data []byte, cut int) { checkInvariants(t, frame.Stream, data, cut) })
}

var fuzzSeeds = []string{
	`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="localhost" version="1.0"/>`,
	`<message xmlns='jabber:client' to='bob@localhost' type='chat' id='1'><body>hi &lt;3 &#x1F600;</body><origin-id xmlns='urn:xmpp:sid:0' id='x'/></message>`,
	`<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>`,
	`<m><![CDATA[ <x> ]]></m>`,
	`<!-- c -->`,
	`<!DOCTYPE a [<!ENTITY b "c">]>`,
	`<a>&b;</a>`,
	`<a b='>'/>`,
	`<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>`,
	"<a>\xff</a>",
}
