//go:build !js

package bridge

import (
	"net/http/httptest"
	"testing"
)

func TestClientIP(t *testing.T) {
	proxies := parseProxies([]string{"10.0.0.0/8", "::1/128"})
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"direct", "203.0.113.5:1234", nil, "203.0.113.5"},
		{"untrusted peer's header is ignored", "203.0.113.5:1234", []string{"198.51.100.1"}, "203.0.113.5"},
		{"trusted proxy", "10.1.2.3:1234", []string{"198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies", "10.1.2.3:1234", []string{"198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"spoofed left-most entry is not believed", "10.1.2.3:1234", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"several headers", "10.1.2.3:1234", []string{"1.2.3.4", "198.51.100.1"}, "198.51.100.1"},
		{"garbage in the header", "10.1.2.3:1234", []string{"nonsense"}, "10.1.2.3"},
		{"only proxies", "10.1.2.3:1234", []string{"10.4.4.4"}, "10.4.4.4"},
		{"ipv6 proxy", "[::1]:1234", []string{"2001:db8::7"}, "2001:db8::7"},
		{"ipv4-mapped", "[::ffff:203.0.113.9]:1", nil, "203.0.113.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := proxies.clientIP(r).String(); got != tt.want {
				t.Fatalf("clientIP = %s, want %s", got, tt.want)
			}
		})
	}
}
