//go:build !js

package e2e

// Native XMPP sessions for the end-to-end tests: the people on the other
// side of the web app (a peer that sends bursts) and the seeding of real
// archives. They log in over Prosody's own RFC 7395 endpoint, not through
// the relay under test.

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/wasm/xmppws"
)

// nativeClient is a logged-in native session that auto-approves
// subscription requests, answers every request IQ with an error, and counts
// the chat messages it receives by body prefix.
type nativeClient struct {
	addr jid.JID // the bound full JID
	conn *xmppws.Conn
	sess *xmpp.Session
	done chan error // Serve's result

	mu       sync.Mutex
	bodies   []string      // bodies of chat messages received, in order
	changed  chan struct{} // closed and replaced at every received message
	handlerE error
}

// wsStanza is any top-level element, decoded as far as these sessions need.
type wsStanza struct {
	XMLName xml.Name
	ID      string    `xml:"id,attr"`
	Type    string    `xml:"type,attr"`
	From    string    `xml:"from,attr"`
	Body    string    `xml:"body"`
	Roster  *struct{} `xml:"jabber:iq:roster query"`
}

// chatMessage is an outgoing chat message.
type chatMessage struct {
	stanza.Message
	Body string `xml:"body"`
}

// dialNative logs user@srv.Domain in over Prosody's WebSocket endpoint,
// starts serving the session and sends initial presence.
func dialNative(ctx context.Context, srv *xmppd.Server, user, pass string) (*nativeClient, error) {
	conn, err := xmppws.Dial(ctx, srv.WebSocketURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: dial %s: %w", user, srv.WebSocketURL, err)
	}
	addr := jid.MustParse(user + "@" + srv.Domain)
	sess, err := xmppws.NewSession(ctx, conn, addr, pass)
	if err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("%s: login: %w", user, err)
	}
	c := &nativeClient{addr: sess.LocalAddr(), conn: conn, sess: sess, done: make(chan error, 1), changed: make(chan struct{})}
	go func() { c.done <- sess.Serve(xmpp.HandlerFunc(c.handle)) }()
	if err := c.raw(ctx, "<presence xmlns='jabber:client'/>"); err != nil {
		c.close()
		return nil, fmt.Errorf("%s: initial presence: %w", user, err)
	}
	return c, nil
}

func (c *nativeClient) handle(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	var in wsStanza
	if err := xml.NewTokenDecoder(xmlstream.MultiReader(xmlstream.Token(*start), t)).Decode(&in); err != nil {
		c.mu.Lock()
		c.handlerE = errors.Join(c.handlerE, fmt.Errorf("decode <%s>: %w", start.Name.Local, err))
		c.mu.Unlock()
		return nil
	}
	switch {
	case in.XMLName.Local == "presence" && in.Type == "subscribe":
		return c.reply(t, fmt.Sprintf("<presence xmlns='jabber:client' to='%s' type='subscribed'/>", xmlEscape(in.From)))
	case in.XMLName.Local == "iq" && (in.Type == "get" || in.Type == "set"):
		to := ""
		if in.From != "" {
			to = " to='" + xmlEscape(in.From) + "'"
		}
		if in.Roster != nil && in.Type == "set" && (in.From == "" || in.From == c.addr.Bare().String()) {
			// A roster push (RFC 6121 §2.1.6): acknowledged.
			return c.reply(t, fmt.Sprintf("<iq xmlns='jabber:client'%s id='%s' type='result'/>", to, xmlEscape(in.ID)))
		}
		return c.reply(t, fmt.Sprintf("<iq xmlns='jabber:client'%s id='%s' type='error'>"+
			"<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
			to, xmlEscape(in.ID)))
	case in.XMLName.Local == "message" && in.Type == "chat" && in.Body != "":
		c.mu.Lock()
		c.bodies = append(c.bodies, in.Body)
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
	return nil
}

func (c *nativeClient) reply(t xmlstream.TokenReadEncoder, raw string) error {
	_, err := xmlstream.Copy(t, xml.NewDecoder(strings.NewReader(raw)))
	return err
}

// raw sends one stanza given as XML text.
func (c *nativeClient) raw(ctx context.Context, s string) error {
	return c.sess.Send(ctx, xml.NewDecoder(strings.NewReader(s)))
}

// send sends a chat message with an id to a bare JID.
func (c *nativeClient) send(ctx context.Context, to jid.JID, id, body string) error {
	return c.sess.Encode(ctx, chatMessage{Message: stanza.Message{ID: id, To: to, Type: stanza.ChatMessage}, Body: body})
}

// waitReceived waits until n chat messages whose body starts with prefix
// have arrived.
func (c *nativeClient) waitReceived(ctx context.Context, prefix string, n int) error {
	for {
		c.mu.Lock()
		got := 0
		for _, b := range c.bodies {
			if strings.HasPrefix(b, prefix) {
				got++
			}
		}
		changed, herr := c.changed, c.handlerE
		c.mu.Unlock()
		if herr != nil {
			return fmt.Errorf("%v: %w", c.addr, herr)
		}
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case err := <-c.done:
			c.done <- err
			return fmt.Errorf("%v: session ended with %d of %d %q messages: %v", c.addr, got, n, prefix, err)
		case <-ctx.Done():
			return fmt.Errorf("%v: %d of %d %q messages: %w", c.addr, got, n, prefix, ctx.Err())
		}
	}
}

// rosterItem is one item of a roster result.
type rosterItem struct {
	JID          string `xml:"jid,attr"`
	Subscription string `xml:"subscription,attr"`
}

// subscription returns the subscription state of other in the roster.
func (c *nativeClient) subscription(ctx context.Context, other jid.JID) (string, error) {
	var res struct { // the <query/> of the result
		Items []rosterItem `xml:"item"`
	}
	q := "<iq xmlns='jabber:client' type='get' id='roster-" + randomID() + "'><query xmlns='jabber:iq:roster'/></iq>"
	if err := c.sess.UnmarshalIQ(ctx, xml.NewDecoder(strings.NewReader(q)), &res); err != nil {
		return "", fmt.Errorf("%v: roster get: %w", c.addr, err)
	}
	for _, it := range res.Items {
		if it.JID == other.Bare().String() {
			return it.Subscription, nil
		}
	}
	return "", nil
}

// archiveCount returns the number of messages with other in the account's
// archive (XEP-0313 with an empty page: Prosody counts them,
// mam_include_total).
func (c *nativeClient) archiveCount(ctx context.Context, other jid.JID) (int, error) {
	var res struct { // the <fin/> of the result
		Set struct {
			Count *int `xml:"count"`
		} `xml:"http://jabber.org/protocol/rsm set"`
	}
	q := "<iq xmlns='jabber:client' type='set' id='mam-" + randomID() + "'><query xmlns='urn:xmpp:mam:2'>" +
		"<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>" +
		"<field var='with'><value>" + xmlEscape(other.Bare().String()) + "</value></field></x>" +
		"<set xmlns='http://jabber.org/protocol/rsm'><max>0</max></set></query></iq>"
	if err := c.sess.UnmarshalIQ(ctx, xml.NewDecoder(strings.NewReader(q)), &res); err != nil {
		return 0, fmt.Errorf("%v: archive query: %w", c.addr, err)
	}
	if res.Set.Count == nil {
		return 0, fmt.Errorf("%v: the archive did not say how many messages it holds", c.addr)
	}
	return *res.Set.Count, nil
}

// close ends the session (the stream is closed, not left to hibernate).
func (c *nativeClient) close() {
	_ = c.sess.Close()
	select {
	case err := <-c.done:
		c.done <- err
	case <-time.After(5 * time.Second):
	}
	_ = c.conn.Close()
}

func xmlEscape(s string) string {
	var sb strings.Builder
	_ = xml.EscapeText(&sb, []byte(s))
	return sb.String()
}

// befriend makes a and b mutual contacts (subscription both), as two people
// who accepted each other's requests; each side approves automatically.
func befriend(ctx context.Context, a, b *nativeClient) error {
	for _, p := range [][2]*nativeClient{{a, b}, {b, a}} {
		if err := p[0].raw(ctx, fmt.Sprintf("<presence xmlns='jabber:client' to='%s' type='subscribe'/>", xmlEscape(p[1].addr.Bare().String()))); err != nil {
			return err
		}
	}
	for {
		sa, err := a.subscription(ctx, b.addr)
		if err != nil {
			return err
		}
		sb, err := b.subscription(ctx, a.addr)
		if err != nil {
			return err
		}
		if sa == "both" && sb == "both" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("subscriptions %q and %q, want both: %w", sa, sb, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// seedHistory makes reader and peer mutual contacts and exchanges n chat
// messages between them through the server, so that both archives hold
// them: one in four from reader to peer, the others (the last one always)
// from peer to reader. Message i's body is body(i), which starts with
// prefix. The last message is sent in a later second than all others, so
// that its archive timestamp (whole seconds) is the newest: clients that
// order by time then agree on which message is the latest. It returns once
// both sides have received everything and the reader's archive counts n
// messages with peer.
func seedHistory(ctx context.Context, reader, peer *nativeClient, n int, body func(i int) string, prefix string) error {
	if err := befriend(ctx, reader, peer); err != nil {
		return err
	}
	toPeer := 0
	for i := range n - 1 {
		from, to := peer, reader
		if i%4 == 1 {
			from, to = reader, peer
			toPeer++
		}
		if err := from.send(ctx, to.addr.Bare(), fmt.Sprintf("seed-%d", i), body(i)); err != nil {
			return fmt.Errorf("seed message %d: %w", i, err)
		}
	}
	if err := reader.waitReceived(ctx, prefix, n-1-toPeer); err != nil {
		return err
	}
	if err := peer.waitReceived(ctx, prefix, toPeer); err != nil {
		return err
	}
	next := time.Now().Truncate(time.Second).Add(time.Second + 50*time.Millisecond)
	select {
	case <-time.After(time.Until(next)):
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := peer.send(ctx, reader.addr.Bare(), fmt.Sprintf("seed-%d", n-1), body(n-1)); err != nil {
		return fmt.Errorf("seed message %d: %w", n-1, err)
	}
	if err := reader.waitReceived(ctx, prefix, n-toPeer); err != nil {
		return err
	}
	got, err := reader.archiveCount(ctx, peer.addr)
	if err != nil {
		return err
	}
	if got != n {
		return fmt.Errorf("the reader's archive holds %d messages with the peer, want %d", got, n)
	}
	return nil
}
