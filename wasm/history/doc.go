// Package history is Waxwing's sync engine: every device of an account
// converges on the same chat history, whatever happened to it (offline,
// killed, a failed resumption, starting fresh).
//
// The server's archive (XEP-0313 Message Archive Management) is the source of
// truth; each device keeps a copy with explicit coverage (store.Archive
// ranges). Live messages, carbons (XEP-0280) and archive pages all go through
// one idempotent apply path, deduplicated by the archive's stanza-id
// (XEP-0359) where the archive vouches for it, otherwise by sender and
// origin-id, so the order of arrival does not matter:
//
//   - A live message is stored at once, in one transaction with the
//     XEP-0198 inbound count, at a provisional position; it never moves the
//     catch-up position, so a live message arriving during catch-up cannot
//     make the engine skip unseen pages.
//   - After each connection the engine pages forward (RSM) from the newest
//     archive id it holds until the archive says the page is complete; each
//     page commits in one transaction with the new coverage, and places
//     (confirms) the messages it had seen live. Archive results need no
//     ack-after-commit: until the page commits, the coverage does not move,
//     so a crash only means the page is fetched again.
//   - An archive position that has expired (item-not-found) becomes a
//     recorded gap (store.GapExpired), never a silent one. Older history is
//     fetched backwards on demand (FetchOlder).
//   - Read state follows XEP-0490 (Message Displayed Synchronization), so
//     unread counts converge; outgoing messages live in the outbox first and
//     are sent exactly once (origin-id), their state following the server's
//     XEP-0198 acknowledgements, receipts (XEP-0184) and markers (XEP-0333).
//
// Files: engine.go (wiring and dispatch), apply.go (deduplication and the
// apply path), xep0313.go (catch-up and older history), xep0490.go (read
// state), rfc6121.go (roster), outbox.go (sending).
package history
