package ui

import _ "embed"

// ShellScript is the shell's one inline script, in its <head> and allowed
// by its CSP hash (ShellScriptSource): it loads the app (app.css, then
// wasm_exec.js and boot.js, executed in that order) from the asset base in
// its own data-asset-base attribute (not part of the hash), inserting their
// elements into <head>.
//
// On a first visit (no service worker controls the page) it waits for the
// page's first paint (Paint Timing), so that nothing the app fetches,
// parses or compiles competes with the first frame on the device's cores;
// the shell (ShellStyle) is that first frame. Without Paint Timing it
// waits for the first animation frame, and in any case at most a second
// (a tab opened in the background paints nothing). A page that a service
// worker controls loads at once, from the worker's cache, as early as the
// markup's own requests did, so that boot.js paints the saved view into
// the first frame as before.
//
// Once painted, unless a saved view is waiting for boot.js (localStorage
// "waxwing:paint"), it also starts fetching and compiling app.wasm
// (WebAssembly.compileStreaming), which boot.js instantiates
// (window.waxwingCompiled): the download and compile then no longer wait for
// the scripts to arrive and run.
//
// Scripts inserted so do not wait for a stylesheet as parser-inserted ones
// do; window.waxwingStyled resolves when the stylesheet has loaded or
// failed, and boot.js waits for it before it paints.
//
//go:embed shellload.js
var ShellScript string

// ShellScriptSource is ShellScript's CSP source expression for script-src
// (CSP 3 hash-source).
var ShellScriptSource = hashSource(ShellScript)
