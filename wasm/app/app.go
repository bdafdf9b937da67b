// Package app is Waxwing's app logic: what the person sees and does, built on
// the client core (wasm/client), the sync engine (wasm/history) and the
// store. It is portable: the browser program (wasm/*_js.go) gives it a
// Platform (the DOM, localStorage, IndexedDB, BroadcastChannel, Web Locks),
// and native tests give it fakes and real servers.
//
// One session for every tab: every tab of the origin runs an App on the same
// store. The one holding the session lock (the platform calls Lead while it
// holds it) runs the XMPP session; the others are followers. Followers paint
// from the store's change feed, woken by the leader's "changed" messages on
// the bus, and hand their actions to the leader over the bus. What must not
// be lost is written to the shared store first (a message composed in a
// follower goes into the outbox, then the leader is asked to flush it), so a
// leader that dies loses nothing: the next one resumes the session (token +
// XEP-0198) and sends what the store holds.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/history"
	"github.com/waxwing-im/waxwing/wasm/ui"
	"github.com/waxwing-im/waxwing/wasm/xmppws"
)

// View shows a view model; the browser swaps what changed into the DOM.
type View interface {
	Show(v ui.App)
}

// Prefs is a small synchronous key-value store shared by the tabs
// (localStorage): which account is logged in, which chat was open.
type Prefs interface {
	Get(key string) string
	Set(key, value string)
	Delete(key string)
}

// Stores opens and deletes the history database of an account.
type Stores interface {
	Open(ctx context.Context, jid string) (store.Store, error)
	Delete(ctx context.Context, jid string) error
}

// Bus carries Msgs to the app's other tabs (BroadcastChannel); the
// platform passes what it receives to App.Receive.
type Bus interface {
	Post(m Msg)
}

// Prefs keys.
const (
	PrefAccount = "waxwing:account" // bare JID of the logged-in account
	PrefOpen    = "waxwing:open"    // bare JID of the open chat
	PrefPaint   = "waxwing:paint"   // last rendered view, painted by boot.js before the wasm runs
)

// Config configures an App.
type Config struct {
	Domain string          // the deployment's XMPP domain
	URL    string          // WebSocket URL of `waxwing serve`
	Dial   *xmppws.Options // native clients only
	Stores Stores
	Prefs  Prefs
	Bus    Bus // nil: a single tab
	View   View
	Log    *slog.Logger
	Now    func() time.Time
	// Software and Device name this client to the server (SASL2 user agent).
	Software, Device string
	// Window is how many messages a chat shows at first, and how many more
	// each "load older" adds: default 60, within [10, 1000].
	Window int
}

// Validate checks the configuration and fills in the defaults.
func (c *Config) Validate() error {
	switch {
	case c.Domain == "" || strings.ContainsAny(c.Domain, "@/ "):
		return fmt.Errorf("app: Config.Domain %q is not a domain", c.Domain)
	case c.URL == "":
		return errors.New("app: Config.URL is required")
	case c.Stores == nil || c.Prefs == nil || c.View == nil:
		return errors.New("app: Config.Stores, Prefs and View are required")
	}
	if c.Window == 0 {
		c.Window = 60
	}
	if c.Window < 10 || c.Window > 1000 {
		return fmt.Errorf("app: Config.Window %d is outside [10, 1000]", c.Window)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Software == "" {
		c.Software = "Waxwing"
	}
	return nil
}

// App is the app of one tab.
type App struct {
	cfg Config
	log *slog.Logger

	kick chan struct{} // a refresh is due

	mu       sync.Mutex
	jid      string      // account whose store is open, "" for none
	st       store.Store // that store
	eng      *history.Engine
	leader   bool                         // this tab runs the session
	sess     *session                     // the leader's running session
	loginCh  chan loginReq                // login requests for the leader
	view     ui.App                       // what is shown
	feed     feed                         // the change feed's position and caches
	pres     map[string]map[string]string // leader: availability by bare JID and resource
	followed map[string]string            // follower: the leader's snapshot
	presGen  int
	open     string // open chat
	limit    int    // how many messages of the open chat are shown
	visible  bool   // the page is visible and focused
	offline  bool   // the device says it has no network (SetNetwork)
	older    bool   // a fetch of older history is running
	dirty    bool   // this tab committed something the other tabs have not been told

	marks markThrottle // read state published at most once a second
}

type loginReq struct {
	jid, password string
	at            time.Time
}

// New returns the app of one tab; Start paints it.
func New(cfg Config) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{
		cfg: cfg, log: cfg.Log,
		kick:    make(chan struct{}, 1),
		loginCh: make(chan loginReq, 1),
		pres:    map[string]map[string]string{},
		limit:   cfg.Window,
		visible: true,
	}
	a.view.Screen = ui.ScreenLoading
	a.view.Login.Domain = cfg.Domain
	a.view.Connection = connectionView(stateConnecting, nil, nil, false)
	a.view.Follower = true
	return a, nil
}

// Start opens the logged-in account's store, if any, paints the app from it
// and keeps the view current until ctx ends. It returns once the first view
// is shown.
func (a *App) Start(ctx context.Context) {
	jid := a.cfg.Prefs.Get(PrefAccount)
	if jid != "" {
		if err := a.openAccount(ctx, jid); err != nil {
			a.log.Warn("opening the local history", "err", err)
			a.setNotice("Could not open the history stored in this browser: " + err.Error())
		}
	}
	a.mu.Lock()
	if a.jid == "" {
		a.view.Screen = ui.ScreenLogin
		a.view.Connection = connectionView(stateOffline, nil, nil, false)
	} else {
		a.view.Screen = ui.ScreenChats
		a.open = a.cfg.Prefs.Get(PrefOpen)
	}
	a.mu.Unlock()
	a.refresh(ctx)
	go a.refresher(ctx)
	if a.cfg.Bus != nil {
		a.cfg.Bus.Post(Msg{T: msgHello})
	}
}

// openAccount opens jid's store and a sync engine on it (without a client:
// the leader attaches one).
func (a *App) openAccount(ctx context.Context, jid string) error {
	a.mu.Lock()
	if a.jid == jid && a.st != nil {
		a.mu.Unlock()
		return nil
	}
	a.mu.Unlock()
	inner, err := a.cfg.Stores.Open(ctx, jid)
	if err != nil {
		return err
	}
	st := &notifyStore{Store: inner, changed: a.committed}
	eng, err := history.New(history.Config{Store: st, Self: jid, Log: a.log.With("part", "history"), OnPresence: a.setPresence})
	if err != nil {
		inner.Close()
		return err
	}
	a.mu.Lock()
	old := a.st
	a.jid, a.st, a.eng = jid, st, eng
	a.feed = feed{}
	a.view.Self = jid
	a.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// closeAccount closes the open store.
func (a *App) closeAccount() {
	a.mu.Lock()
	st := a.st
	a.jid, a.st, a.eng = "", nil, nil
	a.feed = feed{}
	a.open = ""
	a.view = ui.App{Screen: ui.ScreenLogin, Login: ui.Login{Domain: a.cfg.Domain}, Connection: connectionView(stateOffline, nil, nil, false), Follower: a.view.Follower}
	a.mu.Unlock()
	if st != nil {
		st.Close()
	}
}

// changed is called after every committed store transaction of this tab.
func (a *App) changed() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// committed is called after every committed store transaction of this
// tab: the other tabs are told once the view is refreshed.
func (a *App) committed() {
	a.mu.Lock()
	a.dirty = true
	a.mu.Unlock()
	a.changed()
}

// refresher refreshes the view whenever a change is signalled, coalescing
// bursts: a refresh reads everything that changed since the last one.
func (a *App) refresher(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.kick:
		}
		a.mu.Lock()
		tell := a.dirty
		a.dirty = false
		a.mu.Unlock()
		a.refresh(ctx)
		if tell && a.cfg.Bus != nil {
			a.cfg.Bus.Post(Msg{T: msgChanged})
		}
	}
}

func (a *App) isLeader() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.leader
}

// show hands the current view to the platform.
func (a *App) show() {
	a.mu.Lock()
	v := a.view
	a.mu.Unlock()
	a.cfg.View.Show(v)
}

func (a *App) setNotice(s string) {
	a.mu.Lock()
	a.view.Notice = s
	a.mu.Unlock()
	a.show()
}

// normalizeJID turns what the user typed into the account's bare JID: the
// domain is fixed by the deployment.
func normalizeJID(typed, domain string) (string, error) {
	s := strings.TrimSpace(typed)
	if s == "" {
		return "", errors.New("Enter your address.")
	}
	local, dom, found := strings.Cut(s, "@")
	if !found {
		dom = domain
	}
	if strings.EqualFold(dom, domain) {
		dom = domain
	} else {
		return "", fmt.Errorf("This server serves only addresses ending in @%s.", domain)
	}
	if local == "" || strings.ContainsAny(local, "@/ \"&'<>:") {
		return "", fmt.Errorf("%q is not a valid address.", s)
	}
	return strings.ToLower(local) + "@" + dom, nil
}

// bareJID strips the resource.
func bareJID(jid string) string {
	b, _, _ := strings.Cut(jid, "/")
	return strings.ToLower(b)
}

// resourceOf returns the resource of a full JID, or "".
func resourceOf(jid string) string {
	_, r, _ := strings.Cut(jid, "/")
	return r
}

// maxPos is above every position.
const maxPos = store.Pos(1<<63 - 1)
