package ui

import (
	"crypto/sha256"
	"encoding/base64"
)

// ShellStyle is the shell's own style, inlined in its <head> so that the
// first paint (the brand and "Loading Waxwing…") waits for no request: the
// same rules as app.css's shell section, which the stylesheet at the end of
// the body repeats and completes. It is the only inline style of the page;
// the CSP allows it by its hash (ShellStyleSource), not 'unsafe-inline'.
const ShellStyle = `:root{color-scheme:light dark;--bg:#f6f1ea;--fg:#24201c;--muted:#6b6158;--accent:#a4452c;--surface:#fffdf9;--border:#e2d8cc;` +
	`font-family:system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", Ubuntu, Cantarell, "Helvetica Neue", Arial, sans-serif;font-size:100%;line-height:1.5}` +
	`@media (prefers-color-scheme: dark){:root{--bg:#1d1a17;--fg:#eee7de;--muted:#a89d92;--accent:#e2866b;--surface:#27231f;--border:#3a342e}}` +
	`*,*::before,*::after{box-sizing:border-box}[hidden]{display:none !important}html,body{height:100%}` +
	`body{margin:0;background:var(--bg);color:var(--fg)}` +
	`#app{max-width:40rem;margin:0 auto;padding:max(1rem, env(safe-area-inset-top)) max(1rem, env(safe-area-inset-right)) max(1rem, env(safe-area-inset-bottom)) max(1rem, env(safe-area-inset-left))}` +
	`.brand{margin:1.5rem 0 1rem;font-size:1.5rem;font-weight:650;letter-spacing:0.01em;color:var(--accent)}` +
	`#status{margin:0;padding:0.75rem 1rem;border:1px solid var(--border);border-radius:0.5rem;background:var(--surface);color:var(--muted);overflow-wrap:anywhere}` +
	`@media (min-width: 48rem){#app{padding-top:3rem}.brand{font-size:2rem}}`

// ShellStyleSource is ShellStyle's CSP source expression for style-src
// (CSP 3 hash-source).
var ShellStyleSource = hashSource(ShellStyle)

// hashSource is the CSP 3 hash-source of an inline element's content.
func hashSource(content string) string {
	sum := sha256.Sum256([]byte(content))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}
