// RFC 7395: XMPP over WebSocket. The translation between the WebSocket
// framing (<open/>, <close/>, one element per message, every element carrying
// its namespaces) and the RFC 6120 stream (<stream:stream> header, children
// that inherit the header's namespaces, </stream:stream>). Only the framing
// is rewritten: stanza bytes pass through unchanged, except that a top-level
// start tag receives the namespace declarations it inherited from the stream
// header, so that it stands alone as RFC 7395 §3.3.3 requires.

package bridge

import (
	"bytes"
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/waxwing-im/waxwing/wasm/frame"
)

var closeFrame = []byte("<close xmlns='" + nsFraming + "'/>")

// errWrongHost is returned by openToHeader when <open to> names another domain.
var errWrongHost = errors.New("the stream is addressed to a domain this server does not serve")

// openToHeader turns the browser's <open/> into the stream header sent
// upstream, keeping the attributes that RFC 6120 §4.7 defines on a stream
// header, with their original bytes.
func openToHeader(tok frame.Token, domain string) ([]byte, error) {
	to, ok := tok.Attr("to")
	if !ok || !strings.EqualFold(strings.TrimSuffix(to, "."), domain) {
		return nil, errWrongHost
	}
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0'?><stream:stream xmlns='" + nsClient + "' xmlns:stream='" + nsStream + "'")
	for _, a := range tok.Attrs() {
		switch a.Name {
		case "to", "from", "version", "xml:lang", "id":
			writeAttr(&b, a)
		}
	}
	b.WriteByte('>')
	return b.Bytes(), nil
}

// headerToOpen turns the server's stream header into <open/>.
func headerToOpen(tok frame.Token) []byte {
	var b bytes.Buffer
	b.WriteString("<open xmlns='" + nsFraming + "'")
	for _, a := range tok.Attrs() {
		switch a.Name {
		case "to", "from", "version", "xml:lang", "id":
			writeAttr(&b, a)
		}
	}
	b.WriteString("/>")
	return b.Bytes()
}

func writeAttr(b *bytes.Buffer, a frame.Attr) {
	b.WriteByte(' ')
	b.WriteString(a.Name)
	b.WriteByte('=')
	b.WriteByte(a.Quote)
	b.Write(a.Value)
	b.WriteByte(a.Quote)
}

// standalone returns the element with the namespace declarations of scope
// that it relies on but does not itself make, added to its start tag: the
// default namespace always (children may inherit it), a prefix only where the
// element's bytes use it. dst is reused. Declarations are added in a fixed
// order (default first), right after the element name.
func standalone(dst []byte, tok frame.Token, attrs []frame.Attr, scope map[string]string) []byte {
	var add []string
	for prefix := range scope {
		if _, ok := frame.Declared(attrs, prefix); ok {
			continue
		}
		if prefix != "" && !bytes.Contains(tok.Raw, []byte(prefix+":")) {
			continue
		}
		add = append(add, prefix)
	}
	dst = dst[:0]
	if len(add) == 0 {
		return append(dst, tok.Raw...)
	}
	sort.Strings(add)
	// Insert right after the element name.
	nameEnd := 1 + len(tok.Name)
	dst = append(dst, tok.Raw[:nameEnd]...)
	for _, prefix := range add {
		if prefix == "" {
			dst = append(dst, " xmlns='"...)
		} else {
			dst = append(dst, " xmlns:"+prefix+"='"...)
		}
		dst = append(dst, frame.Escape(scope[prefix])...)
		dst = append(dst, '\'')
	}
	return append(dst, tok.Raw[nameEnd:]...)
}

// streamError builds a stream error element (RFC 6120 §4.9) with an optional
// application-specific condition in the bridge's namespace.
func streamError(cond, text, appCond string) []byte {
	var b bytes.Buffer
	b.WriteString("<stream:error xmlns:stream='" + nsStream + "'><" + cond + " xmlns='" + nsStreams + "'/>")
	if text != "" {
		b.WriteString("<text xmlns='" + nsStreams + "' xml:lang='en'>" + frame.Escape(text) + "</text>")
	}
	if appCond != "" {
		b.WriteString("<" + appCond + " xmlns='" + nsBridgeErr + "'/>")
	}
	b.WriteString("</stream:error>")
	return b.Bytes()
}

// ourOpen is the <open/> the bridge sends itself when it must report an error
// before the server has opened a stream (RFC 6120 §4.9.1.2: the receiving
// entity opens a stream before sending a stream error).
func ourOpen(domain, id string) []byte {
	return []byte("<open xmlns='" + nsFraming + "' from='" + frame.Escape(domain) + "' id='" + id + "' version='1.0' xml:lang='en'/>")
}

// stripChild removes the byte range r from raw (used to hide <starttls/>
// from the browser).
func stripChild(raw []byte, r [2]int) []byte {
	out := make([]byte, 0, len(raw)-(r[1]-r[0]))
	out = append(out, raw[:r[0]]...)
	return append(out, raw[r[1]:]...)
}

// toBrowser translates the server's RFC 6120 stream into RFC 7395 messages.
// It is pure: the relay feeds it what it reads and sends what it emits.
type toBrowser struct {
	sc    *frame.Scanner
	scope map[string]string // declarations of the current stream header
	out   []byte

	// What the relay reads after feed.
	opened        bool   // a stream header was translated
	authenticated bool   // SASL or SASL2 success went by
	closed        bool   // the server's </stream:stream> was translated
	serverLimit   int    // XEP-0478 max-bytes, 0 when not advertised
	smID          string // a Stream Management id the server gave the stream (handover.go)

	// batchMax is the most bytes a message may hold when the browser asked
	// for batched messages (batch.go), 0 when it did not; batch holds the
	// elements of the message being made.
	batchMax int
	batch    []byte
}

func newToBrowser(limits frame.Limits) *toBrowser {
	return &toBrowser{sc: frame.NewScanner(frame.Stream, limits)}
}

// feed translates p and calls emit with each message for the browser, in
// order. It stops at the first framing error (the server sent something that
// is not an XMPP stream) or emit error.
func (d *toBrowser) feed(p []byte, emit func([]byte) error) error {
	d.sc.Write(p)
	for {
		tok, ok, err := d.sc.Next()
		if err != nil || !ok {
			// What was complete before a framing error still goes.
			if ferr := d.flush(emit); ferr != nil {
				return ferr
			}
			return err
		}
		switch tok.Kind {
		case frame.StreamOpen:
			d.scope = tok.Declarations()
			d.opened = true
			if err := d.flush(emit); err != nil {
				return err
			}
			if err := emit(headerToOpen(tok)); err != nil {
				return err
			}
			continue
		case frame.StreamClose:
			d.closed = true
			if err := d.flush(emit); err != nil {
				return err
			}
			return emit(closeFrame)
		}
		attrs := tok.Attrs()
		d.out = standalone(d.out, tok, attrs, d.scope)
		ns := frame.NamespaceOf(tok.Name, attrs, d.scope)
		if id := smIDFromServer(tok, ns, d.out); id != "" {
			d.smID = id
		}
		// Any features element is filtered, whatever namespace the server
		// (mis)declared: <starttls/> must never reach the browser.
		if tok.LocalName() == "features" {
			d.out = d.filterFeatures(d.out)
		}
		if d.batchMax > 0 && batchable(tok, ns) {
			err = d.batchOut(d.out, emit)
		} else if err = d.flush(emit); err == nil {
			err = emit(d.out)
		}
		if err != nil {
			return err
		}
		if cap(d.out) > 4<<10 {
			d.out = nil // do not keep a large buffer for an idle session
		}
		if tok.LocalName() == "success" && (ns == nsSASL || ns == nsSASL2) {
			d.authenticated = true
			if ns == nsSASL {
				// RFC 6120 §6.4.6: both sides restart the stream.
				d.sc.Restart()
			}
		}
	}
}

// filterFeatures hides <starttls/> (the bridge owns TLS upstream) and reads
// the server's XEP-0478 stanza size limit.
func (d *toBrowser) filterFeatures(out []byte) []byte {
	if rg, ok := findChild(out, nsTLS, "starttls"); ok {
		out = stripChild(out, rg)
	}
	if v, ok := childText(out, nsLimits, "limits", "max-bytes"); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
			d.serverLimit = n
		}
	}
	return out
}

// fromBrowser classifies the browser's RFC 7395 messages. It is pure: the
// relay acts on each step.
type fromBrowser struct {
	sc     *frame.Scanner
	domain string
	closed bool // <close/> went by: nothing more may go upstream
}

// browserStep is what one element from the browser asks for.
type browserStep struct {
	kind   stepKind
	bytes  []byte // stepOpen: the stream header; stepStanza: the element; stepClose: </stream:stream>
	tok    frame.Token
	reject string // stepReject: the stream error condition
	text   string // stepReject: a human-readable explanation
}

type stepKind uint8

const (
	stepStanza stepKind = iota + 1
	stepOpen
	stepClose
	stepReject
)

var streamEnd = []byte("</stream:stream>")

// clientScope is what elements from the browser inherit upstream: the
// stream's default namespace.
var clientScope = map[string]string{"": nsClient}

func newFromBrowser(domain string, limits frame.Limits) *fromBrowser {
	return &fromBrowser{sc: frame.NewScanner(frame.Fragments, limits), domain: domain}
}

// next returns the next step, ok == false when more bytes are needed, or the
// framing error.
func (u *fromBrowser) next() (browserStep, bool, error) {
	tok, ok, err := u.sc.Next()
	for err == nil && ok && u.closed {
		// After </stream:stream> the server reads nothing more; whatever the
		// browser still sends is dropped (RFC 7395 §3.6).
		tok, ok, err = u.sc.Next()
	}
	if err != nil || !ok {
		return browserStep{}, false, err
	}
	ns := tok.Namespace(clientScope)
	switch {
	case tok.LocalName() == "open" && ns == nsFraming:
		header, err := openToHeader(tok, u.domain)
		if err != nil {
			return browserStep{kind: stepReject, tok: tok, reject: "host-unknown", text: "This server serves " + u.domain + " only."}, true, nil
		}
		if v, ok := tok.Attr("version"); !ok || !strings.HasPrefix(v, "1.") {
			return browserStep{kind: stepReject, tok: tok, reject: "unsupported-version", text: "XMPP 1.0 is required."}, true, nil
		}
		return browserStep{kind: stepOpen, bytes: header, tok: tok}, true, nil
	case tok.LocalName() == "close" && ns == nsFraming:
		u.closed = true
		return browserStep{kind: stepClose, bytes: streamEnd, tok: tok}, true, nil
	case tok.LocalName() == "stream" && ns == nsStream:
		return browserStep{kind: stepReject, tok: tok, reject: "unsupported-stanza-type", text: "RFC 7395 streams open with <open/>, not <stream:stream>."}, true, nil
	}
	return browserStep{kind: stepStanza, bytes: tok.Raw, tok: tok}, true, nil
}
