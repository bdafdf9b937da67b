package client

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Namespaces of the features the plan enables.
const (
	nsCarbons = "urn:xmpp:carbons:2"
	nsCSI     = "urn:xmpp:csi:0"
	nsSM      = "urn:xmpp:sm:3"
)

// Path names how a connection became ready; the UI shows it.
type Path string

// Paths.
const (
	PathFresh   Path = "fresh"   // SASL2 with the password, new session
	PathToken   Path = "token"   // SASL2 with a FAST token, new session
	PathResumed Path = "resumed" // XEP-0198 resumption
	PathRebound Path = "rebound" // resumption failed; new session, unacked stanzas re-sent
	PathLegacy  Path = "legacy"  // RFC 6120 SASL, resource binding, classic SM
)

// ResumeMode says how a previous session is resumed.
type ResumeMode uint8

// Resume modes.
const (
	ResumeNone    ResumeMode = iota
	ResumeInline             // <resume/> inside <authenticate/> (XEP-0198 §… with XEP-0388)
	ResumeClassic            // SASL2 (or SASL) without binding, then <resume/> pipelined right after
)

func (m ResumeMode) String() string {
	return [...]string{"none", "inline", "classic"}[m]
}

// Plan is the verdict of Decide: what to send.
type Plan struct {
	SASL2        bool       // XEP-0388; false means the legacy RFC 6120 path
	Mechanism    string     // SASL mechanism
	UseToken     bool       // Mechanism is a FAST mechanism and the token is the secret
	RequestToken string     // FAST mechanism to ask a token for ("" = none)
	Resume       ResumeMode // how to resume State.SM
	Bind2        bool       // bind inside <authenticate/> (fallback when an inline resume fails)
	InlineSM     bool       // enable SM inside Bind 2
	Carbons      bool       // enable carbons inside Bind 2
	CSI          bool       // set the client state inside Bind 2
}

// Credentials are what the user gave for this connection. Password is empty
// when only a token or a resumable session is available.
type Credentials struct {
	Password string
	// AllowPLAIN permits PLAIN when no SCRAM mechanism is offered: only over
	// a TLS-protected or loopback link.
	AllowPLAIN bool
}

// Decide errors.
var (
	ErrPasswordNeeded = errors.New("the password is needed: no usable token or session")
	ErrNoMechanism    = errors.New("the server offers no login mechanism this client supports")
)

// fastPreferred lists the FAST mechanisms in order of preference. -EXPR needs
// TLS exporter channel binding, which no browser exposes (and which Prosody
// 0.12 breaks), so only -NONE is used.
var fastPreferred = []string{"HT-SHA-256-NONE"}

// tokenRefreshBefore: a token that expires sooner than this is replaced at
// the next login with a secret in hand.
const tokenRefreshBefore = 7 * 24 * time.Hour

// Decide chooses how to log in, from the server's stream features, the
// stored state and the credentials at hand. It is pure: same inputs, same
// verdict. The reason says why, for the log.
func Decide(f Features, st State, cred Credentials, now time.Time) (Plan, string, error) {
	var why []string
	resumable := st.SM.Resumable(now)
	if st.SM.ID != "" && !resumable {
		// Say so: a new session sends every unacknowledged stanza again.
		why = append(why, fmt.Sprintf("SM session %s past its window (last known alive %v ago, max %v)",
			st.SM.ID, now.Sub(st.SM.Since).Round(time.Millisecond), st.SM.Max))
	}

	if f.SASL2 == nil {
		// Never send SASL2 to a server that did not offer it: ejabberd
		// 23.01 ignores it and the client would wait for ever.
		p := Plan{}
		why = append(why, "no SASL2 offered: legacy RFC 6120 path")
		if cred.Password == "" {
			return p, strings.Join(why, "; "), ErrPasswordNeeded
		}
		mech, r := PickMechanism(f.SASL, cred.AllowPLAIN)
		if mech == "" {
			return p, strings.Join(append(why, r), "; "), ErrNoMechanism
		}
		p.Mechanism = mech
		why = append(why, r)
		if resumable {
			p.Resume = ResumeClassic
			why = append(why, "SM session "+st.SM.ID+" may be alive: <resume/> after the restart")
		}
		return p, strings.Join(why, "; "), nil
	}

	s2 := f.SASL2
	p := Plan{SASL2: true}
	why = append(why, "SASL2 offered")
	switch {
	case st.TokenUsable(now, s2.FAST):
		p.Mechanism, p.UseToken = st.FASTMechanism, true
		why = append(why, fmt.Sprintf("FAST token valid until %s: %s, no password", st.FASTExpiry.UTC().Format(time.RFC3339), st.FASTMechanism))
	case cred.Password != "":
		mech, r := PickMechanism(s2.Mechanisms, cred.AllowPLAIN)
		if mech == "" {
			return p, strings.Join(append(why, r), "; "), ErrNoMechanism
		}
		p.Mechanism = mech
		why = append(why, r)
		if st.FASTToken != "" {
			why = append(why, "stored FAST token not usable (expired or mechanism not offered)")
		}
	default:
		return p, strings.Join(append(why, "no usable FAST token and no password"), "; "), ErrPasswordNeeded
	}

	// Ask for a token whenever the secret used is not a fresh-enough token.
	if fm := firstOffered(fastPreferred, s2.FAST); fm != "" {
		if !p.UseToken || st.FASTExpiry.Sub(now) < tokenRefreshBefore {
			p.RequestToken = fm
			why = append(why, "request a FAST token ("+fm+")")
		}
	}

	b2 := s2.Bind2
	switch {
	case resumable && s2.InlineSM:
		p.Resume = ResumeInline
		why = append(why, "SM session "+st.SM.ID+": inline <resume/>")
		if b2 != nil {
			// XEP-0388: if the resumption fails, the server binds instead,
			// in the same round trip.
			p.Bind2 = true
			why = append(why, "Bind 2 as fallback")
		}
	case resumable:
		// Prosody 0.12: binding again would replace, and kill, the
		// hibernating session (its Bind 2 resource is deterministic).
		p.Resume = ResumeClassic
		why = append(why, "SM session "+st.SM.ID+": no inline resume offered; authenticate without binding, then <resume/> pipelined")
	case b2 != nil:
		p.Bind2 = true
		why = append(why, "Bind 2")
	default:
		why = append(why, "no Bind 2: RFC 6120 resource binding after authentication")
	}
	if p.Bind2 && b2 != nil {
		p.Carbons = b2.Has(nsCarbons)
		p.CSI = b2.Has(nsCSI)
		p.InlineSM = b2.Has(nsSM)
		if !p.InlineSM {
			why = append(why, "SM enabled after binding (not offered inline)")
		}
	}
	return p, strings.Join(why, "; "), nil
}

func firstOffered(preferred, offered []string) string {
	for _, m := range preferred {
		if slices.Contains(offered, m) {
			return m
		}
	}
	return ""
}
