package bridge

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/net/idna"
)

// TLS modes for the upstream connection.
const (
	TLSStartTLS = "starttls" // RFC 6120 §5: STARTTLS on the c2s port
	TLSDirect   = "direct"   // XEP-0368: TLS from the first byte
)

// Config is the configuration of `waxwing serve`. The zero value of every
// field except Domain means its default; Validate names the first bad value.
type Config struct {
	Listen                     string        // address of the HTTP listener
	Domain                     string        // the one XMPP domain served (required)
	Upstream                   string        // host:port of the XMPP server's c2s; "" means DNS SRV, then Domain:5222 (5223 for direct TLS)
	UpstreamTLS                string        // TLSStartTLS or TLSDirect
	UpstreamCA                 string        // PEM file of CAs trusted in addition to the system roots
	UpstreamInsecureSkipVerify bool          // do not verify the upstream certificate (development only)
	Origins                    []string      // allowed browser origins; empty means the origin the pages are served from
	PublicURL                  string        // external base URL (e.g. https://chat.example.org) when behind a proxy; "" means derived from each request
	TrustedProxies             []string      // CIDRs of reverse proxies whose X-Forwarded-For is believed
	DataDir                    string        // directory for keys and state
	MaxStanzaBytes             int           // largest element accepted from a browser; the server's XEP-0478 limit lowers it
	MaxDepth                   int           // deepest element nesting accepted from a browser
	PreauthTimeout             time.Duration // time from WebSocket open to authentication
	PingInterval               time.Duration // WebSocket keepalive ping period; a ping unanswered for as long closes the relay
	MaxConnsPerIP              int           // concurrent WebSocket relays per client IP
	ReadHeaderTimeout          time.Duration // HTTP request header deadline (slowloris)
	DialTimeout                time.Duration // upstream TCP + TLS + STARTTLS deadline
	ShutdownTimeout            time.Duration // how long graceful shutdown waits for HTTP requests
	AllowMissingOrigin         bool          // accept WebSocket upgrades without an Origin header (non-browser clients)
}

// Defaults and bounds.
const (
	DefaultListen            = "127.0.0.1:8080"
	DefaultMaxStanzaBytes    = 256 << 10
	DefaultMaxDepth          = 128
	DefaultPreauthTimeout    = 30 * time.Second
	DefaultPingInterval      = 30 * time.Second
	DefaultMaxConnsPerIP     = 50
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultDialTimeout       = 10 * time.Second
	DefaultShutdownTimeout   = 10 * time.Second
	DefaultDataDir           = "waxwing-data"

	minStanzaBytes = 10000 // Prosody's floor for c2s_stanza_size_limit
	maxStanzaBytes = 16 << 20
)

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.UpstreamTLS == "" {
		c.UpstreamTLS = TLSStartTLS
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.MaxStanzaBytes == 0 {
		c.MaxStanzaBytes = DefaultMaxStanzaBytes
	}
	if c.MaxDepth == 0 {
		c.MaxDepth = DefaultMaxDepth
	}
	if c.PreauthTimeout == 0 {
		c.PreauthTimeout = DefaultPreauthTimeout
	}
	if c.PingInterval == 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.MaxConnsPerIP == 0 {
		c.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	return c
}

func checkRange[T int | time.Duration](flagName string, v, lo, hi T) error {
	if v < lo || v > hi {
		return fmt.Errorf("-%s=%v: must be between %v and %v", flagName, v, lo, hi)
	}
	return nil
}

// Validate checks the configuration (after defaults) and names the first bad
// value by its flag.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.Domain == "" {
		return errors.New("-domain is required: the XMPP domain this server serves (e.g. -domain example.org)")
	}
	if d, err := idna.Lookup.ToASCII(c.Domain); err != nil || strings.ContainsAny(c.Domain, "@/ :") || d == "" {
		return fmt.Errorf("-domain=%q: not a valid domain name", c.Domain)
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("-listen=%q: want host:port: %v", c.Listen, err)
	}
	if c.Upstream != "" {
		host, port, err := net.SplitHostPort(c.Upstream)
		if err != nil || host == "" || port == "" {
			return fmt.Errorf("-upstream=%q: want host:port", c.Upstream)
		}
	}
	if c.UpstreamTLS != TLSStartTLS && c.UpstreamTLS != TLSDirect {
		return fmt.Errorf("-upstream-tls=%q: want %q or %q", c.UpstreamTLS, TLSStartTLS, TLSDirect)
	}
	if c.UpstreamCA != "" {
		if _, err := os.Stat(c.UpstreamCA); err != nil {
			return fmt.Errorf("-upstream-ca=%q: %v", c.UpstreamCA, err)
		}
	}
	for _, o := range c.Origins {
		if _, err := normalizeOrigin(o); err != nil {
			return fmt.Errorf("-origin=%q: %v", o, err)
		}
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("-public-url=%q: want an absolute http(s) URL", c.PublicURL)
		}
	}
	for _, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			return fmt.Errorf("-trusted-proxies=%q: want CIDR prefixes such as 127.0.0.1/32: %v", p, err)
		}
	}
	for _, err := range []error{
		checkRange("max-stanza-bytes", c.MaxStanzaBytes, minStanzaBytes, maxStanzaBytes),
		checkRange("max-depth", c.MaxDepth, 16, 4096),
		checkRange("preauth-timeout", c.PreauthTimeout, 100*time.Millisecond, 10*time.Minute),
		checkRange("ping-interval", c.PingInterval, 100*time.Millisecond, 10*time.Minute),
		checkRange("max-conns-per-ip", c.MaxConnsPerIP, 1, 1000000),
		checkRange("read-header-timeout", c.ReadHeaderTimeout, time.Second, 5*time.Minute),
		checkRange("dial-timeout", c.DialTimeout, 100*time.Millisecond, 5*time.Minute),
		checkRange("shutdown-timeout", c.ShutdownTimeout, 0, 10*time.Minute),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// normalizeOrigin turns "https://Example.org:443/" into "https://example.org".
func normalizeOrigin(o string) (string, error) {
	u, err := url.Parse(o)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", errors.New("want scheme://host[:port]")
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return u.Scheme + "://" + host, nil
}

// listFlag is a comma-separated list that may also be repeated.
type listFlag struct{ v *[]string }

func (l listFlag) String() string {
	if l.v == nil {
		return ""
	}
	return strings.Join(*l.v, ",")
}

func (l listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l.v = append(*l.v, p)
		}
	}
	return nil
}

// ParseFlags reads the configuration of `waxwing serve` from command-line
// flags and from the environment: every flag -some-name may also be set as
// WAXWING_SOME_NAME; a flag on the command line wins.
func ParseFlags(name string, args []string, getenv func(string) string, output io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&c.Listen, "listen", DefaultListen, "address of the HTTP listener")
	fs.StringVar(&c.Domain, "domain", "", "the XMPP domain served (required)")
	fs.StringVar(&c.Upstream, "upstream", "", "host:port of the XMPP server's c2s port (default: DNS SRV _xmpp-client._tcp of the domain, then domain:5222)")
	fs.StringVar(&c.UpstreamTLS, "upstream-tls", TLSStartTLS, "upstream TLS: starttls or direct")
	fs.StringVar(&c.UpstreamCA, "upstream-ca", "", "PEM file of CA certificates trusted for the upstream, in addition to the system roots")
	fs.BoolVar(&c.UpstreamInsecureSkipVerify, "upstream-insecure-skip-verify", false, "do not verify the upstream certificate (development only; logged at every connection)")
	fs.Var(listFlag{&c.Origins}, "origin", "allowed browser origins, comma-separated (default: the origin the pages are served from)")
	fs.StringVar(&c.PublicURL, "public-url", "", "external base URL when behind a reverse proxy, e.g. https://chat.example.org")
	fs.Var(listFlag{&c.TrustedProxies}, "trusted-proxies", "CIDRs of reverse proxies whose X-Forwarded-For header is trusted, comma-separated")
	fs.StringVar(&c.DataDir, "data", DefaultDataDir, "directory for keys and state")
	fs.IntVar(&c.MaxStanzaBytes, "max-stanza-bytes", DefaultMaxStanzaBytes, "largest element accepted from a browser (lowered to the server's XEP-0478 limit)")
	fs.IntVar(&c.MaxDepth, "max-depth", DefaultMaxDepth, "deepest XML nesting accepted from a browser")
	fs.DurationVar(&c.PreauthTimeout, "preauth-timeout", DefaultPreauthTimeout, "time allowed from WebSocket open to authentication")
	fs.DurationVar(&c.PingInterval, "ping-interval", DefaultPingInterval, "WebSocket keepalive ping period")
	fs.IntVar(&c.MaxConnsPerIP, "max-conns-per-ip", DefaultMaxConnsPerIP, "concurrent WebSocket connections per client IP")
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", DefaultReadHeaderTimeout, "deadline for HTTP request headers")
	fs.DurationVar(&c.DialTimeout, "dial-timeout", DefaultDialTimeout, "deadline for connecting to the upstream, TLS included")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", DefaultShutdownTimeout, "how long graceful shutdown waits for HTTP requests")
	fs.BoolVar(&c.AllowMissingOrigin, "allow-missing-origin", true, "accept WebSocket upgrades without an Origin header (non-browser clients; browsers always send one)")

	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		key := "WAXWING_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(key); v != "" && envErr == nil {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s=%q: %v", key, v, err)
			}
		}
	})
	if envErr != nil {
		return Config{}, envErr
	}
	// Lists from the environment are replaced, not appended to, by flags.
	envOrigins, envProxies := c.Origins, c.TrustedProxies
	c.Origins, c.TrustedProxies = nil, nil
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if c.Origins == nil {
		c.Origins = envOrigins
	}
	if c.TrustedProxies == nil {
		c.TrustedProxies = envProxies
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c, c.Validate()
}
