// XEP-0388 Extensible SASL Profile (SASL2), with what goes inline in
// <authenticate/> and <success/>: XEP-0386 Bind 2, XEP-0198 Stream
// Management (inline enable and resume), XEP-0484 FAST, XEP-0280 Message
// Carbons, XEP-0352 Client State Indication, and the XEP-0313 archive
// metadata of XEP-0386 <bound/>.

package client

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/waxwing-im/waxwing/wasm/frame"
)

// AuthRequest is an XEP-0388 <authenticate/>.
type AuthRequest struct {
	Mechanism string
	// InitialResponse is sent base64-encoded in <initial-response/>; nil
	// sends none. An empty, non-nil response is sent as an empty element
	// (XEP-0388 §"SASL Data Encoding"; '=' is RFC 6120's convention, not
	// SASL2's).
	InitialResponse []byte
	// UserAgentID is the stable per-device id (a UUID v4). FAST tokens and
	// Bind 2 resources are keyed by it.
	UserAgentID      string
	Software, Device string
	Bind             *BindRequest   // nil: no <bind/>
	Resume           *ResumeRequest // inline <resume xmlns='urn:xmpp:sm:3'/>
	// RequestToken asks for a FAST token for this mechanism
	// (<request-token xmlns='urn:xmpp:fast:0' mechanism=…/>); "" asks none.
	RequestToken string
	// FAST says the secret is a FAST token: <fast xmlns='urn:xmpp:fast:0'/>.
	FAST bool
	// FASTCount is the XEP-0484 replay counter ('count'); 0 omits it. It is
	// needed only for TLS 0-RTT, which browsers do not expose.
	FASTCount uint32
	// FASTInvalidate asks the server to invalidate the token once this
	// authentication succeeds (log out).
	FASTInvalidate bool
}

// BindRequest is an XEP-0386 <bind/>, with the features to enable in the
// new session.
type BindRequest struct {
	Tag         string // resource prefix
	Carbons     bool   // XEP-0280 <enable xmlns='urn:xmpp:carbons:2'/>
	CSIInactive bool   // XEP-0352 <inactive/>; wins over CSIActive
	CSIActive   bool   // XEP-0352 <active/>
	SMEnable    bool   // XEP-0198 <enable/>
	SMResume    bool   // XEP-0198 <enable resume='true'/> (implies SMEnable)
}

// ResumeRequest is an inline XEP-0198 <resume/>: the previous session's id
// and the count of stanzas the client handled in it.
type ResumeRequest struct {
	PrevID string
	H      uint32
}

// Marshal returns the <authenticate/> element. Every value is escaped.
func (a AuthRequest) Marshal() []byte {
	var b strings.Builder
	b.WriteString("<authenticate xmlns='" + NSSASL2 + "' mechanism='" + frame.Escape(a.Mechanism) + "'>")
	if a.InitialResponse != nil {
		if len(a.InitialResponse) == 0 {
			b.WriteString("<initial-response/>")
		} else {
			b.WriteString("<initial-response>" + base64.StdEncoding.EncodeToString(a.InitialResponse) + "</initial-response>")
		}
	}
	if a.UserAgentID != "" || a.Software != "" || a.Device != "" {
		b.WriteString("<user-agent")
		if a.UserAgentID != "" {
			b.WriteString(" id='" + frame.Escape(a.UserAgentID) + "'")
		}
		b.WriteString(">")
		if a.Software != "" {
			b.WriteString("<software>" + frame.Escape(a.Software) + "</software>")
		}
		if a.Device != "" {
			b.WriteString("<device>" + frame.Escape(a.Device) + "</device>")
		}
		b.WriteString("</user-agent>")
	}
	if a.Resume != nil {
		b.WriteString(resumeElement(a.Resume.PrevID, a.Resume.H))
	}
	if a.FAST {
		b.WriteString("<fast xmlns='" + NSFAST + "'")
		if a.FASTCount > 0 {
			b.WriteString(" count='" + strconv.FormatUint(uint64(a.FASTCount), 10) + "'")
		}
		if a.FASTInvalidate {
			b.WriteString(" invalidate='true'")
		}
		b.WriteString("/>")
	}
	if a.RequestToken != "" {
		b.WriteString("<request-token xmlns='" + NSFAST + "' mechanism='" + frame.Escape(a.RequestToken) + "'/>")
	}
	if r := a.Bind; r != nil {
		b.WriteString("<bind xmlns='" + NSBind2 + "'>")
		if r.Tag != "" {
			b.WriteString("<tag>" + frame.Escape(r.Tag) + "</tag>")
		}
		if r.Carbons {
			b.WriteString("<enable xmlns='" + NSCarbons + "'/>")
		}
		switch {
		case r.SMResume:
			b.WriteString("<enable xmlns='" + NSSM + "' resume='true'/>")
		case r.SMEnable:
			b.WriteString("<enable xmlns='" + NSSM + "'/>")
		}
		switch {
		case r.CSIInactive:
			b.WriteString("<inactive xmlns='" + NSCSI + "'/>")
		case r.CSIActive:
			b.WriteString("<active xmlns='" + NSCSI + "'/>")
		}
		b.WriteString("</bind>")
	}
	b.WriteString("</authenticate>")
	return []byte(b.String())
}

// MarshalResponse returns an XEP-0388 <response/> carrying data.
func MarshalResponse(data []byte) []byte {
	if len(data) == 0 {
		return []byte("<response xmlns='" + NSSASL2 + "'/>")
	}
	return []byte("<response xmlns='" + NSSASL2 + "'>" + base64.StdEncoding.EncodeToString(data) + "</response>")
}

// MarshalAbort returns an XEP-0388 <abort/>, which ends the authentication
// attempt (the server answers with <failure><aborted/></failure>).
func MarshalAbort() []byte {
	return []byte("<abort xmlns='" + NSSASL2 + "'/>")
}

// AuthResult is what an XEP-0388 <success/> reports.
type AuthResult struct {
	// AdditionalData is the decoded <additional-data/>: nil when absent,
	// empty when the element is empty. For SCRAM it is the server's final
	// message, for FAST the server's proof; pass it to Mechanism.Verify.
	AdditionalData []byte
	// AuthzID is <authorization-identifier/>: the full JID when a resource
	// was bound (or a session resumed with one), the bare JID otherwise.
	AuthzID string
	// Bound is set when <bound xmlns='urn:xmpp:bind:0'> is present: Bind 2
	// bound a new resource.
	Bound bool
	// Carbons: <enabled xmlns='urn:xmpp:carbons:2'/> inside <bound/>.
	// (XEP-0386 needs no reply for carbons; Prosody sends one. Absent does
	// not mean refused.)
	Carbons bool
	// SMEnabled is the inline <enabled xmlns='urn:xmpp:sm:3'/> in <bound/>.
	SMEnabled *SMEnabled
	// SMEnableFailed is an inline <failed xmlns='urn:xmpp:sm:3'/> in
	// <bound/>: bound, but Stream Management could not be enabled.
	SMEnableFailed *SMFailed
	// Resumed is the inline <resumed xmlns='urn:xmpp:sm:3'/> in <success/>.
	// No <stream:features/> follows a resumption (XEP-0198 §"Inline Stream
	// Resumption"); the unacknowledged stanzas do.
	Resumed *SMResumed
	// ResumeFailed is an inline <failed xmlns='urn:xmpp:sm:3'/> in
	// <success/>: the resumption failed; if <bind/> was sent, Bound says
	// whether a new session was bound instead.
	ResumeFailed *SMFailed
	// Token is a new XEP-0484 FAST token (requested, or rotated by the
	// server).
	Token *FASTToken
	// MAMMetadata is the raw <metadata xmlns='urn:xmpp:mam:2'> in <bound/>
	// (XEP-0386 §"Performing the bind", XEP-0313), else nil.
	MAMMetadata []byte
}

// FASTToken is an XEP-0484 token. Expiry is zero if the server's 'expiry'
// was missing or not an XEP-0082 DateTime.
type FASTToken struct {
	Token  string
	Expiry time.Time
}

type successXML struct {
	XMLName        xml.Name
	AdditionalData *string `xml:"urn:xmpp:sasl:2 additional-data"`
	AuthzID        *string `xml:"urn:xmpp:sasl:2 authorization-identifier"`
	// XEP-0484's examples spell it authorization-identity.
	AuthzIDAlt *string `xml:"urn:xmpp:sasl:2 authorization-identity"`
	Bound      *struct {
		Carbons   *xmlPresent `xml:"urn:xmpp:carbons:2 enabled"`
		SMEnabled *smXML      `xml:"urn:xmpp:sm:3 enabled"`
		SMFailed  *smXML      `xml:"urn:xmpp:sm:3 failed"`
		Metadata  *struct {
			Inner []byte `xml:",innerxml"`
		} `xml:"urn:xmpp:mam:2 metadata"`
	} `xml:"urn:xmpp:bind:0 bound"`
	Resumed *smXML `xml:"urn:xmpp:sm:3 resumed"`
	Failed  *smXML `xml:"urn:xmpp:sm:3 failed"`
	Token   *struct {
		Token  string `xml:"token,attr"`
		Expiry string `xml:"expiry,attr"`
	} `xml:"urn:xmpp:fast:0 token"`
}

// ParseSuccess parses an XEP-0388 <success/>. A <failure/> is returned as
// its *AuthError. Errors are reserved for what the client cannot act on:
// malformed XML, base64 or inline XEP-0198 counters.
func ParseSuccess(raw []byte) (AuthResult, error) {
	if ae := ParseFailure(raw); ae != nil {
		return AuthResult{}, ae
	}
	var x successXML
	if err := decodeXML(raw, &x); err != nil {
		return AuthResult{}, fmt.Errorf("malformed SASL2 success: %w", err)
	}
	if x.XMLName.Space != NSSASL2 || x.XMLName.Local != "success" {
		return AuthResult{}, fmt.Errorf("got <%s xmlns='%s'>, want <success xmlns='%s'>", x.XMLName.Local, x.XMLName.Space, NSSASL2)
	}
	var r AuthResult
	if x.AdditionalData != nil {
		d, err := decodeSASLData(*x.AdditionalData)
		if err != nil {
			return AuthResult{}, fmt.Errorf("SASL2 additional-data: %w", err)
		}
		r.AdditionalData = d
	}
	switch {
	case x.AuthzID != nil:
		r.AuthzID = strings.TrimSpace(*x.AuthzID)
	case x.AuthzIDAlt != nil:
		r.AuthzID = strings.TrimSpace(*x.AuthzIDAlt)
	}
	if b := x.Bound; b != nil {
		r.Bound = true
		r.Carbons = b.Carbons != nil
		if b.SMEnabled != nil {
			e := b.SMEnabled.enabled()
			r.SMEnabled = &e
		}
		if b.SMFailed != nil {
			f, err := b.SMFailed.failed()
			if err != nil {
				return AuthResult{}, fmt.Errorf("inline SM enable: %w", err)
			}
			r.SMEnableFailed = &f
		}
		if b.Metadata != nil {
			r.MAMMetadata = []byte("<metadata xmlns='" + NSMAM + "'>" + string(b.Metadata.Inner) + "</metadata>")
		}
	}
	if x.Resumed != nil {
		res, err := x.Resumed.resumed()
		if err != nil {
			return AuthResult{}, fmt.Errorf("inline SM resume: %w", err)
		}
		r.Resumed = &res
	}
	if x.Failed != nil {
		f, err := x.Failed.failed()
		if err != nil {
			return AuthResult{}, fmt.Errorf("inline SM resume: %w", err)
		}
		r.ResumeFailed = &f
	}
	if t := x.Token; t != nil && t.Token != "" {
		tok := &FASTToken{Token: t.Token}
		if exp, err := time.Parse(time.RFC3339, strings.TrimSpace(t.Expiry)); err == nil {
			tok.Expiry = exp
		}
		r.Token = tok
	}
	return r, nil
}

// ParseChallenge returns the decoded data of an XEP-0388 <challenge/>.
func ParseChallenge(raw []byte) ([]byte, error) {
	return parseSASLData(raw, NSSASL2, "challenge")
}

// ContinueError is an XEP-0388 <continue/>: the SASL exchange succeeded,
// but the server wants further tasks (second factor, password change),
// which this client does not support. The client should send MarshalAbort
// and tell the user.
type ContinueError struct {
	Tasks          []string
	Text           string
	AdditionalData []byte
}

func (e *ContinueError) Error() string {
	s := "sasl2: the server requires tasks this client does not support: " + strings.Join(e.Tasks, ", ")
	if e.Text != "" {
		s += " (" + e.Text + ")"
	}
	return s
}

// ErrNotContinue is returned by ParseContinue for any element but
// <continue xmlns='urn:xmpp:sasl:2'>.
var ErrNotContinue = errors.New("not an XEP-0388 <continue/>")

// ParseContinue parses an XEP-0388 <continue/> into the *ContinueError to
// report. err is non-nil only if raw is not a well-formed <continue/>.
func ParseContinue(raw []byte) (*ContinueError, error) {
	var x struct {
		XMLName        xml.Name
		AdditionalData *string `xml:"urn:xmpp:sasl:2 additional-data"`
		Tasks          []struct {
			Task []string `xml:"urn:xmpp:sasl:2 task"`
		} `xml:"urn:xmpp:sasl:2 tasks"`
		Text string `xml:"urn:xmpp:sasl:2 text"`
	}
	if err := decodeXML(raw, &x); err != nil {
		return nil, fmt.Errorf("malformed SASL2 continue: %w", err)
	}
	if x.XMLName.Space != NSSASL2 || x.XMLName.Local != "continue" {
		return nil, ErrNotContinue
	}
	ce := &ContinueError{Text: strings.TrimSpace(x.Text)}
	for _, t := range x.Tasks {
		ce.Tasks = appendNames(ce.Tasks, t.Task...)
	}
	if x.AdditionalData != nil {
		d, err := decodeSASLData(*x.AdditionalData)
		if err != nil {
			return nil, fmt.Errorf("SASL2 continue additional-data: %w", err)
		}
		ce.AdditionalData = d
	}
	return ce, nil
}

// parseSASLData decodes the base64 text of the element ns local in raw.
func parseSASLData(raw []byte, ns, local string) ([]byte, error) {
	var x struct {
		XMLName xml.Name
		Text    string `xml:",chardata"`
	}
	if err := decodeXML(raw, &x); err != nil {
		return nil, fmt.Errorf("malformed <%s/>: %w", local, err)
	}
	if x.XMLName.Space != ns || x.XMLName.Local != local {
		return nil, fmt.Errorf("got <%s xmlns='%s'>, want <%s xmlns='%s'>", x.XMLName.Local, x.XMLName.Space, local, ns)
	}
	d, err := decodeSASLData(x.Text)
	if err != nil {
		return nil, fmt.Errorf("<%s/>: %w", local, err)
	}
	return d, nil
}

// decodeSASLData decodes base64 SASL data, ignoring whitespace (XEP-0388's
// own examples wrap it). It never returns nil: empty text is empty data. A
// lone "=" is empty data too (RFC 6120 §6.4; tolerated in SASL2).
func decodeSASLData(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r':
			return -1
		}
		return r
	}, s)
	if s == "" || s == "=" {
		return []byte{}, nil
	}
	d, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("bad base64: %w", err)
	}
	return d, nil
}
