// XEP-0484 Fast Authentication Streamlining Tokens: the HT-SHA-256-NONE
// mechanism of the Hashed Token SASL draft (draft-schmaus-kitten-sasl-ht),
// the only one a browser can use (the others bind to the TLS channel).

package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"
)

// FASTMechanisms lists the FAST mechanisms NewFAST supports, in order of
// preference. HT-SHA-256-EXPR and -ENDP need TLS channel binding data (and
// Prosody 0.12 never answers -EXPR).
var FASTMechanisms = []string{"HT-SHA-256-NONE"}

// PickFAST returns the first mechanism of FASTMechanisms the server offers
// inline in SASL2, or "".
func PickFAST(offered []string) string {
	for _, m := range FASTMechanisms {
		if slices.Contains(offered, m) {
			return m
		}
	}
	return ""
}

type fastMech struct {
	name, user, token string
	hash              func() hash.Hash
	started           bool
}

// NewFAST returns a FAST token client for name, logging in as user (the
// JID's localpart) with token, the value of the server's
// <token token='…'/> as given. The initial response is
// user NUL HMAC(token, "Initiator"); Verify expects HMAC(token, "Responder")
// as the success's additional data.
func NewFAST(name, user, token string) (Mechanism, error) {
	switch {
	case name == "HT-SHA-256-NONE":
	case strings.HasPrefix(name, "HT-"):
		return nil, fmt.Errorf("%s needs TLS channel binding, which browsers do not expose", name)
	default:
		return nil, fmt.Errorf("%q is not a FAST mechanism", name)
	}
	if user == "" || token == "" {
		return nil, errors.New("FAST: empty username or token")
	}
	return &fastMech{name: name, user: user, token: token, hash: sha256.New}, nil
}

func (m *fastMech) Name() string { return m.name }

func (m *fastMech) mac(label string) []byte {
	h := hmac.New(m.hash, []byte(m.token))
	h.Write([]byte(label))
	return h.Sum(nil)
}

func (m *fastMech) Start() ([]byte, error) {
	if m.started {
		return nil, fmt.Errorf("%s: Start called twice", m.name)
	}
	m.started = true
	resp := append([]byte(m.user), 0)
	return append(resp, m.mac("Initiator")...), nil
}

// Next fails: the exchange is one round trip.
func (m *fastMech) Next([]byte) ([]byte, error) {
	return nil, fmt.Errorf("%s: %w", m.name, ErrUnexpectedChallenge)
}

func (m *fastMech) Verify(additionalData []byte) error {
	if !m.started {
		return fmt.Errorf("%s: success before the exchange started: %w", m.name, ErrBadServerProof)
	}
	if additionalData == nil {
		return fmt.Errorf("%s: no Responder hash: %w", m.name, ErrBadServerProof)
	}
	if !constantTimeEqual(additionalData, m.mac("Responder")) {
		return fmt.Errorf("%s: wrong Responder hash: %w", m.name, ErrBadServerProof)
	}
	return nil
}
