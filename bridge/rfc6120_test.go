//go:build !js

package bridge

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestUpstreamAddrs(t *testing.T) {
	srv := []*net.SRV{{Target: "xmpp1.example.org.", Port: 5222}, {Target: "xmpp2.example.org.", Port: 15222}}
	tests := []struct {
		name    string
		cfg     Config
		records []*net.SRV
		err     error
		service string
		want    []string
	}{
		{"configured upstream wins, no lookup", Config{Domain: "example.org", Upstream: "10.0.0.5:5222"}, srv, nil, "", []string{"10.0.0.5:5222"}},
		{"SRV records, then the domain", Config{Domain: "example.org"}, srv, nil, "xmpp-client",
			[]string{"xmpp1.example.org:5222", "xmpp2.example.org:15222", "example.org:5222"}},
		{"no SRV", Config{Domain: "example.org"}, nil, errors.New("no such host"), "xmpp-client", []string{"example.org:5222"}},
		{"service not offered ('.')", Config{Domain: "example.org"}, []*net.SRV{{Target: ".", Port: 0}}, nil, "xmpp-client", []string{"example.org:5222"}},
		{"direct TLS looks up xmpps-client", Config{Domain: "example.org", UpstreamTLS: TLSDirect}, []*net.SRV{{Target: "tls.example.org.", Port: 443}}, nil, "xmpps-client",
			[]string{"tls.example.org:443", "example.org:5223"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := newUpstream(tt.cfg.withDefaults(), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			asked := ""
			u.lookup = func(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
				if name != tt.cfg.Domain || proto != "tcp" {
					t.Errorf("looked up %s %s %s", service, proto, name)
				}
				asked = service
				return "", tt.records, tt.err
			}
			if got := u.addrs(context.Background()); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("addrs = %v, want %v", got, tt.want)
			}
			if asked != tt.service {
				t.Fatalf("looked up %q, want %q", asked, tt.service)
			}
		})
	}
}

func TestUpstreamInsecureSkipVerify(t *testing.T) {
	t.Parallel()
	f := newFakeUpstream(t, withCertNames("other.example"))
	b := startBridge(t, f, func(c *Config) { c.UpstreamCA = ""; c.UpstreamInsecureSkipVerify = true })
	for i := 0; i < 2; i++ {
		br := b.dial(t)
		br.send(openFrame)
		f.conn(t)
		br.expectContains("<open ")
		br.expectContains("<stream:features ")
	}
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(b.logs.String(), "NOT verified") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := strings.Count(b.logs.String(), "NOT verified"); n < 2 {
		t.Fatalf("%d warnings for 2 connections:\n%s", n, b.logs.String())
	}
}
