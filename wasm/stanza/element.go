// The element tree every parser in this package reads: XML 1.0 with
// Namespaces in XML 1.0, as encoding/xml decodes them, plus the byte range
// each element occupies in the input (so that a forwarded message can be
// kept as it arrived).

package stanza

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxDepth bounds the nesting this package decodes. The framing scanner
// (wasm/frame) enforces its own limit before; this one keeps the parsers
// safe on their own.
const maxDepth = 256

// nsXML is the namespace encoding/xml gives the xml: prefix.
const nsXML = "http://www.w3.org/XML/1998/namespace"

// node is one element: its name, attributes, direct children, direct
// character data, and the byte range [start, end) it occupies in the input.
type node struct {
	name       xml.Name
	attr       []xml.Attr
	kids       []*node
	text       string
	start, end int
}

var errNoElement = errors.New("no element")

// parseTree decodes the first element of raw: on the fast path where it
// can (element_fast.go), with encoding/xml otherwise.
func parseTree(raw []byte) (*node, error) {
	if n, ok := fastTree(raw); ok {
		return n, nil
	}
	return slowTree(raw)
}

// slowTree decodes the first element of raw with encoding/xml.
func slowTree(raw []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	var stack []*node
	for {
		off := int(d.InputOffset())
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) && len(stack) == 0 {
				return nil, errNoElement
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("nested deeper than %d elements", maxDepth)
			}
			n := &node{name: t.Name, attr: t.Attr, start: off}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, errors.New("unexpected end tag")
			}
			n := stack[len(stack)-1]
			n.end = int(d.InputOffset())
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return n, nil
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
}

// attr returns the value of the unprefixed attribute name, or "".
func (n *node) attrValue(name string) string {
	for _, a := range n.attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// hasAttr reports whether the unprefixed attribute name is present.
func (n *node) hasAttr(name string) bool {
	for _, a := range n.attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return true
		}
	}
	return false
}

// lang returns the element's own xml:lang, or "".
func (n *node) lang() string {
	for _, a := range n.attr {
		if a.Name.Space == nsXML && a.Name.Local == "lang" {
			return a.Value
		}
	}
	return ""
}

// is reports whether n is {ns}local.
func (n *node) is(ns, local string) bool {
	return n != nil && n.name.Local == local && n.name.Space == ns
}

// child returns the first child {ns}local, or nil.
func (n *node) child(ns, local string) *node {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.is(ns, local) {
			return k
		}
	}
	return nil
}

// clientChild returns the first child local in the stanza namespace
// (jabber:client, declared or inherited), or nil.
func (n *node) clientChild(local string) *node {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.name.Local == local && isClientNS(k.name.Space) {
			return k
		}
	}
	return nil
}

// childText returns the trimmed text of the first child {ns}local.
func (n *node) childText(ns, local string) string {
	if c := n.child(ns, local); c != nil {
		return strings.TrimSpace(c.text)
	}
	return ""
}

// textTrim returns n's direct text, trimmed.
func (n *node) textTrim() string {
	return strings.TrimSpace(n.text)
}

// isClientNS reports whether ns is the stanza namespace: jabber:client, or
// none at all (a top-level stanza without xmlns, which ejabberd accepts and
// a client may be handed after framing).
func isClientNS(ns string) bool {
	return ns == NSClient || ns == ""
}

// parseStanzaRoot decodes raw and checks that its element is the stanza
// local (message, presence, iq) in jabber:client.
func parseStanzaRoot(raw []byte, local string) (*node, error) {
	n, err := parseTree(raw)
	if err != nil {
		return nil, fmt.Errorf("malformed <%s/>: %w", local, err)
	}
	if n.name.Local != local || !isClientNS(n.name.Space) {
		return nil, errWant(n, NSClient, local)
	}
	return n, nil
}

// errWant says that n is not the element {ns}local.
func errWant(n *node, ns, local string) error {
	return fmt.Errorf("got <%s xmlns='%s'>, want <%s xmlns='%s'>", n.name.Local, n.name.Space, local, ns)
}

// errMissing says that n has no child {ns}local.
func errMissing(n *node, ns, local string) error {
	return fmt.Errorf("<%s/> without <%s xmlns='%s'>", n.name.Local, local, ns)
}

// errMalformed is a parse error with a message.
func errMalformed(msg string) error { return errors.New(msg) }
