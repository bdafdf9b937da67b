package client

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	prosody := Features{ // Prosody 0.12.3 with the compat module, as seen on the wire
		SASL: []string{"PLAIN", "SCRAM-SHA-1"},
		SASL2: &SASL2Feature{
			Mechanisms: []string{"SCRAM-SHA-1", "PLAIN"},
			Bind2:      &Bind2Feature{Inline: []string{nsCarbons, nsCSI}},
			FAST:       []string{"HT-SHA-256-NONE"},
		},
	}
	inlineSM := prosody
	inlineSM.SASL2 = &SASL2Feature{
		Mechanisms: []string{"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"},
		Bind2:      &Bind2Feature{Inline: []string{nsCarbons, nsCSI, nsSM}},
		InlineSM:   true,
		FAST:       []string{"HT-SHA-256-NONE", "HT-SHA-256-EXPR"},
	}
	noBind2 := Features{SASL2: &SASL2Feature{Mechanisms: []string{"SCRAM-SHA-1"}}}
	ejabberd := Features{SASL: []string{"PLAIN", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"}}
	plainOnly := Features{SASL: []string{"PLAIN"}}

	token := State{FASTMechanism: "HT-SHA-256-NONE", FASTToken: "secret-token:x", FASTExpiry: now.Add(20 * 24 * time.Hour)}
	oldToken := token
	oldToken.FASTExpiry = now.Add(2 * 24 * time.Hour)
	expired := token
	expired.FASTExpiry = now.Add(-time.Minute)
	sm := State{SM: SMState{ID: "sm1", Max: 10 * time.Minute, Since: now.Add(-time.Minute)}}
	smExpired := State{SM: SMState{ID: "sm1", Max: 10 * time.Minute, Since: now.Add(-time.Hour)}}
	tokenAndSM := token
	tokenAndSM.SM = sm.SM
	pw := Credentials{Password: "pw"}

	tests := []struct {
		name   string
		f      Features
		st     State
		cred   Credentials
		want   Plan
		err    error
		reason []string // substrings of the reason
	}{
		{"fresh login, Prosody", prosody, State{}, pw,
			Plan{SASL2: true, Mechanism: "SCRAM-SHA-1", RequestToken: "HT-SHA-256-NONE", Bind2: true, Carbons: true, CSI: true},
			nil, []string{"SASL2 offered", "SCRAM-SHA-1", "request a FAST token", "Bind 2", "SM enabled after binding"}},
		{"fresh login, inline SM offered", inlineSM, State{}, pw,
			Plan{SASL2: true, Mechanism: "SCRAM-SHA-256", RequestToken: "HT-SHA-256-NONE", Bind2: true, InlineSM: true, Carbons: true, CSI: true},
			nil, []string{"SCRAM-SHA-256"}},
		{"token login: never the password", prosody, token, Credentials{},
			Plan{SASL2: true, Mechanism: "HT-SHA-256-NONE", UseToken: true, Bind2: true, Carbons: true, CSI: true},
			nil, []string{"FAST token valid until 2026-12-11"}},
		{"token preferred over a password at hand", prosody, token, pw,
			Plan{SASL2: true, Mechanism: "HT-SHA-256-NONE", UseToken: true, Bind2: true, Carbons: true, CSI: true},
			nil, []string{"FAST token valid"}},
		{"token near expiry is refreshed", prosody, oldToken, Credentials{},
			Plan{SASL2: true, Mechanism: "HT-SHA-256-NONE", UseToken: true, RequestToken: "HT-SHA-256-NONE", Bind2: true, Carbons: true, CSI: true},
			nil, []string{"request a FAST token"}},
		{"expired token, password", prosody, expired, pw,
			Plan{SASL2: true, Mechanism: "SCRAM-SHA-1", RequestToken: "HT-SHA-256-NONE", Bind2: true, Carbons: true, CSI: true},
			nil, []string{"stored FAST token not usable"}},
		{"expired token, no password: ask the user", prosody, expired, Credentials{}, Plan{SASL2: true}, ErrPasswordNeeded, []string{"no usable FAST token"}},
		{"token, FAST not offered on this stream", noBind2, token, Credentials{}, Plan{SASL2: true}, ErrPasswordNeeded, nil},
		{"resume on Prosody 0.12: no bind, classic resume", prosody, tokenAndSM, Credentials{},
			Plan{SASL2: true, Mechanism: "HT-SHA-256-NONE", UseToken: true, Resume: ResumeClassic},
			nil, []string{"no inline resume offered", "pipelined"}},
		{"inline resume with Bind 2 fallback", inlineSM, tokenAndSM, Credentials{},
			Plan{SASL2: true, Mechanism: "HT-SHA-256-NONE", UseToken: true, Resume: ResumeInline, Bind2: true, InlineSM: true, Carbons: true, CSI: true},
			nil, []string{"inline <resume/>", "Bind 2 as fallback"}},
		{"SM session too old to resume", prosody, smExpired, pw,
			Plan{SASL2: true, Mechanism: "SCRAM-SHA-1", RequestToken: "HT-SHA-256-NONE", Bind2: true, Carbons: true, CSI: true},
			nil, []string{"SM session sm1 past its window (last known alive 1h0m0s ago, max 10m0s)"}},
		{"SASL2 without Bind 2", noBind2, State{}, pw,
			Plan{SASL2: true, Mechanism: "SCRAM-SHA-1"},
			nil, []string{"RFC 6120 resource binding"}},
		{"legacy: ejabberd, never SASL2, never -PLUS", ejabberd, State{}, pw,
			Plan{Mechanism: "SCRAM-SHA-1"},
			nil, []string{"no SASL2 offered"}},
		{"legacy resume", ejabberd, sm, pw,
			Plan{Mechanism: "SCRAM-SHA-1", Resume: ResumeClassic},
			nil, []string{"<resume/> after the restart"}},
		{"legacy needs the password even with a token", ejabberd, token, Credentials{}, Plan{}, ErrPasswordNeeded, nil},
		{"PLAIN only, not allowed", plainOnly, State{}, pw, Plan{}, ErrNoMechanism, nil},
		{"PLAIN only, allowed over TLS", plainOnly, State{}, Credentials{Password: "pw", AllowPLAIN: true}, Plan{Mechanism: "PLAIN"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason, err := Decide(tt.f, tt.st, tt.cred, now)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v (reason: %s)", err, tt.err, reason)
			}
			if err == nil && got != tt.want {
				t.Fatalf("plan\n got %+v\nwant %+v\nreason: %s", got, tt.want, reason)
			}
			for _, r := range tt.reason {
				if !strings.Contains(reason, r) {
					t.Errorf("reason %q lacks %q", reason, r)
				}
			}
		})
	}
}
