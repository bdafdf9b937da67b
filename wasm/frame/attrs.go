// Attributes of start tags that the Scanner has already validated
// (XML 1.0 §3.1), and the namespace declarations among them
// (Namespaces in XML 1.0 §3).

package frame

import (
	"errors"
	"strings"
)

// Attr is one attribute of a start tag. Value is the raw text between the
// quotes, still escaped, exactly as it arrived.
type Attr struct {
	Name  string
	Value []byte
	Quote byte
}

var errAttrSyntax = errors.New("malformed attribute list")

// parseAttrs parses a sequence of name="value" pairs, stopping at '/', '>' or
// the end of p.
func parseAttrs(p []byte) ([]Attr, error) {
	var attrs []Attr
	i := 0
	for {
		for i < len(p) && isSpace(p[i]) {
			i++
		}
		if i == len(p) || p[i] == '/' || p[i] == '>' {
			return attrs, nil
		}
		start := i
		for i < len(p) && isNameByte(p[i]) {
			i++
		}
		name := string(p[start:i])
		for i < len(p) && isSpace(p[i]) {
			i++
		}
		if name == "" || i == len(p) || p[i] != '=' {
			return nil, errAttrSyntax
		}
		i++
		for i < len(p) && isSpace(p[i]) {
			i++
		}
		if i == len(p) || p[i] != '"' && p[i] != '\'' {
			return nil, errAttrSyntax
		}
		q := p[i]
		i++
		start = i
		for i < len(p) && p[i] != q {
			i++
		}
		if i == len(p) {
			return nil, errAttrSyntax
		}
		attrs = append(attrs, Attr{Name: name, Value: p[start:i], Quote: q})
		i++
	}
}

// Attrs returns the attributes of the token's start tag.
func (t Token) Attrs() []Attr {
	tag := t.StartTag
	if len(tag) < 2 {
		return nil
	}
	i := 1
	for i < len(tag) && isNameByte(tag[i]) {
		i++
	}
	attrs, err := parseAttrs(tag[i:])
	if err != nil {
		// The scanner validated the tag; this cannot happen for its tokens.
		return nil
	}
	return attrs
}

// Attr returns the unescaped value of the named attribute of the start tag.
func (t Token) Attr(name string) (string, bool) {
	for _, a := range t.Attrs() {
		if a.Name == name {
			return Unescape(a.Value), true
		}
	}
	return "", false
}

// Namespace resolves the namespace of the token's element: its own
// declaration for its prefix if present, else the one in scope (the stream
// header's declarations, for a child of the stream).
func (t Token) Namespace(inScope map[string]string) string {
	return NamespaceOf(t.Name, t.Attrs(), inScope)
}

// NamespaceOf is Namespace for a start tag whose attributes are already
// parsed, so that a hot path parses them once.
func NamespaceOf(qname string, attrs []Attr, inScope map[string]string) string {
	prefix := ""
	if i := strings.IndexByte(qname, ':'); i >= 0 {
		prefix = qname[:i]
	}
	if v, ok := Declared(attrs, prefix); ok {
		return v
	}
	return inScope[prefix]
}

// Declared returns the namespace that attrs declare for prefix ("" for the
// default namespace), if they do.
func Declared(attrs []Attr, prefix string) (string, bool) {
	for _, a := range attrs {
		if prefix == "" && a.Name == "xmlns" || prefix != "" && strings.HasPrefix(a.Name, "xmlns:") && a.Name[len("xmlns:"):] == prefix {
			return Unescape(a.Value), true
		}
	}
	return "", false
}

// LocalName is the element name without its prefix.
func (t Token) LocalName() string { return localName(t.Name) }

// Declarations returns the namespace declarations of a start tag, keyed by
// prefix ("" for the default namespace).
func (t Token) Declarations() map[string]string {
	m := map[string]string{}
	for _, a := range t.Attrs() {
		switch {
		case a.Name == "xmlns":
			m[""] = Unescape(a.Value)
		case strings.HasPrefix(a.Name, "xmlns:"):
			m[a.Name[len("xmlns:"):]] = Unescape(a.Value)
		}
	}
	return m
}

// Unescape resolves the predefined entities and character references of a
// value the Scanner has validated.
func Unescape(v []byte) string {
	if !containsByte(v, '&') {
		return string(v)
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '&' {
			b.WriteByte(v[i])
			continue
		}
		j := i + 1
		for j < len(v) && v[j] != ';' {
			j++
		}
		ref := string(v[i+1 : j])
		i = j
		switch ref {
		case "amp":
			b.WriteByte('&')
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "quot":
			b.WriteByte('"')
		case "apos":
			b.WriteByte('\'')
		default:
			if r, ok := charRef(ref); ok {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

func charRef(ref string) (rune, bool) {
	if len(ref) < 2 || ref[0] != '#' {
		return 0, false
	}
	var n rune
	if ref[1] == 'x' {
		for _, c := range ref[2:] {
			switch {
			case c >= '0' && c <= '9':
				n = n*16 + c - '0'
			case c >= 'a' && c <= 'f':
				n = n*16 + c - 'a' + 10
			case c >= 'A' && c <= 'F':
				n = n*16 + c - 'A' + 10
			default:
				return 0, false
			}
			if n > 0x10FFFF {
				return 0, false
			}
		}
		return n, true
	}
	for _, c := range ref[1:] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + c - '0'
		if n > 0x10FFFF {
			return 0, false
		}
	}
	return n, true
}

func containsByte(p []byte, c byte) bool {
	for _, b := range p {
		if b == c {
			return true
		}
	}
	return false
}

// Escape returns s escaped for use inside a quoted attribute value or text.
func Escape(s string) string {
	if !strings.ContainsAny(s, "<>&'\"") {
		return s
	}
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&apos;", "\"", "&quot;")
	return r.Replace(s)
}
