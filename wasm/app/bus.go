package app

// The tab bus: what tabs tell each other over BroadcastChannel. Only the
// leader runs the session; followers send it their actions, and it tells
// them the connection state and that the store has changed.

import (
	"context"
	"maps"

	"github.com/waxwing-im/waxwing/wasm/ui"
)

// Msg is one message on the tab bus (JSON over BroadcastChannel).
type Msg struct {
	T string `json:"t"` // one of the msg* kinds

	// msgStatus: the leader's connection bar and account.
	Conn    *ui.Connection    `json:"conn,omitempty"`
	Account string            `json:"account,omitempty"`
	Pres    map[string]string `json:"pres,omitempty"`
	Login   *ui.Login         `json:"login,omitempty"`

	// Actions a follower hands to the leader.
	JID      string `json:"jid,omitempty"`
	Name     string `json:"name,omitempty"`
	Password string `json:"password,omitempty"` // msgLogin only; never stored
	Op       string `json:"op,omitempty"`       // msgContact: add, accept, deny, remove
	Wipe     bool   `json:"wipe,omitempty"`     // msgLogout
}

// Bus message kinds.
const (
	msgHello   = "hello"   // a tab started: the leader answers with its status
	msgStatus  = "status"  // leader → followers: connection, account, presence
	msgChanged = "changed" // the store changed: refresh
	msgLogin   = "login"   // follower → leader: log in with JID and Password
	msgFlush   = "flush"   // follower → leader: the outbox has something
	msgRead    = "read"    // follower → leader: JID was read
	msgOlder   = "older"   // follower → leader: fetch older history
	msgContact = "contact" // follower → leader: Op on JID (Name)
	msgLogout  = "logout"  // any → all: log out (Wipe: delete the history)
)

// Receive handles a message from another tab.
func (a *App) Receive(ctx context.Context, m Msg) {
	leader := a.isLeader()
	switch m.T {
	case msgHello:
		if leader {
			a.postStatus()
		}
	case msgStatus:
		if leader {
			return // a stale leader's last words
		}
		a.followStatus(ctx, m)
	case msgChanged:
		a.changed()
	case msgLogin:
		if leader {
			a.requestLogin(m.JID, m.Password)
		}
	case msgFlush, msgRead, msgOlder, msgContact:
		if leader {
			a.leaderDo(ctx, m)
		}
	case msgLogout:
		a.logout(ctx, m.Wipe, false)
	}
}

// postStatus tells the followers the leader's state.
func (a *App) postStatus() {
	if a.cfg.Bus == nil {
		return
	}
	a.mu.Lock()
	conn := a.view.Connection
	login := a.view.Login
	m := Msg{T: msgStatus, Conn: &conn, Account: a.jid, Pres: a.presenceSnapshot(), Login: &login}
	a.mu.Unlock()
	a.cfg.Bus.Post(m)
}

// followStatus shows the leader's state in a follower.
func (a *App) followStatus(ctx context.Context, m Msg) {
	a.mu.Lock()
	jid := a.jid
	a.mu.Unlock()
	if m.Account != "" || (m.Login != nil && m.Login.Error != "") {
		a.dropLogin() // the leader has answered it
	}
	if m.Account != "" && m.Account != jid {
		// The leader logged in: follow the same account.
		if err := a.openAccount(ctx, m.Account); err != nil {
			a.setNotice("Could not open the history stored in this browser: " + err.Error())
			return
		}
		a.mu.Lock()
		a.view.Screen = ui.ScreenChats
		a.mu.Unlock()
	}
	a.mu.Lock()
	if m.Conn != nil {
		a.view.Connection = *m.Conn
	}
	if m.Login != nil && a.view.Screen == ui.ScreenLogin {
		a.view.Login.Error, a.view.Login.Busy = m.Login.Error, m.Login.Busy
	}
	if m.Pres != nil {
		a.followed = maps.Clone(m.Pres)
		a.presGen++
	}
	a.mu.Unlock()
	a.changed()
}
