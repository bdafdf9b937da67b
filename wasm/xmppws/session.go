package xmppws

import (
	"context"

	"mellium.im/sasl"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	mws "mellium.im/xmpp/websocket"
)

// NewSession logs in as addr over c and returns a ready client session:
// SASL (SCRAM-SHA-256, SCRAM-SHA-1, then PLAIN), resource binding, and the
// extra features given. ctx bounds the negotiation only.
//
// The stream is marked xmpp.Secure, because RFC 7395 has no STARTTLS and
// mellium offers SASL only on a secure stream; mellium's own websocket
// package sets the bit only for golang.org/x/net/websocket over wss://.
// PLAIN, which sends the password itself, is offered only when the URL is
// wss:// or a loopback address.
//
// mellium v0.22.0 never sends the requested resource (the server picks one):
// read the bound address from Session.LocalAddr.
func NewSession(ctx context.Context, c *Conn, addr jid.JID, pass string, features ...xmpp.StreamFeature) (*xmpp.Session, error) {
	mechs := []sasl.Mechanism{sasl.ScramSha256, sasl.ScramSha1}
	if c.confidential {
		mechs = append(mechs, sasl.Plain)
	}
	all := append([]xmpp.StreamFeature{xmpp.SASL("", pass, mechs...), xmpp.BindResource()}, features...)
	return xmpp.NewSession(ctx, addr.Domain(), addr, c, xmpp.Secure,
		mws.Negotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
			return xmpp.StreamConfig{Features: all}
		}))
}
