package bridge

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/waxwing-im/waxwing/static"
	"github.com/waxwing-im/waxwing/wasm/ui"
)

// Paths served. Every route is listed in Handler.
const (
	PathWebSocket     = "/xmpp-websocket"
	PathStatic        = "/static/"
	PathHealth        = "/healthz"
	PathServiceWorker = "/sw.js" // at the root, so that its scope is the whole app
)

// HeaderVersion names the build of the shell (static.Version). The service
// worker caches only a shell of its own build, whose assets it holds.
const HeaderVersion = "X-Waxwing-Version"

// Handler returns the HTTP handler with every route of the server.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.shell)
	mux.HandleFunc("GET "+PathWebSocket, s.webSocket)
	mux.Handle("GET "+PathStatic, static.Handler(PathStatic))
	mux.Handle("GET "+PathServiceWorker, s.serviceWorker(static.ServiceWorker(PathStatic)))
	mux.HandleFunc("GET "+PathHealth, s.health)
	mux.HandleFunc("GET /.well-known/host-meta", s.hostMetaXML)
	mux.HandleFunc("GET /.well-known/host-meta.json", s.hostMetaJSON)
	return mux
}

// baseURL is the external URL of the server: -public-url, or the scheme and
// host of the request (the scheme from X-Forwarded-Proto of a trusted proxy).
func (s *Server) baseURL(r *http.Request) *url.URL {
	if s.cfg.PublicURL != "" {
		if u, err := url.Parse(s.cfg.PublicURL); err == nil {
			u.Path = strings.TrimSuffix(u.Path, "/")
			return u
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if s.proxies.trusted(s.peerAddr(r)) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: r.Host}
}

func (s *Server) peerAddr(r *http.Request) netip.Addr {
	return trustedProxies(nil).clientIP(r)
}

// webSocketURL is the absolute ws:// or wss:// URL of the relay endpoint.
func (s *Server) webSocketURL(r *http.Request) string {
	u := *s.baseURL(r)
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	u.Path += PathWebSocket
	return u.String()
}

func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Scheme + "://" + u.Host
}

// contentSecurityPolicy allows only what the wasm app needs: its own
// scripts (and the shell's inline loader, by its hash), WebAssembly
// compilation, and the relay's WebSocket.
func contentSecurityPolicy(wsURL string) string {
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self' 'wasm-unsafe-eval' " + ui.ShellScriptSource,
		"connect-src 'self' " + wsURL,
		"img-src 'self' data:",
		"style-src 'self' " + ui.ShellStyleSource,
		"manifest-src 'self'",
		"worker-src 'self'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

// shell serves the app shell: the page the wasm app boots in.
func (s *Server) shell(w http.ResponseWriter, r *http.Request) {
	wsURL := s.webSocketURL(r)
	props := ui.ShellProps{
		Version:      static.Version(),
		WebSocketURL: wsURL,
		AssetBase:    PathStatic + static.Version() + "/",
		Domain:       s.cfg.Domain,
	}
	var buf bytes.Buffer
	if err := ui.Shell(props).Render(r.Context(), &buf); err != nil {
		s.log.Error("rendering the shell", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentSecurityPolicy(wsURL))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cache-Control", "no-cache")
	h.Set(HeaderVersion, static.Version())
	_, _ = w.Write(buf.Bytes())
}

// serviceWorker serves the service worker script (W3C Service Workers).
// no-cache makes every update check (each navigation, and boot.js's hourly
// one) revalidate it, answered 304 by its ETag while the build is the same.
// Its CSP is the shell's: the worker fetches only this origin today, and
// will open the relay's WebSocket when the Go core runs in it.
func (s *Server) serviceWorker(script []byte) http.Handler {
	sum := sha256.Sum256(script)
	etag := `"` + hex.EncodeToString(sum[:10]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", etag)
		h.Set("Content-Security-Policy", contentSecurityPolicy(s.webSocketURL(r)))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set(HeaderVersion, static.Version())
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(script))
	})
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	down, n := s.shutdown, len(s.relays)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	status := "ok"
	if down {
		status = "shutting-down"
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "version": static.Version(), "relays": n, "wasm": static.WasmBuilt()})
}

// originAllowed applies the Origin policy (RFC 6455 §10.2): the configured
// origins, or by default the origin the pages are served from. Browsers
// always send Origin on a WebSocket upgrade; a request without one is not
// from a browser and cannot be a cross-site attack.
func (s *Server) originAllowed(r *http.Request) (bool, string) {
	o := r.Header.Get("Origin")
	if o == "" {
		return s.cfg.AllowMissingOrigin, "no Origin header"
	}
	n, err := normalizeOrigin(o)
	if err != nil {
		return false, "malformed Origin"
	}
	if len(s.origins) > 0 {
		return s.origins[n], "origin not in -origin"
	}
	u, _ := url.Parse(n)
	host := strings.ToLower(r.Host)
	if h, p, err := net.SplitHostPort(host); err == nil && (p == "80" && u.Scheme == "http" || p == "443" && u.Scheme == "https") {
		host = h
	}
	return u.Host == host, "origin differs from the page's"
}

// webSocket upgrades to RFC 7395 and runs one relay.
func (s *Server) webSocket(w http.ResponseWriter, r *http.Request) {
	ip := s.proxies.clientIP(r)
	if ok, why := s.originAllowed(r); !ok {
		s.log.Warn("websocket refused", "status", http.StatusForbidden, "reason", why, "remote", ip.String(), "origin", r.Header.Get("Origin"))
		http.Error(w, "Forbidden: origin not allowed", http.StatusForbidden)
		return
	}
	release, ok := s.ips.acquire(ip)
	hold := false // the relay goroutine took over the slot
	if !ok {
		s.log.Warn("websocket refused", "status", http.StatusTooManyRequests, "reason", "per-IP connection cap", "remote", ip.String())
		w.Header().Set("Retry-After", "10")
		http.Error(w, "Too many connections from your address", http.StatusTooManyRequests)
		return
	}
	defer func() {
		if !hold {
			release()
		}
	}()
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:       []string{"xmpp"},
		InsecureSkipVerify: true, // the Origin policy was applied above
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		s.log.Debug("websocket accept failed", "err", err, "remote", ip.String())
		return
	}
	if ws.Subprotocol() != "xmpp" {
		// RFC 7395 §3.2: without the xmpp subprotocol there is no XMPP here.
		_ = ws.Close(websocket.StatusProtocolError, "the xmpp subprotocol is required (RFC 7395)")
		return
	}
	ws.SetReadLimit(-1) // the framing scanner enforces the element limit
	rl := s.newRelay(ws, ip.String())
	rl.batchMax = batchBytes(r.URL.Query())
	if !s.track(rl) {
		_ = ws.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	// The relay runs on a goroutine of its own, so that the handler's
	// request, headers and grown stack are not kept for the relay's life.
	hold = true
	go func() {
		defer func() {
			release() // the IP slot is free before the relay stops counting
			s.untrack(rl)
		}()
		rl.run()
	}()
}
