package app

// Following the store's change feed: each refresh reads only what changed
// since the last one (conversations, and the open chat's messages), so a tab
// stays current without rereading its history.

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/ui"
)

// feed is a tab's position in the change feed and what it has read.
type feed struct {
	ver      uint64 // store version read up to
	convs    map[string]store.Conversation
	contacts map[string]store.Contact
	roster   []store.Contact
	arch     store.Archive

	chat    string // conversation whose messages are held
	chatVer uint64
	chatLim int
	msgs    map[string]store.Message // by Key
	all     bool                     // msgs reach the conversation's oldest stored message
	marked  string                   // LastKey of the open chat last marked read
}

// notifyStore tells the app about every committed transaction of this tab.
type notifyStore struct {
	store.Store
	changed func()
}

func (s *notifyStore) Update(ctx context.Context, f func(tx store.Tx) error) error {
	err := s.Store.Update(ctx, f)
	if err == nil {
		s.changed()
	}
	return err
}

// refresh reads what changed and shows the new view. It reports whether
// the store had changed.
func (a *App) refresh(ctx context.Context) bool {
	a.mu.Lock()
	st, jid, open, limit := a.st, a.jid, a.open, a.limit
	f := a.feed
	pres := a.presenceSnapshot()
	a.mu.Unlock()
	if st == nil {
		a.show()
		return false
	}
	changed, markRead, err := a.read(ctx, st, jid, open, limit, &f)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("reading the store", "err", err)
		}
		return false
	}
	a.mu.Lock()
	if a.st != st || a.open != open || a.limit != limit {
		// The account or the chat changed meanwhile: read again.
		a.mu.Unlock()
		a.changed()
		return changed
	}
	a.feed = f
	now := a.cfg.Now().Local()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	a.view.Inbox = ui.Inbox{Rows: inboxRows(f.convs, f.contacts, pres), Active: open, Today: today}
	a.view.Contacts = contactsView(f.roster, pres)
	if open == "" {
		a.view.Chat = nil
	} else {
		a.view.Chat = a.chatView(f, open, limit, pres)
	}
	a.mu.Unlock()
	a.show()
	if markRead {
		a.markOpen(ctx, open)
	}
	return changed
}

// read brings f up to date with the store. markRead says the open chat has
// unread messages the visible page now shows.
func (a *App) read(ctx context.Context, st store.Store, jid, open string, limit int, f *feed) (changed, markRead bool, err error) {
	if f.convs == nil {
		f.convs = map[string]store.Conversation{}
	}
	convs, v, err := st.ConversationsSince(ctx, f.ver)
	if err != nil {
		return false, false, err
	}
	changed = v != f.ver
	for _, c := range convs {
		f.convs[c.Peer] = c
	}
	// The roster (small, with no feed of its own) is read again when the
	// store moved.
	if changed || f.contacts == nil {
		if f.roster, err = st.Contacts(ctx); err != nil {
			return false, false, err
		}
		f.contacts = make(map[string]store.Contact, len(f.roster))
		for _, c := range f.roster {
			f.contacts[c.JID] = c
		}
	}
	read := false // messages were read
	if open != "" {
		if f.chat != open || f.chatLim != limit || f.msgs == nil {
			// A new window: read it whole, from the version read above
			// (so nothing committed meanwhile is missed: it comes again).
			ms, err := st.Messages(ctx, open, math.MaxInt64, limit)
			if err != nil {
				return false, false, err
			}
			f.chat, f.chatLim, f.chatVer, f.all = open, limit, f.ver, len(ms) < limit
			f.msgs = make(map[string]store.Message, len(ms))
			for _, m := range ms {
				f.msgs[m.Key] = m
			}
			read = true
		}
		ms, cv, err := st.MessagesSince(ctx, open, f.chatVer)
		if err != nil {
			return false, false, err
		}
		for _, m := range ms {
			f.msgs[m.Key] = m
		}
		read = read || len(ms) > 0
		f.chatVer = max(cv, v)
		if c, ok := f.convs[open]; ok && c.Unread > 0 && c.LastKey != f.marked {
			a.mu.Lock()
			vis := a.visible
			a.mu.Unlock()
			if vis {
				f.marked = c.LastKey
				markRead = true
			}
		}
	} else {
		f.chat, f.msgs = "", nil
	}
	// The archive's coverage (for the gap markers) is read after the
	// messages, each in its own transaction: the sync engine commits a
	// page's messages with the range that covers them, and ranges only
	// grow, so every placed message read here lies in a range read after
	// it. Read before them, a page committed in between showed its
	// messages beyond the coverage, as if the archive had a gap there.
	if changed || read || f.arch.JID == "" {
		if f.arch, err = st.Archive(ctx, jid); err != nil {
			return false, false, err
		}
	}
	f.ver = v
	return changed, markRead, nil
}

// chatView builds the open chat; a.mu is held.
func (a *App) chatView(f feed, open string, limit int, pres map[string]string) *ui.Chat {
	ms := make([]store.Message, 0, len(f.msgs))
	for _, m := range f.msgs {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(x, y store.Message) int {
		return cmp.Or(cmp.Compare(x.Pos, y.Pos), cmp.Compare(x.Key, y.Key))
	})
	old := a.view.Chat
	c := &ui.Chat{
		JID: open, Name: displayName(open, f.contacts), Presence: pres[open],
		Items:   chatItems(ms, f.arch, f.all, time.Local),
		Older:   mayHaveOlder(len(ms), limit, f.arch),
		Loading: a.older,
	}
	if old != nil && old.JID == open {
		c.Draft = old.Draft
	}
	return c
}
