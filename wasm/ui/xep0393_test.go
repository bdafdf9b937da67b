package ui

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// dumpBlocks writes parsed blocks compactly: one block per line, quotations
// as quote{…}, preformatted blocks as pre{line|line}, spans as <b> (strong),
// <i> (emphasis), <s> (strike), <tt> (preformatted span), <a> (link), with the
// directives left out.
func dumpBlocks(bs []block) string {
	var parts []string
	for _, b := range bs {
		switch b.kind {
		case blockQuote:
			parts = append(parts, "quote{"+dumpBlocks(b.children)+"}")
		case blockPre:
			var ls []string
			for _, l := range b.lines {
				ls = append(ls, l.text())
			}
			parts = append(parts, "pre{"+strings.Join(ls, "|")+"}")
		default:
			parts = append(parts, dumpSpans(parseSpans(b.lines[0].text())))
		}
	}
	return strings.Join(parts, "\n")
}

func dumpSpans(ss []span) string {
	var sb strings.Builder
	for _, s := range ss {
		switch s.kind {
		case spanPlain:
			sb.WriteString(s.text)
		case spanMono:
			sb.WriteString("<tt>" + s.text + "</tt>")
		case spanLink:
			sb.WriteString("<a>" + s.text + "</a>")
		default:
			tag := map[spanKind]string{spanStrong: "b", spanEmph: "i", spanStrike: "s"}[s.kind]
			sb.WriteString("<" + tag + ">" + dumpSpans(s.children) + "</" + tag + ">")
		}
	}
	return sb.String()
}

// TestParseStyling runs the examples of XEP-0393 (1.1.1) and edge cases.
func TestParseStyling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
	}{
		// §5.2, styled as indicated.
		{"strong", "*strong*", "<b>strong</b>"},
		{"strong inside plain", "plain *strong* plain", "plain <b>strong</b> plain"},
		{"two strong", "*strong* plain *strong*", "<b>strong</b> plain <b>strong</b>"},
		{"lazy match", "*strong*plain*", "<b>strong</b>plain*"},
		{"opener before space is text", "* plain *strong*", "* plain <b>strong</b>"},
		// §5.2, nothing styled.
		{"no opener", "not strong*", "not strong*"},
		{"no closer", "*not strong", "*not strong"},
		{"spans do not cross lines", "*not \n strong*", "*not \n strong*"},
		{"closer after space", "*not *strong", "*not *strong"},
		{"empty span", "**", "**"},
		{"doubled directives", "****", "****"},
		// §5.1.1: three plain blocks, no formatting.
		{"plain blocks", "(There are three blocks in this body marked by parens,)\n(but there is no *formatting)\n(as spans* may not escape blocks.)",
			"(There are three blocks in this body marked by parens,)\n(but there is no *formatting)\n(as spans* may not escape blocks.)"},
		// §5.2.1 to §5.2.5.
		{"plain and strong", "Two spans, both *alike in dignity*", "Two spans, both <b>alike in dignity</b>"},
		{"emphasis", "The full title is _Twelfth Night, or What You Will_ but\n_most_ people shorten it.",
			"The full title is <i>Twelfth Night, or What You Will</i> but\n<i>most</i> people shorten it."},
		{"strong example", "The full title is \"Twelfth Night, or What You Will\" but\n*most* people shorten it.",
			"The full title is \"Twelfth Night, or What You Will\" but\n<b>most</b> people shorten it."},
		{"strike", "Everyone ~dis~likes cake.", "Everyone <s>dis</s>likes cake."},
		{"monospace", "Wow, I can write in `monospace`!", "Wow, I can write in <tt>monospace</tt>!"},
		{"monospace hides directives", "This is `*monospace*`", "This is <tt>*monospace*</tt>"},
		{"monospace in strong", "This is *`monospace and bold`*", "This is <b><tt>monospace and bold</tt></b>"},
		// §4 glossary.
		{"nested spans", "_emphasized span containing *strong span*_", "<i>emphasized span containing <b>strong span</b></i>"},
		{"span one and two", "span one *span two*", "span one <b>span two</b>"},
		// §5.1.2.
		{"preformatted block", "```ignored\n(println \"Hello, world!\")\n```\n\nThis should show up as monospace, preformatted text ⤴",
			"pre{```ignored|(println \"Hello, world!\")|```}\n\nThis should show up as monospace, preformatted text ⤴"},
		{"preformatted block ends with its quotation", "> ```\n> (println \"Hello, world!\")\n\nThe entire blockquote is a preformatted text block, but this line\nis plaintext!",
			"quote{pre{```|(println \"Hello, world!\")}}\n\nThe entire blockquote is a preformatted text block, but this line\nis plaintext!"},
		{"preformatted block to the end", "```\n*not styled*", "pre{```|*not styled*}"},
		{"closing fence must be alone", "```\na ```\n````\n```\n*b*", "pre{```|a ```|````|```}\n<b>b</b>"},
		// §5.1.3.
		{"quotation", "> That that is, is.\n\nSaid the old hermit of Prague.", "quote{That that is, is.}\n\nSaid the old hermit of Prague."},
		{"nested quotation", ">> That that is, is.\n> Said the old hermit of Prague.\n\nWho?",
			"quote{quote{That that is, is.}\nSaid the old hermit of Prague.}\n\nWho?"},
		{"quotation trims one space", ">  two spaces\n>tight", "quote{ two spaces\ntight}"},
		{"quotation holds spans", "> *bold* quote", "quote{<b>bold</b> quote}"},
		{"quote marker mid-line is text", "a > b", "a > b"},
		// Beyond the examples.
		{"empty", "", ""},
		{"only newlines", "\n\n", "\n"},
		{"unclosed opener then span", "*a _b_", "*a <i>b</i>"},
		{"opener after closer is text", "*a*_b_", "<b>a</b>_b_"},
		{"same directive does not nest", "*a *b* c*", "<b>a *b</b> c*"},
		{"unicode space opens", "x\u00a0*y*", "x\u00a0<b>y</b>"},
		{"directives around markup", "*<b>*", "<b><b></b>"},
		{"deep quotes stop nesting", strings.Repeat(">", 10) + " x",
			strings.Repeat("quote{", 8) + ">> x" + strings.Repeat("}", 8)},
		// Links.
		{"https link", "see https://example.org/a_b?c=d#e.", "see <a>https://example.org/a_b?c=d#e</a>."},
		{"xmpp link", "join xmpp:room@conference.example.org?join, now", "join <a>xmpp:room@conference.example.org?join</a>, now"},
		{"upper-case scheme", "HTTPS://EXAMPLE.ORG", "<a>HTTPS://EXAMPLE.ORG</a>"},
		{"balanced parenthesis kept", "(https://en.wikipedia.org/wiki/Go_(language))", "(<a>https://en.wikipedia.org/wiki/Go_(language)</a>)"},
		{"link in strong", "*https://example.org*", "<b><a>https://example.org</a></b>"},
		{"link not in monospace", "`https://example.org`", "<tt>https://example.org</tt>"},
		{"link not in preformatted block", "```\nhttps://example.org\n```", "pre{```|https://example.org|```}"},
		{"http stays text", "http://example.org", "http://example.org"},
		{"javascript stays text", "javascript:alert(1)", "javascript:alert(1)"},
		{"javascript before xmpp stays text", "javascript:xmpp:alert(1)", "javascript:xmpp:alert(1)"},
		{"data stays text", "data:text/html,<script>alert(1)</script>", "data:text/html,<script>alert(1)</script>"},
		{"scheme inside a word", "foohttps://example.org", "foohttps://example.org"},
		{"no host", "https:// and xmpp: alone", "https:// and xmpp: alone"},
		{"link ends at markup", "https://example.org/\"><script>", "<a>https://example.org/</a>\"><script>"},
		{"link ends at bidi override", "https://example.org/\u202egpj.exe", "<a>https://example.org/</a>\u202egpj.exe"},
		{"link ends at zero-width space", "https://a.example\u200b.org", "<a>https://a.example</a>\u200b.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := dumpBlocks(parseStyling(tt.body)); got != tt.want {
				t.Errorf("parse %q\n got %q\nwant %q", tt.body, got, tt.want)
			}
		})
	}
}

func renderStyled(t testing.TB, body string) string {
	t.Helper()
	var sb strings.Builder
	if err := StyledText(body).Render(context.Background(), &sb); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return sb.String()
}

// TestStyledTextHTML pins the markup of each construct.
func TestStyledTextHTML(t *testing.T) {
	t.Parallel()
	const sd = `<span class="sd" aria-hidden="true">`
	const qm = `<span class="qm" aria-hidden="true">`
	tests := []struct {
		name, body, want string
	}{
		{"plain escaped", `a <b> & "c" 'd'`, `a &lt;b&gt; &amp; &#34;c&#34; &#39;d&#39;`},
		{"strong", "*a*", `<strong>` + sd + `*</span>a` + sd + `*</span></strong>`},
		{"emphasis", "_a_", `<em>` + sd + `_</span>a` + sd + `_</span></em>`},
		{"strike", "~a~", `<s>` + sd + `~</span>a` + sd + `~</span></s>`},
		{"monospace", "`<a>`", `<code>` + sd + "`</span>&lt;a&gt;" + sd + "`</span></code>"},
		{"quotation", "> q\nr", `<blockquote>` + qm + `&gt; </span>q` + "\n" + `</blockquote>r`},
		{"nested quotation markers", ">> q", `<blockquote><blockquote>` + qm + `&gt;&gt; </span>q</blockquote></blockquote>`},
		{"preformatted", "```go\n<x>\n```", `<pre>` + sd + "```go</span>\n&lt;x&gt;\n" + sd + "```</span></pre>"},
		{"https link", "https://e.example/?a=1&b=<2>", `<a href="https://e.example/?a=1&amp;b=" rel="noopener noreferrer" target="_blank">https://e.example/?a=1&amp;b=</a>&lt;2&gt;`},
		{"xmpp link", "xmpp:a@e.example", `<a href="xmpp:a@e.example" rel="noopener noreferrer">xmpp:a@e.example</a>`},
		{"invalid utf-8", "a\xffb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := renderStyled(t, tt.body); got != tt.want {
				t.Errorf("render %q\n got %s\nwant %s", tt.body, got, tt.want)
			}
		})
	}
}

// TestLinkedText: no styling, links only.
func TestLinkedText(t *testing.T) {
	t.Parallel()
	var sb strings.Builder
	if err := LinkedText("*a* https://e.example <i>").Render(context.Background(), &sb); err != nil {
		t.Fatal(err)
	}
	want := `*a* <a href="https://e.example" rel="noopener noreferrer" target="_blank">https://e.example</a> &lt;i&gt;`
	if sb.String() != want {
		t.Errorf("got %s\nwant %s", sb.String(), want)
	}
}

// styledElements and styledAttrs are all StyledText may write.
var (
	styledElements = set("blockquote", "pre", "code", "strong", "em", "s", "a", "span")
	styledAttrs    = set("class", "aria-hidden", "href", "rel", "target")
)

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// safeHref reports whether an href is one StyledText may write.
func safeHref(v string) bool {
	return hasPrefixFold(v, "https://") || hasPrefixFold(v, "xmpp:")
}

// checkStyledMarkup tokenizes out and reports anything but balanced
// elements and attributes of the allowed sets.
func checkStyledMarkup(out string) error {
	z := html.NewTokenizer(strings.NewReader(out))
	var stack []string
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				return z.Err()
			}
			if len(stack) > 0 {
				return fmt.Errorf("unclosed elements %q", stack)
			}
			return nil
		case html.TextToken:
		case html.StartTagToken:
			tok := z.Token()
			if !styledElements[tok.Data] {
				return fmt.Errorf("element <%s> is not allowed", tok.Data)
			}
			for _, a := range tok.Attr {
				if !styledAttrs[a.Key] || a.Namespace != "" {
					return fmt.Errorf("attribute %s on <%s> is not allowed", a.Key, tok.Data)
				}
				if a.Key == "href" && !safeHref(a.Val) {
					return fmt.Errorf("href %q is not https: or xmpp:", a.Val)
				}
			}
			stack = append(stack, tok.Data)
		case html.EndTagToken:
			tok := z.Token()
			if len(stack) == 0 || stack[len(stack)-1] != tok.Data {
				return fmt.Errorf("end tag </%s> does not close the open %q", tok.Data, stack)
			}
			stack = stack[:len(stack)-1]
		default:
			return fmt.Errorf("unexpected token %v", z.Token())
		}
	}
}

// parsedText is what a browser would show as the text of an element
// holding the body: the HTML parser turns CR LF and CR into LF and drops
// NUL, and invalid UTF-8 is decoded as U+FFFD.
func parsedText(body string) string {
	return strings.NewReplacer("\r\n", "\n", "\r", "\n", "\x00", "").Replace(validText(body))
}

// parseFragment parses HTML as the content of a div, as innerHTML does.
func parseFragment(t testing.TB, s string) *html.Node {
	t.Helper()
	ctx := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := html.ParseFragment(strings.NewReader(s), ctx)
	if err != nil {
		t.Fatalf("ParseFragment: %v", err)
	}
	root := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	for _, n := range nodes {
		root.AppendChild(n)
	}
	return root
}

// textContent is the DOM's Node.textContent.
func textContent(n *html.Node) string {
	var sb strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			sb.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return sb.String()
}

// countElements counts the elements below n.
func countElements(n *html.Node) int {
	k := 0
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			k++
		}
		k += countElements(c)
	}
	return k
}

// checkStyled renders body and checks the output: only allowed, balanced
// markup, parsed by an HTML parser into exactly those elements, with the
// body as its text.
func checkStyled(t testing.TB, body string) {
	t.Helper()
	out := renderStyled(t, body)
	if err := checkStyledMarkup(out); err != nil {
		t.Fatalf("body %q: %v\nmarkup: %s", body, err, out)
	}
	root := parseFragment(t, out)
	if got, want := countElements(root), strings.Count(out, "</"); got != want {
		t.Fatalf("body %q: the parser built %d elements from %d written: the markup is not well-formed\n%s", body, got, want, out)
	}
	if got, want := textContent(root), parsedText(body); got != want {
		t.Fatalf("body %q: text content %q, want the body", body, got)
	}
}

// styleSeeds are bodies from XEP-0393's examples and edge cases.
var styleSeeds = []string{
	"*strong*", "plain *strong* plain", "*strong*plain*", "* plain *strong*", "*not *strong", "**", "****",
	"_emph *strong*_", "~dis~likes", "`*monospace*`", "*`monospace and bold`*",
	"```ignored\n(println \"Hello, world!\")\n```\n\nplain",
	"> ```\n> (println \"Hello, world!\")\n\nThe entire blockquote",
	">> That that is, is.\n> Said the old hermit of Prague.\n\nWho?",
	"https://example.org/a_(b) xmpp:a@example.org?join javascript:alert(1)",
	"*<script>alert(1)</script>*", "> <img src=x onerror=alert(1)>", "\r\n*a*\x00\xff",
	strings.Repeat(">", 20) + strings.Repeat("*a ", 50), strings.Repeat("https://", 30),
}

func TestStyledTextSafe(t *testing.T) {
	t.Parallel()
	for _, body := range styleSeeds {
		checkStyled(t, body)
	}
}

// FuzzStyle: StyledText never panics, writes only allowed, balanced
// markup, and its text is the body.
func FuzzStyle(f *testing.F) {
	for _, s := range styleSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		checkStyled(t, body)
	})
}
