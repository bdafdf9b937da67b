package main

// The DOM: app.View renders view models into #view (only the regions that
// changed, app.Diff), and one set of delegated listeners turns the page's
// data-action controls into app.Actions.

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/hack-pad/safejs"

	"github.com/waxwing-im/waxwing/wasm/app"
	"github.com/waxwing-im/waxwing/wasm/ui"
)

// dom is app.View in the page.
type dom struct {
	ctx context.Context

	mu          sync.Mutex
	shown       *ui.App      // nil until the first render
	snapFn      *safejs.Func // saves the snapshot (setTimeout)
	snapPending bool         // a save is scheduled
}

// Show renders v. It runs on app goroutines; DOM calls from Go are
// synchronous and safe from any goroutine under js/wasm.
func (d *dom) Show(v ui.App) {
	d.mu.Lock()
	defer d.mu.Unlock()
	patches, err := app.Diff(d.ctx, d.shown, v)
	if err != nil {
		logErr("render", err)
		return
	}
	if len(patches) == 0 {
		return
	}
	msgs := byID("messages")
	atBottom := msgs.missing() || msgs.get("scrollHeight").num()-msgs.get("scrollTop").num()-msgs.get("clientHeight").num() < 48
	if !d.apply(patches) {
		// The page was not what the diff assumed: render it whole.
		full, err := app.Diff(d.ctx, nil, v)
		if err != nil {
			logErr("render", err)
			return
		}
		d.apply(full)
	}
	shown := v
	d.shown = &shown
	if msgs := byID("messages"); !msgs.missing() && (atBottom || d.firstChat(patches)) {
		msgs.set("scrollTop", msgs.get("scrollHeight").num())
	}
	if v.Screen == ui.ScreenChats && byID("view").get("dataset").get("painted").str() == "" {
		byID("view").get("dataset").set("painted", "store")
		mark("waxwing:store-painted")
	}
	d.saveSnapshotSoon(v)
}

// firstChat reports whether the patches render a chat anew (scroll to its
// newest message).
func (d *dom) firstChat(ps []app.Patch) bool {
	for _, p := range ps {
		if p.Op == app.OpView || p.ID == "messages" {
			return true
		}
	}
	return false
}

// apply applies patches; false if an element they target is missing.
func (d *dom) apply(ps []app.Patch) bool {
	for _, p := range ps {
		switch p.Op {
		case app.OpView:
			byID("view").set("innerHTML", p.HTML)
		case app.OpReplace:
			el := byID(p.ID)
			if el.missing() {
				return false
			}
			el.set("outerHTML", p.HTML)
		case app.OpAppend:
			el := byID(p.ID)
			if el.missing() {
				return false
			}
			el.call("insertAdjacentHTML", "beforeend", p.HTML)
		}
	}
	return true
}

// saveSnapshotSoon saves the rendered view for boot.js to paint on the
// next visit before the wasm has loaded (at most once a second).
func (d *dom) saveSnapshotSoon(v ui.App) {
	if v.Screen != ui.ScreenChats {
		prefs{}.Delete(app.PrefPaint)
		return
	}
	if d.snapPending {
		return
	}
	if d.snapFn == nil {
		// One JS function for every save: a FuncOf per timer would never
		// be released.
		f := funcOf(func(jsv, []jsv) any {
			d.mu.Lock()
			d.snapPending = false
			d.mu.Unlock()
			saveSnapshot()
			return nil
		})
		d.snapFn = &f
	}
	d.snapPending = true
	global.call("setTimeout", *d.snapFn, 1000)
}

func saveSnapshot() {
	html := byID("view").get("innerHTML").str()
	if html == "" {
		return
	}
	b, err := json.Marshal(struct {
		V    int    `json:"v"`
		HTML string `json:"html"`
		At   int64  `json:"at"`
	}{1, html, time.Now().UnixMilli()})
	if err == nil {
		prefs{}.Set(app.PrefPaint, string(b))
	}
}

// listen turns the page's events into app actions.
func listen(ctx context.Context, a *app.App) {
	doc := document()
	do := func(act app.Action) { go a.Do(ctx, act) }

	doc.call("addEventListener", "submit", funcOf(func(_ jsv, args []jsv) any {
		ev := args[0]
		form := ev.get("target")
		name := form.attr("data-action")
		if name == "" {
			return nil
		}
		ev.call("preventDefault")
		act := app.Action{Name: name}
		field := func(n string) jsv { return form.call("querySelector", "[name='"+n+"']") }
		switch name {
		case "login":
			act.JID, act.Password = field("jid").get("value").str(), field("password").get("value").str()
			field("password").set("value", "")
		case "send":
			act.Body = field("body").get("value").str()
			field("body").set("value", "")
		case "add-contact":
			act.JID, act.Contact = field("jid").get("value").str(), field("name").get("value").str()
			field("jid").set("value", "")
			if n := field("name"); !n.missing() {
				n.set("value", "")
			}
		case "logout":
			act.Wipe = field("wipe").get("checked").truthy()
		}
		do(act)
		return nil
	}), true)

	doc.call("addEventListener", "click", funcOf(func(_ jsv, args []jsv) any {
		ev := args[0]
		el := ev.get("target").closest("[data-action]")
		if el.missing() || el.get("tagName").str() == "FORM" {
			return nil
		}
		name := el.attr("data-action")
		switch name {
		case "open", "older", "nav", "back", "accept", "deny", "remove":
			ev.call("preventDefault")
			do(app.Action{Name: name, JID: el.attr("data-jid"), Screen: el.attr("data-screen")})
		}
		return nil
	}), true)

	// Enter sends, Shift+Enter is a new line.
	doc.call("addEventListener", "keydown", funcOf(func(_ jsv, args []jsv) any {
		ev := args[0]
		t := ev.get("target")
		if t.attr("data-testid") != "composer" || ev.get("key").str() != "Enter" ||
			ev.get("shiftKey").truthy() || ev.get("isComposing").truthy() {
			return nil
		}
		ev.call("preventDefault")
		body := t.get("value").str()
		t.set("value", "")
		do(app.Action{Name: "send", Body: body})
		return nil
	}), true)

	doc.call("addEventListener", "input", funcOf(func(_ jsv, args []jsv) any {
		t := args[0].get("target")
		if t.attr("data-testid") == "composer" {
			a.Do(ctx, app.Action{Name: "draft", Body: t.get("value").str()}) // memory only: does not block
		}
		return nil
	}), true)

	// Scrolling to the top of a chat loads older messages.
	doc.call("addEventListener", "scroll", funcOf(func(_ jsv, args []jsv) any {
		t := args[0].get("target")
		if t.missing() || t.get("id").str() != "messages" {
			return nil
		}
		if t.get("scrollTop").num() < 40 {
			do(app.Action{Name: "older"})
		}
		return nil
	}), true)

	visible := func() bool {
		// Visible is enough: headless and split-screen pages may never
		// have focus while the person reads them.
		return document().get("visibilityState").str() == "visible"
	}
	onVis := funcOf(func(jsv, []jsv) any {
		v := visible()
		go a.SetVisible(v)
		return nil
	})
	doc.call("addEventListener", "visibilitychange", onVis)
	go a.SetVisible(visible())

	// A page opened offline gets no "offline" event: say so at once, so
	// that the session waits for the network instead of dialling.
	if !global.get("navigator", "onLine").truthy() {
		a.SetNetwork(false)
	}
	global.call("addEventListener", "online", funcOf(func(jsv, []jsv) any {
		go a.SetNetwork(true)
		return nil
	}))
	global.call("addEventListener", "offline", funcOf(func(jsv, []jsv) any {
		go a.SetNetwork(false)
		return nil
	}))
	// Save the view as the person leaves, for the next visit's first paint.
	global.call("addEventListener", "pagehide", funcOf(func(jsv, []jsv) any {
		if byID("view").get("dataset").get("painted").str() == "store" {
			saveSnapshot()
		}
		return nil
	}))
}
