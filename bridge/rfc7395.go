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
func standalone(dst []byte, tok frame.Token, scope map[string]string) []byte {
	own := tok.Declarations()
	var add []string
	for prefix := range scope {
		if _, ok := own[prefix]; ok {
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
