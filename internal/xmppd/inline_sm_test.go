//go:build !js

package xmppd_test

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/internal/xmppd/xmppdtest"
)

const (
	nsSM    = "urn:xmpp:sm:3"
	nsDelay = "urn:xmpp:delay"
)

// TestProsodyInlineSM: with Options.InlineSM, XEP-0198 inline in SASL2/Bind 2 works on Prosody
// 0.12.3 (mod_sasl2_sm + mod_sasl2_sm_compat012): <enable/> in <bind/> gives <enabled/> in
// <bound/>; <resume/> in <authenticate/> (FAST and SCRAM) gives <resumed/> in <success/>, then
// the unacked stanzas with <delay/> and <r/>, and keeps the FAST token (a new one only on
// request); a bad h or an unknown previd gives <failed/> in <success/>, and a fallback <bind/> in
// the same request binds a fresh session.
func TestProsodyInlineSM(t *testing.T) {
	t.Parallel()
	s := xmppdtest.Start(t, xmppd.Prosody, xmppd.Options{InlineSM: true, Debug: true,
		Users: map[string]string{"alice": "alice pass", "bob": "bob pass"}})
	jid := "alice@" + s.Domain
	const uaID = "7b1e0c55-waxwing-inline-sm"
	ua := fmt.Sprintf(`<user-agent id='%s'><software>waxwing-test</software></user-agent>`, uaID)
	debugLog := filepath.Join(s.Dir, "prosody", "debug.log")

	bob := dial(t, s.C2S)
	defer bob.close()
	bob.open(s.Domain, "")
	bob.starttls(s.TLSConfig())
	bob.open(s.Domain, "")
	bob.legacyLogin(s.Domain, "bob", "bob pass")
	tell := func(to string, ids ...string) { // bob -> alice, routed once bob's ping returns
		for _, id := range ids {
			bob.send("<message to='%s' type='chat' id='%s'><body>body of %s</body></message>", to, id, id)
		}
		bob.ping(s.Domain)
	}

	// 1. SASL2 PLAIN + Bind 2 with inline <enable/>; FAST token requested.
	c, f := aliceStream(t, s, false)
	auth := f.find(nsSASL2, "authentication")
	if auth == nil || auth.find(nsSM, "sm") == nil || !hasFeature(auth.find(nsBind2, "bind"), nsSM) {
		t.Fatalf("inline SM not advertised (<sm/> in SASL2 inline, sm:3 in Bind 2 inline): %s", f)
	}
	c.send(`<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>%s</initial-response>%s`+
		`<request-token xmlns='urn:xmpp:fast:0' mechanism='HT-SHA-256-NONE'/>`+
		`<bind xmlns='urn:xmpp:bind:0'><tag>sm</tag><enable xmlns='urn:xmpp:sm:3' resume='true'/></bind></authenticate>`,
		b64("\x00alice\x00alice pass"), ua)
	succ := c.expect(nsSASL2, "success")
	enabled := succ.find(nsBind2, "bound").find(nsSM, "enabled")
	if enabled == nil || enabled.attr("id") == "" || (enabled.attr("resume") != "1" && enabled.attr("resume") != "true") || enabled.attr("max") == "" {
		t.Fatalf("no resumable <enabled/> in <bound/>: %s", succ)
	}
	tok := succ.find(nsFAST, "token")
	if tok == nil || tok.attr("token") == "" {
		t.Fatalf("no FAST token: %s", succ)
	}
	full := succ.childText(nsSASL2, "authorization-identifier")
	if !strings.HasPrefix(full, jid+"/sm~") {
		t.Fatalf("authorization-identifier %q", full)
	}
	c.expect(nsStream, "features")
	previd, token := enabled.attr("id"), tok.attr("token")

	tell(full, "m1", "m2")
	c.messages("m1", "m2") // read, never acked
	hibernations := strings.Count(readFile(debugLog), "Session going into hibernation")
	drop(c)
	waitLog(t, debugLog, "Session going into hibernation", hibernations+1)
	tell(full, "m3") // queued while hibernating

	fastAuth := func(token, extra string) string {
		return fmt.Sprintf(`<authenticate xmlns='urn:xmpp:sasl:2' mechanism='HT-SHA-256-NONE'><initial-response>%s</initial-response>`+
			`%s<fast xmlns='urn:xmpp:fast:0'/>%s</authenticate>`, b64("alice\x00"+string(hmacSHA256(token, "Initiator"))), ua, extra)
	}
	// checkResumed checks a <success/> with <resumed/> and the flight after it: exactly the
	// stanzas ids (with <delay/>), <r/>, <stream:features/>.
	checkResumed := func(c *client, succ *node, h string, ids ...string) {
		t.Helper()
		r := succ.find(nsSM, "resumed")
		if r == nil || r.attr("previd") != previd || r.attr("h") != h {
			t.Fatalf("want <resumed previd='%s' h='%s'/> in <success/>: %s", previd, h, succ)
		}
		if id := succ.childText(nsSASL2, "authorization-identifier"); id != full {
			t.Errorf("authorization-identifier %q, want the resumed %q", id, full)
		}
		if b := succ.find(nsBind2, "bound"); b != nil {
			t.Errorf("resumed and bound: %s", succ)
		}
		var got []string
		for {
			n := c.next()
			if n.XMLName == (xml.Name{Space: nsSM, Local: "r"}) {
				break
			}
			if n.XMLName.Local != "message" || n.find(nsDelay, "delay") == nil {
				t.Fatalf("after <success/>: want resent messages with <delay/>, then <r/>; got %s", n)
			}
			got = append(got, n.attr("id"))
		}
		if strings.Join(got, ",") != strings.Join(ids, ",") {
			t.Errorf("resent %v, want %v", got, ids)
		}
		c.expect(nsStream, "features")
	}

	// 2. FAST + inline <resume/> (h=0: m1..m3 resent) with a fallback <bind/> that must not bind.
	c, f = aliceStream(t, s, true) // transcript in the test log
	if f.find(nsFAST, "fast") == nil {
		t.Fatalf("no FAST: %s", f)
	}
	c.send("%s", fastAuth(token, fmt.Sprintf(`<resume xmlns='urn:xmpp:sm:3' previd='%s' h='0'/>`+
		`<bind xmlns='urn:xmpp:bind:0'><tag>sm</tag></bind>`, previd)))
	succ = c.expect(nsSASL2, "success")
	if got, want := succ.childText(nsSASL2, "additional-data"), b64(string(hmacSHA256(token, "Responder"))); got != want {
		t.Errorf("FAST additional-data %q, want %q", got, want)
	}
	if tk := succ.find(nsFAST, "token"); tk != nil {
		t.Errorf("FAST resume minted a token nobody asked for: %s", tk)
	}
	checkResumed(c, succ, "0", "m1", "m2", "m3")
	c.conn.(*tapConn).on = false
	c.send("<a xmlns='urn:xmpp:sm:3' h='3'/>")
	c.ping(s.Domain) // 1 stanza handled by the server; its result is unacked
	tell(full, "m4")
	if m := c.messages("m4")["m4"]; m.find(nsDelay, "delay") != nil {
		t.Errorf("live message has <delay/>: %s", m)
	}
	drop(c)

	// 3. A bad h (more than the server sent) fails inside <success/> and leaves the session
	// resumable; no bind requested, so the stream stays unbound.
	c, _ = aliceStream(t, s, false)
	c.send(`<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>%s</initial-response>%s`+
		`<resume xmlns='urn:xmpp:sm:3' previd='%s' h='99'/></authenticate>`, b64("\x00alice\x00alice pass"), ua, previd)
	succ = c.expect(nsSASL2, "success")
	if fl := succ.find(nsSM, "failed"); fl == nil || fl.find(nsStanzas, "undefined-condition") == nil {
		t.Errorf("h=99: want <failed><undefined-condition/></failed> in <success/>: %s", succ)
	}
	if id := succ.childText(nsSASL2, "authorization-identifier"); id != jid {
		t.Errorf("h=99: authorization-identifier %q, want %q", id, jid)
	}
	c.close()

	// 4. FAST resume asking for a new token: h=4 acks the ping result, m4 is resent; the server's
	// h counts alice's ping.
	c, _ = aliceStream(t, s, false)
	c.send("%s", fastAuth(token, fmt.Sprintf(`<request-token xmlns='urn:xmpp:fast:0' mechanism='HT-SHA-256-NONE'/>`+
		`<resume xmlns='urn:xmpp:sm:3' previd='%s' h='4'/>`, previd)))
	succ = c.expect(nsSASL2, "success")
	tok = succ.find(nsFAST, "token")
	if tok == nil || tok.attr("token") == "" || tok.attr("token") == token {
		t.Fatalf("requested token missing on resume: %s", succ)
	}
	token = tok.attr("token")
	checkResumed(c, succ, "1", "m4")
	drop(c)
	tell(full, "m5")

	// 5. SCRAM-SHA-1 + inline <resume/>, no token requested: none minted (the request of step 4
	// must not stick to the session).
	c, _ = aliceStream(t, s, false)
	sc := newSCRAM("alice", "alice pass")
	c.send(`<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-1'><initial-response>%s</initial-response>%s`+
		`<resume xmlns='urn:xmpp:sm:3' previd='%s' h='5'/></authenticate>`, b64(sc.first()), ua, previd)
	ch := c.expect(nsSASL2, "challenge")
	final, err := sc.final(unb64(t, ch.Text))
	if err != nil {
		t.Fatal(err)
	}
	c.send("<response xmlns='urn:xmpp:sasl:2'>%s</response>", b64(final))
	succ = c.expect(nsSASL2, "success")
	if err := sc.verify(unb64(t, succ.childText(nsSASL2, "additional-data"))); err != nil {
		t.Error(err)
	}
	if tk := succ.find(nsFAST, "token"); tk != nil {
		t.Errorf("SCRAM resume minted a token nobody asked for: %s", tk)
	}
	checkResumed(c, succ, "1", "m5")
	c.ping(s.Domain)
	c.close()

	// 6. The latest token still logs in (the FAST state survived the resumes).
	c, _ = aliceStream(t, s, false)
	c.send("%s", fastAuth(token, `<bind xmlns='urn:xmpp:bind:0'><tag>fast</tag></bind>`))
	if succ := c.expect(nsSASL2, "success"); succ.find(nsBind2, "bound") == nil {
		t.Errorf("FAST login with the token from the resume: %s", succ)
	}
	c.expect(nsStream, "features")
	c.ping(s.Domain)
	c.close()

	// 7. Unknown previd with a fallback <bind/> (and inline <enable/>): <failed/> and a fresh
	// bound session in the same <success/>.
	c, _ = aliceStream(t, s, false)
	c.send(`<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>%s</initial-response>%s`+
		`<resume xmlns='urn:xmpp:sm:3' previd='no-such-session' h='0'/>`+
		`<bind xmlns='urn:xmpp:bind:0'><tag>fallback</tag><enable xmlns='urn:xmpp:sm:3' resume='true'/></bind></authenticate>`,
		b64("\x00alice\x00alice pass"), ua)
	succ = c.expect(nsSASL2, "success")
	if fl := succ.find(nsSM, "failed"); fl == nil || fl.find(nsStanzas, "item-not-found") == nil {
		t.Errorf("unknown previd: want <failed><item-not-found/></failed> in <success/>: %s", succ)
	}
	if b := succ.find(nsBind2, "bound"); b == nil || b.find(nsSM, "enabled") == nil || b.find(nsSM, "enabled").attr("id") == previd {
		t.Errorf("fallback bind: want <bound><enabled id=new/></bound>: %s", succ)
	}
	if id := succ.childText(nsSASL2, "authorization-identifier"); !strings.HasPrefix(id, jid+"/fallback~") {
		t.Errorf("fallback bind: authorization-identifier %q", id)
	}
	c.expect(nsStream, "features")
	c.ping(s.Domain)
	c.close()

	for _, log := range []string{"debug.log", "prosody.log"} {
		b, _ := os.ReadFile(filepath.Join(s.Dir, "prosody", log))
		for _, bad := range []string{"raceback", "attempt to", "migrated by smacks resume"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s has %q:\n%s", log, bad, xmppdtest.Tracebacks(s))
			}
		}
	}
}

// TestProsodyInlineSMOff: without InlineSM nothing changes: no inline SM advertised, an inline
// <enable/> is ignored, and neither module is configured.
func TestProsodyInlineSMOff(t *testing.T) {
	t.Parallel()
	s := xmppdtest.Start(t, xmppd.Prosody, xmppd.Options{Users: alice})
	cfg, _ := os.ReadFile(filepath.Join(s.Dir, "prosody", "prosody.cfg.lua"))
	if strings.Contains(string(cfg), `"sasl2_sm"`) || strings.Contains(string(cfg), `"sasl2_sm_compat012"`) {
		t.Errorf("config loads inline SM:\n%s", cfg)
	}
	c, f := aliceStream(t, s, false)
	defer c.close()
	if auth := f.find(nsSASL2, "authentication"); auth == nil || auth.find(nsSM, "sm") != nil || hasFeature(auth.find(nsBind2, "bind"), nsSM) {
		t.Errorf("features: %s", f)
	}
	c.send(`<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>%s</initial-response>`+
		`<bind xmlns='urn:xmpp:bind:0'><tag>sm</tag><enable xmlns='urn:xmpp:sm:3' resume='true'/></bind></authenticate>`,
		b64("\x00alice\x00alice pass"))
	succ := c.expect(nsSASL2, "success")
	if b := succ.find(nsBind2, "bound"); b == nil || b.find(nsSM, "enabled") != nil {
		t.Errorf("want <bound/> without <enabled/>: %s", succ)
	}
	c.expect(nsStream, "features")
	c.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>") // classic enable still works
	if e := c.expect(nsSM, "enabled"); e.attr("id") == "" {
		t.Errorf("classic enable: %s", e)
	}
	c.ping(s.Domain)
}

// --- helpers -------------------------------------------------------------------------------

const nsStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"

// aliceStream opens a STARTTLS stream with from='alice@domain' (needed for FAST) and returns
// the post-TLS features. With tap, the client's traffic after TLS goes to the test log.
func aliceStream(t *testing.T, s *xmppd.Server, tap bool) (*client, *node) {
	t.Helper()
	c := dial(t, s.C2S)
	t.Cleanup(func() { c.conn.Close() })
	jid := "alice@" + s.Domain
	c.open(s.Domain, jid)
	c.starttls(s.TLSConfig())
	if tap {
		c.conn = &tapConn{Conn: c.conn, t: t, on: true}
	}
	return c, c.open(s.Domain, jid)
}

// tapConn logs what goes over a connection while on.
type tapConn struct {
	net.Conn
	t  testing.TB
	on bool
}

func (tc *tapConn) Read(p []byte) (int, error) {
	n, err := tc.Conn.Read(p)
	if tc.on && n > 0 {
		tc.t.Logf("S: %s", p[:n])
	}
	return n, err
}

func (tc *tapConn) Write(p []byte) (int, error) {
	if tc.on {
		tc.t.Logf("C: %s", p)
	}
	return tc.Conn.Write(p)
}

// drop cuts the TCP connection under TLS, without </stream:stream> or close_notify.
func drop(c *client) {
	conn := c.conn
	if tc, ok := conn.(*tapConn); ok {
		conn = tc.Conn
	}
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	conn.Close()
}

// messages reads until it has seen messages with all ids (skipping <r/> and other elements).
func (c *client) messages(ids ...string) map[string]*node {
	c.t.Helper()
	got := map[string]*node{}
	for len(got) < len(ids) {
		n := c.next()
		if n.XMLName.Local != "message" {
			continue
		}
		for _, id := range ids {
			if n.attr("id") == id {
				got[id] = n
			}
		}
	}
	return got
}

func hasFeature(n *node, v string) bool {
	if n == nil {
		return false
	}
	for _, in := range n.Nodes {
		for _, f := range in.Nodes {
			if f.XMLName.Local == "feature" && f.attr("var") == v {
				return true
			}
		}
	}
	return false
}

func waitLog(t *testing.T, file, sub string, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); strings.Count(readFile(file), sub) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %q did not appear %d times", file, sub, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readFile(name string) string {
	b, _ := os.ReadFile(name)
	return string(b)
}

func unb64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64 %q: %v", s, err)
	}
	return string(b)
}

// scram is a minimal SCRAM-SHA-1 client (RFC 5802, no channel binding, ASCII credentials).
type scram struct {
	user, pass, cnonce, firstBare, authMessage string
	salted                                     []byte
}

func newSCRAM(user, pass string) *scram {
	b := make([]byte, 18)
	rand.Read(b)
	return &scram{user: user, pass: pass, cnonce: base64.RawStdEncoding.EncodeToString(b)}
}

func (s *scram) first() string {
	s.firstBare = "n=" + s.user + ",r=" + s.cnonce
	return "n,," + s.firstBare
}

func (s *scram) final(serverFirst string) (string, error) {
	var nonce, salt string
	var iter int
	for _, kv := range strings.Split(serverFirst, ",") {
		switch {
		case strings.HasPrefix(kv, "r="):
			nonce = kv[2:]
		case strings.HasPrefix(kv, "s="):
			salt = kv[2:]
		case strings.HasPrefix(kv, "i="):
			fmt.Sscan(kv[2:], &iter)
		}
	}
	saltB, err := base64.StdEncoding.DecodeString(salt)
	if err != nil || !strings.HasPrefix(nonce, s.cnonce) || iter <= 0 {
		return "", fmt.Errorf("bad server-first-message %q", serverFirst)
	}
	if s.salted, err = pbkdf2.Key(sha1.New, s.pass, saltB, iter, sha1.Size); err != nil {
		return "", err
	}
	withoutProof := "c=biws,r=" + nonce
	s.authMessage = s.firstBare + "," + serverFirst + "," + withoutProof
	clientKey := hmacSHA1(s.salted, "Client Key")
	stored := sha1.Sum(clientKey)
	proof := hmacSHA1(stored[:], s.authMessage)
	for i := range proof {
		proof[i] ^= clientKey[i]
	}
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
}

func (s *scram) verify(serverFinal string) error {
	want := "v=" + base64.StdEncoding.EncodeToString(hmacSHA1(hmacSHA1(s.salted, "Server Key"), s.authMessage))
	if serverFinal != want {
		return fmt.Errorf("SCRAM server-final %q, want %q", serverFinal, want)
	}
	return nil
}

func hmacSHA1(key []byte, msg string) []byte {
	m := hmac.New(sha1.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
