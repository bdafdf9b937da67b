// A fast path for parseTree: XML 1.0 (https://www.w3.org/TR/xml/) with
// Namespaces in XML 1.0, restricted to what XMPP servers send (RFC 6120
// §11: no comments, processing instructions or DTDs; only the predefined
// entities). encoding/xml costs about 75 µs per archived message in wasm,
// most of a catch-up's parsing; this path builds the same tree several
// times faster and hands anything it does not handle to encoding/xml (see
// FuzzFastTree: where it answers, it answers as encoding/xml does).

package stanza

import (
	"bytes"
	"encoding/xml"
	"unicode/utf8"
)

// fastTree parses the first element of raw as parseTree does, or reports
// false when raw holds anything outside the subset it handles (CDATA,
// comments, character references, carriage returns, non-ASCII names,
// undeclared prefixes, malformed XML...): parseTree then decodes it with
// encoding/xml, which decides.
func fastTree(raw []byte) (*node, bool) {
	p := fastParser{raw: raw, s: string(raw)}
	// Every element has a '<' and every attribute a '=': one allocation
	// each for all the nodes and all the attributes.
	p.nodes = make([]node, 0, bytes.Count(raw, []byte{'<'}))
	p.attrs = make([]xml.Attr, 0, bytes.Count(raw, []byte{'='}))
	return p.tree()
}

type fastParser struct {
	raw []byte
	s   string // raw as a string: names, values and text are its substrings
	i   int
	// scopes holds the namespace declarations in force: a prefix ("" for
	// the default namespace) and its URI, innermost last; depths the
	// length of scopes at each open element.
	scopes []fastNS
	depths []int
	stack  []*node
	qnames []string   // the open elements' names as written
	nodes  []node     // where the nodes are made
	attrs  []xml.Attr // where the attributes are kept
	raws   []fastAttr // the current tag's attributes as written
}

// fastAttr is an attribute's name as written.
type fastAttr struct{ prefix, local string }

type fastNS struct{ prefix, uri string }

func (p *fastParser) tree() (*node, bool) {
	for p.i < len(p.raw) && isSpace(p.raw[p.i]) {
		p.i++
	}
	if p.i >= len(p.raw) || p.raw[p.i] != '<' {
		return nil, false
	}
	for {
		if p.i >= len(p.raw) {
			return nil, false
		}
		if p.raw[p.i] != '<' {
			if !p.text() {
				return nil, false
			}
			continue
		}
		if p.i+1 >= len(p.raw) {
			return nil, false
		}
		switch p.raw[p.i+1] {
		case '/':
			n, ok := p.endTag()
			if !ok {
				return nil, false
			}
			if n != nil {
				return n, true
			}
		case '!', '?':
			return nil, false
		default:
			n, ok := p.startTag()
			if !ok {
				return nil, false
			}
			if n != nil {
				return n, true // the root was empty (<x/>)
			}
		}
	}
}

// text reads character data up to the next '<' into the open element.
func (p *fastParser) text() bool {
	if len(p.stack) == 0 {
		return false
	}
	n := p.stack[len(p.stack)-1]
	start := p.i
	for p.i < len(p.raw) {
		c := p.raw[p.i]
		switch {
		case c == '<':
			n.text += p.s[start:p.i]
			return true
		case c == '&':
			n.text += p.s[start:p.i]
			r, ok := p.entity()
			if !ok {
				return false
			}
			n.text += string(r)
			start = p.i
		case c >= utf8.RuneSelf:
			if !p.char() {
				return false
			}
		case c < 0x20 && c != '\t' && c != '\n':
			return false // '\r' (normalised by XML) or a forbidden control
		case c == '>' && p.i-start >= 2 && p.raw[p.i-1] == ']' && p.raw[p.i-2] == ']':
			return false // ]]> outside CDATA
		default:
			p.i++
		}
	}
	return false
}

// char skips one valid non-ASCII character (an XML Char).
func (p *fastParser) char() bool {
	r, size := utf8.DecodeRune(p.raw[p.i:])
	if r == utf8.RuneError || !(r >= 0x80 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
		return false
	}
	p.i += size
	return true
}

// entity reads one of the five predefined entity references at p.i.
func (p *fastParser) entity() (byte, bool) {
	rest := p.raw[p.i:]
	for _, e := range [...]struct {
		ref string
		c   byte
	}{{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&apos;", '\''}, {"&quot;", '"'}} {
		if len(rest) >= len(e.ref) && string(rest[:len(e.ref)]) == e.ref {
			p.i += len(e.ref)
			return e.c, true
		}
	}
	return 0, false
}

// name reads an ASCII XML name, with at most one colon inside it; it
// returns the prefix ("" for none) and the local part.
func (p *fastParser) name() (qname, prefix, local string, ok bool) {
	start, colon := p.i, -1
	for p.i < len(p.raw) {
		c := p.raw[p.i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_':
		case (c >= '0' && c <= '9' || c == '-' || c == '.') && p.i > start && p.i != colon+1:
		case c == ':' && colon < 0 && p.i > start:
			colon = p.i
		default:
			goto done
		}
		p.i++
	}
done:
	if p.i == start || colon == p.i-1 {
		return "", "", "", false
	}
	qname = p.s[start:p.i]
	if colon < 0 {
		return qname, "", qname, true
	}
	k := colon - start
	return qname, qname[:k], qname[k+1:], true
}

func (p *fastParser) spaces() {
	for p.i < len(p.raw) && isSpace(p.raw[p.i]) {
		p.i++
	}
}

// isSpace reports XML white space other than '\r' (which XML normalises,
// and this path leaves to encoding/xml).
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' }

// lookup resolves a prefix ("" for the default namespace).
func (p *fastParser) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return nsXML, true
	}
	for i := len(p.scopes) - 1; i >= 0; i-- {
		if p.scopes[i].prefix == prefix {
			return p.scopes[i].uri, true
		}
	}
	return "", prefix == ""
}

// startTag reads a start tag at p.i ('<' then a name). It returns the
// element when it was the root and empty.
func (p *fastParser) startTag() (*node, bool) {
	if len(p.stack) >= maxDepth {
		return nil, false
	}
	if len(p.nodes) == cap(p.nodes) {
		return nil, false // cannot be (a '<' each), but a move would break the tree
	}
	p.nodes = append(p.nodes, node{start: p.i})
	n := &p.nodes[len(p.nodes)-1]
	first := len(p.attrs)
	p.i++
	qname, prefix, local, ok := p.name()
	if !ok || prefix == "xmlns" || prefix == "xml" || prefix == "" && local == "xmlns" {
		return nil, false // names encoding/xml does not resolve
	}
	depth := len(p.scopes)
	p.raws = p.raws[:0]
	for {
		hadSpace := p.i < len(p.raw) && isSpace(p.raw[p.i])
		p.spaces()
		if p.i >= len(p.raw) {
			return nil, false
		}
		c := p.raw[p.i]
		if c == '>' || c == '/' {
			break
		}
		if !hadSpace {
			return nil, false
		}
		_, aprefix, alocal, ok := p.name()
		if !ok {
			return nil, false
		}
		p.spaces()
		if p.i >= len(p.raw) || p.raw[p.i] != '=' {
			return nil, false
		}
		p.i++
		p.spaces()
		value, ok := p.attrValue()
		if !ok {
			return nil, false
		}
		switch {
		case aprefix == "" && alocal == "xmlns":
			p.scopes = append(p.scopes, fastNS{"", value})
		case aprefix == "xmlns":
			if value == "" || alocal == "xml" || alocal == "xmlns" {
				return nil, false
			}
			p.scopes = append(p.scopes, fastNS{alocal, value})
		}
		p.raws = append(p.raws, fastAttr{aprefix, alocal})
		p.attrs = append(p.attrs, xml.Attr{Value: value})
	}
	n.attr = p.attrs[first:len(p.attrs):len(p.attrs)]
	// Names resolve once every declaration of the tag is in force.
	space, ok := p.lookup(prefix)
	if !ok {
		return nil, false
	}
	n.name = xml.Name{Space: space, Local: local}
	for k, a := range p.raws {
		switch {
		case a.prefix == "" && a.local == "xmlns":
			n.attr[k].Name = xml.Name{Local: "xmlns"}
		case a.prefix == "xmlns":
			n.attr[k].Name = xml.Name{Space: "xmlns", Local: a.local}
		case a.prefix == "":
			n.attr[k].Name = xml.Name{Local: a.local}
		default:
			uri, ok := p.lookup(a.prefix)
			if !ok {
				return nil, false
			}
			n.attr[k].Name = xml.Name{Space: uri, Local: a.local}
		}
	}
	if len(p.stack) > 0 {
		parent := p.stack[len(p.stack)-1]
		parent.kids = append(parent.kids, n)
	}
	if p.raw[p.i] == '/' {
		if p.i+1 >= len(p.raw) || p.raw[p.i+1] != '>' {
			return nil, false
		}
		p.i += 2
		n.end = p.i
		p.scopes = p.scopes[:depth]
		if len(p.stack) == 0 {
			return n, true
		}
		return nil, true
	}
	p.i++ // '>'
	p.stack = append(p.stack, n)
	p.depths = append(p.depths, depth)
	p.qnames = append(p.qnames, qname)
	return nil, true
}

// attrValue reads a quoted attribute value.
func (p *fastParser) attrValue() (string, bool) {
	if p.i >= len(p.raw) || p.raw[p.i] != '"' && p.raw[p.i] != '\'' {
		return "", false
	}
	quote := p.raw[p.i]
	p.i++
	start := p.i
	var b []byte // only when an entity needs it
	for p.i < len(p.raw) {
		c := p.raw[p.i]
		switch {
		case c == quote:
			v := p.s[start:p.i]
			if b != nil {
				v = string(append(b, v...))
			}
			p.i++
			return v, true
		case c == '&':
			b = append(b, p.raw[start:p.i]...)
			r, ok := p.entity()
			if !ok {
				return "", false
			}
			b = append(b, r)
			start = p.i
		case c == '<':
			return "", false
		case c >= utf8.RuneSelf:
			if !p.char() {
				return "", false
			}
		case c < 0x20 && c != '\t' && c != '\n':
			return "", false
		default:
			p.i++
		}
	}
	return "", false
}

// endTag reads an end tag at p.i; it returns the root once it is closed.
func (p *fastParser) endTag() (*node, bool) {
	if len(p.stack) == 0 {
		return nil, false
	}
	p.i += 2
	qname, _, _, ok := p.name()
	if !ok || qname != p.qnames[len(p.qnames)-1] {
		return nil, false
	}
	p.spaces()
	if p.i >= len(p.raw) || p.raw[p.i] != '>' {
		return nil, false
	}
	p.i++
	top := len(p.stack) - 1
	n := p.stack[top]
	n.end = p.i
	p.scopes = p.scopes[:p.depths[top]]
	p.stack, p.depths, p.qnames = p.stack[:top], p.depths[:top], p.qnames[:top]
	if top == 0 {
		return n, true
	}
	return nil, true
}

// StartTag returns the first start tag of raw, its names resolved as
// encoding/xml's Token resolves them (an undeclared prefix is left as the
// namespace), or false if raw does not begin with a well-formed one: on
// the fast path where it can, with encoding/xml otherwise.
func StartTag(raw []byte) (xml.StartElement, bool) {
	if se, ok := fastStartTag(raw); ok {
		return se, true
	}
	return slowStartTag(raw)
}

// fastStartTag is StartTag's fast path: false where it does not answer.
func fastStartTag(raw []byte) (xml.StartElement, bool) {
	p := fastParser{raw: raw, s: string(raw), nodes: make([]node, 0, 1)}
	p.spaces()
	if p.i+1 >= len(raw) || raw[p.i] != '<' || raw[p.i+1] == '/' || raw[p.i+1] == '!' || raw[p.i+1] == '?' {
		return xml.StartElement{}, false
	}
	p.attrs = make([]xml.Attr, 0, bytes.Count(raw, []byte{'='}))
	if _, ok := p.startTag(); !ok {
		return xml.StartElement{}, false
	}
	n := &p.nodes[0]
	return xml.StartElement{Name: n.name, Attr: n.attr}, true
}

// slowStartTag is StartTag with encoding/xml.
func slowStartTag(raw []byte) (xml.StartElement, bool) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.StartElement{}, false
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se, true
		}
	}
}
