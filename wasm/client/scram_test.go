package client_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/wasm/client"
)

// scramOracle computes, independently of mellium, the client proof and
// server signature of RFC 5802 §3 for an AuthMessage.
func scramOracle(t testing.TB, h func() hash.Hash, pass string, salt []byte, iter int, authMessage string) (proof, serverSig []byte) {
	t.Helper()
	sp, err := pbkdf2.Key(h, pass, salt, iter, h().Size())
	if err != nil {
		t.Fatal(err)
	}
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(h, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	ck := mac(sp, "Client Key")
	d := h()
	d.Write(ck)
	cs := mac(d.Sum(nil), authMessage)
	proof = make([]byte, len(ck))
	for i := range ck {
		proof[i] = ck[i] ^ cs[i]
	}
	return proof, mac(mac(sp, "Server Key"), authMessage)
}

// TestSCRAMOracle checks the oracle against the examples of RFC 5802 §5 and
// RFC 7677 §3.
func TestSCRAMOracle(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name               string
		h                  func() hash.Hash
		salt               string
		cf, sf, cfNoProof  string
		wantProof, wantSig string
	}{
		{"RFC 5802", sha1.New, "QSXCR+Q6sek8bf92", "n=user,r=fyko+d2lbbFgONRv9qkxdawL",
			"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
			"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j",
			"v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", "rmF9pqV8S7suAoZWja4dJRkFsKQ="},
		{"RFC 7677", sha256.New, "W22ZaJ0SNY7soEsUEjb6gQ==", "n=user,r=rOprNGfwEbeRWgbNEkqO",
			"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
			"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
			"dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="},
	} {
		salt, _ := base64.StdEncoding.DecodeString(tt.salt)
		proof, sig := scramOracle(t, tt.h, "pencil", salt, 4096, tt.cf+","+tt.sf+","+tt.cfNoProof)
		if got := base64.StdEncoding.EncodeToString(proof); got != tt.wantProof {
			t.Errorf("%s: proof %s, want %s", tt.name, got, tt.wantProof)
		}
		if got := base64.StdEncoding.EncodeToString(sig); got != tt.wantSig {
			t.Errorf("%s: signature %s, want %s", tt.name, got, tt.wantSig)
		}
	}
}

// scramServer plays the server side of one exchange against m and returns
// the server-final message, failing t on any deviation from RFC 5802.
func scramServer(t *testing.T, m client.Mechanism, h func() hash.Hash, user, pass string) (serverFirst, serverFinal []byte) {
	t.Helper()
	first, err := m.Start()
	if err != nil {
		t.Fatal(err)
	}
	bare, ok := strings.CutPrefix(string(first), "n,,")
	if !ok {
		t.Fatalf("client-first %q: want the gs2 header n,, (no channel binding)", first)
	}
	if !strings.HasPrefix(bare, "n="+user+",r=") {
		t.Fatalf("client-first-bare %q", bare)
	}
	cnonce := strings.TrimPrefix(bare, "n="+user+",r=")
	salt := []byte("salt of the earth")
	sf := "r=" + cnonce + "3rfcNHYJY1ZVvWVs7j,s=" + base64.StdEncoding.EncodeToString(salt) + ",i=4096"
	final, err := m.Next([]byte(sf))
	if err != nil {
		t.Fatal(err)
	}
	noProof, p, ok := strings.Cut(string(final), ",p=")
	if !ok || noProof != "c=biws,r="+cnonce+"3rfcNHYJY1ZVvWVs7j" {
		t.Fatalf("client-final %q", final)
	}
	proof, sig := scramOracle(t, h, pass, salt, 4096, bare+","+sf+","+noProof)
	if p != base64.StdEncoding.EncodeToString(proof) {
		t.Fatalf("client proof %s, want %s", p, base64.StdEncoding.EncodeToString(proof))
	}
	return []byte(sf), []byte("v=" + base64.StdEncoding.EncodeToString(sig))
}

func TestSCRAM(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		h    func() hash.Hash
	}{{"SCRAM-SHA-1", sha1.New}, {"SCRAM-SHA-256", sha256.New}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Commas and equals signs in the username are escaped (RFC 5802 §5.1).
			for _, user := range []string{"alice", "a,b=c"} {
				m, err := client.NewSCRAM(tt.name, user, "pencil ünïcode")
				if err != nil {
					t.Fatal(err)
				}
				if m.Name() != tt.name {
					t.Errorf("Name() = %q", m.Name())
				}
				escaped := strings.NewReplacer("=", "=3D", ",", "=2C").Replace(user)
				_, final := scramServer(t, m, tt.h, escaped, "pencil ünïcode")
				if err := m.Verify(final); err != nil {
					t.Fatalf("Verify(server-final) = %v", err)
				}
				// SASL2 <success/> may not be parsed twice, but a second
				// Verify with the same data is harmless.
				if err := m.Verify(final); err != nil {
					t.Errorf("second Verify = %v", err)
				}
			}
		})
	}
}

// TestSCRAMServerFinalInChallenge: an RFC 6120 server may send v= as a
// challenge and <success/> without data.
func TestSCRAMServerFinalInChallenge(t *testing.T) {
	t.Parallel()
	m, _ := client.NewSCRAM("SCRAM-SHA-1", "alice", "pw")
	_, final := scramServer(t, m, sha1.New, "alice", "pw")
	resp, err := m.Next(final)
	if err != nil || resp == nil || len(resp) != 0 {
		t.Fatalf("Next(server-final) = %q, %v; want an empty response", resp, err)
	}
	if err := m.Verify(nil); err != nil {
		t.Errorf("Verify(nil) after a verified challenge = %v", err)
	}
	if err := m.Verify([]byte("v=AAAA")); !errors.Is(err, client.ErrBadServerProof) {
		t.Errorf("Verify(other) = %v", err)
	}
}

func TestSCRAMServerNotVerified(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		final func(good []byte) []byte
	}{
		{"wrong signature", func(good []byte) []byte { return append(bytes.Clone(good[:len(good)-4]), "AAA="...) }},
		{"no additional data", func([]byte) []byte { return nil }},
		{"empty additional data", func([]byte) []byte { return []byte{} }},
		{"server error", func([]byte) []byte { return []byte("e=invalid-proof") }},
		{"garbage", func([]byte) []byte { return []byte("x") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, _ := client.NewSCRAM("SCRAM-SHA-256", "alice", "pw")
			_, final := scramServer(t, m, sha256.New, "alice", "pw")
			err := m.Verify(tt.final(final))
			if !errors.Is(err, client.ErrBadServerProof) {
				t.Fatalf("Verify = %v, want ErrBadServerProof", err)
			}
			// Once failed, it stays failed, without panicking in mellium.
			if err := m.Verify(final); err == nil {
				t.Error("Verify(good) after a failure succeeded")
			}
			if _, err := m.Next(final); err == nil {
				t.Error("Next after a failure succeeded")
			}
		})
	}
}

// TestSCRAMBadServerFirst: nothing a server sends as its first message
// hangs, panics or burns the CPU.
func TestSCRAMBadServerFirst(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, sf, wantErr string
	}{
		{"empty (mellium would loop)", "", "empty"},
		{"trailing comma (mellium would loop)", "r=%s,s=c2FsdA==,i=4096,", "malformed attribute"},
		{"short last attribute (mellium would loop)", "r=%s,s=c2FsdA==,i=4096,x=", "malformed attribute"},
		{"iteration count too high", "r=%s,s=c2FsdA==,i=1000000000", "outside"},
		{"iteration count zero", "r=%s,s=c2FsdA==,i=0", "outside"},
		{"iteration count signed", "r=%s,s=c2FsdA==,i=+4096", "bad iteration"},
		{"no salt", "r=%s,i=4096", "lacks"},
		{"mandatory extension", "m=ext,r=%s,s=c2FsdA==,i=4096", "mandatory extension"},
		{"server error", "e=unknown-user", "unknown-user"},
		{"nonce not extending ours", "r=other,s=c2FsdA==,i=4096", "nonce"},
		{"bad salt", "r=%s,s=***,i=4096", "illegal base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, _ := client.NewSCRAM("SCRAM-SHA-1", "alice", "pw")
			first, _ := m.Start()
			cnonce := string(first[bytes.LastIndex(first, []byte("r="))+2:])
			sf := tt.sf
			if strings.Contains(sf, "%s") {
				sf = fmt.Sprintf(sf, cnonce+"xyz")
			}
			done := make(chan error, 1)
			go func() {
				_, err := m.Next([]byte(sf))
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Next(%q) error %v, want %q", sf, err, tt.wantErr)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("Next(%q) hangs", sf)
			}
			if err := m.Verify([]byte("v=AAAA")); err == nil {
				t.Error("Verify after a failed exchange succeeded")
			}
		})
	}
}

func TestSCRAMMisuse(t *testing.T) {
	t.Parallel()
	m, _ := client.NewSCRAM("SCRAM-SHA-1", "alice", "pw")
	if err := m.Verify([]byte("v=AAAA")); !errors.Is(err, client.ErrBadServerProof) {
		t.Errorf("Verify before Start = %v", err)
	}
	if _, err := m.Next([]byte("r=x,s=c2FsdA==,i=1")); !errors.Is(err, client.ErrUnexpectedChallenge) {
		t.Errorf("Next before Start = %v", err)
	}
	m, _ = client.NewSCRAM("SCRAM-SHA-1", "alice", "pw")
	if _, err := m.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(); err == nil {
		t.Error("second Start succeeded")
	}
	// Success right after the client-first message: no proof at all.
	m, _ = client.NewSCRAM("SCRAM-SHA-256", "alice", "pw")
	_, _ = m.Start()
	if err := m.Verify(nil); !errors.Is(err, client.ErrBadServerProof) {
		t.Errorf("Verify after Start = %v", err)
	}
}

func TestNewSCRAMErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, user, wantErr string }{
		{"SCRAM-SHA-1-PLUS", "alice", "channel binding"},
		{"SCRAM-SHA-256-PLUS", "alice", "channel binding"},
		{"SCRAM-SHA-512", "alice", "unsupported"},
		{"PLAIN", "alice", "unsupported"},
		{"SCRAM-SHA-1", "", "empty username"},
	} {
		if _, err := client.NewSCRAM(tt.name, tt.user, "pw"); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("NewSCRAM(%q, %q) error %v, want %q", tt.name, tt.user, err, tt.wantErr)
		}
	}
}

func TestPLAIN(t *testing.T) {
	t.Parallel()
	m := client.NewPLAIN("alice", "pass\x00word")
	if m.Name() != "PLAIN" {
		t.Errorf("Name() = %q", m.Name())
	}
	got, err := m.Start()
	if err != nil || string(got) != "\x00alice\x00pass\x00word" {
		t.Errorf("Start() = %q, %v", got, err)
	}
	if _, err := m.Start(); err == nil {
		t.Error("second Start succeeded")
	}
	if _, err := m.Next([]byte("x")); !errors.Is(err, client.ErrUnexpectedChallenge) {
		t.Errorf("Next = %v", err)
	}
	for _, ad := range [][]byte{nil, {}} {
		if err := m.Verify(ad); err != nil {
			t.Errorf("Verify(%q) = %v", ad, err)
		}
	}
	if err := m.Verify([]byte("v=x")); err == nil {
		t.Error("Verify(data) succeeded")
	}
}

func TestPickMechanism(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		offered    []string
		allowPLAIN bool
		want       string
		reason     string
	}{
		{"Prosody SASL2", []string{"SCRAM-SHA-1", "PLAIN"}, true, "SCRAM-SHA-1", "SCRAM-SHA-1"},
		{"Prosody SHA-256 accounts", []string{"SCRAM-SHA-256", "PLAIN"}, false, "SCRAM-SHA-256", "SCRAM-SHA-256"},
		{"strongest first, whatever the order", []string{"SCRAM-SHA-1", "SCRAM-SHA-256"}, false, "SCRAM-SHA-256", "strongest"},
		{"ejabberd: never -PLUS", []string{"PLAIN", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"}, false, "SCRAM-SHA-1", "SCRAM-SHA-1"},
		{"only -PLUS", []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"}, true, "", "no usable mechanism"},
		{"SHA-512 is not supported", []string{"SCRAM-SHA-512", "SCRAM-SHA-1"}, false, "SCRAM-SHA-1", "SCRAM-SHA-1"},
		{"PLAIN allowed", []string{"PLAIN"}, true, "PLAIN", "PLAIN allowed"},
		{"PLAIN not allowed", []string{"PLAIN"}, false, "", "PLAIN is not allowed"},
		{"nothing offered", nil, true, "", "no usable mechanism"},
		{"FAST mechanisms are not password mechanisms", []string{"HT-SHA-256-NONE"}, true, "", "no usable mechanism"},
	}
	for _, tt := range tests {
		got, reason := client.PickMechanism(tt.offered, tt.allowPLAIN)
		if got != tt.want || !strings.Contains(reason, tt.reason) {
			t.Errorf("%s: PickMechanism = %q, %q; want %q, reason containing %q", tt.name, got, reason, tt.want, tt.reason)
		}
	}
}

// FuzzSCRAMServer feeds arbitrary server messages to a SCRAM client: it
// must answer or fail, never hang or panic, and never accept a proof it did
// not compute.
func FuzzSCRAMServer(f *testing.F) {
	f.Add([]byte("r=%s,s=c2FsdA==,i=16"), []byte("v=AAAA"))
	f.Add([]byte("r=%s,s=c2FsdA==,i=16,"), []byte("e=other-error"))
	f.Add([]byte(""), []byte(""))
	f.Add([]byte("m=x,r=%s"), []byte("v="))
	f.Fuzz(func(t *testing.T, sf, final []byte) {
		m, _ := client.NewSCRAM("SCRAM-SHA-1", "alice", "pw")
		first, _ := m.Start()
		cnonce := first[bytes.LastIndex(first, []byte("r="))+2:]
		sf = bytes.ReplaceAll(sf, []byte("%s"), cnonce)
		if i := bytes.Index(sf, []byte("i=")); i >= 0 {
			// Keep PBKDF2 cheap: the bound itself is tested above.
			if n := bytes.IndexByte(sf[i:], ','); n < 0 && len(sf[i:]) > 5 || n > 5 {
				return
			}
		}
		if _, err := m.Next(sf); err != nil {
			return
		}
		if err := m.Verify(final); err == nil {
			t.Fatalf("Verify(%q) accepted a signature nobody computed", final)
		}
	})
}
