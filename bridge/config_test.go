//go:build !js

package bridge

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := Config{Domain: "example.org"}
	tests := []struct {
		name string
		mod  func(*Config)
		want string // substring of the error; "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"no domain", func(c *Config) { c.Domain = "" }, "-domain is required"},
		{"domain with at", func(c *Config) { c.Domain = "alice@example.org" }, `-domain="alice@example.org"`},
		{"bad listen", func(c *Config) { c.Listen = "8080" }, `-listen="8080"`},
		{"bad upstream", func(c *Config) { c.Upstream = "example.org" }, `-upstream="example.org"`},
		{"bad tls mode", func(c *Config) { c.UpstreamTLS = "none" }, `-upstream-tls="none"`},
		{"missing CA file", func(c *Config) { c.UpstreamCA = "/nonexistent/ca.pem" }, `-upstream-ca="/nonexistent/ca.pem"`},
		{"bad origin", func(c *Config) { c.Origins = []string{"example.org"} }, `-origin="example.org"`},
		{"origin with path", func(c *Config) { c.Origins = []string{"https://example.org/app"} }, `-origin="https://example.org/app"`},
		{"good origin", func(c *Config) { c.Origins = []string{"https://chat.example.org"} }, ""},
		{"bad public url", func(c *Config) { c.PublicURL = "chat.example.org" }, "-public-url"},
		{"bad proxy", func(c *Config) { c.TrustedProxies = []string{"10.0.0.1"} }, `-trusted-proxies="10.0.0.1"`},
		{"stanza limit too small", func(c *Config) { c.MaxStanzaBytes = 100 }, "-max-stanza-bytes=100: must be between 10000 and 16777216"},
		{"stanza limit too large", func(c *Config) { c.MaxStanzaBytes = 1 << 30 }, "-max-stanza-bytes="},
		{"depth too small", func(c *Config) { c.MaxDepth = 2 }, "-max-depth=2"},
		{"preauth too long", func(c *Config) { c.PreauthTimeout = time.Hour }, "-preauth-timeout=1h0m0s"},
		{"negative cap", func(c *Config) { c.MaxConnsPerIP = -1 }, "-max-conns-per-ip=-1"},
		{"ping too short", func(c *Config) { c.PingInterval = time.Millisecond }, "-ping-interval=1ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mod(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	env := map[string]string{
		"WAXWING_DOMAIN":           "env.example",
		"WAXWING_UPSTREAM":         "xmpp.env.example:5222",
		"WAXWING_ORIGIN":           "https://a.example,https://b.example",
		"WAXWING_MAX_CONNS_PER_IP": "7",
		"WAXWING_PREAUTH_TIMEOUT":  "45s",
	}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name string
		args []string
		want func(*Config)
		err  string
	}{
		{"environment only", nil, func(c *Config) {}, ""},
		{"flags win over environment", []string{"-domain", "flag.example", "-origin", "https://c.example", "-max-conns-per-ip=3"}, func(c *Config) {
			c.Domain = "flag.example"
			c.Origins = []string{"https://c.example"}
			c.MaxConnsPerIP = 3
		}, ""},
		{"bad flag value", []string{"-max-depth", "x"}, nil, "invalid value"},
		{"out of bounds", []string{"-max-depth", "5"}, nil, "-max-depth=5"},
		{"stray argument", []string{"extra"}, nil, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFlags("serve", tt.args, getenv, io.Discard)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := Config{
				Listen: DefaultListen, Domain: "env.example", Upstream: "xmpp.env.example:5222", UpstreamTLS: TLSStartTLS,
				Origins: []string{"https://a.example", "https://b.example"}, DataDir: DefaultDataDir,
				MaxStanzaBytes: DefaultMaxStanzaBytes, MaxDepth: DefaultMaxDepth, PreauthTimeout: 45 * time.Second,
				PingInterval: DefaultPingInterval, MaxConnsPerIP: 7, ReadHeaderTimeout: DefaultReadHeaderTimeout,
				DialTimeout: DefaultDialTimeout, ShutdownTimeout: DefaultShutdownTimeout, AllowMissingOrigin: true,
			}
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
		})
	}
	t.Run("bad environment value names the variable", func(t *testing.T) {
		_, err := ParseFlags("serve", nil, func(k string) string {
			if k == "WAXWING_MAX_DEPTH" {
				return "deep"
			}
			return env[k]
		}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), `WAXWING_MAX_DEPTH="deep"`) {
			t.Fatalf("error %v", err)
		}
	})
}

func TestNormalizeOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://Example.ORG":      "https://example.org",
		"https://example.org:443/": "https://example.org",
		"http://example.org:80":    "http://example.org",
		"http://127.0.0.1:8080":    "http://127.0.0.1:8080",
		"http://[::1]:8080":        "http://[::1]:8080",
	} {
		if got, err := normalizeOrigin(in); err != nil || got != want {
			t.Errorf("normalizeOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
