//go:build !js

package bridge_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/waxwing-im/waxwing/internal/xmppd"
	"github.com/waxwing-im/waxwing/internal/xmppd/xmppdtest"
)

// TestIntegrationUpstreamTLSFailClosed: against real servers that cannot be
// trusted, the relay refuses before anything but a stream header has been
// sent, and tells the browser why.
func TestIntegrationUpstreamTLSFailClosed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		kind xmppd.Kind
		opts xmppd.Options
		want string
	}{
		{"prosody without TLS", xmppd.Prosody, xmppd.Options{NoTLS: true}, "<upstream-no-tls xmlns='urn:waxwing:bridge:0'/>"},
		{"prosody with a certificate for another name", xmppd.Prosody, xmppd.Options{CertNames: []string{"other.example"}}, "<upstream-tls-failed xmlns='urn:waxwing:bridge:0'/>"},
		{"ejabberd without TLS", xmppd.Ejabberd, xmppd.Options{NoTLS: true}, "<upstream-no-tls xmlns='urn:waxwing:bridge:0'/>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := xmppdtest.Start(t, tt.kind, tt.opts)
			br := itStartBridge(t, srv)
			ctx, cancel := context.WithTimeout(context.Background(), itStepTimeout)
			defer cancel()
			ws, _, err := websocket.Dial(ctx, br.url, &websocket.DialOptions{Subprotocols: []string{"xmpp"}, HTTPHeader: http.Header{"Origin": {br.origin}}})
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			if err := ws.Write(ctx, websocket.MessageText, []byte("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='"+srv.Domain+"' version='1.0'/>")); err != nil {
				t.Fatal(err)
			}
			var got []string
			for {
				_, p, err := ws.Read(ctx)
				if err != nil {
					break
				}
				got = append(got, string(p))
			}
			all := strings.Join(got, "\n")
			if !strings.Contains(all, "<remote-connection-failed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>") || !strings.Contains(all, tt.want) {
				t.Fatalf("browser got:\n%s\nwant remote-connection-failed with %s", all, tt.want)
			}
			if strings.Contains(all, "<mechanisms") || strings.Contains(all, "<authentication") {
				t.Fatalf("the server's login mechanisms reached the browser over an untrusted connection:\n%s", all)
			}
		})
	}
}
