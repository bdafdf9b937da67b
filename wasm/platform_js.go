package main

// The app's platform in the browser: localStorage (app.Prefs), IndexedDB
// (app.Stores), BroadcastChannel (app.Bus) and the Web Locks API (the
// session lock, which the service worker can take the same way).

import (
	"context"
	"encoding/json"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/app"
)

// prefs is app.Prefs on localStorage.
type prefs struct{}

func (prefs) storage() jsv { return global.get("localStorage") }

func (p prefs) Get(key string) string { return p.storage().call("getItem", key).str() }

func (p prefs) Set(key, value string) { p.storage().call("setItem", key, value) }

func (p prefs) Delete(key string) { p.storage().call("removeItem", key) }

// stores is app.Stores on IndexedDB: one database per account.
type stores struct{}

func dbName(jid string) string { return "waxwing:" + jid }

func (stores) Open(ctx context.Context, jid string) (store.Store, error) {
	return store.OpenIndexedDB(ctx, dbName(jid))
}

func (stores) Delete(ctx context.Context, jid string) error {
	return store.DeleteIndexedDB(ctx, dbName(jid))
}

// busName is the BroadcastChannel of the app's tabs (and, later, its
// service worker).
const busName = "waxwing"

// bus is app.Bus on a BroadcastChannel.
type bus struct{ ch jsv }

// openBus opens the channel and passes what other tabs post to recv
// (outside the JS event loop).
func openBus(recv func(app.Msg)) *bus {
	ctor := global.get("BroadcastChannel")
	if ctor.missing() {
		return nil
	}
	b := &bus{ch: ctor.new(busName)}
	b.ch.set("onmessage", funcOf(func(_ jsv, args []jsv) any {
		if len(args) == 0 {
			return nil
		}
		var m app.Msg
		if err := json.Unmarshal([]byte(args[0].get("data").str()), &m); err != nil {
			logErr("bus message", err)
			return nil
		}
		go recv(m)
		return nil
	}))
	return b
}

func (b *bus) Post(m app.Msg) {
	data, err := json.Marshal(m)
	if err != nil {
		logErr("bus post", err)
		return
	}
	b.ch.call("postMessage", string(data))
}

// lockName is the session lock: whoever holds it runs the XMPP session.
const lockName = "waxwing-session"

// holdSessionLock asks for the session lock and calls lead while this tab
// holds it; the lock is released when lead returns (or the tab goes away).
// Without the Web Locks API the tab leads at once.
func holdSessionLock(lead func()) {
	locks := global.get("navigator", "locks")
	if locks.missing() {
		go lead()
		return
	}
	locks.call("request", lockName, funcOf(func(_ jsv, _ []jsv) any {
		// Hold the lock until lead returns: the callback's promise.
		return global.get("Promise").new(funcOf(func(_ jsv, args []jsv) any {
			resolve := args[0]
			go func() {
				defer resolve.v.Invoke()
				lead()
			}()
			return nil
		})).v
	}))
}
