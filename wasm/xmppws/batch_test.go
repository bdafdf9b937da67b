package xmppws

import "testing"

func TestWithBatch(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"ws://127.0.0.1:5280/xmpp-websocket", "ws://127.0.0.1:5280/xmpp-websocket?batch=1048576"},
		{"wss://chat.example.org/ws?lang=en", "wss://chat.example.org/ws?batch=1048576&lang=en"},
		{"wss://chat.example.org/ws?batch=0", "wss://chat.example.org/ws?batch=0"}, // the caller's own
		{"::not a url", "::not a url"},
	} {
		if got := withBatch(tt.in, DefaultMaxMessageBytes); got != tt.want {
			t.Errorf("withBatch(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
