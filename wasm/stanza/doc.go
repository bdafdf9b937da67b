// Package stanza parses and builds the message-level XMPP elements the
// history sync engine needs: messages with their extensions, archive (MAM)
// queries and answers, roster and presence.
//
// Every parser takes the bytes of one top-level element, as the client reads
// them (RFC 7395 §3.3.3: one element per WebSocket message), and never panics:
// malformed input is an error, unknown children are ignored. Builders return
// the bytes of one element with every attribute and text escaped.
//
// Specifications, one file each, named after the spec: RFC 6120 stanzas and
// stanza errors (rfc6120.go), RFC 6121 messages, presence and roster
// (rfc6121_message.go, rfc6121_presence.go, rfc6121_roster.go), XEP-0004
// data forms (xep0004.go), XEP-0045 MUC user data (xep0045.go), XEP-0059
// Result Set Management (xep0059.go), XEP-0066 Out of Band Data
// (xep0066.go), XEP-0085 Chat States (xep0085.go), XEP-0115 Entity
// Capabilities (xep0115.go), XEP-0184 Receipts (xep0184.go), XEP-0203
// Delayed Delivery (xep0203.go), XEP-0280 Carbons (xep0280.go), XEP-0297
// Forwarding (xep0297.go), XEP-0308 Correction (xep0308.go), XEP-0313 MAM
// (xep0313.go), XEP-0333 Chat Markers (xep0333.go), XEP-0334 Hints
// (xep0334.go), XEP-0353 Jingle Message Initiation (xep0353.go), XEP-0359
// Unique and Stable Stanza IDs (xep0359.go), XEP-0372 References
// (xep0372.go), XEP-0384 OMEMO and other encryption markers (xep0384.go),
// XEP-0424 Retraction (xep0424.go), XEP-0444 Reactions (xep0444.go),
// XEP-0490 Message Displayed Synchronization (xep0490.go).
//
// The package only reports what a stanza says. Whether to believe it (a
// carbon from the own bare JID, a stanza-id by the archive that vouches) is
// decided by wasm/rules.
package stanza
