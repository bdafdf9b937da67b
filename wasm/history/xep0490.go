package history

// XEP-0490 Message Displayed Synchronization: what was read on any device is
// read on all of them, so unread counts converge. The state lives in the
// account's PEP node urn:xmpp:mds:displayed:0, one item per conversation
// naming the last displayed message by its archive id; devices fetch it on
// each new session and follow its notifications (+notify in our
// capabilities, XEP-0115).

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"math"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/stanza"
)

// mdsRequest asks for every item of the node; the answer is applied like a
// notification, except that where this device read further it publishes
// its own position instead.
func (e *Engine) mdsRequest() []byte {
	id := e.nextID("mds")
	e.expect(id, func(ctx context.Context, raw []byte) error {
		items, err := parseMDSItems(raw)
		if err != nil {
			e.log.Info("read state: no usable answer", "err", err)
			return nil
		}
		return e.applyDisplayed(ctx, items, 0, true)
	})
	return mdsItems(id)
}

func mdsItems(id string) []byte {
	return []byte("<iq xmlns='jabber:client' type='get' id='" + id + "'><pubsub xmlns='" + stanza.NSPubSub +
		"'><items node='" + stanza.NSMDS + "'/></pubsub></iq>")
}

// parseMDSItems reads the items of an MDS fetch answer. An error answer
// (item-not-found: nothing published yet) is no items.
func parseMDSItems(raw []byte) ([]stanza.Displayed, error) {
	var iq struct {
		Type   string `xml:"type,attr"`
		PubSub struct {
			Items struct {
				Node string `xml:"node,attr"`
				Item []struct {
					ID        string `xml:"id,attr"`
					Displayed *struct {
						StanzaID struct {
							By string `xml:"by,attr"`
							ID string `xml:"id,attr"`
						} `xml:"urn:xmpp:sid:0 stanza-id"`
					} `xml:"urn:xmpp:mds:displayed:0 displayed"`
				} `xml:"item"`
			} `xml:"items"`
		} `xml:"http://jabber.org/protocol/pubsub pubsub"`
	}
	if err := xml.Unmarshal(raw, &iq); err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	if iq.Type != "result" {
		return nil, nil
	}
	var out []stanza.Displayed
	for _, it := range iq.PubSub.Items.Item {
		if it.Displayed == nil || it.ID == "" || it.Displayed.StanzaID.ID == "" {
			continue
		}
		out = append(out, stanza.Displayed{Chat: it.ID, StanzaID: stanza.StanzaID{By: it.Displayed.StanzaID.By, ID: it.Displayed.StanzaID.ID}})
	}
	return out, nil
}

// applyDisplayed adopts read positions from the node (a notification, or
// the fetch when fetched is true), in one transaction with the XEP-0198
// count h of a notification. A position behind this device's is not
// adopted; after a fetch, this device publishes its own.
func (e *Engine) applyDisplayed(ctx context.Context, items []stanza.Displayed, h uint32, fetched bool) error {
	var republish []string
	err := e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		republish = republish[:0]
		for _, d := range items {
			chat := bare(d.Chat)
			if bare(d.StanzaID.By) != e.cfg.Self {
				continue // rooms come with group chats
			}
			c, ok, err := tx.Conversation(chat)
			if err != nil {
				return err
			}
			if !ok {
				c = store.Conversation{Peer: chat, Kind: store.Chat}
			}
			if c.ReadUpTo == d.StanzaID.ID {
				continue
			}
			m, known, err := tx.MessageByArchiveID(e.cfg.Self, d.StanzaID.ID)
			if err != nil {
				return err
			}
			// Only positions the archive has placed, on both sides,
			// compare: a provisional one or one held under an id not
			// (yet) resolved says nothing of the archive's order.
			own, err := e.readPlaced(tx, c)
			if err != nil {
				return err
			}
			if known && own && m.Pos < c.ReadPos {
				if fetched {
					republish = append(republish, chat)
				}
				continue
			}
			c.ReadUpTo = d.StanzaID.ID
			switch {
			case known:
				c.ReadPos = m.Pos
			default:
				// Not here yet (the catch-up brings it; refresh then
				// places it): count what we hold as read meanwhile.
				if last, ok, err := tx.LastMessage(chat); err != nil {
					return err
				} else if ok {
					c.ReadPos = last.Pos
				}
			}
			if c.Unread, err = tx.CountInbound(chat, c.ReadPos); err != nil {
				return err
			}
			if _, err := tx.PutConversation(c); err != nil {
				return err
			}
		}
		if h != 0 {
			return e.commitInbound(tx, h)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if fetched {
		// A position this device holds that the node lacks altogether
		// was never published (the tab died between the read and the
		// publish): publish it now, or no other device ever learns it.
		mentioned := map[string]bool{}
		for _, d := range items {
			mentioned[bare(d.Chat)] = true
		}
		convs, err := e.cfg.Store.Conversations(ctx)
		if err != nil {
			return err
		}
		for _, c := range convs {
			if c.ReadUpTo != "" && !mentioned[c.Peer] && c.Kind == store.Chat {
				republish = append(republish, c.Peer)
			}
		}
	}
	if len(republish) > 0 {
		e.mu.Lock()
		for _, c := range republish {
			e.mdsDirty[c] = true
		}
		e.mu.Unlock()
		if err := e.publishDirty(ctx); err != nil && !errors.Is(err, ErrOffline) {
			return err
		}
	}
	return nil
}

// MarkRead records that the user has seen conv up to its newest archived
// message, publishes it for the other devices (now, or on the next
// connection), and tells the peer with a displayed marker (XEP-0333) if
// the account allows it.
func (e *Engine) MarkRead(ctx context.Context, conv string) error {
	conv = bare(conv)
	msgs, err := e.cfg.Store.Messages(ctx, conv, math.MaxInt64, 64)
	if err != nil {
		return err
	}
	var target *store.Message
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].ArchiveID != "" {
			target = &msgs[i]
			break
		}
	}
	if target == nil {
		return nil // nothing the archive knows yet
	}
	var marker []byte
	err = e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		c, ok, err := tx.Conversation(conv)
		if err != nil {
			return err
		}
		if !ok {
			c = store.Conversation{Peer: conv, Kind: store.Chat}
		}
		c.ReadUpTo, c.ReadPos = target.ArchiveID, target.Pos
		if c.Unread, err = tx.CountInbound(conv, c.ReadPos); err != nil {
			return err
		}
		if _, err := tx.PutConversation(c); err != nil {
			return err
		}
		acct, err := tx.Account()
		if err != nil {
			return err
		}
		if acct.SendMarkers && target.Direction == store.Inbound && target.StanzaID != "" {
			marker = stanza.ChatMarker(conv, "chat", e.nextID("mk"), stanza.MarkerDisplayed, target.StanzaID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.mdsDirty[conv] = true
	e.mu.Unlock()
	if marker != nil {
		_ = e.send(marker)
	}
	if err := e.publishDirty(ctx); err != nil && !errors.Is(err, ErrOffline) {
		return err
	}
	return nil
}

// publishDirty publishes the read positions not yet published.
func (e *Engine) publishDirty(ctx context.Context) error {
	e.mu.Lock()
	var convs []string
	for c := range e.mdsDirty {
		convs = append(convs, c)
	}
	e.mu.Unlock()
	for _, conv := range convs {
		var c store.Conversation
		var ok bool
		err := e.cfg.Store.Update(ctx, func(tx store.Tx) error {
			var err error
			c, ok, err = tx.Conversation(conv)
			return err
		})
		if err != nil {
			return err
		}
		if !ok || c.ReadUpTo == "" {
			continue
		}
		id := e.nextID("mdsp")
		d := stanza.Displayed{Chat: conv, StanzaID: stanza.StanzaID{By: e.cfg.Self, ID: c.ReadUpTo}}
		if err := e.call(id, stanza.MDSPublish(id, d), func(_ context.Context, raw []byte) error {
			iq, err := stanza.ParseIQ(raw)
			if err != nil || iq.Error == nil {
				e.published(conv, c.ReadUpTo)
				return nil
			}
			switch iq.Error.Condition {
			case "resource-constraint", "precondition-not-met", "bad-request":
				// A server that knows fewer publish-options (ejabberd
				// 23.01): publish with the ones every PEP service has.
				e.log.Info("read state: publish-options refused; publishing with fewer", "condition", iq.Error.Condition)
				id2 := e.nextID("mdsp")
				return e.call(id2, stanza.MDSPublishCompat(id2, d), func(_ context.Context, raw []byte) error {
					if iq, err := stanza.ParseIQ(raw); err == nil && iq.Error != nil {
						e.log.Warn("read state: publish refused", "condition", iq.Error.Condition)
						e.published(conv, c.ReadUpTo)
						return nil
					}
					e.published(conv, c.ReadUpTo)
					return e.configureMDS(conv)
				})
			}
			e.log.Warn("read state: publish refused", "condition", iq.Error.Condition)
			e.published(conv, c.ReadUpTo)
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// published clears conv's pending publication once the server answered
// (until then a new connection publishes it again), unless the user read
// further meanwhile.
func (e *Engine) published(conv, id string) {
	var c store.Conversation
	_ = e.cfg.Store.Update(context.Background(), func(tx store.Tx) error {
		var err error
		c, _, err = tx.Conversation(conv)
		return err
	})
	if c.ReadUpTo != id {
		return
	}
	e.mu.Lock()
	delete(e.mdsDirty, conv)
	e.mu.Unlock()
}

// RefreshReadState fetches the read state of every conversation from the
// account's node and waits until it is applied (a device that was away
// from notifications, or a final check).
func (e *Engine) RefreshReadState(ctx context.Context) error {
	done := make(chan error, 1)
	id := e.nextID("mds")
	err := e.call(id, mdsItems(id), func(ctx context.Context, raw []byte) error {
		items, err := parseMDSItems(raw)
		if err == nil {
			err = e.applyDisplayed(ctx, items, 0, true)
		}
		done <- err
		return err
	})
	if err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// readPlaced reports whether c's read position is a message the archive has
// placed, held under the id read up to: only such a position can be
// compared with another device's.
func (e *Engine) readPlaced(tx store.Tx, c store.Conversation) (bool, error) {
	if c.ReadUpTo == "" || c.ReadPos == 0 || c.ReadPos >= store.Provisional {
		return false, nil
	}
	m, ok, err := tx.MessageByArchiveID(e.cfg.Self, c.ReadUpTo)
	return ok && m.Pos == c.ReadPos, err
}

// configureMDS raises the node's max_items once per engine after a publish
// without publish-options (ejabberd 23.01 creates PEP nodes with max_items
// 1, so each conversation's item would evict the others'), then publishes
// every conversation's position again: what the small node dropped.
func (e *Engine) configureMDS(conv string) error {
	e.mu.Lock()
	done := e.mdsConfigured
	e.mdsConfigured = true
	e.mu.Unlock()
	if done {
		return nil
	}
	id := e.nextID("mdsc")
	raw := []byte("<iq xmlns='jabber:client' type='set' id='" + id + "'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='" + stanza.NSMDS +
		"'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#node_config</value></field>" +
		"<field var='pubsub#max_items'><value>max</value></field></x></configure></pubsub></iq>")
	return e.call(id, raw, func(ctx context.Context, raw []byte) error {
		if iq, err := stanza.ParseIQ(raw); err == nil && iq.Error != nil {
			e.log.Warn("read state: node configuration refused", "condition", iq.Error.Condition)
			return nil
		}
		cs, err := e.cfg.Store.Conversations(ctx)
		if err != nil {
			return err
		}
		e.mu.Lock()
		for _, c := range cs {
			if c.ReadUpTo != "" {
				e.mdsDirty[c.Peer] = true
			}
		}
		e.mu.Unlock()
		return e.publishDirty(ctx)
	})
}
