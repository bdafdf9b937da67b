package history

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/waxwing-im/waxwing/store"
)

// A read this device recorded whose publish never reached the server (the
// tab died in between): the next session's fetch of the read-state node
// does not mention the conversation, and the device publishes it then, or
// no other device would ever learn it (seen in the convergence test: a
// device killed after a read left the others with another unread count).
var regexpID = regexp.MustCompile(`<iq [^>]*id='([^']+)'`)

func TestUnpublishedReadIsPublished(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory()
	e, err := New(Config{Store: st, Self: self, Now: newTestNow()})
	if err != nil {
		t.Fatal(err)
	}
	feed(t, e, chat("bob@x/a", "m1", "o1", "hello", self, "S1"))
	// Read, offline: the publish is pending in memory only.
	if err := e.MarkRead(ctx, "bob@x"); err != nil {
		t.Fatal(err)
	}
	if c, _, _ := conversation(st, "bob@x"); c.ReadUpTo != "S1" {
		t.Fatalf("read up to %q, want S1", c.ReadUpTo)
	}
	// The tab dies; a new process starts on the same store.
	e2, err := New(Config{Store: st, Self: self, Now: newTestNow()})
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	e2.out = func(raw []byte) error { sent = append(sent, string(raw)); return nil }
	out, err := e2.afterBind(ctx, clientBound())
	if err != nil {
		t.Fatal(err)
	}
	var fetch string
	for _, o := range out {
		if m := regexpID.FindStringSubmatch(string(o)); m != nil && strings.Contains(string(o), "urn:xmpp:mds:displayed:0") {
			fetch = m[1]
		}
	}
	if fetch == "" {
		t.Fatal("no read-state fetch in the new session's first flight")
	}
	// The node holds another conversation's position only.
	feed(t, e2, "<iq xmlns='jabber:client' type='result' id='"+fetch+"'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:mds:displayed:0'>"+
		"<item id='carol@x'><displayed xmlns='urn:xmpp:mds:displayed:0'><stanza-id xmlns='urn:xmpp:sid:0' by='"+self+"' id='C9'/></displayed></item></items></pubsub></iq>")
	published := false
	for _, s := range sent {
		if strings.Contains(s, "<item id='bob@x'") && strings.Contains(s, "id='S1'") {
			published = true
		}
	}
	if !published {
		t.Fatalf("the read of bob@x was not published after the fetch; sent %q", sent)
	}
}
