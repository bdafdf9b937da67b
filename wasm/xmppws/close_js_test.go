package xmppws_test

import (
	"context"
	"flag"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/waxwing-im/waxwing/wasm/xmppws"
)

var closeServerURL = flag.String("xmppws.server", "", "base URL of TestBrowserClose's server")

// TestPageClose (run by TestBrowserClose): the closes this package sends
// from a page reach the server, each with a code WebSocket.close accepts:
// an unsupported binary message (1003 → 4003), Close (1000) and CloseNow
// (StatusDropped).
func TestPageClose(t *testing.T) {
	if *closeServerURL == "" {
		t.Skip("run by TestBrowserClose")
	}
	ws := "ws" + strings.TrimPrefix(*closeServerURL, "http")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	closed := func(path string) websocket.StatusCode {
		t.Helper()
		resp, err := http.Get(*closeServerURL + "/closed?path=" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", path, b)
		}
		n, err := strconv.Atoi(string(b))
		if err != nil {
			t.Fatal(err)
		}
		return websocket.StatusCode(n)
	}

	c, err := xmppws.Dial(ctx, ws+"/binary", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 8)); err == nil {
		t.Error("a binary message was read")
	}
	if got := closed("/binary"); got != 4003 {
		t.Errorf("after a binary message the server got close code %d, want 4003 (unsupported data, 1003)", got)
	}
	_ = c.Close()

	// (A server that selects no subprotocol is refused by the browser
	// itself, before Dial could close with 1002: TestCloseFrameBrowser
	// covers that code.)

	if c, err = xmppws.Dial(ctx, ws+"/plain", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if got := closed("/plain"); got != websocket.StatusNormalClosure {
		t.Errorf("Close sent %d, want 1000", got)
	}

	if c, err = xmppws.Dial(ctx, ws+"/dropped", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseNow(); err != nil {
		t.Errorf("CloseNow: %v", err)
	}
	if got := closed("/dropped"); got != xmppws.StatusDropped {
		t.Errorf("CloseNow sent %d, want %d", got, xmppws.StatusDropped)
	}
}
