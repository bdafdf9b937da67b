// Command wasm is Waxwing's browser program, started by static/boot.js in the
// page rendered by ui.Shell. It adapts the browser to package app: the DOM
// (dom_js.go), localStorage, IndexedDB, BroadcastChannel and Web Locks
// (platform_js.go). There is no app logic here.
//
// Start-up order, so that a returning person sees their chats at once:
// paint from IndexedDB (app.Start), then ask for the session lock; the tab
// that gets it connects (resuming the session by token and XEP-0198), the
// others follow it.
//
// DOM contract with the shell (ui.Shell, static/boot.js):
//   - #app[data-ws-url], #app[data-domain]: read at start.
//   - #app[data-boot="ready"]: set as soon as main runs.
//   - #view: where the app renders (see package ui, views.go).
//   - #status[data-state]: the boot state, hidden once the app renders.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"

	"github.com/waxwing-im/waxwing/wasm/app"
	"github.com/waxwing-im/waxwing/wasm/probe"
)

func main() {
	mark("waxwing:go-main")
	root := byID("app")
	if root.missing() || byID("view").missing() {
		fmt.Println("waxwing: the page has no #app or #view element")
		return
	}
	root.call("setAttribute", "data-boot", "ready")
	status := byID("status")

	domain := root.attr("data-domain")
	wsURL, err := probe.ResolveURL(global.get("location", "href").str(), root.attr("data-ws-url"))
	if domain == "" || err != nil {
		msg := "This page does not name an XMPP server. Ask your administrator to check the server configuration."
		if err != nil {
			msg = "This page names no usable WebSocket address: " + err.Error()
		}
		status.set("textContent", msg)
		status.call("setAttribute", "data-state", "error")
		return
	}

	// window.__waxwingStacks() returns the stack of every goroutine: what
	// a stuck page is waiting for, for a person debugging it and for the
	// end-to-end tests' failure reports.
	global.set("__waxwingStacks", funcOf(func(jsv, []jsv) any {
		buf := make([]byte, 1<<20)
		return string(buf[:runtime.Stack(buf, true)])
	}))

	ctx := context.Background()
	d := &dom{ctx: ctx}
	var b *bus
	var a *app.App
	b = openBus(func(m app.Msg) { a.Receive(ctx, m) })
	cfg := app.Config{
		Domain: domain, URL: wsURL,
		Stores: stores{}, Prefs: prefs{}, View: d,
		Log:      slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Software: "Waxwing", Device: global.get("navigator", "userAgent").str(),
	}
	if b != nil {
		cfg.Bus = b
	}
	a, err = app.New(cfg)
	if err != nil {
		status.set("textContent", "Waxwing could not start: "+err.Error())
		status.call("setAttribute", "data-state", "error")
		return
	}
	listen(ctx, a)
	a.Start(ctx)
	status.call("setAttribute", "hidden", "")
	holdSessionLock(func() { a.Lead(ctx) })
	select {} // the app lives as long as the page
}
