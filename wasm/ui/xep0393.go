// XEP-0393: Message Styling (version 1.1.1), rendered as safe HTML, with
// https: and xmpp: URIs turned into links.
//
// A body is parsed first into blocks (plain lines, preformatted text blocks
// opened by a line beginning with ``` and quotations of lines beginning
// with >), then each plain line into spans (*strong*, _emphasis_,
// ~strike through~ and `preformatted`). Spans never cross a line
// and are matched lazily from the start of the line; an opening directive
// stands at the start of the line, after a whitespace character or after a
// different opening directive, is not followed by whitespace, and the
// closing one is not preceded by whitespace.
//
// The output holds only the elements blockquote, pre, code, strong, em, s, a
// and span, with the attributes class, aria-hidden, href, rel and target.
// Every character of the body is written as escaped text, directives
// included (the XEP's implementation notes recommend showing them): the
// text content of the output is the body, so nothing the sender wrote is
// hidden and nothing is added. Quote markers and directives are wrapped in
// aria-hidden spans (classes "qm" and "sd") that the stylesheet may dim or
// hide.

package ui

import (
	"context"
	"io"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/a-h/templ"
)

// maxQuoteDepth bounds nested quotations: deeper markers stay text, so a
// hostile body of many '>' costs linear time and a shallow DOM.
const maxQuoteDepth = 8

// StyledText renders body with XEP-0393 styling and safe links. The
// result must be placed in an element that allows flow content (a div, not
// a p) and shows white space as written (CSS white-space: pre-wrap).
func StyledText(body string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		sw := &styleWriter{w: w}
		sw.blocks(parseStyling(body))
		return sw.err
	})
}

// LinkedText renders body as plain text with https: and xmpp: links only,
// for a sender who asked for no styling (XEP-0393's unstyled hint,
// urn:xmpp:styling:0).
func LinkedText(body string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		sw := &styleWriter{w: w}
		sw.spans(linkify(validText(body)))
		return sw.err
	})
}

// blockKind is the kind of a block.
type blockKind uint8

const (
	blockPlain blockKind = iota // one line of spans
	blockPre                    // a preformatted text block, fences included
	blockQuote                  // a quotation of child blocks
)

// line is one line of the body as seen by a block: full[start:] is its text
// for that block, full[:start] the quote markers already taken off by the
// enclosing quotations.
type line struct {
	full  string
	start int
	nl    bool // the line ends with a newline
}

func (l line) text() string   { return l.full[l.start:] }
func (l line) prefix() string { return l.full[:l.start] }

// block is one parsed block.
type block struct {
	kind     blockKind
	lines    []line  // blockPlain: one line; blockPre: every line, fences included
	children []block // blockQuote
}

// spanKind is the kind of a span, or a link.
type spanKind uint8

const (
	spanPlain  spanKind = iota // text
	spanStrong                 // *strong*
	spanEmph                   // _emphasis_
	spanStrike                 // ~strike through~
	spanMono                   // `preformatted span`: text only
	spanLink                   // an https: or xmpp: URI in plain text
)

// span is one parsed span. Styled spans keep their directive character
// implied by kind; text holds the text of plain, preformatted and link spans.
type span struct {
	kind     spanKind
	text     string
	children []span // spanStrong, spanEmph, spanStrike
}

// directiveKind maps a span directive byte to its span kind.
func directiveKind(c byte) (spanKind, bool) {
	switch c {
	case '*':
		return spanStrong, true
	case '_':
		return spanEmph, true
	case '~':
		return spanStrike, true
	case '`':
		return spanMono, true
	}
	return spanPlain, false
}

// parseStyling splits a body into lines and parses them into blocks.
func parseStyling(body string) []block {
	body = validText(body)
	if body == "" {
		return nil
	}
	var lines []line
	for rest := body; ; {
		i := strings.IndexByte(rest, '\n')
		if i < 0 {
			lines = append(lines, line{full: rest})
			break
		}
		lines = append(lines, line{full: rest[:i], nl: true})
		rest = rest[i+1:]
		if rest == "" {
			break
		}
	}
	return parseBlocks(lines, 0)
}

// validText replaces invalid UTF-8, as a browser decoding the page would.
func validText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// parseBlocks parses lines into blocks at quotation depth depth.
func parseBlocks(lines []line, depth int) []block {
	var out []block
	for i := 0; i < len(lines); {
		t := lines[i].text()
		switch {
		case depth < maxQuoteDepth && strings.HasPrefix(t, ">"):
			// Quotations: the quotation runs while lines begin with '>'; each
			// loses the '>' and its first leading whitespace character.
			j := i
			inner := make([]line, 0, 4)
			for ; j < len(lines) && strings.HasPrefix(lines[j].text(), ">"); j++ {
				l := lines[j]
				l.start += quoteMarkerLen(l.text())
				inner = append(inner, l)
			}
			out = append(out, block{kind: blockQuote, children: parseBlocks(inner, depth+1)})
			i = j
		case strings.HasPrefix(t, "```"):
			// Preformatted text: to a line of exactly three grave
			// accents, or to the end of the parent block.
			j := i + 1
			for j < len(lines) && lines[j].text() != "```" {
				j++
			}
			if j < len(lines) {
				j++
			}
			out = append(out, block{kind: blockPre, lines: lines[i:j]})
			i = j
		default:
			out = append(out, block{kind: blockPlain, lines: lines[i : i+1]})
			i++
		}
	}
	return out
}

// quoteMarkerLen is the length of the '>' that starts t plus the first
// whitespace character after it, if any.
func quoteMarkerLen(t string) int {
	r, size := utf8.DecodeRuneInString(t[1:])
	if size > 0 && isStyleSpace(r) {
		return 1 + size
	}
	return 1
}

// isStyleSpace reports whether r is a whitespace character in the sense of
// XEP-0393's glossary: Unicode White_Space or category Z.
func isStyleSpace(r rune) bool {
	return unicode.IsSpace(r) || unicode.In(r, unicode.Z)
}

// spaceBefore reports whether s has a whitespace character just before i.
func spaceBefore(s string, i int) bool {
	r, size := utf8.DecodeLastRuneInString(s[:i])
	return size > 0 && isStyleSpace(r)
}

// spaceAt reports whether s has a whitespace character at i.
func spaceAt(s string, i int) bool {
	r, size := utf8.DecodeRuneInString(s[i:])
	return size > 0 && isStyleSpace(r)
}

// parseSpans parses one line (or the inside of a span) into spans.
func parseSpans(s string) []span {
	// Closing directives are found from the candidates of each kind in
	// order: openers are tried left to right, so one cursor per kind keeps
	// the whole line linear however many openers fail to match.
	var closers [4][]int
	var cursor [4]int
	for i := 1; i < len(s); i++ {
		if k, ok := directiveKind(s[i]); ok && !spaceBefore(s, i) {
			closers[k-spanStrong] = append(closers[k-spanStrong], i)
		}
	}
	var out []span
	plain := 0
	for i := 0; i < len(s); i++ {
		k, ok := directiveKind(s[i])
		if !ok || !canOpen(s, i) {
			continue
		}
		c := k - spanStrong
		for cursor[c] < len(closers[c]) && closers[c][cursor[c]] < i+2 {
			cursor[c]++
		}
		if cursor[c] == len(closers[c]) {
			continue
		}
		j := closers[c][cursor[c]]
		out = appendPlain(out, s[plain:i])
		inner := s[i+1 : j]
		if k == spanMono {
			out = append(out, span{kind: spanMono, text: inner})
		} else {
			out = append(out, span{kind: k, children: parseSpans(inner)})
		}
		plain = j + 1
		i = j
	}
	return appendPlain(out, s[plain:])
}

// canOpen reports whether the directive at s[i] may open a span: at the
// start of the line or after whitespace (the start of a span's inside is
// the start of its own line here), followed by something that is neither
// whitespace nor the same directive ("**" and "****" are not styled).
func canOpen(s string, i int) bool {
	if i+1 >= len(s) || s[i+1] == s[i] || spaceAt(s, i+1) {
		return false
	}
	return i == 0 || spaceBefore(s, i)
}

// appendPlain appends text as plain and link spans.
func appendPlain(out []span, text string) []span {
	if text == "" {
		return out
	}
	return append(out, linkify(text)...)
}

// linkify splits text into plain spans and links to https: and xmpp: URIs.
// Anything else (javascript:, data:, http:, relative paths) stays text.
func linkify(text string) []span {
	var out []span
	plain := 0
	for i := 0; i < len(text); i++ {
		c := text[i] | 0x20 // ASCII lower case
		if c != 'h' && c != 'x' {
			continue
		}
		n := uriLen(text, i)
		if n == 0 {
			continue
		}
		if i > plain {
			out = append(out, span{kind: spanPlain, text: text[plain:i]})
		}
		out = append(out, span{kind: spanLink, text: text[i : i+n]})
		plain = i + n
		i += n - 1
	}
	if plain < len(text) {
		out = append(out, span{kind: spanPlain, text: text[plain:]})
	}
	return out
}

// uriLen returns the length of the https: or xmpp: URI that starts at
// text[i], or 0 if none does.
func uriLen(text string, i int) int {
	if i > 0 {
		// Not inside a word or another scheme ("foohttps://", "javascript:xmpp:").
		r, _ := utf8.DecodeLastRuneInString(text[:i])
		if r == ':' || r == '/' || r == '.' || r == '+' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r) {
			return 0
		}
	}
	var scheme, prefix string
	switch {
	case hasPrefixFold(text[i:], "https://"):
		scheme, prefix = "https", "https://"
	case hasPrefixFold(text[i:], "xmpp:"):
		scheme, prefix = "xmpp", "xmpp:"
	default:
		return 0
	}
	end := i
	for end < len(text) {
		r, size := utf8.DecodeRuneInString(text[end:])
		if !uriRune(r) {
			break
		}
		end += size
	}
	// Trailing punctuation belongs to the sentence, and a closing bracket
	// only to a URI that opened one.
	open := strings.Count(text[i:end], "(") + strings.Count(text[i:end], "[")
	shut := strings.Count(text[i:end], ")") + strings.Count(text[i:end], "]")
trim:
	for end > i {
		switch c := text[end-1]; {
		case strings.IndexByte(".,;:!?'*_~", c) >= 0:
		case (c == ')' || c == ']') && open < shut:
			shut--
		default:
			break trim
		}
		end--
	}
	if end-i <= len(prefix) {
		return 0
	}
	u, err := url.Parse(text[i:end])
	if err != nil || u.Scheme != scheme {
		return 0
	}
	switch scheme {
	case "https":
		if u.Host == "" || u.Hostname() == "" {
			return 0
		}
	case "xmpp":
		if u.Opaque == "" && u.Host == "" && u.Path == "" {
			return 0
		}
	}
	return end - i
}

// uriRune reports whether r may appear in a linkified URI: no whitespace,
// controls, format characters (bidi overrides, zero-width) or the ASCII
// characters RFC 3986 excludes.
func uriRune(r rune) bool {
	switch {
	case r == utf8.RuneError, isStyleSpace(r), unicode.IsControl(r), unicode.Is(unicode.Cf, r):
		return false
	case r < utf8.RuneSelf:
		return strings.IndexRune("<>\"`{}|\\^", r) < 0
	}
	return true
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// styleWriter writes parsed blocks and spans as HTML, keeping the first
// write error.
type styleWriter struct {
	w   io.Writer
	err error
}

func (sw *styleWriter) raw(s string) {
	if sw.err == nil {
		_, sw.err = io.WriteString(sw.w, s)
	}
}

func (sw *styleWriter) text(s string) {
	if s != "" {
		sw.raw(templ.EscapeString(s))
	}
}

// marked writes s as a directive or quote marker: aria-hidden, so screen
// readers read the text without its markup (the XEP's accessibility
// considerations).
func (sw *styleWriter) marked(class, s string) {
	if s == "" {
		return
	}
	sw.raw(`<span class="` + class + `" aria-hidden="true">`)
	sw.text(s)
	sw.raw(`</span>`)
}

func (sw *styleWriter) blocks(bs []block) {
	for _, b := range bs {
		switch b.kind {
		case blockQuote:
			sw.raw("<blockquote>")
			sw.blocks(b.children)
			sw.raw("</blockquote>")
		case blockPre:
			sw.raw("<pre>")
			for i, l := range b.lines {
				sw.marked("qm", l.prefix())
				if i == 0 || (i == len(b.lines)-1 && l.text() == "```") {
					sw.marked("sd", l.text())
				} else {
					sw.text(l.text())
				}
				sw.newline(l)
			}
			sw.raw("</pre>")
		default:
			l := b.lines[0]
			sw.marked("qm", l.prefix())
			sw.spans(parseSpans(l.text()))
			sw.newline(l)
		}
	}
}

func (sw *styleWriter) newline(l line) {
	if l.nl {
		sw.raw("\n")
	}
}

func (sw *styleWriter) spans(ss []span) {
	for _, s := range ss {
		switch s.kind {
		case spanPlain:
			sw.text(s.text)
		case spanLink:
			sw.raw(`<a href="` + templ.EscapeString(s.text) + `" rel="noopener noreferrer"`)
			if hasPrefixFold(s.text, "https:") {
				sw.raw(` target="_blank"`)
			}
			sw.raw(">")
			sw.text(s.text)
			sw.raw("</a>")
		case spanMono:
			sw.raw("<code>")
			sw.marked("sd", "`")
			sw.text(s.text)
			sw.marked("sd", "`")
			sw.raw("</code>")
		default:
			tag, d := styleTag(s.kind)
			sw.raw("<" + tag + ">")
			sw.marked("sd", d)
			sw.spans(s.children)
			sw.marked("sd", d)
			sw.raw("</" + tag + ">")
		}
	}
}

// styleTag is the element and directive of a styled span.
func styleTag(k spanKind) (tag, directive string) {
	switch k {
	case spanStrong:
		return "strong", "*"
	case spanEmph:
		return "em", "_"
	default:
		return "s", "~"
	}
}
