package ui_test

import (
	"context"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/waxwing-im/waxwing/wasm/ui"
)

var (
	// scriptRE matches a <script> element: its attributes and its body.
	scriptRE = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script\s*>`)
	// mainRE matches the start tag of the #app element.
	mainRE = regexp.MustCompile(`(?is)<main\b([^>]*)>`)
	// attrRE matches one double-quoted attribute.
	attrRE = regexp.MustCompile(`([a-zA-Z-]+)="([^"]*)"`)
	// eventAttrRE matches an inline event handler attribute such as onload=.
	eventAttrRE = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
)

func render(t *testing.T, p ui.ShellProps) string {
	t.Helper()
	var sb strings.Builder
	if err := ui.Shell(p).Render(context.Background(), &sb); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return sb.String()
}

// attrs returns the unescaped attributes of a start tag's attribute text.
func attrs(s string) map[string]string {
	m := make(map[string]string)
	for _, a := range attrRE.FindAllStringSubmatch(s, -1) {
		m[a[1]] = html.UnescapeString(a[2])
	}
	return m
}

func TestShell(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		props ui.ShellProps
	}{
		{"plain", ui.ShellProps{
			Version:      "0123456789ab",
			WebSocketURL: "wss://chat.example.org/xmpp",
			AssetBase:    "/static/0123456789ab/",
			Domain:       "example.org",
		}},
		{"relative websocket path", ui.ShellProps{
			Version: "v", WebSocketURL: "/xmpp", AssetBase: "/static/v/", Domain: "localhost",
		}},
		{"hostile values stay inert", ui.ShellProps{
			Version:      `"><script>alert(1)</script>`,
			WebSocketURL: `ws://x/"><script>alert(1)</script><x a="`,
			AssetBase:    `/s/"><script>alert(2)</script>/`,
			Domain:       `<img src=x onerror=alert(3)>&amp;'`,
		}},
		{"empty", ui.ShellProps{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := render(t, tt.props)

			if !strings.HasPrefix(strings.ToLower(out), "<!doctype html>") {
				t.Errorf("page does not start with <!doctype html>: %.40q", out)
			}
			for _, want := range []string{
				`<html lang="en">`,
				`<meta name="viewport"`,
				`<meta name="theme-color"`,
				`<title>Waxwing</title>`,
				`id="status"`,
				`data-testid="status"`,
				`role="status"`,
				`aria-live="polite"`,
				`Loading Waxwing…`,
				`<noscript>`,
			} {
				if !strings.Contains(out, want) {
					t.Errorf("page lacks %q", want)
				}
			}

			// CSP: no inline script bodies, no inline styles or handlers.
			scripts := scriptRE.FindAllStringSubmatch(out, -1)
			if len(scripts) != 2 {
				t.Errorf("got %d <script> elements, want 2 (wasm_exec.js, boot.js)", len(scripts))
			}
			var srcs []string
			for _, s := range scripts {
				if strings.TrimSpace(s[2]) != "" {
					t.Errorf("inline script body %q", s[2])
				}
				a := attrs(s[1])
				if _, ok := a["src"]; !ok {
					t.Errorf("<script%s> has no src", s[1])
				}
				srcs = append(srcs, a["src"])
			}
			if want := []string{tt.props.AssetBase + "wasm_exec.js", tt.props.AssetBase + "boot.js"}; strings.Join(srcs, " ") != strings.Join(want, " ") {
				t.Errorf("script srcs = %q, want %q (in this order)", srcs, want)
			}
			if n := strings.Count(strings.ToLower(out), "<script"); n != len(scripts) {
				t.Errorf("found %d <script tags, %d well-formed elements: a value escaped its attribute", n, len(scripts))
			}
			// One inline style: ShellStyle, allowed by its hash.
			if n := strings.Count(strings.ToLower(out), "<style"); n != 1 || !strings.Contains(out, "<style>"+ui.ShellStyle+"</style>") {
				t.Errorf("got %d <style> elements, want ShellStyle alone", n)
			}
			for _, bad := range []string{" style=", "javascript:"} {
				if strings.Contains(strings.ToLower(out), bad) {
					t.Errorf("page contains %q", bad)
				}
			}
			// Attribute values are escaped, so only look at markup outside them.
			if m := eventAttrRE.FindString(attrRE.ReplaceAllString(out, `$1=""`)); m != "" {
				t.Errorf("page contains an event handler attribute %q", m)
			}
			if strings.Contains(out, "<img") {
				t.Errorf("a value was rendered as markup: %s", out)
			}

			// The data attributes round-trip exactly.
			mains := mainRE.FindAllStringSubmatch(out, -1)
			if len(mains) != 1 {
				t.Fatalf("got %d <main> elements, want 1", len(mains))
			}
			a := attrs(mains[0][1])
			for name, want := range map[string]string{
				"id":              "app",
				"data-testid":     "app",
				"data-ws-url":     tt.props.WebSocketURL,
				"data-version":    tt.props.Version,
				"data-domain":     tt.props.Domain,
				"data-asset-base": tt.props.AssetBase,
			} {
				got, ok := a[name]
				if !ok {
					t.Errorf("#app lacks %s", name)
				} else if got != want {
					t.Errorf("#app %s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

// TestShellStylesheet: the versioned stylesheet is linked at the end of
// the body, so that the first paint (styled by ShellStyle) waits for no
// request, while boot.js, a deferred script, still runs (and paints the
// saved view) only once the stylesheet has loaded.
func TestShellStylesheet(t *testing.T) {
	t.Parallel()
	out := render(t, ui.ShellProps{AssetBase: "/static/abc/"})
	const link = `<link rel="stylesheet" href="/static/abc/app.css">`
	at := strings.Index(out, link)
	if at < 0 {
		t.Fatalf("page lacks the versioned stylesheet link:\n%s", out)
	}
	if main := strings.Index(out, "</main>"); main < 0 || at < main {
		t.Errorf("the stylesheet is linked before the end of #app, where it holds the first paint back:\n%s", out)
	}
	head := out[:strings.Index(out, "</head>")]
	if strings.Contains(head, `rel="stylesheet"`) {
		t.Errorf("a stylesheet in <head> holds the first paint back:\n%s", head)
	}
}

var (
	// linkRE matches a <link> element's attributes.
	linkRE = regexp.MustCompile(`(?is)<link\b([^>]*)>`)
	// elementRE matches the start tag of an element with an id attribute.
	elementRE = regexp.MustCompile(`(?is)<([a-z]+)\b([^>]*\bid="([^"]*)"[^>]*)>`)
)

// TestShellPWA checks what installs and updates the app: the versioned
// manifest and icons, the hidden "Reload to update" banner and the empty
// #view after #status that the app (or a saved snapshot) fills.
func TestShellPWA(t *testing.T) {
	t.Parallel()
	out := render(t, ui.ShellProps{AssetBase: "/static/abc/", Version: "abc"})

	links := map[string]map[string]string{}
	for _, l := range linkRE.FindAllStringSubmatch(out, -1) {
		a := attrs(l[1])
		links[a["rel"]] = a
	}
	for rel, href := range map[string]string{
		"manifest":         "/static/abc/manifest.webmanifest",
		"icon":             "/static/abc/icons/icon.svg",
		"apple-touch-icon": "/static/abc/icons/apple-touch-icon.png",
		"stylesheet":       "/static/abc/app.css",
	} {
		if got := links[rel]["href"]; got != href {
			t.Errorf("<link rel=%q> href = %q, want %q", rel, got, href)
		}
	}
	if got := links["icon"]["type"]; got != "image/svg+xml" {
		t.Errorf("icon type = %q", got)
	}

	type element struct {
		tag   string
		attrs map[string]string
		at    int
	}
	byID := map[string]element{}
	for _, m := range elementRE.FindAllStringSubmatchIndex(out, -1) {
		a := attrs(out[m[4]:m[5]])
		byID[a["id"]] = element{tag: out[m[2]:m[3]], attrs: a, at: m[0]}
	}
	update, ok := byID["update"]
	if !ok {
		t.Fatalf("page has no #update banner:\n%s", out)
	}
	if update.attrs["data-testid"] != "update" {
		t.Errorf("#update data-testid = %q", update.attrs["data-testid"])
	}
	if !regexp.MustCompile(`(?i)<div\b[^>]*\bid="update"[^>]*\shidden[\s>=]`).MatchString(out) {
		t.Errorf("#update is not hidden by default")
	}
	rest := out[update.at:]
	banner := rest[:strings.Index(rest, "</div>")]
	if !regexp.MustCompile(`<button type="button"[^>]*>Reload to update</button>`).MatchString(banner) {
		t.Errorf("#update lacks a \"Reload to update\" button: %s", banner)
	}

	view, ok := byID["view"]
	if !ok {
		t.Fatalf("page has no #view")
	}
	if view.tag != "div" || view.attrs["data-testid"] != "view" {
		t.Errorf("#view is <%s data-testid=%q>", view.tag, view.attrs["data-testid"])
	}
	if !strings.Contains(out, `<div id="view" data-testid="view"></div>`) {
		t.Errorf("#view is not empty")
	}
	status, app := byID["status"], byID["app"]
	if !(app.at < status.at && status.at < view.at && view.at < strings.Index(out, "</main>")) {
		t.Errorf("#view must follow #status inside <main id=app>: app@%d status@%d view@%d", app.at, status.at, view.at)
	}
}
