// Command wasm is Waxwing's browser program, started by static/boot.js in the
// page rendered by ui.Shell.
//
// For now it checks that the organisation's XMPP server is reachable through
// the WebSocket endpoint named in the page (RFC 7395) and shows which login
// mechanisms the server offers. It only adapts the DOM to package probe.
//
// DOM contract (see ui.Shell and static/boot.js):
//   - #app[data-ws-url], #app[data-domain]: read at start.
//   - #app[data-boot="ready"]: set as soon as main runs.
//   - #status[data-state]: "checking", then "reachable" or "unreachable";
//     the text says the same for people.
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hack-pad/safejs"

	"github.com/waxwing-im/waxwing/wasm/probe"
)

// checkTimeout bounds the reachability check, WebSocket dial included.
const checkTimeout = 15 * time.Second

func main() {
	s, err := findShell()
	if err != nil {
		fmt.Println("waxwing:", err)
		return
	}
	s.setAttr(s.app, "data-boot", "ready")

	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	state, text := check(ctx, s)
	cancel()
	s.setStatus(state, text)
	fmt.Println("waxwing:", text)

	select {} // keep the program alive for the UI to come
}

// check runs the connection check described by the page and returns the
// status to show.
func check(ctx context.Context, s shell) (state, text string) {
	domain := s.attr(s.app, "data-domain")
	if domain == "" {
		return "unreachable", "This page does not name an XMPP server (data-domain is empty). Ask your administrator to check the server configuration."
	}
	href, err := s.locationHref()
	if err != nil {
		return "unreachable", fmt.Sprintf("Server %s unreachable: %v", domain, err)
	}
	wsURL, err := probe.ResolveURL(href, s.attr(s.app, "data-ws-url"))
	if err != nil {
		return "unreachable", fmt.Sprintf("Server %s unreachable: %v", domain, err)
	}

	s.setStatus("checking", "Connecting to "+domain+"…")
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := s.onCSPViolation("connect-src", func() { cancel(errCSPBlocked) })
	defer stop()
	f, err := probe.Check(ctx, wsURL, domain)
	if err != nil {
		if de := (*probe.DialError)(nil); errors.As(err, &de) {
			fmt.Println("waxwing: dial:", de.Err)
		}
		if context.Cause(ctx) == errCSPBlocked {
			return "unreachable", fmt.Sprintf("Server %s unreachable: the page's Content-Security-Policy (connect-src) does not allow %s. Ask your administrator to check the server configuration.", domain, wsURL)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return "unreachable", fmt.Sprintf("Server %s unreachable: no answer within %v.", domain, checkTimeout)
		}
		return "unreachable", fmt.Sprintf("Server %s unreachable: %v", domain, err)
	}
	return "reachable", f.Summary(domain)
}

// errCSPBlocked cancels the check when the browser blocks the WebSocket.
// Browsers report that only as a securitypolicyviolation event; the socket
// itself never opens or fails.
var errCSPBlocked = errors.New("blocked by Content-Security-Policy")

// onCSPViolation calls fn when the page's CSP blocks something under
// directive, and returns a function that stops listening.
func (s shell) onCSPViolation(directive string, fn func()) (stop func()) {
	doc, err := s.window.Get("document")
	if err != nil {
		return func() {}
	}
	listener, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		if len(args) > 0 {
			if d, err := args[0].Get("effectiveDirective"); err == nil {
				if ds, err := d.String(); err == nil && ds == directive {
					fn()
				}
			}
		}
		return nil
	})
	if err != nil {
		return func() {}
	}
	if _, err := doc.Call("addEventListener", "securitypolicyviolation", listener); err != nil {
		listener.Release()
		return func() {}
	}
	return func() {
		doc.Call("removeEventListener", "securitypolicyviolation", listener)
		listener.Release()
	}
}

// shell holds the elements of the page rendered by ui.Shell.
type shell struct {
	window, app, status safejs.Value
}

func findShell() (shell, error) {
	s := shell{window: safejs.Global()}
	doc, err := s.window.Get("document")
	if err != nil {
		return s, err
	}
	for _, e := range []struct {
		id  string
		dst *safejs.Value
	}{{"app", &s.app}, {"status", &s.status}} {
		v, err := doc.Call("getElementById", e.id)
		if err != nil {
			return s, err
		}
		if v.IsNull() {
			return s, fmt.Errorf("the page has no #%s element", e.id)
		}
		*e.dst = v
	}
	return s, nil
}

// attr returns an attribute of el, or "" if it is absent.
func (s shell) attr(el safejs.Value, name string) string {
	v, err := el.Call("getAttribute", name)
	if err != nil || v.IsNull() {
		return ""
	}
	str, err := v.String()
	if err != nil {
		return ""
	}
	return str
}

func (s shell) setAttr(el safejs.Value, name, value string) {
	if _, err := el.Call("setAttribute", name, value); err != nil {
		fmt.Println("waxwing: setAttribute:", err)
	}
}

// setStatus shows text in #status and sets its data-state.
func (s shell) setStatus(state, text string) {
	if err := s.status.Set("textContent", text); err != nil {
		fmt.Println("waxwing: set status:", err)
	}
	s.setAttr(s.status, "data-state", state)
}

func (s shell) locationHref() (string, error) {
	loc, err := s.window.Get("location")
	if err != nil {
		return "", err
	}
	href, err := loc.Get("href")
	if err != nil {
		return "", err
	}
	return href.String()
}
