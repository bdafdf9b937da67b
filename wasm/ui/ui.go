// Package ui holds Waxwing's templ components and their view models.
//
// The components are pure: they render props to HTML and never read the
// network, the clock or the DOM. The same code runs on the server (the page
// shell) and in the browser program (fragments swapped into the page).
//
// Pages rendered from this package are served under a strict
// Content-Security-Policy, so components must not emit inline <script> or
// <style> elements, style attributes or on* event-handler attributes; the
// exceptions are the shell's ShellStyle and ShellScript, allowed by their
// hashes.
package ui

// ShellProps is the contract between the server and the browser program.
// Shell writes each field into a data- attribute of the #app element, where
// the browser program reads it back.
type ShellProps struct {
	// Version is the build version of the static assets (static.Version).
	Version string
	// WebSocketURL is the XMPP-over-WebSocket (RFC 7395) endpoint the
	// browser dials: an absolute ws:// or wss:// URL, or a path that the
	// browser resolves against the page's own origin.
	WebSocketURL string
	// AssetBase is the URL prefix of the versioned static assets, ending in
	// a slash, for example "/static/0123456789ab/".
	AssetBase string
	// Domain is the XMPP domain of the organisation's server.
	Domain string
}
