// RFC 5802 SCRAM-SHA-1 and RFC 7677 SCRAM-SHA-256 (through mellium.im/sasl),
// RFC 4616 PLAIN, and the choice between them. No -PLUS variants: a browser
// exposes no TLS channel binding data.

package client

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"mellium.im/sasl"
)

// Mechanism is a client SASL mechanism, used the same way for RFC 6120 SASL
// and XEP-0388 SASL2.
type Mechanism interface {
	// Name is the IANA name, e.g. SCRAM-SHA-256.
	Name() string
	// Start returns the initial response.
	Start() ([]byte, error)
	// Next answers a server challenge.
	Next(challenge []byte) ([]byte, error)
	// Verify checks the additional data of the server's success (nil when
	// there was none). It fails unless the server proved that it knows the
	// secret, for mechanisms that can (SCRAM, FAST).
	Verify(additionalData []byte) error
}

// MaxSCRAMIterations bounds the PBKDF2 iteration count a server may ask
// for: a larger count is refused rather than computed (it would freeze a
// browser tab). Prosody uses 10000 by default, ejabberd 4096.
const MaxSCRAMIterations = 1_000_000

// Errors of mechanisms.
var (
	// ErrBadServerProof: the server's proof (SCRAM server signature,
	// FAST Responder hash) is missing or wrong. The server may be an
	// impostor; the stream must be closed.
	ErrBadServerProof = errors.New("the server did not prove that it knows the credentials")
	// ErrUnexpectedChallenge: a challenge the mechanism does not expect.
	ErrUnexpectedChallenge = errors.New("unexpected SASL challenge")
)

// scramMechanisms are the SCRAM variants NewSCRAM supports, strongest first.
var scramMechanisms = []struct {
	name string
	mech sasl.Mechanism
}{
	{"SCRAM-SHA-256", sasl.ScramSha256},
	{"SCRAM-SHA-1", sasl.ScramSha1},
}

// scram steps.
const (
	scramInitial   = iota
	scramFirstSent // client-first sent, awaiting server-first
	scramFinalSent // client-final sent, awaiting server-final
	scramVerified  // server signature checked
	scramFailed
)

type scramMech struct {
	name        string
	neg         *sasl.Negotiator
	step        int
	serverFinal []byte
}

// NewSCRAM returns a SCRAM client for name (SCRAM-SHA-256 or SCRAM-SHA-1)
// logging in as user (the JID's localpart) with pass. The password is used
// as given: no SASLprep (RFC 4013), which only matters for non-ASCII
// passwords.
func NewSCRAM(name, user, pass string) (Mechanism, error) {
	if strings.HasSuffix(name, "-PLUS") {
		return nil, fmt.Errorf("%s needs TLS channel binding, which browsers do not expose", name)
	}
	if user == "" {
		return nil, errors.New("SCRAM: empty username")
	}
	for _, m := range scramMechanisms {
		if m.name == name {
			neg := sasl.NewClient(m.mech, sasl.Credentials(func() ([]byte, []byte, []byte) {
				return []byte(user), []byte(pass), nil
			}))
			return &scramMech{name: name, neg: neg}, nil
		}
	}
	return nil, fmt.Errorf("unsupported SASL mechanism %q", name)
}

func (m *scramMech) Name() string { return m.name }

// step runs the mellium negotiator, which panics if stepped again after an
// error: m.step guards it.
func (m *scramMech) advance(challenge []byte, next int) ([]byte, error) {
	_, resp, err := m.neg.Step(challenge)
	if err != nil {
		m.step = scramFailed
		return nil, err
	}
	m.step = next
	return resp, nil
}

func (m *scramMech) Start() ([]byte, error) {
	if m.step != scramInitial {
		return nil, fmt.Errorf("%s: Start called twice", m.name)
	}
	return m.advance(nil, scramFirstSent)
}

func (m *scramMech) Next(challenge []byte) ([]byte, error) {
	switch m.step {
	case scramFirstSent:
		if err := checkServerFirst(challenge); err != nil {
			m.step = scramFailed
			return nil, fmt.Errorf("%s: %w", m.name, err)
		}
		resp, err := m.advance(challenge, scramFinalSent)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.name, err)
		}
		return resp, nil
	case scramFinalSent:
		// Some RFC 6120 servers send the server-final message as a
		// challenge and <success/> without data: verify it now and answer
		// with an empty response.
		if err := m.verifyFinal(challenge); err != nil {
			return nil, err
		}
		return []byte{}, nil
	}
	m.step = scramFailed
	return nil, fmt.Errorf("%s: %w", m.name, ErrUnexpectedChallenge)
}

func (m *scramMech) Verify(additionalData []byte) error {
	switch m.step {
	case scramFinalSent:
		if additionalData == nil {
			m.step = scramFailed
			return fmt.Errorf("%s: no server signature: %w", m.name, ErrBadServerProof)
		}
		return m.verifyFinal(additionalData)
	case scramVerified:
		// Verified from a challenge already; the success may repeat it.
		if len(additionalData) == 0 || bytes.Equal(additionalData, m.serverFinal) {
			return nil
		}
		return fmt.Errorf("%s: two different server-final messages: %w", m.name, ErrBadServerProof)
	}
	if m.step == scramFailed {
		return fmt.Errorf("%s: the exchange already failed: %w", m.name, ErrBadServerProof)
	}
	return fmt.Errorf("%s: success before the exchange completed: %w", m.name, ErrBadServerProof)
}

func (m *scramMech) verifyFinal(msg []byte) error {
	if e, ok := bytes.CutPrefix(msg, []byte("e=")); ok {
		m.step = scramFailed
		return fmt.Errorf("%s: the server reports %q: %w", m.name, e, ErrBadServerProof)
	}
	if !bytes.HasPrefix(msg, []byte("v=")) {
		m.step = scramFailed
		return fmt.Errorf("%s: malformed server-final message: %w", m.name, ErrBadServerProof)
	}
	if _, err := m.advance(msg, scramVerified); err != nil {
		return fmt.Errorf("%s: wrong server signature: %w", m.name, ErrBadServerProof)
	}
	m.serverFinal = bytes.Clone(msg)
	return nil
}

// checkServerFirst validates a SCRAM server-first-message (RFC 5802 §7)
// before mellium parses it: mellium loops for ever on an empty message or
// one whose last attribute is shorter than three bytes, and computes any
// iteration count it is given.
func checkServerFirst(msg []byte) error {
	if len(msg) == 0 {
		return errors.New("empty server-first-message")
	}
	var haveR, haveS, haveI bool
	for _, f := range bytes.Split(msg, []byte(",")) {
		if len(f) < 3 || f[1] != '=' || !('a' <= f[0] && f[0] <= 'z' || 'A' <= f[0] && f[0] <= 'Z') {
			return fmt.Errorf("malformed attribute %q in server-first-message", f)
		}
		v := f[2:]
		switch f[0] {
		case 'm':
			return errors.New("server-first-message has a mandatory extension (m=)")
		case 'e':
			return fmt.Errorf("the server reports %q", v)
		case 'r':
			haveR = true
		case 's':
			haveS = true
		case 'i':
			for _, c := range v {
				if c < '0' || c > '9' {
					return fmt.Errorf("bad iteration count %q", v)
				}
			}
			n, err := strconv.Atoi(string(v))
			if err != nil || n < 1 || n > MaxSCRAMIterations {
				return fmt.Errorf("iteration count %q outside 1..%d", v, MaxSCRAMIterations)
			}
			haveI = true
		}
	}
	if !haveR || !haveS || !haveI {
		return errors.New("server-first-message lacks r=, s= or i=")
	}
	return nil
}

type plainMech struct {
	user, pass string
	started    bool
}

// NewPLAIN returns a PLAIN client (RFC 4616) with no authorization
// identity. PLAIN sends the password itself: use it only over TLS.
func NewPLAIN(user, pass string) Mechanism { return &plainMech{user: user, pass: pass} }

func (m *plainMech) Name() string { return "PLAIN" }

func (m *plainMech) Start() ([]byte, error) {
	if m.started {
		return nil, errors.New("PLAIN: Start called twice")
	}
	m.started = true
	return []byte("\x00" + m.user + "\x00" + m.pass), nil
}

func (m *plainMech) Next([]byte) ([]byte, error) {
	return nil, fmt.Errorf("PLAIN: %w", ErrUnexpectedChallenge)
}

// Verify accepts no data: PLAIN cannot authenticate the server.
func (m *plainMech) Verify(additionalData []byte) error {
	if len(additionalData) != 0 {
		return errors.New("PLAIN: unexpected additional data in success")
	}
	return nil
}

// PickMechanism chooses a password mechanism among those offered: the
// strongest SCRAM first (SCRAM-SHA-256, then SCRAM-SHA-1; never -PLUS),
// PLAIN last and only if allowPLAIN. It returns "" if none fits, and the
// reason for the log either way.
func PickMechanism(offered []string, allowPLAIN bool) (string, string) {
	for _, m := range scramMechanisms {
		if containsName(offered, m.name) {
			return m.name, m.name + ": the strongest SCRAM offered"
		}
	}
	if containsName(offered, "PLAIN") {
		if allowPLAIN {
			return "PLAIN", "PLAIN: no SCRAM offered, PLAIN allowed on this link"
		}
		return "", fmt.Sprintf("no usable mechanism in [%s]: PLAIN is not allowed on this link", strings.Join(offered, " "))
	}
	return "", fmt.Sprintf("no usable mechanism in [%s]: want SCRAM-SHA-256, SCRAM-SHA-1 or PLAIN", strings.Join(offered, " "))
}

func containsName(names []string, name string) bool {
	for _, n := range names {
		if strings.TrimSpace(n) == name {
			return true
		}
	}
	return false
}

// constantTimeEqual compares secrets' digests.
func constantTimeEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
