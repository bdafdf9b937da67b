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
			for _, bad := range []string{"<style", " style=", "javascript:"} {
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

func TestShellStylesheet(t *testing.T) {
	t.Parallel()
	out := render(t, ui.ShellProps{AssetBase: "/static/abc/"})
	if !strings.Contains(out, `<link rel="stylesheet" href="/static/abc/app.css">`) {
		t.Errorf("page lacks the versioned stylesheet link:\n%s", out)
	}
	if strings.Contains(out, "manifest") {
		t.Errorf("page links a manifest, which does not exist yet")
	}
}
