package ui_test

import (
	"crypto/sha256"
	"encoding/base64"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/waxwing-im/waxwing/wasm/ui"
)

// cssRules returns the declarations of a style sheet by "@media prelude |
// selector" (prelude "" outside @media), whitespace collapsed.
func cssRules(t *testing.T, css string) map[string]map[string]bool {
	t.Helper()
	css = regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(css, "")
	css = strings.Join(strings.Fields(css), " ")
	rules := map[string]map[string]bool{}
	var walk func(s, media string)
	walk = func(s, media string) {
		for {
			open := strings.IndexByte(s, '{')
			if open < 0 {
				return
			}
			head := strings.TrimSpace(s[:open])
			depth, end := 0, -1
			for i := open; i < len(s) && end < 0; i++ {
				switch s[i] {
				case '{':
					depth++
				case '}':
					if depth--; depth == 0 {
						end = i
					}
				}
			}
			if end < 0 {
				t.Fatalf("unbalanced braces after %q", head)
			}
			body := s[open+1 : end]
			if rest, ok := strings.CutPrefix(head, "@media"); ok {
				walk(body, strings.TrimSpace(rest))
			} else {
				sel := strings.ReplaceAll(strings.ReplaceAll(head, ", ", ","), " ,", ",")
				key := media + " | " + sel
				if rules[key] == nil {
					rules[key] = map[string]bool{}
				}
				for _, d := range strings.Split(body, ";") {
					if name, value, ok := strings.Cut(d, ":"); ok {
						rules[key][strings.TrimSpace(name)+":"+strings.TrimSpace(value)] = true
					}
				}
			}
			s = s[end+1:]
		}
	}
	walk(css, "")
	return rules
}

// TestShellStyle: the inline shell style says what app.css says of the
// same elements (so the page does not change when the stylesheet arrives),
// and its CSP hash is the hash of exactly what Shell renders.
func TestShellStyle(t *testing.T) {
	t.Parallel()
	css, err := os.ReadFile("../../static/app.css")
	if err != nil {
		t.Skipf("app.css: %v", err)
	}
	sheet := cssRules(t, string(css))
	inline := cssRules(t, ui.ShellStyle)
	if len(inline) < 8 {
		t.Fatalf("parsed %d rules of ShellStyle", len(inline))
	}
	for key, decls := range inline {
		for d := range decls {
			if !sheet[key][d] {
				t.Errorf("ShellStyle %s { %s } is not in app.css", key, d)
			}
		}
	}
	sum := sha256.Sum256([]byte(ui.ShellStyle))
	if want := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; ui.ShellStyleSource != want {
		t.Errorf("ShellStyleSource = %s, want %s", ui.ShellStyleSource, want)
	}
	sum = sha256.Sum256([]byte(ui.ShellScript))
	if want := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; ui.ShellScriptSource != want {
		t.Errorf("ShellScriptSource = %s, want %s", ui.ShellScriptSource, want)
	}
	out := render(t, ui.ShellProps{AssetBase: "/static/abc/"})
	if !strings.Contains(out, "<style>"+ui.ShellStyle+"</style>") {
		t.Errorf("the shell does not inline ShellStyle as it is")
	}
}
