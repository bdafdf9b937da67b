// Stream Management handover: a resumption (XEP-0198 <resume/>, classic or
// inline in SASL2 <authenticate/>) is forwarded only once the server has
// finished reading the connection the session was last on, if that
// connection went through this bridge.
//
// Prosody (0.12.3, and trunk in 2025) reads a resumed session's new
// connection with the XML parser of the connection the session was created
// on: mod_c2s's session.data (mod_c2s.lua:351-371 in 0.12.3) closes over that
// connection's parser, and mod_smacks' resumption (handle_resume,
// mod_smacks.lua:573-604) moves everything else onto the new connection but
// not session.data. If that parser stopped in the middle of an element, the
// first bytes after <resumed/> continue the half element: "not well-formed
// (invalid token)" or "stanza-too-large", the session is destroyed and its
// unacknowledged stanzas bounce. The parser stops mid-element when the
// server stops reading a connection before its end: when a reset cuts it
// (closeUp), or when the resumption arrives while the old connection still
// has data unread, for mod_smacks then closes it (mod_smacks.lua:574-578) —
// after a burst, a client that reconnects at once is faster than the server
// reading the burst. The relay writes whole elements only, so a connection
// the server read to its end leaves the parser between two elements.
//
// So the relay learns each session's Stream Management id from the server
// (<enabled/>, <resumed/>, also inside SASL2 <success/>), and a relay about
// to forward a resumption of an id that another relay holds first ends that
// one (as the server would) and waits until the server has closed it.
// Within one bridge process only: bridges behind one load balancer do not
// see each other's connections.

package bridge

import (
	"time"

	"github.com/coder/websocket"

	"github.com/waxwing-im/waxwing/wasm/frame"
)

// handoverWait bounds the wait for the server to finish reading the old
// connection: closeWait after the old relay shut it down, plus a little for
// a write in progress.
const handoverWait = closeWait + 2*time.Second

// smIDFromServer returns the Stream Management id the server's element
// gives the stream: <enabled id/> (if resumable), <resumed previd/>, either
// one inside a SASL2 <success/> (<enabled/> in Bind 2's <bound/>).
// ns is the element's namespace and raw its standalone bytes.
func smIDFromServer(tok frame.Token, ns string, raw []byte) string {
	switch {
	case ns == nsSM && tok.LocalName() == "enabled":
		id, _ := tok.Attr("id")
		return id
	case ns == nsSM && tok.LocalName() == "resumed":
		id, _ := tok.Attr("previd")
		return id
	case ns == nsSASL2 && tok.LocalName() == "success":
		if rg, ok := findChild(raw, nsSM, "resumed"); ok {
			return childAttr(raw[rg[0]:rg[1]], "previd")
		}
		if rg, ok := findChild(raw, nsBind2, "bound"); ok {
			bound := raw[rg[0]:rg[1]]
			if rg, ok := findChild(bound, nsSM, "enabled"); ok {
				return childAttr(bound[rg[0]:rg[1]], "id")
			}
		}
	}
	return ""
}

// resumeTarget returns the previd of the session the browser's element
// resumes: a top-level <resume/>, or one inline in SASL2 <authenticate/>.
func resumeTarget(tok frame.Token) string {
	local := tok.LocalName()
	if local != "resume" && local != "authenticate" {
		return "" // most elements: not even their namespace is needed
	}
	switch ns := tok.Namespace(clientScope); {
	case ns == nsSM && local == "resume":
		id, _ := tok.Attr("previd")
		return id
	case ns == nsSASL2 && local == "authenticate":
		if rg, ok := findChild(tok.Raw, nsSM, "resume"); ok {
			return childAttr(tok.Raw[rg[0]:rg[1]], "previd")
		}
	}
	return ""
}

// childAttr returns an attribute of the element el.
func childAttr(el []byte, name string) string {
	sc := frame.NewScanner(frame.Fragments, frame.Limits{})
	sc.Write(el)
	tok, ok, err := sc.Next()
	if err != nil || !ok {
		return ""
	}
	v, _ := tok.Attr(name)
	return v
}

// holdSM records that r's stream holds the Stream Management session id.
func (s *Server) holdSM(id string, r *relay) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.smID != "" && s.sm[r.smID] == r {
		delete(s.sm, r.smID)
	}
	r.smID = id
	s.sm[id] = r
}

// releaseSM forgets r's session id, once r's upstream is closed.
func (s *Server) releaseSM(r *relay) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.smID != "" && s.sm[r.smID] == r {
		delete(s.sm, r.smID)
	}
}

// handOver ends the relay that holds the session id (other than r) and
// waits until the server has closed its upstream connection, at most
// handoverWait.
func (s *Server) handOver(id string, r *relay) {
	s.mu.Lock()
	old := s.sm[id]
	s.mu.Unlock()
	if old == nil || old == r {
		return
	}
	start := time.Now()
	// On its own goroutine: stop waits for a write upstream in progress.
	go old.stop("the session is resumed on another connection", dropUpstream, websocket.StatusGoingAway, nil)
	select {
	case <-old.upDone:
		r.log.Debug("resumption held until the server closed the old connection", "previous_relay", old.id,
			"waited", time.Since(start).Round(time.Millisecond).String())
	case <-time.After(handoverWait):
		r.log.Warn("the server did not close the old connection of a resumed session in time", "previous_relay", old.id)
	}
}
