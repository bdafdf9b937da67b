// RFC 6120 XMPP Core: §8 stanzas (the common attributes, iq semantics
// §8.2.3) and §8.3 stanza errors.

package stanza

import (
	"strings"

	"github.com/waxwing-im/waxwing/wasm/frame"
)

// Namespaces read and written by this package.
const (
	NSClient      = "jabber:client"                                     // RFC 6120 §4.8.3
	NSStanzas     = "urn:ietf:params:xml:ns:xmpp-stanzas"               // RFC 6120 §8.3.3
	NSRoster      = "jabber:iq:roster"                                  // RFC 6121 §2
	NSData        = "jabber:x:data"                                     // XEP-0004
	NSMUCUser     = "http://jabber.org/protocol/muc#user"               // XEP-0045
	NSRSM         = "http://jabber.org/protocol/rsm"                    // XEP-0059
	NSPubSub      = "http://jabber.org/protocol/pubsub"                 // XEP-0060
	NSPubSubEvent = "http://jabber.org/protocol/pubsub#event"           // XEP-0060
	NSOOB         = "jabber:x:oob"                                      // XEP-0066
	NSChatStates  = "http://jabber.org/protocol/chatstates"             // XEP-0085
	NSCaps        = "http://jabber.org/protocol/caps"                   // XEP-0115
	NSReceipts    = "urn:xmpp:receipts"                                 // XEP-0184
	NSDelay       = "urn:xmpp:delay"                                    // XEP-0203
	NSCarbons     = "urn:xmpp:carbons:2"                                // XEP-0280
	NSForward     = "urn:xmpp:forward:0"                                // XEP-0297
	NSCorrect     = "urn:xmpp:message-correct:0"                        // XEP-0308
	NSMAM         = "urn:xmpp:mam:2"                                    // XEP-0313
	NSMarkers     = "urn:xmpp:chat-markers:0"                           // XEP-0333
	NSHints       = "urn:xmpp:hints"                                    // XEP-0334
	NSJMI         = "urn:xmpp:jingle-message:0"                         // XEP-0353
	NSJMI1        = "urn:xmpp:jingle-message:1"                         // XEP-0353, also accepted by Prosody's mod_csi_simple
	NSSID         = "urn:xmpp:sid:0"                                    // XEP-0359
	NSReference   = "urn:xmpp:reference:0"                              // XEP-0372
	NSOMEMO       = "eu.siacs.conversations.axolotl"                    // XEP-0384 0.3 (the OMEMO deployed today)
	NSOMEMO2      = "urn:xmpp:omemo:2"                                  // XEP-0384 0.8+
	NSFasten      = "urn:xmpp:fasten:0"                                 // XEP-0422
	NSRetract     = "urn:xmpp:message-retract:1"                        // XEP-0424
	NSRetract0    = "urn:xmpp:message-retract:0"                        // XEP-0424 before 0.4 (inside XEP-0422 apply-to)
	NSReactions   = "urn:xmpp:reactions:0"                              // XEP-0444
	NSMDS         = "urn:xmpp:mds:displayed:0"                          // XEP-0490
	NSPublishOpts = "http://jabber.org/protocol/pubsub#publish-options" // XEP-0060 §7.1.5
)

// StanzaError is the <error/> of a stanza of type 'error' (RFC 6120 §8.3).
type StanzaError struct {
	Type      string // auth, cancel, continue, modify, wait
	Condition string // a defined condition, e.g. item-not-found; undefined-condition if none was given
	Text      string
	By        string
	// AppCondition and AppNS name the application-specific condition
	// (§8.3.4), if any: an element of another namespace beside the defined
	// condition.
	AppCondition, AppNS string
}

// Error returns the condition, type and text in one line.
func (e *StanzaError) Error() string {
	s := "stanza error: " + e.Condition
	if e.Type != "" {
		s += " (" + e.Type + ")"
	}
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}

// parseStanzaError returns the error of stanza n, which has type 'error'.
// An error stanza without a usable <error/> yields undefined-condition.
func parseStanzaError(n *node) *StanzaError {
	e := &StanzaError{Type: "cancel", Condition: "undefined-condition"}
	en := n.clientChild("error")
	if en == nil {
		return e
	}
	e.Type, e.By = en.attrValue("type"), en.attrValue("by")
	for _, k := range en.kids {
		if k.name.Space != NSStanzas {
			if e.AppCondition == "" && k.name.Space != "" {
				e.AppCondition, e.AppNS = k.name.Local, k.name.Space
			}
			continue
		}
		if k.name.Local == "text" {
			if e.Text == "" {
				e.Text = k.textTrim()
			}
		} else if e.Condition == "undefined-condition" {
			e.Condition = k.name.Local
		}
	}
	return e
}

// ParseError returns the error of a stanza (message, presence or iq in
// jabber:client) of type 'error', or nil if raw is not one (or does not
// parse). One without a usable <error/> yields undefined-condition.
func ParseError(raw []byte) *StanzaError {
	n, err := parseTree(raw)
	if err != nil {
		return nil
	}
	switch n.name.Local {
	case "message", "presence", "iq":
	default:
		return nil
	}
	if !isClientNS(n.name.Space) || n.attrValue("type") != "error" {
		return nil
	}
	return parseStanzaError(n)
}

// IQ is an <iq/> stanza (RFC 6120 §8.2.3). Payload names the first child
// element that is not <error/>; Error is set for type 'error'.
type IQ struct {
	ID, Type, From, To string
	Payload            string // "{namespace}local" of the payload, "" if none
	Error              *StanzaError
}

// ParseIQ parses an <iq/> stanza.
func ParseIQ(raw []byte) (IQ, error) {
	n, err := parseStanzaRoot(raw, "iq")
	if err != nil {
		return IQ{}, err
	}
	return parseIQNode(n), nil
}

func parseIQNode(n *node) IQ {
	iq := IQ{ID: n.attrValue("id"), Type: n.attrValue("type"), From: n.attrValue("from"), To: n.attrValue("to")}
	for _, k := range n.kids {
		if k.name.Local == "error" && isClientNS(k.name.Space) {
			continue
		}
		iq.Payload = "{" + k.name.Space + "}" + k.name.Local
		break
	}
	if iq.Type == "error" {
		iq.Error = parseStanzaError(n)
	}
	return iq
}

// iqResult parses raw as an iq of type 'result' (or 'error': the error is
// returned) and returns its root.
func iqResult(raw []byte) (*node, error) {
	n, err := parseStanzaRoot(raw, "iq")
	if err != nil {
		return nil, err
	}
	switch t := n.attrValue("type"); t {
	case "result":
		return n, nil
	case "error":
		return nil, parseStanzaError(n)
	default:
		return nil, &StanzaError{Type: "modify", Condition: "bad-request", Text: "iq of type '" + t + "', want 'result'"}
	}
}

// iqResultPayload is iqResult that also finds the payload {ns}local.
func iqResultPayload(raw []byte, ns, local string) (iq, payload *node, err error) {
	iq, err = iqResult(raw)
	if err != nil {
		return nil, nil, err
	}
	if payload = iq.child(ns, local); payload == nil {
		return nil, nil, errMissing(iq, ns, local)
	}
	return iq, payload, nil
}

// attrs writes name='value' pairs, escaped, skipping empty values.
func attrs(b *strings.Builder, kv ...string) {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		b.WriteString(" " + kv[i] + "='" + frame.Escape(kv[i+1]) + "'")
	}
}

// textElement writes <local>text</local>, escaped, unless text is empty.
func textElement(b *strings.Builder, local, text string) {
	if text == "" {
		return
	}
	b.WriteString("<" + local + ">" + frame.Escape(text) + "</" + local + ">")
}

// iqOpen starts <iq xmlns='jabber:client' type id [to]>.
func iqOpen(b *strings.Builder, typ, id, to string) {
	b.WriteString("<iq xmlns='" + NSClient + "'")
	attrs(b, "type", typ, "id", id, "to", to)
	b.WriteString(">")
}
