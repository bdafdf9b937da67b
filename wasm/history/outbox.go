package history

// The outbox: a message the user composes is stored first (state queued),
// and sent when a session is up, exactly once: it moves to "sent" in the
// very transaction that puts it in the session's XEP-0198 queue (store.WithTx),
// so a crash in between can neither lose it nor send it twice; the client
// core re-sends that queue byte for byte (same origin-id, XEP-0359) after a
// failed resumption. Its state then follows the server's acknowledgement
// (XEP-0198), the peer's receipt (XEP-0184) and markers (XEP-0333).

import (
	"context"
	"errors"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/client"
	"github.com/waxwing-im/waxwing/wasm/rules"
	"github.com/waxwing-im/waxwing/wasm/stanza"
)

// Send composes a chat message to a bare JID (Routing 2.0: conversations go
// to the bare JID, so every device of the peer gets it), stores it in the
// outbox and sends it if online. It returns the stored message.
func (e *Engine) Send(ctx context.Context, to, body string) (store.Message, error) {
	to = bare(to)
	if bareTo, reason := rules.Route(to); !bareTo {
		return store.Message{}, errors.New("history: " + reason)
	}
	id := newID()
	m := store.Message{
		Key: "out-" + id, Conversation: to, Kind: store.Chat,
		OriginID: id, StanzaID: id, From: e.cfg.Self, Direction: store.Outbound,
		Time: e.cfg.Now(), Body: body, State: store.StateQueued, Pos: e.provisional(),
		Raw: stanza.ChatMessage(to, id, body),
	}
	err := e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.PutMessage(m); err != nil {
			return err
		}
		return e.refresh(tx, map[string]bool{to: true})
	})
	if err != nil {
		return store.Message{}, err
	}
	if err := e.flush(ctx); err != nil && !errors.Is(err, ErrOffline) {
		return m, err
	}
	return m, nil
}

var errNotQueued = errors.New("history: no longer in the outbox")

// flush sends what the outbox holds on the current session.
func (e *Engine) flush(ctx context.Context) error {
	e.flushMu.Lock()
	defer e.flushMu.Unlock()
	var out []store.Message
	err := e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.Outbox()
		return err
	})
	if err != nil {
		return err
	}
	for _, m := range out {
		if e.cl == nil {
			return ErrOffline
		}
		s := e.cl.Session()
		if s == nil {
			return ErrOffline
		}
		key := m.Key
		hook := store.WithTx(ctx, func(tx store.Tx) error {
			cur, ok, err := tx.Message(key)
			if err != nil {
				return err
			}
			if !ok || cur.State != store.StateQueued {
				return errNotQueued
			}
			cur.State = store.StateSent
			_, err = tx.PutMessage(cur)
			return err
		})
		err := s.Send(hook, m.Raw)
		switch {
		case err == nil, errors.Is(err, errNotQueued):
		case client.KindOf(err) == client.ErrConnectionLost:
			return ErrOffline // it is queued in the session state: the next connection sends it
		case errors.Is(err, client.ErrSessionEnded):
			return ErrOffline // still in the outbox: the next connection sends it
		default:
			return err
		}
	}
	return nil
}

// onAcked is client.Config.OnAcked: the server has our messages.
func (e *Engine) onAcked(ctx context.Context, acked []client.Outgoing) {
	var ids []string
	for _, o := range acked {
		if m, err := stanza.ParseMessage(o.Raw); err == nil && m.OriginID != "" {
			ids = append(ids, m.OriginID)
		}
	}
	if len(ids) == 0 {
		return
	}
	err := e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		for _, id := range ids {
			if err := e.raise(tx, id, store.StateAcked, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.log.Warn("recording acknowledgements", "err", err)
	}
}

// raise moves our message with origin-id id forward to state st.
func (e *Engine) raise(tx store.Tx, id string, st store.MessageState, touched map[string]bool) error {
	ms, err := tx.MessagesByOriginID(e.cfg.Self, id)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Direction != store.Outbound || m.State >= st || m.State == store.StateReceived {
			continue
		}
		m.State = st
		if _, err := tx.PutMessage(m); err != nil {
			return err
		}
		if touched != nil {
			touched[m.Conversation] = true
		}
	}
	return nil
}

// ackState applies a receipt or marker about one of our messages.
func (e *Engine) ackState(tx store.Tx, m *stanza.Message, touched map[string]bool) error {
	if bare(m.From) == e.cfg.Self {
		return nil // our own devices' receipts and markers say nothing about delivery
	}
	if m.ReceiptReceived != "" {
		if err := e.raise(tx, m.ReceiptReceived, store.StateDelivered, touched); err != nil {
			return err
		}
	}
	if mk := m.Marker; mk != nil && mk.ID != "" {
		st := store.StateDelivered
		if mk.Type == stanza.MarkerDisplayed || mk.Type == stanza.MarkerAcknowledged {
			st = store.StateRead
		}
		return e.raise(tx, mk.ID, st, touched)
	}
	return nil
}

// applyReceipt commits a live receipt or marker with its XEP-0198 count.
func (e *Engine) applyReceipt(ctx context.Context, m *stanza.Message, h uint32) error {
	return e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if err := e.ackState(tx, m, nil); err != nil {
			return err
		}
		return e.commitInbound(tx, h)
	})
}
