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

			// CSP: one inline script, ShellScript (allowed by its hash), no
			// other script, no inline handlers. It loads the app's scripts
			// from the asset base its data attribute gives.
			scripts := scriptRE.FindAllStringSubmatch(out, -1)
			if len(scripts) != 1 || scripts[0][2] != ui.ShellScript {
				t.Errorf("got %d <script> elements, want ShellScript alone", len(scripts))
			} else if a := attrs(scripts[0][1]); len(a) != 1 || a["data-asset-base"] != tt.props.AssetBase {
				t.Errorf("ShellScript's attributes %q, want data-asset-base %q alone", scripts[0][1], tt.props.AssetBase)
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

// TestShellLoader: the shell's markup asks for no script or stylesheet, so
// that nothing is fetched, parsed or compiled for the app before the first
// paint; ShellScript, in <head>, loads app.css, wasm_exec.js and boot.js
// from the asset base, in that order, and tells boot.js when the stylesheet
// has settled.
func TestShellLoader(t *testing.T) {
	t.Parallel()
	out := render(t, ui.ShellProps{AssetBase: "/static/abc/"})
	if strings.Contains(out, `rel="stylesheet"`) || strings.Contains(out, "src=") {
		t.Errorf("the markup asks for a stylesheet or a script itself:\n%s", out)
	}
	at := strings.Index(out, `<script data-asset-base="/static/abc/">`+ui.ShellScript+"</script>")
	if at < 0 || at > strings.Index(out, "</head>") {
		t.Fatalf("the shell's <head> does not inline ShellScript as it is:\n%s", out)
	}
	last := -1
	for _, want := range []string{"'app.css'", "'wasm_exec.js'", "'boot.js'"} {
		i := strings.Index(ui.ShellScript, want)
		if i < 0 || i < last {
			t.Errorf("ShellScript does not load %s after the one before:\n%s", want, ui.ShellScript)
		}
		last = i
	}
	for _, want := range []string{"data-asset-base", "async = false", "'app-css'", "waxwingStyled", "'paint'", "sw.controller", "compileStreaming", "waxwingCompiled", "'waxwing:paint'"} {
		if !strings.Contains(ui.ShellScript, want) {
			t.Errorf("ShellScript lacks %s", want)
		}
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
