// Package e2e drives the web app end to end: headless Chromium (through
// chromedp) against real servers started by internal/xmppd and a real
// `waxwing serve`. It holds the browser helpers shared by the package's
// tests and benchmarks; the tests themselves are in _test.go files.
//
// The helpers follow what bridge/browser_helpers_test.go found to work
// here: Chromium over --remote-debugging-pipe, no sandbox (the tests run as
// root), no deadline on the context that starts the browser or opens a tab.
package e2e
