package stanza

import (
	"fmt"
	"strings"
	"testing"
)

// fastSeeds are stanzas as servers send them, and the shapes the fast path
// must leave to encoding/xml.
var fastSeeds = []string{
	`<message to='alice@localhost/tag~TUWBYOSoOpGi'><result id='zq3mAe6Yj2u7H2xuEY8sFV6h' queryid='q1' xmlns='urn:xmpp:mam:2'><forwarded xmlns='urn:xmpp:forward:0'><delay stamp='2026-11-20T23:24:12Z' xmlns='urn:xmpp:delay'/><message from='bob@localhost/probe~9M7E7Rqqjrex' to='alice@localhost' type='chat' id='b1' xml:lang='en' xmlns='jabber:client'><body>bob to alice 1</body></message></forwarded></result></message>`,
	`<message xml:lang='en' to='alice@localhost/probe-alice' from='bob@localhost/probe-bob' type='chat' id='b1' xmlns='jabber:client'><archived by='alice@localhost' id='1795217489191448' xmlns='urn:xmpp:mam:tmp'/><stanza-id by='alice@localhost' id='1795217489191448' xmlns='urn:xmpp:sid:0'/><body>bob to alice 1</body></message>`,
	`<iq id='mam1' type='result'><fin complete='true' xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><last>Se__1fvQcV9YRjzhNqCdWUoC</last><first>zq3mAe6Yj2u7H2xuEY8sFV6h</first><count>4</count></set></fin></iq>`,
	"<message xmlns=\"jabber:client\"><body>a &lt;b&gt; &amp; &apos;c&apos; &quot;d&quot; é 😀\n\tend</body></message>",
	`<stream:features xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'><x:y xmlns:x='urn:x' x:a='1' b = "2"/></stream:features>`,
	`<a xmlns='u'><b xmlns=''><c/></b><d/></a>`,
	`  <a/>`,
	`<a><![CDATA[x]]></a>`,
	`<a>&#65;</a>`,
	"<a>x\r\ny</a>",
	`<a><!-- c --></a>`,
	`<a><?pi x?></a>`,
	`<p:a/>`,
	`<a b='1'c='2'/>`,
	`<a></b>`,
	`<a b=c/>`,
	`<xmlns xmlns='u'/>`,
	`<a xmlns:p=''><p:b/></a>`,
	`<a>text`,
	`<a b='<'/>`,
	"<a>\x00</a>",
	"<a>\xff</a>",
}

// TestFastTreeTakesServerStanzas checks that the fast path answers for what
// servers send (not handing everything to encoding/xml), and leaves the
// rest to it.
func TestFastTreeTakesServerStanzas(t *testing.T) {
	for i, s := range fastSeeds {
		_, ok := fastTree([]byte(s))
		if want := i < 7; ok != want {
			t.Errorf("fastTree(%q) answered %v, want %v", s, ok, want)
		}
	}
}

// FuzzFastTree checks that where the fast path answers, encoding/xml
// accepts the input and builds the same tree.
func FuzzFastTree(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fast, ok := fastTree(raw)
		if !ok {
			return
		}
		slow, err := slowTree(raw)
		if err != nil {
			t.Fatalf("fast path took %q, encoding/xml: %v", raw, err)
		}
		if a, b := dumpTree(fast), dumpTree(slow); a != b {
			t.Fatalf("trees of %q differ:\nfast: %s\nslow: %s", raw, a, b)
		}
	})
}

// dumpTree writes out everything a node holds.
func dumpTree(n *node) string {
	var b strings.Builder
	var walk func(n *node)
	walk = func(n *node) {
		fmt.Fprintf(&b, "<{%s}%s [%d,%d)", n.name.Space, n.name.Local, n.start, n.end)
		for _, a := range n.attr {
			fmt.Fprintf(&b, " {%s}%s=%q", a.Name.Space, a.Name.Local, a.Value)
		}
		fmt.Fprintf(&b, " text=%q>", n.text)
		for _, k := range n.kids {
			walk(k)
		}
		b.WriteString("</>")
	}
	walk(n)
	return b.String()
}

func BenchmarkParseTree(b *testing.B) {
	raw := []byte(fastSeeds[0])
	for _, tt := range []struct {
		name  string
		parse func([]byte) (*node, error)
	}{{"fast", parseTree}, {"encoding-xml", slowTree}} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tt.parse(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzStartTag checks that where StartTag's fast path answers, it answers
// as encoding/xml does.
func FuzzStartTag(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`))
	f.Add([]byte(`<stream:features><x/></stream:features>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		fse, ok := fastStartTag(raw)
		if !ok {
			return
		}
		se, ok := slowStartTag(raw)
		if !ok {
			t.Fatalf("fast path took the start tag of %q, encoding/xml did not", raw)
		}
		fast, slow := &node{name: fse.Name, attr: fse.Attr}, &node{name: se.Name, attr: se.Attr}
		if a, b := dumpTree(fast), dumpTree(slow); a != b {
			t.Fatalf("start tags of %q differ:\nfast: %s\nslow: %s", raw, a, b)
		}
	})
}

// TestStartTag checks StartTag on both paths.
func TestStartTag(t *testing.T) {
	for _, tt := range []struct{ raw, space, local, attrs string }{
		{`<message xmlns='jabber:client' id='m1'><body>x</body></message>`, "jabber:client", "message", "xmlns=jabber:client id=m1"},
		{`<r xmlns='urn:xmpp:sm:3'/>`, "urn:xmpp:sm:3", "r", "xmlns=urn:xmpp:sm:3"},
		{`<iq type='result' id='a'/>`, "", "iq", "type=result id=a"},
		{`<stream:features><x/></stream:features>`, "stream", "features", ""}, // undeclared: encoding/xml's way
		{` <a b='&#65;'/>`, "", "a", "b=A"},                                   // character reference: encoding/xml
		{`<stream:error xmlns:stream='http://etherx.jabber.org/streams'/>`, "http://etherx.jabber.org/streams", "error", "stream=http://etherx.jabber.org/streams"},
	} {
		se, ok := StartTag([]byte(tt.raw))
		var attrs []string
		for _, a := range se.Attr {
			attrs = append(attrs, a.Name.Local+"="+a.Value)
		}
		if !ok || se.Name.Space != tt.space || se.Name.Local != tt.local || strings.Join(attrs, " ") != tt.attrs {
			t.Errorf("StartTag(%q) = %v %q, %v; want {%s}%s %s", tt.raw, se.Name, attrs, ok, tt.space, tt.local, tt.attrs)
		}
	}
	for _, raw := range []string{``, `text`, `</a>`, `<a b=c>`, `<!-- x -->`} {
		if se, ok := StartTag([]byte(raw)); ok {
			t.Errorf("StartTag(%q) = %v, want none", raw, se)
		}
	}
}
