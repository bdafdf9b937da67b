package app

// What the person does: the DOM's data-action controls, as Actions.

import (
	"context"
	"errors"
	"strings"

	"github.com/waxwing-im/waxwing/wasm/history"
	"github.com/waxwing-im/waxwing/wasm/ui"
)

// Action is one thing the person did (the data-action of a control, with
// the values of its form).
type Action struct {
	Name     string // login, send, open, older, nav, back, add-contact, accept, deny, remove, logout, draft
	JID      string
	Password string
	Body     string
	Contact  string // add-contact: the name to give
	Screen   string // nav
	Wipe     bool   // logout
}

// Do performs an action. It never blocks on the network.
func (a *App) Do(ctx context.Context, act Action) {
	switch act.Name {
	case "login":
		a.login(act.JID, act.Password)
	case "send":
		a.send(ctx, act.Body)
	case "draft":
		a.mu.Lock()
		if a.view.Chat != nil {
			a.view.Chat.Draft = act.Body
		}
		a.mu.Unlock()
	case "open":
		a.openChat(bareJID(act.JID))
	case "back":
		a.openChat("")
	case "nav":
		a.mu.Lock()
		if a.jid != "" {
			switch ui.Screen(act.Screen) {
			case ui.ScreenChats, ui.ScreenContacts:
				a.view.Screen = ui.Screen(act.Screen)
			}
		}
		a.mu.Unlock()
		a.show()
	case "older":
		a.showOlder(ctx)
	case "add-contact", "accept", "deny", "remove":
		op := strings.TrimSuffix(act.Name, "-contact")
		a.contact(ctx, op, act.JID, act.Contact)
	case "logout":
		a.logout(ctx, act.Wipe, true)
	default:
		a.log.Info("unknown action", "name", act.Name)
	}
}

// SetVisible tells the app whether the page is visible and focused: only
// then does an open chat count as read.
func (a *App) SetVisible(v bool) {
	a.mu.Lock()
	a.visible = v
	a.feed.marked = ""
	a.mu.Unlock()
	if v {
		a.changed()
	}
}

// SetNetwork tells the leader's client whether the device is online; a
// session started later (the page opened offline) starts offline too.
func (a *App) SetNetwork(online bool) {
	a.mu.Lock()
	a.offline = !online // for a session started later
	s := a.sess
	a.mu.Unlock()
	if s != nil {
		s.cl.SetOnline(online)
	}
}

func (a *App) login(typed, password string) {
	jid, err := normalizeJID(typed, a.cfg.Domain)
	if err == nil && password == "" {
		err = errors.New("Enter your password.")
	}
	if err != nil {
		a.mu.Lock()
		a.view.Login = ui.Login{Domain: a.cfg.Domain, JID: typed, Error: err.Error()}
		a.mu.Unlock()
		a.show()
		return
	}
	a.mu.Lock()
	a.view.Login = ui.Login{Domain: a.cfg.Domain, JID: jid, Busy: true}
	leader := a.leader
	a.mu.Unlock()
	a.show()
	a.requestLogin(jid, password)
	if !leader && a.cfg.Bus != nil {
		a.cfg.Bus.Post(Msg{T: msgLogin, JID: jid, Password: password})
	}
}

// send stores a message in the outbox (sent now by the leader, or when the
// connection returns).
func (a *App) send(ctx context.Context, body string) {
	if strings.TrimSpace(body) == "" {
		return
	}
	a.mu.Lock()
	eng, to, leader := a.eng, a.open, a.leader
	if a.view.Chat != nil {
		a.view.Chat.Draft = ""
	}
	a.mu.Unlock()
	if eng == nil || to == "" {
		return
	}
	if _, err := eng.Send(ctx, to, body); err != nil && !errors.Is(err, history.ErrOffline) {
		a.setNotice("The message could not be stored: " + err.Error())
		return
	}
	if !leader && a.cfg.Bus != nil {
		a.cfg.Bus.Post(Msg{T: msgFlush})
	}
}

// openChat opens a conversation ("" closes it).
func (a *App) openChat(jid string) {
	a.mu.Lock()
	if a.jid == "" {
		a.mu.Unlock()
		return
	}
	if jid != a.open {
		a.open = jid
		a.limit = a.cfg.Window
		a.feed.msgs = nil
		a.feed.marked = ""
	}
	a.view.Screen = ui.ScreenChats
	a.mu.Unlock()
	if jid == "" {
		a.cfg.Prefs.Delete(PrefOpen)
	} else {
		a.cfg.Prefs.Set(PrefOpen, jid)
	}
	a.changed()
}

// markRead records that the open chat was read (XEP-0490, and a displayed
// marker if the account allows it).
func (a *App) markRead(ctx context.Context, jid string) {
	a.mu.Lock()
	eng, leader := a.eng, a.leader
	a.mu.Unlock()
	if eng == nil {
		return
	}
	if leader || a.cfg.Bus == nil {
		if err := eng.MarkRead(ctx, jid); err != nil {
			a.log.Warn("marking read", "err", err)
		}
		return
	}
	a.cfg.Bus.Post(Msg{T: msgRead, JID: jid})
}

// showOlder shows older messages: from the store first, then from the archive.
func (a *App) showOlder(ctx context.Context) {
	a.mu.Lock()
	if a.open == "" || a.older {
		a.mu.Unlock()
		return
	}
	all := a.feed.all && a.feed.chat == a.open
	a.limit += a.cfg.Window
	leader := a.leader
	if all {
		a.older = true
	}
	a.mu.Unlock()
	if !all {
		a.changed() // the store holds more: a wider window is enough
		return
	}
	if !leader && a.cfg.Bus != nil {
		a.cfg.Bus.Post(Msg{T: msgOlder})
		a.mu.Lock()
		a.older = false
		a.mu.Unlock()
		return
	}
	go func() {
		if err := a.fetchOlder(ctx); err != nil {
			a.log.Info("fetching older history", "err", err)
		}
	}()
}

// fetchOlder pages the archive backwards until the open chat gains a
// window of messages, the archive ends, or a few pages brought none.
func (a *App) fetchOlder(ctx context.Context) error {
	defer func() {
		a.mu.Lock()
		a.older = false
		a.mu.Unlock()
		a.changed()
	}()
	a.mu.Lock()
	eng, st, conv := a.eng, a.st, a.open
	a.mu.Unlock()
	if eng == nil || conv == "" {
		return nil
	}
	a.changed() // show "loading"
	before, err := st.Messages(ctx, conv, maxPos, 0)
	if err != nil {
		return err
	}
	for range 5 {
		more, err := eng.FetchOlder(ctx)
		if err != nil || !more {
			return err
		}
		now, err := st.Messages(ctx, conv, maxPos, 0)
		if err != nil {
			return err
		}
		if len(now)-len(before) >= a.cfg.Window {
			return nil
		}
	}
	return nil
}

// contact changes the roster, through the leader.
func (a *App) contact(ctx context.Context, op, jid, name string) {
	a.mu.Lock()
	eng, leader := a.eng, a.leader
	a.view.Contacts.Error = ""
	a.mu.Unlock()
	if eng == nil {
		return
	}
	if op == "add" {
		b := bareJID(strings.TrimSpace(jid))
		if !strings.Contains(b, "@") {
			b += "@" + a.cfg.Domain
		}
		jid = b
	}
	if !leader && a.cfg.Bus != nil {
		a.cfg.Bus.Post(Msg{T: msgContact, Op: op, JID: jid, Name: name})
		return
	}
	if err := a.contactOp(ctx, eng, op, jid, name); err != nil {
		a.mu.Lock()
		a.view.Contacts.Error = strings.TrimPrefix(err.Error(), "history: ")
		a.mu.Unlock()
		a.show()
	}
}

// logout ends the session, forgets the token and session state, and,
// if wipe, deletes the local history. local says the person did it here
// (the other tabs are told).
func (a *App) logout(ctx context.Context, wipe, local bool) {
	if local && a.cfg.Bus != nil {
		a.cfg.Bus.Post(Msg{T: msgLogout, Wipe: wipe})
	}
	a.mu.Lock()
	s, st, jid, leader := a.sess, a.st, a.jid, a.leader
	a.mu.Unlock()
	if s != nil {
		if cur := s.cl.Session(); cur != nil {
			_ = cur.Close() // the server ends the session: no resumption
		}
		s.cancel()
		<-s.done
	}
	if st != nil && (leader || local) {
		if err := wipeSession(ctx, st); err != nil {
			a.log.Warn("forgetting the session", "err", err)
		}
	}
	a.cfg.Prefs.Delete(PrefAccount)
	a.cfg.Prefs.Delete(PrefOpen)
	a.cfg.Prefs.Delete(PrefPaint)
	a.closeAccount()
	if wipe && jid != "" && (leader || local) {
		if err := a.cfg.Stores.Delete(ctx, jid); err != nil {
			a.log.Warn("deleting the local history", "err", err)
		}
	}
	a.mu.Lock()
	a.view.Notice = "Logged out."
	if wipe {
		a.view.Notice = "Logged out; the history on this device was deleted."
	}
	a.mu.Unlock()
	a.show()
}
