package client_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/waxwing-im/waxwing/wasm/client"
)

// TestFAST replays servers.md §1.7: the token Prosody issued, the initial
// response it accepted ("alice\0" + HMAC-SHA-256(token, "Initiator"), whose
// base64 starts YWxpY2UA as in the transcript) and the additional data it
// answered with (F3gE… in the transcript).
func TestFAST(t *testing.T) {
	t.Parallel()
	m, err := client.NewFAST("HT-SHA-256-NONE", "alice", fastToken)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name() != "HT-SHA-256-NONE" {
		t.Errorf("Name() = %q", m.Name())
	}
	if err := m.Verify(mustB64(fastResponder)); !errors.Is(err, client.ErrBadServerProof) {
		t.Errorf("Verify before Start = %v", err)
	}
	ir, err := m.Start()
	if err != nil {
		t.Fatal(err)
	}
	const wantIR = "YWxpY2UAM9Lka6Rcyt1iLw0vSmqLfeZbUdfbFfrtJ+LuLqxAtFo="
	if got := base64.StdEncoding.EncodeToString(ir); got != wantIR {
		t.Errorf("initial response %s, want %s", got, wantIR)
	}
	if _, err := m.Start(); err == nil {
		t.Error("second Start succeeded")
	}
	if _, err := m.Next([]byte("x")); !errors.Is(err, client.ErrUnexpectedChallenge) {
		t.Errorf("Next = %v", err)
	}
	// The additional data as ParseSuccess decodes it from the transcript.
	res, err := client.ParseSuccess([]byte(wireSuccessFAST))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(res.AdditionalData); err != nil {
		t.Errorf("Verify(Prosody's Responder hash) = %v", err)
	}
	for name, ad := range map[string][]byte{
		"none":               nil,
		"empty":              {},
		"Initiator hash":     ir[len("alice\x00"):],
		"another token's":    mustB64("G3gEm84N3sXGCphOilRrbmmjnFUb53dsC55fKELpeKg="),
		"truncated":          mustB64(fastResponder)[:16],
		"SCRAM server-final": []byte(serverFinal),
	} {
		if err := m.Verify(ad); !errors.Is(err, client.ErrBadServerProof) {
			t.Errorf("Verify(%s) = %v, want ErrBadServerProof", name, err)
		}
	}
}

func mustB64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestNewFASTErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, user, token, wantErr string }{
		{"HT-SHA-256-EXPR", "alice", "t", "channel binding"},
		{"HT-SHA-256-ENDP", "alice", "t", "channel binding"},
		{"SCRAM-SHA-1", "alice", "t", "not a FAST mechanism"},
		{"HT-SHA-256-NONE", "", "t", "empty"},
		{"HT-SHA-256-NONE", "alice", "", "empty"},
	} {
		if _, err := client.NewFAST(tt.name, tt.user, tt.token); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("NewFAST(%q, %q, %q) error %v, want %q", tt.name, tt.user, tt.token, err, tt.wantErr)
		}
	}
}

func TestPickFAST(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		offered []string
		want    string
	}{
		{[]string{"HT-SHA-256-NONE", "HT-SHA-256-EXPR"}, "HT-SHA-256-NONE"},
		{[]string{"HT-SHA-256-EXPR", "HT-SHA-256-NONE"}, "HT-SHA-256-NONE"},
		{[]string{"HT-SHA-256-EXPR", "HT-SHA-256-ENDP"}, ""},
		{nil, ""},
	} {
		if got := client.PickFAST(tt.offered); got != tt.want {
			t.Errorf("PickFAST(%q) = %q, want %q", tt.offered, got, tt.want)
		}
	}
}

// FuzzFASTVerify: no additional data but the Responder hash verifies.
func FuzzFASTVerify(f *testing.F) {
	f.Add([]byte(""), "t")
	f.Add(mustB64(fastResponder), fastToken)
	f.Fuzz(func(t *testing.T, ad []byte, token string) {
		if token == "" {
			return
		}
		m, _ := client.NewFAST("HT-SHA-256-NONE", "alice", token)
		if _, err := m.Start(); err != nil {
			t.Fatal(err)
		}
		if token == fastToken && string(ad) == string(mustB64(fastResponder)) {
			if err := m.Verify(ad); err != nil {
				t.Fatal(err)
			}
			return
		}
		if len(ad) != 32 {
			if err := m.Verify(ad); err == nil {
				t.Fatalf("Verify(%d bytes) succeeded", len(ad))
			}
		}
	})
}
