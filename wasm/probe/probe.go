// Package probe checks that an XMPP server can be reached over WebSocket
// (RFC 7395, XMPP Subprotocol for WebSocket) and reports the login
// mechanisms it offers: SASL (RFC 6120 §6) and SASL2 (XEP-0388).
//
// The check opens a stream, reads the server's first stream features and
// closes the stream again without logging in. It runs natively (tests dial a
// local WebSocket server) and in the browser, where coder/websocket uses the
// browser's WebSocket.
package probe

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/coder/websocket"
	"github.com/waxwing-im/waxwing/wasm/client"
)

// Subprotocol is the WebSocket subprotocol of RFC 7395 §3.1.
const Subprotocol = "xmpp"

// closeTimeout bounds closing the stream after the features have arrived.
const closeTimeout = 2 * time.Second

// closeElement ends the stream (RFC 7395 §3.6).
var closeElement = []byte(`<close xmlns='` + NSFraming + `'/>`)

// StreamError is a <stream:error/> sent by the server (RFC 6120 §4.9).
type StreamError = client.StreamError

// DialError reports that the WebSocket could not be opened. Browsers do not
// say why (a refused connection, a TLS failure, a non-WebSocket endpoint and
// a CSP block all look alike), so Error names only the URL; Err holds the
// library's detail for logs.
type DialError struct {
	URL string // the WebSocket URL dialled
	Err error  // the cause, as reported by coder/websocket
}

func (e *DialError) Error() string { return "cannot open a WebSocket to " + e.URL }

// Unwrap returns the underlying dial error.
func (e *DialError) Unwrap() error { return e.Err }

// Check dials wsURL with the "xmpp" subprotocol, opens a stream to domain
// (RFC 7395 §3.4), waits for the server's stream features and returns them.
// It then closes the stream and the WebSocket. ctx bounds the whole check.
func Check(ctx context.Context, wsURL, domain string) (Features, error) {
	c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		return Features{}, &DialError{URL: wsURL, Err: err}
	}
	defer c.CloseNow()
	if p := c.Subprotocol(); p != Subprotocol {
		c.Close(websocket.StatusProtocolError, "xmpp subprotocol required")
		return Features{}, fmt.Errorf("the WebSocket endpoint does not speak XMPP (subprotocol %q, want %q)", p, Subprotocol)
	}
	if err := c.Write(ctx, websocket.MessageText, openElement(domain)); err != nil {
		return Features{}, fmt.Errorf("cannot open the stream: %w", err)
	}
	f, err := readFeatures(ctx, c)
	if err != nil {
		return Features{}, err
	}

	// Close politely but briefly: the answer is already known.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	if c.Write(cctx, websocket.MessageText, closeElement) == nil {
		waitClose(cctx, c)
	}
	c.Close(websocket.StatusNormalClosure, "")
	return f, nil
}

// openElement returns the stream header for domain (RFC 7395 §3.4).
func openElement(domain string) []byte {
	var b bytes.Buffer
	b.WriteString(`<open xmlns='` + NSFraming + `' to='`)
	xml.EscapeText(&b, []byte(domain)) // escapes ' and " too
	b.WriteString(`' version='1.0'/>`)
	return b.Bytes()
}

// readFeatures reads messages until <stream:features/>, a stream error or
// the end of the stream.
func readFeatures(ctx context.Context, c *websocket.Conn) (Features, error) {
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return Features{}, fmt.Errorf("no stream features from the server: %w", ctx.Err())
			}
			return Features{}, fmt.Errorf("the server closed the connection before offering stream features: %w", err)
		}
		if typ != websocket.MessageText {
			return Features{}, errors.New("the server sent a binary WebSocket message; RFC 7395 allows only text")
		}
		switch ns, local := client.ElementName(msg); {
		case local == "" && ns == "":
			return Features{}, errors.New("the server sent malformed XML")
		case local == "features" && ns == client.NSStream:
			return ParseFeatures(msg)
		case local == "error" && ns == client.NSStream:
			return Features{}, fmt.Errorf("the server refused the stream: %w", client.ParseStreamError(msg))
		case local == "close" && ns == NSFraming:
			if uri := client.ElementAttr(msg, "see-other-uri"); uri != "" { // RFC 7395 §3.6.1
				return Features{}, fmt.Errorf("the server redirects to %s", uri)
			}
			return Features{}, errors.New("the server closed the stream before offering stream features")
		}
		// <open/> and anything else: keep reading.
	}
}

// waitClose reads until the server's <close/> or the end of the connection.
func waitClose(ctx context.Context, c *websocket.Conn) {
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		if ns, local := client.ElementName(msg); local == "close" && ns == NSFraming {
			return
		}
	}
}

// ResolveURL returns the absolute WebSocket URL for ref as seen from the page
// at pageURL. ref may be absolute (ws:, wss:, http:, https:) or relative, such
// as "/xmpp"; http and https map to ws and wss, so a page served over TLS
// dials over TLS.
func ResolveURL(pageURL, ref string) (string, error) {
	base, err := url.Parse(pageURL)
	if err != nil {
		return "", fmt.Errorf("bad page URL: %w", err)
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("bad WebSocket URL %q: %w", ref, err)
	}
	u := base.ResolveReference(r)
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("WebSocket URL %q has scheme %q, want ws or wss", ref, u.Scheme)
	}
	if u.Host == "" {
		return "", fmt.Errorf("WebSocket URL %q has no host", ref)
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String(), nil
}
