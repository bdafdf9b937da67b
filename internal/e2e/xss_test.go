//go:build !js

package e2e

// TestAppXSS: issue 5's XSS test. A peer (a native session) sends every
// payload of the UI's corpus (wasm/ui/testdata/xss.txt, at least 200) as a
// message body into the open chat of the web app, in Chromium, through the
// real `waxwing serve`. Nothing may execute: no JavaScript dialog, no CSP
// violation, no uncaught exception, no script element besides the shell's
// two, no element with an on* attribute, no javascript: (or vbscript:,
// data:text/html) URL, no request to anywhere but the app's own origin,
// the payloads' own sentinel (window.__xss) unset, the account still
// logged in. And every payload must have been shown, as text, exactly as
// sent.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"mellium.im/xmpp/jid"

	"github.com/waxwing-im/waxwing/wasm/ui"
)

func TestAppXSS(t *testing.T) {
	payloads := xssCorpus(t)
	if len(payloads) < 200 {
		t.Fatalf("the corpus has %d payloads, want at least 200", len(payloads))
	}
	e := newAppEnv(t, appUsers("erin", "mallory"), 1)
	g := e.gates[0]
	erin := jid.MustParse("erin@" + e.srv.Domain)
	mallory := "mallory@" + e.srv.Domain
	mp := e.peer(t, "mallory")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	tb := e.openTab(t, "xss", g.URL)
	tb.wait("the login form", `document.querySelector('[data-testid=login] input[name=jid]')`)
	tb.do("logging in",
		chromedp.SendKeys(`[data-testid=login] input[name=jid]`, "erin", chromedp.NodeVisible),
		typeEnter(`[data-testid=login] input[name=password]`, "pw-erin"))
	tb.wait("online", `document.querySelector('[data-testid=connection][data-state=online]') && document.querySelector('[data-testid=inbox]')`)

	// The chat is open while the payloads arrive: each is rendered as it
	// comes (probe.js records the text of every message element inserted).
	if err := mp.send(ctx, erin, "xss-hello", "hello"); err != nil {
		t.Fatal(err)
	}
	tb.click("opening mallory's chat", `[data-testid=conversation][data-jid="`+mallory+`"]`)
	tb.wait("mallory's chat", messageIs("hello", "in"))

	start := time.Now()
	for i, p := range payloads {
		if err := mp.send(ctx, erin, fmt.Sprintf("xss-%d", i), p); err != nil {
			t.Fatalf("payload %d: %v", i+1, err)
		}
	}
	last := xmlText(payloads[len(payloads)-1])
	tb.wait("the last payload in the chat", messageIs(last, "in"))
	t.Logf("%d payloads sent and shown in %v", len(payloads), time.Since(start).Round(time.Millisecond))
	tb.screenshot("xss")
	// Every payload was shown, as text, exactly as sent.
	shown := evalIn[map[string]int](tb, `window.__e2e.shown`)
	missing := 0
	for i, p := range payloads {
		if shown[xmlText(p)] == 0 {
			missing++
			if missing <= 10 {
				t.Errorf("payload %d was never shown as its text: %.120q", i+1, p)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d payloads were never shown as their text", missing, len(payloads))
	}
	// The inbox row previews the last payload (shortened, with "…", when
	// long).
	tb.wait("the last payload previewed in the inbox", fmt.Sprintf(`((p, last) => p === last || (p.endsWith('…') && last.startsWith(p.slice(0, -1))))(
		document.querySelector('[data-testid=conversation][data-jid=%s] .preview').textContent, %s)`, JS(mallory), JS(last)))

	// Nothing executed, nothing was injected.
	pr := tb.probe()
	if len(pr.CSP) > 0 {
		t.Errorf("%d CSP violations, e.g. %+v", len(pr.CSP), pr.CSP[0])
	}
	if n := tb.dialogs.Load(); n > 0 {
		t.Errorf("%d JavaScript dialogs opened", n)
	}
	if len(pr.Errors) > 0 {
		t.Errorf("uncaught exceptions: %.300q", pr.Errors)
	}
	// The shell's scripts: its inline loader (as probe.js records it: the
	// first 100 characters) and the two it loads.
	shell := regexp.MustCompile(`^/static/[^/]+/(wasm_exec|boot)\.js$`)
	loader := "inline: " + ui.ShellScript[:min(len(ui.ShellScript), 100)]
	for _, s := range pr.Scripts {
		if !shell.MatchString(s) && s != loader {
			t.Errorf("a script element that is not the shell's: %.200q", s)
		}
	}
	if len(pr.Handlers) > 0 {
		t.Errorf("%d elements gained an event handler attribute, e.g. %q", len(pr.Handlers), pr.Handlers[0])
	}
	if len(pr.JSURLs) > 0 {
		t.Errorf("%d script URLs in the page, e.g. %q", len(pr.JSURLs), pr.JSURLs[0])
	}
	if v := evalIn[string](tb, `typeof window.__xss`); v != "undefined" {
		t.Errorf("a payload ran: window.__xss is a %s", v)
	}
	// Message bodies hold only what XEP-0393 rendering makes (ui.StyledText):
	// those elements, those attributes, links to https: and xmpp: only.
	odd := evalIn[[]string](tb, `Array.from(document.querySelectorAll('[data-testid=message] .body *')).filter(el =>
		!['BLOCKQUOTE', 'PRE', 'CODE', 'STRONG', 'EM', 'S', 'A', 'SPAN'].includes(el.tagName) ||
		Array.from(el.attributes).some(a => !['class', 'aria-hidden', 'href', 'rel', 'target'].includes(a.name)) ||
		(el.hasAttribute('href') && !/^(https|xmpp):/i.test(el.getAttribute('href')))
	).map(el => el.outerHTML.slice(0, 200))`)
	for _, h := range odd {
		t.Errorf("a message body holds %s", h)
	}
	t.Logf("%d links rendered in the bodies shown", evalIn[int](tb, `document.querySelectorAll('[data-testid=message] .body a').length`))
	if acct := evalIn[string](tb, `localStorage.getItem('waxwing:account') || ''`); acct != erin.String() {
		t.Errorf("the account in localStorage is %q, want %v", acct, erin)
	}
	for _, r := range tb.Requests() {
		if !strings.HasPrefix(r.URL, g.URL) && !strings.HasPrefix(r.URL, "ws"+strings.TrimPrefix(g.URL, "http")) {
			t.Errorf("a request to %.200q", r.URL)
		}
	}
	for _, l := range strings.Split(tb.Console(), "\n") {
		if strings.Contains(l, "Content Security Policy") || strings.Contains(l, "Refused to") {
			t.Errorf("console: %.300s", l)
		}
	}
}

// xssCorpus reads wasm/ui/testdata/xss.txt: one payload per line, empty
// lines ignored.
func xssCorpus(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "wasm", "ui", "testdata", "xss.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSuffix(l, "\r"); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// xmlText is s as an XML parser hands it over: line ends normalized to
// "\n" (XML 1.0 §2.11).
func xmlText(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}
