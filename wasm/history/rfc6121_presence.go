package history

// RFC 6121 presence subscriptions (§3) and availability (§4): requests to see
// our presence are stored (store.Contact.Incoming) until the user answers,
// so they survive a reload or a change of tab; availability is live state,
// returned to the caller and never stored. Adding, accepting, denying and
// removing contacts go through the client's persistent queue, so they are
// sent exactly once even when composed offline.

import (
	"context"
	"errors"
	"fmt"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/client"
	"github.com/waxwing-im/waxwing/wasm/rules"
	"github.com/waxwing-im/waxwing/wasm/stanza"
)

// handlePresence applies one inbound presence (HandleStanza): a
// subscription request from someone else is stored, in one transaction with
// the XEP-0198 count h. It returns the parsed presence and whether it is a
// contact's availability to show (Config.OnPresence): presences from the
// account itself, and malformed ones, are not.
func (e *Engine) handlePresence(ctx context.Context, raw []byte, h uint32) (stanza.Presence, bool, error) {
	p, err := stanza.ParsePresence(raw)
	if err != nil {
		e.log.Info("ignoring a malformed presence", "err", err)
		return p, false, nil
	}
	from := bare(p.From)
	if from == "" || from == e.cfg.Self {
		return p, false, nil
	}
	switch p.Type {
	case "subscribe":
		err := e.cfg.Store.Update(ctx, func(tx store.Tx) error {
			c, ok, err := tx.Contact(from)
			if err != nil {
				return err
			}
			if ok && (c.Subscription == "from" || c.Subscription == "both") {
				return nil // already granted: the server answers for us (§3.1.3)
			}
			if !ok {
				c = store.Contact{JID: from}
			}
			c.Incoming = true
			if _, err := tx.PutContact(c); err != nil {
				return err
			}
			return e.commitInbound(tx, h)
		})
		e.log.Info("subscription request", "from", from, "stored", err == nil)
		return p, false, err
	case "", "unavailable":
		return p, true, nil
	}
	return p, false, nil // subscribed, unsubscribe(d), probe, error: the roster push says what changed
}

// sendQueued sends a stanza through the client's persistent queue: now, or
// on the next connection.
func (e *Engine) sendQueued(ctx context.Context, raw []byte) error {
	if e.cl == nil {
		return ErrOffline
	}
	return e.cl.Send(ctx, raw)
}

// checkPeer validates a contact address typed by the user.
func (e *Engine) checkPeer(jid string) (string, error) {
	b := bare(jid)
	if ok, reason := rules.Route(b); !ok {
		return "", fmt.Errorf("history: %s", reason)
	}
	if b == e.cfg.Self {
		return "", errors.New("history: that is your own address")
	}
	return b, nil
}

// AddContact adds jid to the roster with name and asks to see its presence
// (§3.1.1). If jid had asked to see ours, that is granted too.
func (e *Engine) AddContact(ctx context.Context, jid, name string) error {
	b, err := e.checkPeer(jid)
	if err != nil {
		return err
	}
	if err := e.sendQueued(ctx, stanza.RosterSet(e.nextID("rs"), stanza.RosterItem{JID: b, Name: name})); err != nil {
		return err
	}
	if err := e.sendQueued(ctx, stanza.Subscribe(b)); err != nil {
		return err
	}
	c, ok, err := e.contact(ctx, b)
	if err != nil || !ok || !c.Incoming {
		return err
	}
	return e.Accept(ctx, b)
}

// Accept grants jid's request to see our presence (§3.1.5), and asks to see
// theirs if we do not already.
func (e *Engine) Accept(ctx context.Context, jid string) error {
	b, err := e.checkPeer(jid)
	if err != nil {
		return err
	}
	if err := e.sendQueued(ctx, stanza.Subscribed(b)); err != nil {
		return err
	}
	c, _, err := e.contact(ctx, b)
	if err != nil {
		return err
	}
	if c.Subscription != "to" && c.Subscription != "both" && !c.Ask {
		if err := e.sendQueued(ctx, stanza.Subscribe(b)); err != nil {
			return err
		}
	}
	return e.answered(ctx, b)
}

// Deny refuses jid's request to see our presence (§3.2).
func (e *Engine) Deny(ctx context.Context, jid string) error {
	b, err := e.checkPeer(jid)
	if err != nil {
		return err
	}
	if err := e.sendQueued(ctx, stanza.Unsubscribed(b)); err != nil {
		return err
	}
	return e.answered(ctx, b)
}

// RemoveContact removes jid from the roster, which also cancels both
// subscriptions (§2.5).
func (e *Engine) RemoveContact(ctx context.Context, jid string) error {
	b, err := e.checkPeer(jid)
	if err != nil {
		return err
	}
	if err := e.sendQueued(ctx, stanza.RosterRemove(e.nextID("rr"), b)); err != nil {
		return err
	}
	return e.answered(ctx, b)
}

// answered clears a pending request; a requester not in the roster is
// forgotten.
func (e *Engine) answered(ctx context.Context, jid string) error {
	return e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		c, ok, err := tx.Contact(jid)
		if err != nil || !ok || !c.Incoming {
			return err
		}
		if c.Subscription == "" {
			return tx.DeleteContact(jid)
		}
		c.Incoming = false
		_, err = tx.PutContact(c)
		return err
	})
}

func (e *Engine) contact(ctx context.Context, jid string) (c store.Contact, ok bool, err error) {
	err = e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		c, ok, err = tx.Contact(jid)
		return err
	})
	return c, ok, err
}

// Flush sends what the outbox holds, if online: another tab of the same
// device may have queued a message in the shared store.
func (e *Engine) Flush(ctx context.Context) error {
	if err := e.flush(ctx); err != nil && !errors.Is(err, ErrOffline) {
		return err
	}
	return nil
}

// PublishReadState publishes the read positions recorded by MarkRead calls
// of another tab (XEP-0490), if online.
func (e *Engine) PublishReadState(ctx context.Context, convs ...string) error {
	e.mu.Lock()
	for _, c := range convs {
		e.mdsDirty[bare(c)] = true
	}
	e.mu.Unlock()
	if err := e.publishDirty(ctx); err != nil && !errors.Is(err, ErrOffline) {
		return err
	}
	return nil
}

var _ client.Handler = (*Engine)(nil)

// ContactOf returns the stored contact (or pending request) for jid.
func (e *Engine) ContactOf(ctx context.Context, jid string) (store.Contact, bool, error) {
	return e.contact(ctx, bare(jid))
}
