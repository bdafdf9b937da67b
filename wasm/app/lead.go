package app

// The leader: the tab holding the session lock runs the XMPP session for
// every tab.

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/client"
	"github.com/waxwing-im/waxwing/wasm/history"
	"github.com/waxwing-im/waxwing/wasm/stanza"
	"github.com/waxwing-im/waxwing/wasm/ui"
)

// session is the leader's running XMPP session.
type session struct {
	cl     *client.Client
	eng    *history.Engine
	cancel context.CancelFunc
	done   chan struct{}
	online bool // it has been online at least once
}

// Lead runs the XMPP session until ctx ends: the platform calls it while
// this tab holds the session lock, and releases the lock when it returns.
// Without a logged-in account it waits for a login (from this tab's form
// or another tab's).
func (a *App) Lead(ctx context.Context) {
	a.mu.Lock()
	a.leader = true
	a.view.Follower = false
	a.mu.Unlock()
	a.log.Info("this tab now holds the session")
	defer func() {
		a.mu.Lock()
		a.leader = false
		a.view.Follower = true
		a.mu.Unlock()
	}()
	a.postStatus()
	a.show()
	var password string
	for ctx.Err() == nil {
		a.mu.Lock()
		jid := a.jid
		needLogin := jid == "" || a.view.Screen == ui.ScreenLogin
		a.mu.Unlock()
		if !needLogin {
			a.dropLogin() // answered by the leader before this tab took over
		} else {
			var req loginReq
			select {
			case <-ctx.Done():
				return
			case req = <-a.loginCh:
			}
			if a.cfg.Now().Sub(req.at) > loginFresh {
				// Asked of a leader that went away long ago.
				a.loginFailed(req.jid, "The sign-in was interrupted. Please try again.")
				continue
			}
			if err := a.openAccount(ctx, req.jid); err != nil {
				a.loginFailed(req.jid, "Could not open the history stored in this browser: "+err.Error())
				continue
			}
			jid, password = req.jid, req.password
		}
		err := a.runSession(ctx, jid, password)
		password = ""
		if err != nil && ctx.Err() == nil {
			a.loginFailed(jid, errorText(err))
		}
	}
}

// loginFresh is how long a login asked while this tab did not hold the
// session may still be carried out when it gets it.
const loginFresh = 30 * time.Second

// requestLogin hands a login to this tab's leader loop, replacing one not
// yet taken. A tab that is not the leader keeps it too: if the leader goes
// before answering, this tab carries it out when it gets the lock.
func (a *App) requestLogin(jid, password string) {
	a.dropLogin()
	select {
	case a.loginCh <- loginReq{jid: jid, password: password, at: a.cfg.Now()}:
	default:
	}
}

// dropLogin forgets a login not yet taken.
func (a *App) dropLogin() {
	select {
	case <-a.loginCh:
	default:
	}
}

// loginFailed shows the login form with why. Without a logged-in account
// the connection bar says only that nothing is connected: nothing waits to
// be sent.
func (a *App) loginFailed(jid, why string) {
	account := a.hasAccount()
	a.mu.Lock()
	a.view.Screen = ui.ScreenLogin
	a.view.Login = ui.Login{Domain: a.cfg.Domain, JID: jid, Error: why}
	if !account && a.view.Connection.State != stateOnline {
		a.view.Connection = connectionView(stateOffline, nil, nil, false)
	}
	a.mu.Unlock()
	a.show()
	a.postStatus()
}

// runSession keeps the account connected until ctx ends, the user logs
// out, or a failure needs the user (wrong password, rejected token), which
// it returns.
func (a *App) runSession(ctx context.Context, jid, password string) error {
	a.mu.Lock()
	st, eng := a.st, a.eng
	a.mu.Unlock()
	if st == nil || eng == nil {
		return errors.New("no account is open")
	}
	fresh := a.cfg.Prefs.Get(PrefAccount) != jid
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &session{eng: eng, cancel: cancel, done: make(chan struct{})}
	cfg := client.Config{
		URL: a.cfg.URL, JID: jid, Dial: a.cfg.Dial,
		Software: a.cfg.Software, Device: a.cfg.Device,
		Log: a.log.With("part", "client"), Now: a.cfg.Now,
	}
	eng.Wire(&cfg)
	var failed error
	s.cl = client.NewClient(cfg, client.Credentials{Password: password}, client.Options{
		OnState: func(ls client.LinkState) {
			if ls.State == client.LinkOnline {
				if !s.online && fresh {
					// The first login of this account on this device
					// succeeded: remember it (never the password).
					a.cfg.Prefs.Set(PrefAccount, jid)
				}
				s.online = true
				go eng.Online(ctx)
			} else if !s.online && fresh && ls.Err != nil {
				// A first login that cannot reach the server is
				// reported on the form rather than retried forever.
				failed = ls.Err
				cancel()
			}
			a.setConnection(ls)
		},
	})
	eng.Attach(s.cl)
	a.mu.Lock()
	a.sess = s
	if a.offline {
		// Opened without a network: wait for it instead of dialling.
		s.cl.SetOnline(false)
	}
	if fresh {
		a.view.Login = ui.Login{Domain: a.cfg.Domain, JID: jid, Busy: true}
	} else {
		a.view.Screen = ui.ScreenChats
	}
	a.mu.Unlock()
	a.show()
	a.postStatus()
	err := s.cl.Run(ctx)
	close(s.done)
	a.mu.Lock()
	if a.sess == s {
		a.sess = nil
	}
	a.pres = map[string]map[string]string{}
	a.presGen++
	a.mu.Unlock()
	if failed != nil {
		return failed
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// setConnection shows a link state change and tells the followers.
func (a *App) setConnection(ls client.LinkState) {
	var stats *client.Stats
	if ls.State == client.LinkOnline {
		stats = &ls.Stats
	}
	account := a.hasAccount()
	a.mu.Lock()
	a.view.Connection = connectionView(ls.State, stats, ls.Err, account)
	if ls.State == client.LinkOnline && a.view.Screen != ui.ScreenChats && a.view.Screen != ui.ScreenContacts {
		a.view.Screen = ui.ScreenChats
		a.view.Login = ui.Login{Domain: a.cfg.Domain}
	}
	a.mu.Unlock()
	a.show()
	a.postStatus()
}

// hasAccount reports whether an account is logged in on this device (its
// first login succeeded, and it has not logged out).
func (a *App) hasAccount() bool { return a.cfg.Prefs.Get(PrefAccount) != "" }

// setPresence records a contact's availability (live only).
func (a *App) setPresence(p stanza.Presence) {
	from := bareJID(p.From)
	res := resourceOf(p.From)
	a.mu.Lock()
	if a.pres[from] == nil {
		a.pres[from] = map[string]string{}
	}
	if s := presenceShow(p.Type, p.Show); s == "" {
		delete(a.pres[from], res)
	} else {
		a.pres[from][res] = s
	}
	a.presGen++
	a.mu.Unlock()
	a.changed()
	a.postStatus()
}

// presenceSnapshot returns each contact's best availability; a.mu is held.
func (a *App) presenceSnapshot() map[string]string {
	if !a.leader {
		return maps.Clone(a.followed)
	}
	out := make(map[string]string, len(a.pres))
	for jid, rs := range a.pres {
		best := ""
		for _, s := range rs {
			if rank(s) > rank(best) {
				best = s
			}
		}
		if best != "" {
			out[jid] = best
		}
	}
	return out
}

// rank orders availabilities: the most reachable wins.
func rank(show string) int {
	switch show {
	case "chat":
		return 5
	case "available":
		return 4
	case "away":
		return 3
	case "xa":
		return 2
	case "dnd":
		return 1
	}
	return 0
}

// leaderDo runs an action a follower handed over.
func (a *App) leaderDo(ctx context.Context, m Msg) {
	a.mu.Lock()
	eng := a.eng
	a.mu.Unlock()
	if eng == nil {
		return
	}
	var err error
	switch m.T {
	case msgFlush:
		err = eng.Flush(ctx)
	case msgRead:
		err = eng.MarkRead(ctx, m.JID)
	case msgOlder:
		err = a.fetchOlder(ctx)
	case msgContact:
		err = a.contactOp(ctx, eng, m.Op, m.JID, m.Name)
	}
	if err != nil {
		a.log.Warn("doing what another tab asked", "t", m.T, "err", err)
	}
}

// contactOp changes the roster.
func (a *App) contactOp(ctx context.Context, eng *history.Engine, op, jid, name string) error {
	switch op {
	case "add":
		return eng.AddContact(ctx, jid, name)
	case "accept":
		return eng.Accept(ctx, jid)
	case "deny":
		return eng.Deny(ctx, jid)
	case "remove":
		return eng.RemoveContact(ctx, jid)
	}
	return errors.New("unknown contact operation " + op)
}

// wipeSession forgets the FAST token and the XEP-0198 state.
func wipeSession(ctx context.Context, st store.Store) error {
	return st.UpdateState(ctx, func(s *store.Session) error {
		*s = store.Session{DeviceID: s.DeviceID}
		return nil
	})
}
