package history

// RFC 6121 roster management: the contacts, fetched on each new session with
// roster versioning (§2.6) so an unchanged roster costs an empty answer, and
// kept current by roster pushes (§2.1.6).

import (
	"context"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/stanza"
)

// rosterRequest returns the roster get for the AfterBind flight, with the
// stored version.
func (e *Engine) rosterRequest(ctx context.Context) ([]byte, error) {
	var ver string
	err := e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		a, err := tx.Account()
		ver = a.RosterVer
		return err
	})
	if err != nil {
		return nil, err
	}
	id := e.nextID("roster")
	e.expect(id, func(ctx context.Context, raw []byte) error {
		r, err := stanza.ParseRoster(raw)
		if err != nil {
			if iq, ierr := stanza.ParseIQ(raw); ierr == nil && iq.Error != nil {
				e.log.Warn("roster refused", "condition", iq.Error.Condition)
				return nil
			}
			e.log.Info("ignoring a malformed roster", "err", err)
			return nil
		}
		return e.applyRoster(ctx, r, true)
	})
	return stanza.RosterGet(id, ver, true), nil
}

// rosterPush applies a push from the own account and acknowledges it.
func (e *Engine) rosterPush(ctx context.Context, raw []byte, iq stanza.IQ) error {
	if f := bare(iq.From); f != "" && f != e.cfg.Self {
		// §2.1.6: a push from anyone else is to be ignored.
		return e.reply(iq, "<error type='cancel'><service-unavailable xmlns='"+stanza.NSStanzas+"'/></error>")
	}
	r, err := stanza.ParseRoster(raw)
	if err != nil {
		return e.reply(iq, "<error type='modify'><bad-request xmlns='"+stanza.NSStanzas+"'/></error>")
	}
	if err := e.applyRoster(ctx, r, false); err != nil {
		return err
	}
	return e.reply(iq, "")
}

// applyRoster stores a full roster (replacing the stored one) or a push,
// with its version, in one transaction.
func (e *Engine) applyRoster(ctx context.Context, r stanza.Roster, full bool) error {
	if r.Unchanged {
		return nil
	}
	var old []store.Contact
	if full {
		// Only this engine writes contacts, on the session's goroutine:
		// reading them before the transaction is safe.
		var err error
		if old, err = e.cfg.Store.Contacts(ctx); err != nil {
			return err
		}
	}
	return e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		keep := map[string]bool{}
		for _, it := range r.Items {
			jid := bare(it.JID)
			if it.Subscription == "remove" {
				prev, ok, err := tx.Contact(jid)
				if err != nil {
					return err
				}
				if ok && prev.Incoming {
					prev.Subscription, prev.Ask, prev.Name, prev.Groups = "", false, "", nil
					_, err = tx.PutContact(prev)
				} else {
					err = tx.DeleteContact(jid)
				}
				if err != nil {
					return err
				}
				continue
			}
			keep[jid] = true
			prev, _, err := tx.Contact(jid)
			if err != nil {
				return err
			}
			c := store.Contact{JID: jid, Name: it.Name, Subscription: it.Subscription, Ask: it.Ask == "subscribe", Groups: it.Groups}
			// A pending request survives the roster change unless it is
			// granted by it.
			c.Incoming = prev.Incoming && c.Subscription != "from" && c.Subscription != "both"
			if _, err := tx.PutContact(c); err != nil {
				return err
			}
		}
		if full {
			for _, c := range old {
				switch {
				case keep[c.JID]:
				case c.Incoming:
					// Not in the roster, but still asking to see our
					// presence: kept until the user answers.
					if c.Subscription != "" {
						c.Subscription, c.Ask, c.Name, c.Groups = "", false, "", nil
						if _, err := tx.PutContact(c); err != nil {
							return err
						}
					}
				default:
					if err := tx.DeleteContact(c.JID); err != nil {
						return err
					}
				}
			}
		}
		if r.Ver != "" || full {
			a, err := tx.Account()
			if err != nil {
				return err
			}
			a.JID, a.RosterVer = e.cfg.Self, r.Ver
			_, err = tx.PutAccount(a)
			return err
		}
		return nil
	})
}
