// RFC 6121 §5 Exchanging Messages: the <message/> stanza, its body, subject
// and thread (§5.2.3–§5.2.5), and the extensions the history sync engine
// reads, each parsed in the file of its XEP.

package stanza

import (
	"strings"

	"github.com/waxwing-im/waxwing/wasm/frame"
)

// Message is a parsed <message/> stanza. Every field is what the stanza
// says; nothing is verified here (see wasm/rules).
type Message struct {
	// Raw is the message exactly as it arrived: the whole input for a
	// top-level message, the forwarded element's bytes for an Inner one.
	// A forwarded message that relies on a namespace declared outside it
	// is kept as written, without that declaration.
	Raw []byte

	From, To, Type, ID string // RFC 6120 §8.1; Type "" means normal
	Lang               string // the message's own xml:lang

	// Body is the text of the first <body/> without xml:lang or in the
	// message's language (RFC 6121 §5.2.3), else of the first <body/>.
	// HasBody reports whether any <body/> was present, even empty.
	Body    string
	HasBody bool
	// Subject is the first <subject/> (a MUC subject change, RFC 6121
	// §5.2.4, XEP-0045 §8.1); HasSubject reports one was present.
	Subject    string
	HasSubject bool
	Thread     string // §5.2.5

	OriginID  string     // XEP-0359 <origin-id/>
	StanzaIDs []StanzaID // XEP-0359 <stanza-id/>, every one, in order, unverified

	Delay *Delay // XEP-0203; for a MAM Inner, the <forwarded/> delay

	// Carbon is set for an XEP-0280 <sent/> or <received/> carbon; Inner is
	// then the forwarded message (nil if the carbon forwards none). From
	// stays the wrapper's: a carbon is genuine only if it is the own bare
	// JID. PrivateCarbon is <private xmlns='urn:xmpp:carbons:2'/>.
	Carbon        Carbon
	PrivateCarbon bool

	// MAM is set for an XEP-0313 result; Inner is then the archived message
	// (nil if the archive omitted it) with the result's delay.
	MAM *MAMResult

	// Inner is the forwarded message of a carbon or archive result, parsed
	// the same way (without unwrapping any further).
	Inner *Message

	ReceiptRequest  bool   // XEP-0184 <request/>
	ReceiptReceived string // XEP-0184 <received id/>: the id of the message acknowledged

	Markable bool    // XEP-0333 <markable/>
	Marker   *Marker // XEP-0333 <received/>, <displayed/> or <acknowledged/>

	ChatState ChatState // XEP-0085, "" if none
	Hints     Hints     // XEP-0334

	Replace    string      // XEP-0308 <replace id/>: the id of the corrected message
	Retract    string      // XEP-0424 <retract id/> (or the older XEP-0422 <apply-to/> form)
	Retracted  bool        // XEP-0424 <retracted/> tombstone in an archive result
	Reactions  *Reactions  // XEP-0444
	Displayed  []Displayed // XEP-0490 items of a pubsub event for the MDS node
	OOB        []OOB       // XEP-0066 <x xmlns='jabber:x:oob'/>, in order
	Encryption string      // namespace of an end-to-end encrypted payload (XEP-0384, XEP-0027, XEP-0373), "" if none
	JMI        *JMI        // XEP-0353 Jingle Message Initiation
	Mentions   []string    // XEP-0372 <reference type='mention' uri/>: the URIs
	MUCUser    *MUCUser    // XEP-0045 <x xmlns='http://jabber.org/protocol/muc#user'/>

	Error *StanzaError // RFC 6120 §8.3, for type 'error'

	// Payloads names every child element, "{namespace}local", in order
	// (jabber:client children as "{jabber:client}body" whether the namespace
	// was declared or inherited).
	Payloads []string
}

// Carbon says whether a message is an XEP-0280 carbon, and which.
type Carbon int

// Carbon kinds.
const (
	NotCarbon Carbon = iota
	Sent             // <sent/>: a copy of a message another of the user's clients sent
	Received         // <received/>: a copy of a message another of the user's clients received
)

// String returns "sent", "received" or "".
func (c Carbon) String() string {
	switch c {
	case Sent:
		return "sent"
	case Received:
		return "received"
	}
	return ""
}

// ParseMessage parses a <message/> stanza in jabber:client (declared or
// not). A carbon or archive result is unwrapped one level into Inner.
func ParseMessage(raw []byte) (Message, error) {
	n, err := parseStanzaRoot(raw, "message")
	if err != nil {
		return Message{}, err
	}
	return parseMessageNode(n, raw, true), nil
}

// parseMessageNode reads message n of input raw. unwrap says whether
// carbons and archive results fill Inner.
func parseMessageNode(n *node, raw []byte, unwrap bool) Message {
	m := Message{
		Raw:  raw[n.start:n.end],
		From: n.attrValue("from"), To: n.attrValue("to"), Type: n.attrValue("type"), ID: n.attrValue("id"),
		Lang: n.lang(),
	}
	bodyChosen := false
	for _, k := range n.kids {
		ns := k.name.Space
		if isClientNS(ns) || ns == n.name.Space {
			ns = NSClient
			switch k.name.Local {
			case "body":
				if !bodyChosen && (k.lang() == "" || k.lang() == m.Lang) {
					m.Body, bodyChosen = k.text, true
				} else if !m.HasBody {
					m.Body = k.text
				}
				m.HasBody = true
			case "subject":
				if !m.HasSubject {
					m.Subject, m.HasSubject = k.text, true
				}
			case "thread":
				if m.Thread == "" {
					m.Thread = k.textTrim()
				}
			}
		}
		m.Payloads = append(m.Payloads, "{"+ns+"}"+k.name.Local)
		switch ns {
		case NSSID:
			parseSID(&m, k)
		case NSDelay:
			if k.name.Local == "delay" && m.Delay == nil {
				m.Delay = parseDelay(k)
			}
		case NSCarbons:
			parseCarbon(&m, k, raw, unwrap)
		case NSMAM:
			parseMAMResult(&m, k, raw, unwrap)
		case NSReceipts:
			parseReceipt(&m, k)
		case NSMarkers:
			parseMarker(&m, k)
		case NSChatStates:
			parseChatState(&m, k)
		case NSHints:
			parseHint(&m, k)
		case NSCorrect:
			if k.name.Local == "replace" && m.Replace == "" {
				m.Replace = k.attrValue("id")
			}
		case NSRetract, NSFasten:
			parseRetract(&m, k)
		case NSReactions:
			parseReactions(&m, k)
		case NSPubSubEvent:
			parseMDSEvent(&m, k)
		case NSOOB:
			parseOOB(&m, k)
		case NSJMI, NSJMI1:
			parseJMI(&m, k)
		case NSReference:
			parseReference(&m, k)
		case NSMUCUser:
			if k.name.Local == "x" && m.MUCUser == nil {
				m.MUCUser = parseMUCUser(k)
			}
		default:
			parseEncryption(&m, k)
		}
	}
	if m.Type == "error" {
		m.Error = parseStanzaError(n)
	}
	return m
}

// MessageOption adds to what ChatMessage writes.
type MessageOption func(*messageOptions)

type messageOptions struct {
	thread, replace string
	oob             []string
	store           bool
	noMarkable      bool
	noReceipt       bool
	noChatState     bool
}

// WithThread adds <thread/> (RFC 6121 §5.2.5).
func WithThread(thread string) MessageOption {
	return func(o *messageOptions) { o.thread = thread }
}

// WithReplace marks the message as a correction of the message with id
// (XEP-0308 <replace/>).
func WithReplace(id string) MessageOption {
	return func(o *messageOptions) { o.replace = id }
}

// WithOOB adds an XEP-0066 <x xmlns='jabber:x:oob'><url/></x> for url (an
// uploaded file; the body should then be the same URL).
func WithOOB(url string) MessageOption {
	return func(o *messageOptions) { o.oob = append(o.oob, url) }
}

// WithStoreHint adds the XEP-0334 <store/> hint.
func WithStoreHint() MessageOption {
	return func(o *messageOptions) { o.store = true }
}

// WithoutMarkers leaves out <markable/> and the receipt <request/>.
func WithoutMarkers() MessageOption {
	return func(o *messageOptions) { o.noMarkable, o.noReceipt = true, true }
}

// WithoutChatState leaves out <active/>.
func WithoutChatState() MessageOption {
	return func(o *messageOptions) { o.noChatState = true }
}

// ChatMessage returns a <message type='chat'/> to to with id, which is
// also its XEP-0359 origin-id, and body, marked <markable/> (XEP-0333),
// with a receipt <request/> (XEP-0184) and the <active/> chat state
// (XEP-0085), as changed by opts.
func ChatMessage(to, id, body string, opts ...MessageOption) []byte {
	var o messageOptions
	for _, opt := range opts {
		opt(&o)
	}
	var b strings.Builder
	messageOpen(&b, "chat", to, id)
	b.WriteString("<body>" + frame.Escape(body) + "</body>")
	textElement(&b, "thread", o.thread)
	if id != "" {
		b.WriteString("<origin-id xmlns='" + NSSID + "' id='" + frame.Escape(id) + "'/>")
	}
	if !o.noMarkable {
		b.WriteString("<markable xmlns='" + NSMarkers + "'/>")
	}
	if !o.noReceipt {
		b.WriteString("<request xmlns='" + NSReceipts + "'/>")
	}
	if !o.noChatState {
		b.WriteString("<active xmlns='" + NSChatStates + "'/>")
	}
	if o.replace != "" {
		b.WriteString("<replace xmlns='" + NSCorrect + "' id='" + frame.Escape(o.replace) + "'/>")
	}
	for _, u := range o.oob {
		b.WriteString("<x xmlns='" + NSOOB + "'><url>" + frame.Escape(u) + "</url></x>")
	}
	if o.store {
		b.WriteString("<store xmlns='" + NSHints + "'/>")
	}
	b.WriteString("</message>")
	return []byte(b.String())
}

// messageOpen starts <message xmlns='jabber:client' [type] to [id]>.
func messageOpen(b *strings.Builder, typ, to, id string) {
	b.WriteString("<message xmlns='" + NSClient + "'")
	attrs(b, "type", typ, "to", to, "id", id)
	b.WriteString(">")
}
