// Package frame splits an XMPP XML stream into its top-level elements without
// decoding and re-encoding them: RFC 6120 §4 (the stream and its children),
// RFC 6120 §11 (restricted XML) and RFC 7395 §3.3.3 (one element per WebSocket
// message).
//
// A Scanner is a byte-at-a-time state machine. Bytes go in with Write in
// pieces of any size (TCP reads, WebSocket messages, continuation frames); Next
// returns each complete top-level element as the exact bytes that arrived, so
// a relay can pass stanzas through unchanged and rewrite only the framing. The
// scanner checks well-formedness as far as framing needs (tags nest and match,
// names, attribute syntax, character and entity references, UTF-8), rejects
// what RFC 6120 forbids (comments, processing instructions, DTDs, entity
// references other than the predefined ones), and enforces a byte limit per
// element and a nesting limit, before any of those bytes are buffered beyond
// the limit.
//
// The package is portable: the bridge uses it on both legs of a relay and the
// client uses it to send each outgoing element as one WebSocket message.
package frame

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Condition names are the RFC 6120 §4.9.3 stream error conditions a Scanner
// reports.
const (
	CondNotWellFormed       = "not-well-formed"
	CondRestrictedXML       = "restricted-xml"
	CondPolicyViolation     = "policy-violation"
	CondUnsupportedEncoding = "unsupported-encoding"
)

// Default limits. DefaultMaxBytes matches Prosody's c2s_stanza_size_limit and
// ejabberd's max_stanza_size; DefaultMaxDepth is far above any real stanza
// (XHTML-IM or pubsub payloads stay well under 30) and far below the depth at
// which a recursive consumer could exhaust its stack.
const (
	DefaultMaxBytes = 256 << 10
	DefaultMaxDepth = 128
)

// Error is a framing error, named by the stream error condition a peer should
// receive.
type Error struct {
	Condition string // one of the Cond* constants
	Text      string // human-readable detail, never stanza content
	Offset    int64  // byte offset in the stream where the problem was found
}

func (e *Error) Error() string {
	return fmt.Sprintf("xml framing: %s at byte %d: %s", e.Condition, e.Offset, e.Text)
}

// Mode says what the scanner expects.
type Mode uint8

const (
	// Fragments is a sequence of top-level elements with no enclosing root:
	// the RFC 7395 WebSocket side, where <open/> and <close/> are ordinary
	// elements.
	Fragments Mode = iota
	// Stream is an RFC 6120 stream: an optional XML declaration, the
	// <stream:stream> start tag, its children, and the closing tag.
	Stream
)

// Kind says what a Token is.
type Kind uint8

const (
	// Element is a complete top-level element (a stanza or a nonza).
	Element Kind = iota + 1
	// StreamOpen is the start tag of the stream root (Stream mode only).
	StreamOpen
	// StreamClose is the end tag of the stream root (Stream mode only).
	StreamClose
)

func (k Kind) String() string {
	switch k {
	case Element:
		return "element"
	case StreamOpen:
		return "stream-open"
	case StreamClose:
		return "stream-close"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Token is one framing unit. Raw and StartTag alias the scanner's buffer and
// stay valid until the next call to Write or Reset.
type Token struct {
	Kind Kind
	// Raw holds the exact bytes of the unit as they arrived.
	Raw []byte
	// Name is the qualified name of the element or root, as written
	// ("message", "stream:features").
	Name string
	// StartTag is the start tag of an Element or StreamOpen, Raw[:len(StartTag)].
	StartTag []byte
	// SelfClosing reports an element written as <name .../>.
	SelfClosing bool
}

// Limits bound what a Scanner accepts. The zero value means the defaults.
type Limits struct {
	MaxBytes int // bytes of one top-level element, or of the stream header
	MaxDepth int // nesting of elements inside one top-level element, the element itself included
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

type state uint8

const (
	stText state = iota
	stLT
	stBang
	stCDATAOpen
	stCDATA
	stPITarget
	stPI
	stStartName
	stTagSpace
	stAttrName
	stAttrNameEnd
	stAttrEq
	stAttrValue
	stAttrValueEnd
	stEmptyTag
	stEndName
	stEndSpace
	stEntity
	stDone
)

// maxEntityLen bounds the text between '&' and ';'.
const maxEntityLen = 32

// Scanner splits a byte stream into Tokens. It is not safe for concurrent use.
type Scanner struct {
	mode   Mode
	limits Limits

	buf []byte
	pos int // next byte to scan
	off int64

	st        state
	stack     []string
	base      int // stack depth of top level: 0 in Fragments mode, 1 inside a Stream root
	rootOpen  bool
	declOK    bool // an XML declaration may appear now
	elemStart int  // start of the current top-level element, or -1
	tagStart  int  // start of the current markup ('<'), or -1
	nameStart int
	name      string // name of the start tag being read
	startEnd  int    // end of the current top-level element's start tag
	selfClose bool
	quote     byte
	entStart  int
	entReturn state
	match     int // progress through "[CDATA[" or "]]>" or "?>"
	brackets  int // ']' just seen in character data
	attrStart int
	piTarget  string
	piStart   int

	pending []Token
	err     error
}

// NewScanner returns a scanner for the given mode and limits.
func NewScanner(mode Mode, limits Limits) *Scanner {
	s := &Scanner{mode: mode, limits: limits.withDefaults()}
	s.Reset()
	return s
}

// Reset forgets all state and expects a new stream, as after STARTTLS or a
// SASL success (RFC 6120 §5.4.3.3, §6.4.6). Buffered bytes are discarded.
func (s *Scanner) Reset() {
	s.off += int64(s.pos)
	s.buf = s.buf[:0]
	if cap(s.buf) > shrinkAbove {
		s.buf = nil
	}
	s.pos = 0
	s.st = stText
	s.stack = s.stack[:0]
	s.base = 0
	s.rootOpen = false
	s.declOK = true
	s.elemStart = -1
	s.tagStart = -1
	s.pending = s.pending[:0]
	s.err = nil
}

// Restart expects a new stream header next, as after a SASL success (RFC 6120
// §6.4.6), but keeps the bytes not yet scanned: a server may already have
// sent them. (After STARTTLS use Reset: bytes that arrived in plaintext must
// not be read as part of the encrypted stream.)
func (s *Scanner) Restart() {
	rest := append([]byte(nil), s.buf[s.pos:]...)
	s.Reset()
	s.buf = append(s.buf, rest...)
}

// SetMaxBytes changes the element size limit, for instance to a limit the
// server advertised (XEP-0478). Non-positive values are ignored.
func (s *Scanner) SetMaxBytes(n int) {
	if n > 0 {
		s.limits.MaxBytes = n
	}
}

// Limits reports the limits in force.
func (s *Scanner) Limits() Limits { return s.limits }

// Offset is the number of bytes scanned since the scanner was created.
func (s *Scanner) Offset() int64 { return s.off + int64(s.pos) }

// Buffered reports how many bytes are held for an unfinished unit.
func (s *Scanner) Buffered() int { return len(s.buf) - s.keep() }

// shrinkAbove is the buffer capacity above which an idle scanner gives its
// buffer back, so that thousands of idle relays stay small.
const shrinkAbove = 4 << 10

// keep is the first buffered byte still needed.
func (s *Scanner) keep() int {
	k := s.pos
	if s.elemStart >= 0 && s.elemStart < k {
		k = s.elemStart
	}
	if s.tagStart >= 0 && s.tagStart < k {
		k = s.tagStart
	}
	return k
}

// Write appends bytes to scan. Tokens returned earlier become invalid.
func (s *Scanner) Write(p []byte) {
	if k := s.keep(); k > 0 {
		n := copy(s.buf, s.buf[k:])
		s.buf = s.buf[:n]
		s.off += int64(k)
		s.pos -= k
		if s.elemStart >= 0 {
			s.elemStart -= k
		}
		if s.tagStart >= 0 {
			s.tagStart -= k
		}
		s.nameStart -= k
		s.entStart -= k
		s.startEnd -= k
		s.piStart -= k
		s.attrStart -= k
		if n == 0 && cap(s.buf) > shrinkAbove && len(p) < shrinkAbove {
			s.buf = nil
		}
	}
	s.buf = append(s.buf, p...)
}

// Next returns the next complete token. It returns ok == false, with a nil
// error, when it needs more bytes. After an error every call returns it.
func (s *Scanner) Next() (tok Token, ok bool, err error) {
	if s.err != nil {
		return Token{}, false, s.err
	}
	if len(s.pending) > 0 {
		tok = s.pending[0]
		s.pending = s.pending[1:]
		return tok, true, nil
	}
	for s.pos < len(s.buf) {
		if err = s.checkSize(); err != nil {
			s.err = err
			return Token{}, false, err
		}
		tok, ok, err = s.step(s.buf[s.pos])
		if err != nil {
			s.err = err
			return Token{}, false, err
		}
		s.pos++
		if ok {
			return tok, true, nil
		}
	}
	if s.elemStart < 0 && s.tagStart < 0 {
		// Everything is consumed: give a large buffer back while idle.
		// (Earlier tokens keep their bytes; they alias, the GC knows.)
		s.off += int64(s.pos)
		s.pos = 0
		if cap(s.buf) > shrinkAbove {
			s.buf = nil
		} else {
			s.buf = s.buf[:0]
		}
	}
	return Token{}, false, nil
}

func (s *Scanner) checkSize() error {
	start := s.elemStart
	if start < 0 {
		start = s.tagStart
	}
	// s.pos is about to be consumed: count it.
	if start >= 0 && s.pos+1-start > s.limits.MaxBytes {
		return s.fail(CondPolicyViolation, "element larger than "+strconv.Itoa(s.limits.MaxBytes)+" bytes")
	}
	return nil
}

func (s *Scanner) fail(cond, text string) error {
	return &Error{Condition: cond, Text: text, Offset: s.off + int64(s.pos)}
}

func (s *Scanner) depth() int { return len(s.stack) - s.base }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || c >= 0x80
}

func isNameByte(c byte) bool {
	return isNameStart(c) || c >= '0' && c <= '9' || c == '-' || c == '.'
}

// step consumes one byte.
func (s *Scanner) step(c byte) (Token, bool, error) {
	if c < 0x20 && !isSpace(c) {
		return Token{}, false, s.fail(CondNotWellFormed, "control character "+strconv.Itoa(int(c)))
	}
	switch s.st {
	case stText:
		switch {
		case c == '<':
			s.tagStart = s.pos
			s.st = stLT
		case s.depth() <= 0:
			// Between top-level elements only whitespace may appear; it is
			// dropped (RFC 7395 §3.3.3 forbids it on the WebSocket side, and it
			// carries nothing in a TCP stream).
			if !isSpace(c) {
				return Token{}, false, s.fail(CondNotWellFormed, "text outside an element")
			}
		case c == '&':
			s.entStart, s.entReturn, s.st = s.pos, stText, stEntity
		case c == ']':
			if s.brackets < 2 {
				s.brackets++
			}
			return Token{}, false, nil
		case c == '>' && s.brackets == 2:
			return Token{}, false, s.fail(CondNotWellFormed, "']]>' in character data")
		}
		s.brackets = 0
	case stLT:
		switch {
		case c == '/':
			s.nameStart = s.pos + 1
			s.st = stEndName
		case c == '!':
			s.st = stBang
		case c == '?':
			s.piStart = s.pos + 1
			s.st = stPITarget
		case isNameStart(c):
			s.nameStart = s.pos
			s.st = stStartName
		default:
			return Token{}, false, s.fail(CondNotWellFormed, "invalid character after '<'")
		}
	case stBang:
		switch c {
		case '-':
			return Token{}, false, s.fail(CondRestrictedXML, "comments are not allowed")
		case '[':
			if s.depth() <= 0 {
				return Token{}, false, s.fail(CondNotWellFormed, "CDATA section outside an element")
			}
			s.match = 1
			s.st = stCDATAOpen
		default:
			return Token{}, false, s.fail(CondRestrictedXML, "document type declarations are not allowed")
		}
	case stCDATAOpen:
		const open = "[CDATA["
		if c != open[s.match] {
			return Token{}, false, s.fail(CondNotWellFormed, "malformed CDATA section")
		}
		s.match++
		if s.match == len(open) {
			s.match = 0
			s.st = stCDATA
		}
	case stCDATA:
		switch {
		case c == ']':
			if s.match < 2 {
				s.match++
			}
		case c == '>' && s.match == 2:
			s.tagStart = -1
			s.st = stText
		default:
			s.match = 0
		}
	case stPITarget:
		if isNameByte(c) {
			return Token{}, false, nil
		}
		target := string(s.buf[s.piStart:s.pos])
		if target != "xml" {
			return Token{}, false, s.fail(CondRestrictedXML, "processing instructions are not allowed")
		}
		if !s.declOK || s.depth() > 0 {
			return Token{}, false, s.fail(CondRestrictedXML, "XML declaration not allowed here")
		}
		if !isSpace(c) {
			return Token{}, false, s.fail(CondNotWellFormed, "malformed XML declaration")
		}
		s.piStart = s.pos
		s.match = 0
		s.st = stPI
	case stPI:
		if c == '?' {
			s.match = 1
			return Token{}, false, nil
		}
		if c == '>' && s.match == 1 {
			if err := s.checkDecl(s.buf[s.piStart : s.pos-1]); err != nil {
				return Token{}, false, err
			}
			s.tagStart = -1
			s.st = stText
			return Token{}, false, nil
		}
		s.match = 0
	case stStartName:
		switch {
		case isNameByte(c):
		case isSpace(c) || c == '/' || c == '>':
			if !validQName(s.buf[s.nameStart:s.pos]) {
				return Token{}, false, s.fail(CondNotWellFormed, "element name is not a valid QName")
			}
			s.name = string(s.buf[s.nameStart:s.pos])
			s.st = stTagSpace
			return s.step(c)
		default:
			return Token{}, false, s.fail(CondNotWellFormed, "invalid character in element name")
		}
	case stTagSpace:
		switch {
		case isSpace(c):
		case c == '/':
			s.st = stEmptyTag
		case c == '>':
			return s.startTagDone(false)
		case isNameStart(c):
			s.attrStart = s.pos
			s.st = stAttrName
		default:
			return Token{}, false, s.fail(CondNotWellFormed, "invalid character in start tag")
		}
	case stAttrName:
		if !isNameByte(c) && !validQName(s.buf[s.attrStart:s.pos]) {
			return Token{}, false, s.fail(CondNotWellFormed, "attribute name is not a valid QName")
		}
		switch {
		case isNameByte(c):
		case c == '=':
			s.st = stAttrEq
		case isSpace(c):
			s.st = stAttrNameEnd
		default:
			return Token{}, false, s.fail(CondNotWellFormed, "invalid character in attribute name")
		}
	case stAttrNameEnd:
		switch {
		case isSpace(c):
		case c == '=':
			s.st = stAttrEq
		default:
			return Token{}, false, s.fail(CondNotWellFormed, "attribute without value")
		}
	case stAttrEq:
		switch {
		case isSpace(c):
		case c == '"' || c == '\'':
			s.quote = c
			s.st = stAttrValue
		default:
			return Token{}, false, s.fail(CondNotWellFormed, "unquoted attribute value")
		}
	case stAttrValue:
		switch c {
		case s.quote:
			s.st = stAttrValueEnd
		case '<':
			return Token{}, false, s.fail(CondNotWellFormed, "'<' in attribute value")
		case '&':
			s.entStart, s.entReturn, s.st = s.pos, stAttrValue, stEntity
		}
	case stAttrValueEnd:
		switch {
		case isSpace(c):
			s.st = stTagSpace
		case c == '/':
			s.st = stEmptyTag
		case c == '>':
			return s.startTagDone(false)
		default:
			return Token{}, false, s.fail(CondNotWellFormed, "missing space between attributes")
		}
	case stEmptyTag:
		if c != '>' {
			return Token{}, false, s.fail(CondNotWellFormed, "'/' not followed by '>'")
		}
		return s.startTagDone(true)
	case stEndName:
		switch {
		case isNameByte(c) && (s.pos > s.nameStart || isNameStart(c)):
		case (isSpace(c) || c == '>') && s.pos > s.nameStart:
			s.name = string(s.buf[s.nameStart:s.pos])
			s.st = stEndSpace
			return s.step(c)
		default:
			return Token{}, false, s.fail(CondNotWellFormed, "invalid character in end tag")
		}
	case stEndSpace:
		switch {
		case isSpace(c):
		case c == '>':
			return s.endTagDone()
		default:
			return Token{}, false, s.fail(CondNotWellFormed, "invalid character in end tag")
		}
	case stEntity:
		if c == ';' {
			if err := s.checkEntity(s.buf[s.entStart+1 : s.pos]); err != nil {
				return Token{}, false, err
			}
			s.st = s.entReturn
			return Token{}, false, nil
		}
		if s.pos-s.entStart > maxEntityLen || !(isNameByte(c) || c == '#') {
			return Token{}, false, s.fail(CondNotWellFormed, "malformed entity reference")
		}
	case stDone:
		if !isSpace(c) {
			return Token{}, false, s.fail(CondNotWellFormed, "data after the end of the stream")
		}
	}
	return Token{}, false, nil
}

// startTagDone runs at the '>' that ends a start tag.
func (s *Scanner) startTagDone(selfClosing bool) (Token, bool, error) {
	s.declOK = false
	s.st = stText
	end := s.pos + 1
	if s.mode == Stream && !s.rootOpen {
		if selfClosing {
			return Token{}, false, s.fail(CondNotWellFormed, "empty stream root")
		}
		if localName(s.name) != "stream" {
			return Token{}, false, s.fail(CondNotWellFormed, "stream does not start with <stream:stream>")
		}
		s.rootOpen = true
		s.stack = append(s.stack[:0], s.name)
		s.base = 1
		raw := s.buf[s.tagStart:end]
		if !utf8.Valid(raw) {
			return Token{}, false, s.fail(CondNotWellFormed, "invalid UTF-8")
		}
		s.tagStart = -1
		return Token{Kind: StreamOpen, Raw: raw, Name: s.name, StartTag: raw}, true, nil
	}
	if s.depth() == 0 {
		s.elemStart = s.tagStart
		s.startEnd = end
		s.selfClose = selfClosing
	}
	s.tagStart = -1
	if selfClosing {
		if s.depth() == 0 {
			return s.emitElement(s.name, end)
		}
		return Token{}, false, nil
	}
	if s.depth() >= s.limits.MaxDepth {
		return Token{}, false, s.fail(CondPolicyViolation, "elements nested deeper than "+strconv.Itoa(s.limits.MaxDepth))
	}
	s.stack = append(s.stack, s.name)
	return Token{}, false, nil
}

// endTagDone runs at the '>' that ends an end tag.
func (s *Scanner) endTagDone() (Token, bool, error) {
	s.st = stText
	end := s.pos + 1
	if len(s.stack) == 0 {
		return Token{}, false, s.fail(CondNotWellFormed, "end tag without start tag")
	}
	top := s.stack[len(s.stack)-1]
	if top != s.name {
		return Token{}, false, s.fail(CondNotWellFormed, "end tag does not match start tag")
	}
	s.stack = s.stack[:len(s.stack)-1]
	if s.mode == Stream && len(s.stack) == 0 {
		raw := s.buf[s.tagStart:end]
		s.tagStart = -1
		s.base = 0
		s.st = stDone
		return Token{Kind: StreamClose, Raw: raw, Name: top}, true, nil
	}
	s.tagStart = -1
	if s.depth() == 0 {
		return s.emitElement(top, end)
	}
	return Token{}, false, nil
}

func (s *Scanner) emitElement(name string, end int) (Token, bool, error) {
	raw := s.buf[s.elemStart:end]
	if !utf8.Valid(raw) {
		return Token{}, false, s.fail(CondNotWellFormed, "invalid UTF-8")
	}
	tok := Token{
		Kind:        Element,
		Raw:         raw,
		Name:        name,
		StartTag:    raw[:s.startEnd-s.elemStart],
		SelfClosing: s.selfClose,
	}
	s.elemStart = -1
	return tok, true, nil
}

// checkEntity validates the text between '&' and ';'.
func (s *Scanner) checkEntity(ref []byte) error {
	switch string(ref) {
	case "amp", "lt", "gt", "quot", "apos":
		return nil
	}
	if len(ref) > 1 && ref[0] == '#' {
		base, digits := 10, ref[1:]
		if digits[0] == 'x' {
			base, digits = 16, digits[1:]
		}
		n, err := strconv.ParseUint(string(digits), base, 32)
		if err != nil || len(digits) == 0 || !isXMLChar(rune(n)) {
			return s.fail(CondNotWellFormed, "invalid character reference")
		}
		return nil
	}
	if len(ref) > 0 && isNameStart(ref[0]) {
		return s.fail(CondRestrictedXML, "entity references other than the predefined ones are not allowed")
	}
	return s.fail(CondNotWellFormed, "malformed entity reference")
}

// isXMLChar reports whether r is a Char of XML 1.0 §2.2.
func isXMLChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// checkDecl validates the pseudo-attributes of an XML declaration: XMPP is
// XML 1.0 in UTF-8 (RFC 6120 §11.5, §11.6).
func (s *Scanner) checkDecl(body []byte) error {
	attrs, err := parseAttrs(body)
	if err != nil {
		return s.fail(CondNotWellFormed, "malformed XML declaration")
	}
	version := false
	for _, a := range attrs {
		switch a.Name {
		case "version":
			if string(a.Value) != "1.0" {
				return s.fail(CondNotWellFormed, "XML version other than 1.0")
			}
			version = true
		case "encoding":
			if !bytes.EqualFold(a.Value, []byte("utf-8")) {
				return s.fail(CondUnsupportedEncoding, "encoding other than UTF-8")
			}
		case "standalone":
		default:
			return s.fail(CondNotWellFormed, "malformed XML declaration")
		}
	}
	if !version {
		return s.fail(CondNotWellFormed, "XML declaration without version")
	}
	return nil
}

// validQName reports whether name is a QName of Namespaces in XML 1.0 §4: an
// NCName, or two NCNames joined by one colon.
func validQName(name []byte) bool {
	i := bytes.IndexByte(name, ':')
	if i < 0 {
		return len(name) > 0
	}
	return i > 0 && i < len(name)-1 && bytes.IndexByte(name[i+1:], ':') < 0 && isNameStart(name[i+1])
}

func localName(qname string) string {
	if i := bytes.IndexByte([]byte(qname), ':'); i >= 0 {
		return qname[i+1:]
	}
	return qname
}
