package history

import (
	"context"
	"testing"

	"github.com/waxwing-im/waxwing/store"
	"github.com/waxwing-im/waxwing/wasm/stanza"
)

func contacts(t *testing.T, st store.Store) map[string]store.Contact {
	t.Helper()
	cs, err := st.Contacts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]store.Contact{}
	for _, c := range cs {
		c.Version = 0
		m[c.JID] = c
	}
	return m
}

func TestPresenceSubscriptionRequests(t *testing.T) {
	ctx := context.Background()
	e, st := newTestEngine(t)
	var shown []stanza.Presence
	e.cfg.OnPresence = func(p stanza.Presence) { shown = append(shown, p) }
	pres := func(from, typ string, h uint32) (stanza.Presence, bool) {
		t.Helper()
		raw := "<presence xmlns='jabber:client' from='" + from + "'"
		if typ != "" {
			raw += " type='" + typ + "'"
		}
		shown = nil
		if err := e.HandleStanza(ctx, []byte(raw+"><show>away</show></presence>"), h); err != nil {
			t.Fatal(err)
		}
		if len(shown) == 0 {
			return stanza.Presence{}, false
		}
		return shown[0], true
	}

	// A request is stored with its XEP-0198 count, and is not shown as
	// availability.
	if _, show := pres("carol@example.org/x", "subscribe", 7); show {
		t.Error("a subscription request was returned as availability")
	}
	if c := contacts(t, st)["carol@example.org"]; !c.Incoming || c.Subscription != "" {
		t.Errorf("after subscribe: %+v; want an incoming request outside the roster", c)
	}
	if s, _ := st.LoadState(ctx); s.SM.Inbound != 7 {
		t.Errorf("SM inbound = %d; want 7 (committed with the request)", s.SM.Inbound)
	}

	// Availability is returned, from others only.
	if p, show := pres("bob@example.org/phone", "", 8); !show || p.Show != "away" {
		t.Errorf("availability: %+v, %v", p, show)
	}
	if _, show := pres(self+"/other", "", 9); show {
		t.Error("own presence returned as a contact's")
	}
	if _, show := pres("mallory@example.org", "unsubscribed", 10); show {
		t.Error("unsubscribed returned as availability")
	}

	// A full roster keeps the pending request of someone not in it, and a
	// roster item for a requester keeps the request until it is granted.
	if err := e.applyRoster(ctx, stanza.Roster{Ver: "1", Items: []stanza.RosterItem{{JID: "bob@example.org", Subscription: "both"}}}, true); err != nil {
		t.Fatal(err)
	}
	got := contacts(t, st)
	if !got["carol@example.org"].Incoming || got["bob@example.org"].Subscription != "both" {
		t.Errorf("after a full roster: %+v", got)
	}
	if err := e.applyRoster(ctx, stanza.Roster{Ver: "2", Items: []stanza.RosterItem{{JID: "carol@example.org", Subscription: "none", Ask: "subscribe"}}}, false); err != nil {
		t.Fatal(err)
	}
	if c := contacts(t, st)["carol@example.org"]; !c.Incoming || c.Subscription != "none" || !c.Ask {
		t.Errorf("after adding the requester: %+v; want the request still pending", c)
	}
	if err := e.applyRoster(ctx, stanza.Roster{Ver: "3", Items: []stanza.RosterItem{{JID: "carol@example.org", Subscription: "from"}}}, false); err != nil {
		t.Fatal(err)
	}
	if c := contacts(t, st)["carol@example.org"]; c.Incoming {
		t.Errorf("after granting by roster: %+v; want no pending request", c)
	}

	// A request from someone who already sees our presence is not stored.
	pres("bob@example.org", "subscribe", 11)
	if c := contacts(t, st)["bob@example.org"]; c.Incoming {
		t.Errorf("request from a contact with subscription both stored: %+v", c)
	}

	// Without a client the answer cannot be queued: the request is kept.
	// Once answered, a requester outside the roster is forgotten.
	pres("dave@example.org", "subscribe", 12)
	if err := e.Deny(ctx, "dave@example.org"); err != ErrOffline {
		t.Errorf("Deny without a client = %v; want ErrOffline", err)
	}
	if !contacts(t, st)["dave@example.org"].Incoming {
		t.Error("the request was dropped although the answer was not sent")
	}
	if err := e.answered(ctx, "dave@example.org"); err != nil {
		t.Fatal(err)
	}
	if _, ok := contacts(t, st)["dave@example.org"]; ok {
		t.Error("an answered requester outside the roster is still stored")
	}
	if err := e.AddContact(ctx, self, ""); err == nil {
		t.Error("adding the own address succeeded")
	}
	if err := e.AddContact(ctx, "not a jid", ""); err == nil {
		t.Error("adding a malformed address succeeded")
	}
}
