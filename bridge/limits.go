package bridge

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
)

// ipLimiter caps concurrent relays per client IP. Every browser reaches the
// XMPP server from the bridge's address, so the server's own per-IP defences
// cannot tell users apart: the cap belongs here.
type ipLimiter struct {
	max int
	mu  sync.Mutex
	n   map[netip.Addr]int
}

func newIPLimiter(max int) *ipLimiter { return &ipLimiter{max: max, n: map[netip.Addr]int{}} }

// acquire takes a slot for ip; release gives it back.
func (l *ipLimiter) acquire(ip netip.Addr) (release func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[ip] >= l.max {
		return nil, false
	}
	l.n[ip]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.n[ip]--; l.n[ip] <= 0 {
				delete(l.n, ip)
			}
		})
	}, true
}

type trustedProxies []netip.Prefix

func parseProxies(cidrs []string) trustedProxies {
	var out trustedProxies
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}

func (t trustedProxies) trusted(a netip.Addr) bool {
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP is the peer address, or, when the peer is a trusted proxy, the
// right-most untrusted address in X-Forwarded-For.
func (t trustedProxies) clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !t.trusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return client
		}
		client = a.Unmap()
		if !t.trusted(client) {
			return client
		}
	}
	// Every hop is a trusted proxy: the left-most is where it came from.
	return client
}
