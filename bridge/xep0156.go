// XEP-0156: Discovering Alternative XMPP Connection Methods. The bridge
// publishes its WebSocket endpoint in /.well-known/host-meta (RFC 6415 XRD)
// and /.well-known/host-meta.json, so that any web client given only the
// domain finds it.

package bridge

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
)

const relWebSocket = "urn:xmpp:alt-connections:websocket"

func (s *Server) hostMetaXML(w http.ResponseWriter, r *http.Request) {
	type link struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	}
	doc := struct {
		XMLName xml.Name `xml:"http://docs.oasis-open.org/ns/xri/xrd-1.0 XRD"`
		Links   []link   `xml:"Link"`
	}{Links: []link{{Rel: relWebSocket, Href: s.webSocketURL(r)}}}
	out, err := xml.Marshal(doc)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hostMetaHeaders(w, "application/xrd+xml; charset=utf-8")
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}

func (s *Server) hostMetaJSON(w http.ResponseWriter, r *http.Request) {
	type link struct {
		Rel  string `json:"rel"`
		Href string `json:"href"`
	}
	hostMetaHeaders(w, "application/json")
	_ = json.NewEncoder(w).Encode(struct {
		Links []link `json:"links"`
	}{[]link{{relWebSocket, s.webSocketURL(r)}}})
}

// hostMetaHeaders: host-meta is public and meant to be read cross-origin
// (RFC 6415 §5, XEP-0156 §3).
func hostMetaHeaders(w http.ResponseWriter, ctype string) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
}
