// Package rules is Routing 2.0: every stanza classified by persistence and
// urgency, one rule set shared by the client and the server's push path.
//
// Each rule is a pure function returning a verdict and a reason; the caller
// logs the reason with log/slog. The rules follow Prosody's
// mod_cloud_notify (is_important, is_urgent: what wakes a device) and
// mod_csi_simple (is_important: what an inactive client gets at once), with
// the checks XMPP requires before believing a stanza: XEP-0280 §11 (a
// carbon is genuine only from the own bare JID) and XEP-0359 (a stanza-id
// counts only when its by is the archive that vouches for it). Files:
// classify.go (Classify), route.go (Route), xep0359.go (TrustStanzaID).
package rules
