// Package client is Waxwing's XMPP client core: "Session 2.0". It connects,
// authenticates, binds or resumes, and syncs in as few round trips as the
// server allows, and a dropped link never loses or duplicates a stanza.
//
// Specifications, one file each: XEP-0388 Extensible SASL Profile
// (sasl2.go), XEP-0386 Bind 2 and XEP-0198 Stream Management (inline and
// classic, sm_xml.go and sm.go), XEP-0484 FAST (fast.go), RFC 5802 SCRAM
// (scram.go), RFC 6120 SASL and resource binding for legacy servers
// (legacy_xml.go), stream features (features.go).
//
// The choice of path is a pure function, Decide (negotiate.go), that returns
// a verdict and a reason; the engine logs the reason. Session state (device
// id, FAST token, Stream Management counters and the unacknowledged queue)
// lives behind StateStore; the password is never part of it.
//
// The package is portable: it runs natively under go test against real
// servers through `waxwing serve`, and in the browser.
package client
