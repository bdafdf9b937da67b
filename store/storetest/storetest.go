// Package storetest is the conformance suite every store.Store
// implementation passes: Memory natively, IndexedDB in the browser. It uses
// only the standard library and runs under GOOS=js GOARCH=wasm as well.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waxwing-im/waxwing/store"
)

// Run runs every conformance test against the stores open returns. Each
// subtest calls open once for a fresh, empty store; the opener closes it
// when the test ends (ignoring ErrClosed: some subtests close it first).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, open(t)) })
	}
}

var cases = []struct {
	name string
	run  func(*testing.T, store.Store)
}{
	{"Empty", testEmpty},
	{"UpdateRollsBack", testUpdateRollsBack},
	{"OwnWritesVisible", testOwnWritesVisible},
	{"Versions", testVersions},
	{"ConversationsSince", testConversationsSince},
	{"MessagesSince", testMessagesSince},
	{"Inbox", testInbox},
	{"MessagesPaging", testMessagesPaging},
	{"Provisional", testProvisional},
	{"Lookups", testLookups},
	{"LookUpMessages", testLookUpMessages},
	{"ArchiveIDUnique", testArchiveIDUnique},
	{"ReplaceKeepsIndexes", testReplaceKeepsIndexes},
	{"Outbox", testOutbox},
	{"EditsOnRead", testEditsOnRead},
	{"EditLookups", testEditLookups},
	{"EditBeforeTarget", testEditBeforeTarget},
	{"CountInbound", testCountInbound},
	{"LastMessage", testLastMessage},
	{"Archive", testArchive},
	{"Contacts", testContacts},
	{"Account", testAccount},
	{"Session", testSession},
	{"UpdateState", testUpdateState},
	{"UpdateStateHook", testUpdateStateHook},
	{"Closed", testClosed},
	{"TxAfterUpdate", testTxAfterUpdate},
	{"ConcurrentUpdates", testConcurrentUpdates},
	{"DeepCopy", testDeepCopy},
	{"EditFieldsNotStored", testEditFieldsNotStored},
	{"NonASCIIAndLargeRaw", testNonASCIIAndLargeRaw},
}

var (
	ctx = context.Background()
	// t0 has millisecond precision, like every time in the suite: stores
	// may keep times as milliseconds (JavaScript dates).
	t0      = time.Date(2026, 3, 14, 15, 9, 26, 535e6, time.UTC)
	errTest = errors.New("storetest: deliberate failure")
)

// all is a Messages "before" that admits every position.
const all store.Pos = math.MaxInt64

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// msg is an inbound chat message of conv from conv.
func msg(conv, key string, pos store.Pos) store.Message {
	return store.Message{
		Key:          key,
		Conversation: conv,
		Kind:         store.Chat,
		StanzaID:     "s-" + key,
		From:         conv,
		Direction:    store.Inbound,
		Time:         at(int(pos % 1000)),
		Body:         "body " + key,
		State:        store.StateReceived,
		Pos:          pos,
	}
}

// out is an outbound chat message to conv in state st.
func out(conv, key string, pos store.Pos, st store.MessageState) store.Message {
	m := msg(conv, key, pos)
	m.From = "me@example.org"
	m.Direction = store.Outbound
	m.State = st
	m.OriginID = "o-" + key
	m.Raw = []byte("<message id='s-" + key + "'/>")
	return m
}

// update runs f in one transaction and fails the test on an error.
func update(t *testing.T, s store.Store, f func(tx store.Tx) error) {
	t.Helper()
	if err := s.Update(ctx, f); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// putEach stores items with putOne (a Tx method) in one transaction and
// returns their versions.
func putEach[T any](t *testing.T, s store.Store, putOne func(store.Tx, T) (uint64, error), items ...T) []uint64 {
	t.Helper()
	var vs []uint64
	update(t, s, func(tx store.Tx) error {
		vs = vs[:0]
		for _, x := range items {
			v, err := putOne(tx, x)
			if err != nil {
				return err
			}
			vs = append(vs, v)
		}
		return nil
	})
	return vs
}

// put stores messages in one transaction and returns their versions.
func put(t *testing.T, s store.Store, ms ...store.Message) []uint64 {
	t.Helper()
	return putEach(t, s, store.Tx.PutMessage, ms...)
}

// putEdits stores edits in one transaction.
func putEdits(t *testing.T, s store.Store, es ...store.Edit) {
	t.Helper()
	putEach(t, s, store.Tx.PutEdit, es...)
}

// putConvs stores conversations in one transaction.
func putConvs(t *testing.T, s store.Store, cs ...store.Conversation) {
	t.Helper()
	putEach(t, s, store.Tx.PutConversation, cs...)
}

// view runs f in a transaction that writes nothing.
func view(t *testing.T, s store.Store, f func(tx store.Tx) error) {
	t.Helper()
	update(t, s, f)
}

// get reads one message by key.
func get(t *testing.T, s store.Store, key string) (store.Message, bool) {
	t.Helper()
	var m store.Message
	var ok bool
	view(t, s, func(tx store.Tx) error {
		var err error
		m, ok, err = tx.Message(key)
		return err
	})
	return m, ok
}

func messages(t *testing.T, s store.Store, conv string, before store.Pos, limit int) []store.Message {
	t.Helper()
	ms, err := s.Messages(ctx, conv, before, limit)
	if err != nil {
		t.Fatalf("Messages(%q, %d, %d): %v", conv, before, limit, err)
	}
	return ms
}

func version(t *testing.T, s store.Store) uint64 {
	t.Helper()
	v, err := s.Version(ctx)
	if err != nil {
		t.Fatalf("Version: %v", err)
	}
	return v
}

func keys(ms []store.Message) []string {
	ks := make([]string, len(ms))
	for i, m := range ms {
		ks[i] = m.Key
	}
	return ks
}

func peers(cs []store.Conversation) []string {
	ps := make([]string, len(cs))
	for i, c := range cs {
		ps[i] = c.Peer
	}
	return ps
}

func wantKeys(t *testing.T, what string, ms []store.Message, want ...string) {
	t.Helper()
	if got := keys(ms); !slices.Equal(got, want) && len(got)+len(want) > 0 {
		t.Errorf("%s: keys %q, want %q", what, got, want)
	}
}

// normTime makes equal instants compare equal with reflect.DeepEqual.
func normTime(tm time.Time) time.Time {
	if tm.IsZero() {
		return time.Time{}
	}
	return time.Unix(0, tm.UnixNano()).UTC()
}

// normBytes makes nil and empty byte slices compare equal.
func normBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func normStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func normMessage(m store.Message) store.Message {
	m.Time = normTime(m.Time)
	m.Raw = normBytes(m.Raw)
	if len(m.Reactions) == 0 {
		m.Reactions = nil
	}
	return m
}

func normConv(c store.Conversation) store.Conversation {
	c.LastActivity = normTime(c.LastActivity)
	return c
}

func normSession(s store.Session) store.Session {
	s.FASTExpiry = normTime(s.FASTExpiry)
	s.SM.Since = normTime(s.SM.Since)
	if len(s.SM.Unacked) == 0 {
		s.SM.Unacked = nil
	}
	for i := range s.SM.Unacked {
		s.SM.Unacked[i].Raw = normBytes(s.SM.Unacked[i].Raw)
	}
	return s
}

// sameMessage compares everything but Version (checked separately).
func sameMessage(t *testing.T, what string, got, want store.Message) {
	t.Helper()
	got.Version, want.Version = 0, 0
	if g, w := normMessage(got), normMessage(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, show(g), show(w))
	}
}

// show prints a value with long byte slices shortened.
func show(v any) string {
	s := fmt.Sprintf("%+v", v)
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}

func testEmpty(t *testing.T, s store.Store) {
	if v := version(t, s); v != 0 {
		t.Errorf("Version of an empty store = %d, want 0", v)
	}
	if cs, err := s.Conversations(ctx); err != nil || len(cs) != 0 {
		t.Errorf("Conversations = %v, %v; want none", cs, err)
	}
	if cs, v, err := s.ConversationsSince(ctx, 0); err != nil || len(cs) != 0 || v != 0 {
		t.Errorf("ConversationsSince(0) = %v, %d, %v; want none, 0", cs, v, err)
	}
	if ms, err := s.Messages(ctx, "a@example.org", all, 0); err != nil || len(ms) != 0 {
		t.Errorf("Messages = %v, %v; want none", ms, err)
	}
	if ms, v, err := s.MessagesSince(ctx, "a@example.org", 0); err != nil || len(ms) != 0 || v != 0 {
		t.Errorf("MessagesSince = %v, %d, %v; want none, 0", ms, v, err)
	}
	if cs, err := s.Contacts(ctx); err != nil || len(cs) != 0 {
		t.Errorf("Contacts = %v, %v; want none", cs, err)
	}
	if st, err := s.LoadState(ctx); err != nil || !reflect.DeepEqual(normSession(st), store.Session{}) {
		t.Errorf("LoadState = %+v, %v; want zero", st, err)
	}
	view(t, s, func(tx store.Tx) error {
		if a, err := tx.Account(); err != nil || a != (store.Account{}) {
			t.Errorf("Account = %+v, %v; want zero", a, err)
		}
		if st, err := tx.Session(); err != nil || !reflect.DeepEqual(normSession(st), store.Session{}) {
			t.Errorf("Session = %+v, %v; want zero", st, err)
		}
		if _, ok, err := tx.Message("k"); ok || err != nil {
			t.Errorf("Message = %v, %v; want absent", ok, err)
		}
		if _, ok, err := tx.MessageByArchiveID("me@example.org", "a1"); ok || err != nil {
			t.Errorf("MessageByArchiveID = %v, %v; want absent", ok, err)
		}
		if ms, err := tx.MessagesByOriginID("a@example.org", "o1"); len(ms) != 0 || err != nil {
			t.Errorf("MessagesByOriginID = %v, %v; want none", ms, err)
		}
		if ms, err := tx.Outbox(); len(ms) != 0 || err != nil {
			t.Errorf("Outbox = %v, %v; want none", ms, err)
		}
		if _, ok, err := tx.Edit("k"); ok || err != nil {
			t.Errorf("Edit = %v, %v; want absent", ok, err)
		}
		if _, ok, err := tx.EditByArchiveID("me@example.org", "a1"); ok || err != nil {
			t.Errorf("EditByArchiveID = %v, %v; want absent", ok, err)
		}
		if _, ok, err := tx.Conversation("a@example.org"); ok || err != nil {
			t.Errorf("Conversation = %v, %v; want absent", ok, err)
		}
		if n, err := tx.CountInbound("a@example.org", 0); n != 0 || err != nil {
			t.Errorf("CountInbound = %d, %v; want 0", n, err)
		}
		if _, ok, err := tx.LastMessage("a@example.org"); ok || err != nil {
			t.Errorf("LastMessage = %v, %v; want absent", ok, err)
		}
		if _, ok, err := tx.Contact("a@example.org"); ok || err != nil {
			t.Errorf("Contact = %v, %v; want absent", ok, err)
		}
		if a, err := tx.Archive("room@muc.example.org"); err != nil || a.JID != "room@muc.example.org" || len(a.Ranges) != 0 || len(a.Below) != 0 || a.Version != 0 {
			t.Errorf("Archive = %+v, %v; want zero with JID set", a, err)
		}
		return nil
	})
}

func testUpdateRollsBack(t *testing.T, s store.Store) {
	put(t, s, msg("a@example.org", "m1", 1))
	update(t, s, func(tx store.Tx) error {
		_, err := tx.PutConversation(store.Conversation{Peer: "a@example.org", LastActivity: at(1), LastKey: "m1"})
		return err
	})
	v0 := version(t, s)
	inbox0, err := s.Conversations(ctx)
	if err != nil {
		t.Fatal(err)
	}

	err = s.Update(ctx, func(tx store.Tx) error {
		m := msg("a@example.org", "m1", 1)
		m.Body = "changed"
		for _, f := range []func() error{
			func() error { _, err := tx.PutMessage(m); return err },
			func() error { _, err := tx.PutMessage(msg("a@example.org", "m2", 2)); return err },
			func() error {
				_, err := tx.PutEdit(store.Edit{Key: "e1", Conversation: "a@example.org", Kind: store.Correction, Target: "s-m1", From: "a@example.org", Body: "x", Pos: 3})
				return err
			},
			func() error {
				_, err := tx.PutConversation(store.Conversation{Peer: "a@example.org", LastActivity: at(9), Unread: 7})
				return err
			},
			func() error { _, err := tx.PutConversation(store.Conversation{Peer: "b@example.org"}); return err },
			func() error { _, err := tx.PutAccount(store.Account{JID: "me@example.org"}); return err },
			func() error { return tx.PutSession(store.Session{DeviceID: "dev"}) },
			func() error { _, err := tx.PutContact(store.Contact{JID: "c@example.org"}); return err },
			func() error { _, err := tx.PutArchive(store.Archive{JID: "me@example.org"}); return err },
		} {
			if err := f(); err != nil {
				return err
			}
		}
		return errTest
	})
	if !errors.Is(err, errTest) {
		t.Fatalf("Update = %v, want the error f returned", err)
	}

	if v := version(t, s); v != v0 {
		t.Errorf("Version after a failed Update = %d, want %d", v, v0)
	}
	if m, ok := get(t, s, "m1"); !ok || m.Body != "body m1" {
		t.Errorf("m1 after a failed Update = %+v, %v; want unchanged", m, ok)
	}
	wantKeys(t, "Messages after a failed Update", messages(t, s, "a@example.org", all, 0), "m1")
	if ms := messages(t, s, "a@example.org", all, 0); len(ms) == 1 && ms[0].Corrected {
		t.Error("the edit of a failed Update was applied")
	}
	if inbox, err := s.Conversations(ctx); err != nil || !reflect.DeepEqual(peers(inbox), peers(inbox0)) || inbox[0].Unread != 0 {
		t.Errorf("Conversations after a failed Update = %+v, %v; want %+v", inbox, err, inbox0)
	}
	if cs, _, err := s.ConversationsSince(ctx, v0); err != nil || len(cs) != 0 {
		t.Errorf("ConversationsSince after a failed Update = %+v, %v; want none", cs, err)
	}
	if cs, err := s.Contacts(ctx); err != nil || len(cs) != 0 {
		t.Errorf("Contacts after a failed Update = %+v, %v; want none", cs, err)
	}
	if st, err := s.LoadState(ctx); err != nil || st.DeviceID != "" {
		t.Errorf("LoadState after a failed Update = %+v, %v; want zero", st, err)
	}
	view(t, s, func(tx store.Tx) error {
		if _, ok, err := tx.Edit("e1"); ok || err != nil {
			t.Errorf("Edit after a failed Update = %v, %v; want absent", ok, err)
		}
		if a, err := tx.Account(); err != nil || a.JID != "" {
			t.Errorf("Account after a failed Update = %+v, %v; want zero", a, err)
		}
		if a, err := tx.Archive("me@example.org"); err != nil || a.Version != 0 {
			t.Errorf("Archive after a failed Update = %+v, %v; want zero", a, err)
		}
		return nil
	})

	// The store goes on working, and the next write gets a new version.
	vs := put(t, s, msg("a@example.org", "m3", 3))
	if vs[0] <= v0 {
		t.Errorf("version after a failed Update = %d, want > %d", vs[0], v0)
	}
}

func testOwnWritesVisible(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error {
		m := out("a@example.org", "m1", 5, store.StateQueued)
		m.ArchiveBy, m.ArchiveID = "me@example.org", "a1"
		if _, err := tx.PutMessage(m); err != nil {
			return err
		}
		if got, ok, err := tx.Message("m1"); err != nil || !ok || got.Body != m.Body {
			t.Errorf("Message in tx = %+v, %v, %v", got, ok, err)
		}
		if got, ok, err := tx.MessageByArchiveID("me@example.org", "a1"); err != nil || !ok || got.Key != "m1" {
			t.Errorf("MessageByArchiveID in tx = %+v, %v, %v", got, ok, err)
		}
		if got, err := tx.MessagesByOriginID("me@example.org", "o-m1"); err != nil || len(got) != 1 {
			t.Errorf("MessagesByOriginID in tx = %+v, %v", got, err)
		}
		if got, err := tx.Outbox(); err != nil || len(got) != 1 {
			t.Errorf("Outbox in tx = %+v, %v", got, err)
		}
		if got, ok, err := tx.LastMessage("a@example.org"); err != nil || !ok || got.Key != "m1" {
			t.Errorf("LastMessage in tx = %+v, %v, %v", got, ok, err)
		}
		if _, err := tx.PutMessage(msg("a@example.org", "m2", 6)); err != nil {
			return err
		}
		if n, err := tx.CountInbound("a@example.org", 0); err != nil || n != 1 {
			t.Errorf("CountInbound in tx = %d, %v; want 1", n, err)
		}
		// A second put of the same key in the same transaction replaces the first.
		m.State = store.StateSent
		if _, err := tx.PutMessage(m); err != nil {
			return err
		}
		if got, err := tx.Outbox(); err != nil || len(got) != 0 {
			t.Errorf("Outbox in tx after the state changed = %+v, %v; want none", got, err)
		}

		e := store.Edit{Key: "e1", Conversation: "a@example.org", Kind: store.Reaction, Target: "s-m2", From: "me@example.org", Reactions: []string{"👍"}, ArchiveBy: "me@example.org", ArchiveID: "a2", Pos: 7}
		if _, err := tx.PutEdit(e); err != nil {
			return err
		}
		if got, ok, err := tx.Edit("e1"); err != nil || !ok || got.Target != "s-m2" {
			t.Errorf("Edit in tx = %+v, %v, %v", got, ok, err)
		}
		if got, ok, err := tx.EditByArchiveID("me@example.org", "a2"); err != nil || !ok || got.Key != "e1" {
			t.Errorf("EditByArchiveID in tx = %+v, %v, %v", got, ok, err)
		}

		if _, err := tx.PutConversation(store.Conversation{Peer: "a@example.org", Unread: 1}); err != nil {
			return err
		}
		if got, ok, err := tx.Conversation("a@example.org"); err != nil || !ok || got.Unread != 1 {
			t.Errorf("Conversation in tx = %+v, %v, %v", got, ok, err)
		}
		if _, err := tx.PutAccount(store.Account{JID: "me@example.org", SendMarkers: true}); err != nil {
			return err
		}
		if got, err := tx.Account(); err != nil || got.JID != "me@example.org" || !got.SendMarkers {
			t.Errorf("Account in tx = %+v, %v", got, err)
		}
		if err := tx.PutSession(store.Session{DeviceID: "dev"}); err != nil {
			return err
		}
		if got, err := tx.Session(); err != nil || got.DeviceID != "dev" {
			t.Errorf("Session in tx = %+v, %v", got, err)
		}
		if _, err := tx.PutContact(store.Contact{JID: "c@example.org", Name: "C"}); err != nil {
			return err
		}
		if got, ok, err := tx.Contact("c@example.org"); err != nil || !ok || got.Name != "C" {
			t.Errorf("Contact in tx = %+v, %v, %v", got, ok, err)
		}
		if err := tx.DeleteContact("c@example.org"); err != nil {
			return err
		}
		if _, ok, err := tx.Contact("c@example.org"); err != nil || ok {
			t.Errorf("Contact in tx after DeleteContact = %v, %v; want absent", ok, err)
		}
		if _, err := tx.PutArchive(store.Archive{JID: "me@example.org", Ranges: []store.Range{{First: "a1", Last: "a1", FirstPos: 5, LastPos: 5}}, Below: []store.GapReason{store.GapStart}}); err != nil {
			return err
		}
		if got, err := tx.Archive("me@example.org"); err != nil || len(got.Ranges) != 1 {
			t.Errorf("Archive in tx = %+v, %v", got, err)
		}
		return nil
	})
}

func testVersions(t *testing.T, s store.Store) {
	var last uint64
	next := func(what string, v uint64, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if v <= last {
			t.Errorf("%s: version %d, want > %d", what, v, last)
		}
		last = v
	}
	var vm, ve, vc, va, vk, vr uint64
	update(t, s, func(tx store.Tx) error {
		var err error
		vm, err = tx.PutMessage(store.Message{Key: "m1", Conversation: "a@example.org", StanzaID: "s1", From: "a@example.org", Pos: 1, Version: 999})
		next("PutMessage", vm, err)
		m2 := msg("a@example.org", "m2", 2)
		m2.Version = 999
		vm, err = tx.PutMessage(m2)
		next("PutMessage", vm, err)
		ve, err = tx.PutEdit(store.Edit{Key: "e1", Conversation: "b@example.org", Target: "x", Version: 999})
		next("PutEdit", ve, err)
		vc, err = tx.PutConversation(store.Conversation{Peer: "a@example.org", Version: 999})
		next("PutConversation", vc, err)
		va, err = tx.PutAccount(store.Account{JID: "me@example.org", Version: 999})
		next("PutAccount", va, err)
		vk, err = tx.PutContact(store.Contact{JID: "c@example.org", Version: 999})
		next("PutContact", vk, err)
		vr, err = tx.PutArchive(store.Archive{JID: "me@example.org", Version: 999})
		next("PutArchive", vr, err)
		return nil
	})
	if v := version(t, s); v != last {
		t.Errorf("Version = %d, want the last one stamped, %d", v, last)
	}
	view(t, s, func(tx store.Tx) error {
		if m, _, _ := tx.Message("m2"); m.Version != vm {
			t.Errorf("Message.Version = %d, want %d", m.Version, vm)
		}
		if e, _, _ := tx.Edit("e1"); e.Version != ve {
			t.Errorf("Edit.Version = %d, want %d", e.Version, ve)
		}
		if c, _, _ := tx.Conversation("a@example.org"); c.Version != vc {
			t.Errorf("Conversation.Version = %d, want %d", c.Version, vc)
		}
		if a, _ := tx.Account(); a.Version != va {
			t.Errorf("Account.Version = %d, want %d", a.Version, va)
		}
		if c, _, _ := tx.Contact("c@example.org"); c.Version != vk {
			t.Errorf("Contact.Version = %d, want %d", c.Version, vk)
		}
		if a, _ := tx.Archive("me@example.org"); a.Version != vr {
			t.Errorf("Archive.Version = %d, want %d", a.Version, vr)
		}
		return nil
	})
	if ms := messages(t, s, "a@example.org", all, 0); len(ms) != 2 || ms[1].Version != vm {
		t.Errorf("Messages = %+v, want m2 at version %d", ms, vm)
	}

	// Later transactions go on upwards; replacing a record restamps it.
	vs := put(t, s, msg("a@example.org", "m1", 1), msg("a@example.org", "m3", 3))
	next("PutMessage in a later Update", vs[0], nil)
	next("PutMessage in a later Update", vs[1], nil)
	if m, _ := get(t, s, "m1"); m.Version != vs[0] {
		t.Errorf("replaced m1.Version = %d, want %d", m.Version, vs[0])
	}
	if v := version(t, s); v != last {
		t.Errorf("Version = %d, want %d", v, last)
	}
}

func testConversationsSince(t *testing.T, s store.Store) {
	putConvs(t, s, store.Conversation{Peer: "a@example.org"}, store.Conversation{Peer: "b@example.org"})
	cs, v1, err := s.ConversationsSince(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(cs, func(a, b store.Conversation) int { return strings.Compare(a.Peer, b.Peer) })
	if got := peers(cs); !slices.Equal(got, []string{"a@example.org", "b@example.org"}) {
		t.Errorf("ConversationsSince(0) = %q", got)
	}
	if v1 != version(t, s) {
		t.Errorf("ConversationsSince(0) brings the reader to %d, want Version %d", v1, version(t, s))
	}
	if cs, v, err := s.ConversationsSince(ctx, v1); err != nil || len(cs) != 0 || v != v1 {
		t.Errorf("ConversationsSince(%d) = %+v, %d, %v; want none, %d", v1, cs, v, err, v1)
	}

	putConvs(t, s, store.Conversation{Peer: "b@example.org", Unread: 3}, store.Conversation{Peer: "c@example.org"})
	put(t, s, msg("a@example.org", "m1", 1)) // a message alone does not change a conversation
	cs, v2, err := s.ConversationsSince(ctx, v1)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(cs, func(a, b store.Conversation) int { return strings.Compare(a.Peer, b.Peer) })
	if got := peers(cs); !slices.Equal(got, []string{"b@example.org", "c@example.org"}) || cs[0].Unread != 3 {
		t.Errorf("ConversationsSince(%d) = %+v; want b (Unread 3) and c", v1, cs)
	}
	for _, c := range cs {
		if c.Version <= v1 || c.Version > v2 {
			t.Errorf("%s.Version = %d, want in (%d, %d]", c.Peer, c.Version, v1, v2)
		}
	}
	if cs, v, err := s.ConversationsSince(ctx, v2); err != nil || len(cs) != 0 || v != v2 {
		t.Errorf("ConversationsSince(%d) = %+v, %d, %v; want none, %d", v2, cs, v, err, v2)
	}
}

func testMessagesSince(t *testing.T, s store.Store) {
	const a, b = "a@example.org", "b@example.org"
	put(t, s, msg(a, "m3", 3), msg(a, "m1", 1), msg(a, "m2", 2), msg(b, "n1", 1))
	ms, v1, err := s.MessagesSince(ctx, a, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantKeys(t, "MessagesSince(0)", ms, "m1", "m2", "m3")
	if v1 != version(t, s) {
		t.Errorf("MessagesSince brings the reader to %d, want Version %d", v1, version(t, s))
	}
	if ms, v, err := s.MessagesSince(ctx, a, v1); err != nil || len(ms) != 0 || v != v1 {
		t.Errorf("MessagesSince(%d) = %v, %d, %v; want none, %d", v1, keys(ms), v, err, v1)
	}

	m2 := msg(a, "m2", 2)
	m2.State = store.StateRead
	put(t, s, msg(a, "m0", 0), m2, msg(b, "n2", 2))
	ms, v2, err := s.MessagesSince(ctx, a, v1)
	if err != nil {
		t.Fatal(err)
	}
	wantKeys(t, "MessagesSince after changes", ms, "m0", "m2")
	if len(ms) == 2 && ms[1].State != store.StateRead {
		t.Errorf("MessagesSince returned m2 in state %v, want read", ms[1].State)
	}
	for _, m := range ms {
		if m.Version <= v1 || m.Version > v2 {
			t.Errorf("%s.Version = %d, want in (%d, %d]", m.Key, m.Version, v1, v2)
		}
	}
	if ms, v, err := s.MessagesSince(ctx, a, v2); err != nil || len(ms) != 0 || v != v2 {
		t.Errorf("MessagesSince(%d) = %v, %d, %v; want none, %d", v2, keys(ms), v, err, v2)
	}
	ms, _, err = s.MessagesSince(ctx, b, v1)
	if err != nil {
		t.Fatal(err)
	}
	wantKeys(t, "MessagesSince of the other conversation", ms, "n2")

	// A message changed many times is returned once.
	for i := range 5 {
		m := msg(a, "m1", 1)
		m.Body = fmt.Sprint("take ", i)
		put(t, s, m)
	}
	ms, _, err = s.MessagesSince(ctx, a, v2)
	if err != nil {
		t.Fatal(err)
	}
	wantKeys(t, "MessagesSince after five changes of m1", ms, "m1")
	if len(ms) == 1 && ms[0].Body != "take 4" {
		t.Errorf("m1.Body = %q, want the last", ms[0].Body)
	}
}

func testInbox(t *testing.T, s store.Store) {
	putConvs(t, s,
		store.Conversation{Peer: "d@example.org", LastActivity: at(10)},
		store.Conversation{Peer: "b@example.org", LastActivity: at(20)},
		store.Conversation{Peer: "room@muc.example.org", Kind: store.Group, LastActivity: at(30)},
		store.Conversation{Peer: "a@example.org", LastActivity: at(20)},
		store.Conversation{Peer: "c@example.org"},
	)
	cs, err := s.Conversations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"room@muc.example.org", "a@example.org", "b@example.org", "d@example.org", "c@example.org"}
	if got := peers(cs); !slices.Equal(got, want) {
		t.Errorf("Conversations = %q, want %q", got, want)
	}
	if len(cs) == len(want) && cs[0].Kind != store.Group {
		t.Errorf("room Kind = %v, want Group", cs[0].Kind)
	}

	// Activity moves a conversation up.
	update(t, s, func(tx store.Tx) error {
		c, ok, err := tx.Conversation("c@example.org")
		if err != nil || !ok {
			return fmt.Errorf("Conversation(c) = %v, %v", ok, err)
		}
		c.LastActivity, c.LastKey, c.Preview, c.Unread = at(40), "m9", "hi", 1
		_, err = tx.PutConversation(c)
		return err
	})
	cs, err = s.Conversations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"c@example.org", "room@muc.example.org", "a@example.org", "b@example.org", "d@example.org"}
	if got := peers(cs); !slices.Equal(got, want) {
		t.Errorf("Conversations = %q, want %q", got, want)
	}
	wantC := store.Conversation{Peer: "c@example.org", LastActivity: at(40), LastKey: "m9", Preview: "hi", Unread: 1, Version: cs[0].Version}
	if c := normConv(cs[0]); c != normConv(wantC) {
		t.Errorf("Conversations[0] = %+v, want %+v", c, wantC)
	}
}

func testMessagesPaging(t *testing.T, s store.Store) {
	const a = "a@example.org"
	var ms []store.Message
	for i := 10; i >= 1; i-- {
		ms = append(ms, msg(a, fmt.Sprintf("m%02d", i), store.Pos(i*10)))
	}
	// Equal positions sort by Key.
	ms = append(ms, msg(a, "m05b", 50), msg(a, "m05a", 50))
	put(t, s, ms...)
	put(t, s, msg("b@example.org", "other", 55))

	all12 := []string{"m01", "m02", "m03", "m04", "m05", "m05a", "m05b", "m06", "m07", "m08", "m09", "m10"}
	for _, tt := range []struct {
		before store.Pos
		limit  int
		want   []string
	}{
		{all, 0, all12},
		{all, -1, all12},
		{all, 100, all12},
		{all, 3, []string{"m08", "m09", "m10"}},
		{80, 3, []string{"m05b", "m06", "m07"}},
		{51, 2, []string{"m05a", "m05b"}},
		{50, 2, []string{"m03", "m04"}},
		{50, 0, []string{"m01", "m02", "m03", "m04"}},
		{11, 5, []string{"m01"}},
		{10, 5, nil},
		{0, 0, nil},
	} {
		wantKeys(t, fmt.Sprintf("Messages(before %d, limit %d)", tt.before, tt.limit), messages(t, s, a, tt.before, tt.limit), tt.want...)
	}

	// Paging backwards from the newest visits every message once.
	var got []string
	for before := all; ; {
		page := messages(t, s, a, before, 5)
		if len(page) == 0 {
			break
		}
		got = append(keys(page), got...)
		before = page[0].Pos
		if len(got) > 100 {
			t.Fatal("paging does not end")
		}
	}
	if !slices.Equal(got, all12) {
		t.Errorf("paging backwards by 5 gave %q, want %q", got, all12)
	}
	wantKeys(t, "Messages of an unknown conversation", messages(t, s, "nobody@example.org", all, 0))
}

func testProvisional(t *testing.T, s store.Store) {
	const a = "a@example.org"
	put(t, s, msg(a, "live2", store.Provisional+2), msg(a, "live1", store.Provisional+1), msg(a, "old", 5), msg(a, "older", 1))
	wantKeys(t, "Messages", messages(t, s, a, all, 0), "older", "old", "live1", "live2")
	wantKeys(t, "Messages before Provisional", messages(t, s, a, store.Provisional, 0), "older", "old")
	wantKeys(t, "newest two", messages(t, s, a, all, 2), "live1", "live2")

	// The archive places live1 (catch-up): it moves below the provisional ones.
	m := msg(a, "live1", 6)
	m.ArchiveBy, m.ArchiveID = "me@example.org", "A6"
	put(t, s, m)
	wantKeys(t, "Messages after placing live1", messages(t, s, a, all, 0), "older", "old", "live1", "live2")
	wantKeys(t, "Messages before Provisional", messages(t, s, a, store.Provisional, 0), "older", "old", "live1")
}

func testLookups(t *testing.T, s store.Store) {
	const a, room = "a@example.org", "room@muc.example.org"
	m1 := msg(a, "m1", 1)
	m1.ArchiveBy, m1.ArchiveID, m1.OriginID = "me@example.org", "A1", "O1"
	m2 := msg(a, "m2", 2)
	m2.ArchiveBy, m2.ArchiveID, m2.OriginID = "me@example.org", "A2", "O1" // the sender reused an origin-id
	r1 := msg(room, "r1", 1)
	r1.From, r1.Kind = room+"/ann", store.Group
	r1.ArchiveBy, r1.ArchiveID, r1.OriginID = room, "A1", "O1" // the same ids from another archive and sender
	put(t, s, m2, r1, m1)

	view(t, s, func(tx store.Tx) error {
		for _, tt := range []struct{ by, id, want string }{
			{"me@example.org", "A1", "m1"},
			{"me@example.org", "A2", "m2"},
			{room, "A1", "r1"},
			{room, "A2", ""},
			{"me@example.org", "O1", ""},
			{"me@example.org", "", ""},
		} {
			got, ok, err := tx.MessageByArchiveID(tt.by, tt.id)
			if err != nil || ok != (tt.want != "") || got.Key != tt.want {
				t.Errorf("MessageByArchiveID(%q, %q) = %q, %v, %v; want %q", tt.by, tt.id, got.Key, ok, err, tt.want)
			}
		}
		for _, tt := range []struct {
			from, id string
			want     []string
		}{
			{a, "O1", []string{"m1", "m2"}},
			{room + "/ann", "O1", []string{"r1"}},
			{room, "O1", nil},
			{a, "A1", nil},
			{a, "", nil},
		} {
			got, err := tx.MessagesByOriginID(tt.from, tt.id)
			if err != nil {
				return err
			}
			wantKeys(t, fmt.Sprintf("MessagesByOriginID(%q, %q)", tt.from, tt.id), got, tt.want...)
		}
		got, ok, err := tx.Message("m1")
		if err != nil || !ok {
			t.Fatalf("Message(m1) = %v, %v", ok, err)
		}
		sameMessage(t, "Message(m1)", got, m1)
		return nil
	})
}

// testLookUpMessages: a batch of lookups answers as the lookups one by
// one do, the transaction's pending writes included, and the lookups made
// after it in the same transaction still see every write made since
// (messages moving between archive ids and origin-ids, a version bumped by
// an edit, what a read of other messages wrote out first).
func testLookUpMessages(t *testing.T, s store.Store) {
	const a, me, room = "a@example.org", "me@example.org", "room@muc.example.org"
	withIDs := func(m store.Message, archiveID, originID string) store.Message {
		m.ArchiveBy, m.ArchiveID, m.OriginID = me, archiveID, originID
		return m
	}
	m1, m2, m3 := withIDs(msg(a, "m1", 1), "A1", "O1"), withIDs(msg(a, "m2", 2), "A2", "O1"), withIDs(msg(a, "m3", 3), "A3", "")
	r1 := msg(room, "r1", 1)
	r1.From, r1.Kind = room+"/ann", store.Group
	r1.ArchiveBy, r1.ArchiveID, r1.OriginID = room, "A1", "O1"
	put(t, s, m1, m2, m3, r1)

	ids := []string{"A1", "A2", "A3", "A4", "A5", "A9", "A1", ""}
	var origins []store.OriginKey
	for _, o := range [][2]string{{a, "O1"}, {a, "O2"}, {a, "O9"}, {room + "/ann", "O1"}, {room, "O1"}, {a, ""}, {a, "O1"}} {
		origins = append(origins, store.OriginKey{From: o[0], OriginID: o[1]})
	}
	// check compares a batch's answers with the lookups one by one and
	// with want (archive id or origin-id → keys).
	check := func(tx store.Tx, when string, l store.Lookup, wantByID map[string]string, wantByOrigin map[string][]string) {
		t.Helper()
		for _, id := range ids {
			one, ok, err := tx.MessageByArchiveID(me, id)
			if err != nil {
				t.Fatalf("%s: MessageByArchiveID(%q): %v", when, id, err)
			}
			got, inBatch := l.ByArchiveID[id]
			if inBatch != ok || got.Key != one.Key || got.Key != wantByID[id] {
				t.Errorf("%s: archive id %q: batch %q (%v), one by one %q (%v); want %q", when, id, got.Key, inBatch, one.Key, ok, wantByID[id])
			}
			if ok && !reflect.DeepEqual(got, one) {
				t.Errorf("%s: archive id %q: batch %+v, one by one %+v", when, id, got, one)
			}
		}
		for _, o := range origins {
			one, err := tx.MessagesByOriginID(o.From, o.OriginID)
			if err != nil {
				t.Fatalf("%s: MessagesByOriginID(%v): %v", when, o, err)
			}
			want := wantByOrigin[o.From+" "+o.OriginID]
			wantKeys(t, fmt.Sprintf("%s: batch by origin %v", when, o), l.ByOrigin[o], want...)
			wantKeys(t, fmt.Sprintf("%s: MessagesByOriginID%v", when, o), one, want...)
			if len(one) > 0 && !reflect.DeepEqual(one, l.ByOrigin[o]) {
				t.Errorf("%s: origin %v: batch %+v, one by one %+v", when, o, l.ByOrigin[o], one)
			}
		}
	}
	var bumped uint64
	update(t, s, func(tx store.Tx) error {
		// Pending writes: a new message, and m2 moved to another
		// archive id.
		m4 := withIDs(msg(a, "m4", 4), "A4", "O2")
		m2.ArchiveID = "A5"
		for _, m := range []store.Message{m4, m2} {
			if _, err := tx.PutMessage(m); err != nil {
				return err
			}
		}
		l, err := tx.LookUpMessages(me, ids, origins)
		if err != nil {
			return fmt.Errorf("LookUpMessages: %w", err)
		}
		check(tx, "pending writes", l, map[string]string{"A1": "m1", "A3": "m3", "A4": "m4", "A5": "m2"},
			map[string][]string{a + " O1": {"m1", "m2"}, a + " O2": {"m4"}, room + "/ann O1": {"r1"}})

		// Writes after the batch: m1 takes another origin-id and m5 takes
		// O1, m3 takes A9, m4 drops A4; a read of the conversation writes
		// them out; an edit naming O1 bumps the versions of m2 and m5.
		m1.OriginID = "O3"
		m3.ArchiveID = "A9"
		m4.ArchiveID = ""
		m5 := withIDs(msg(a, "m5", 5), "A6", "O1")
		for _, m := range []store.Message{m1, m3, m4, m5} {
			if _, err := tx.PutMessage(m); err != nil {
				return err
			}
		}
		if _, _, err := tx.LastMessage(a); err != nil {
			return err
		}
		if bumped, err = tx.PutEdit(store.Edit{Key: "e1", Conversation: a, Kind: store.Correction, Target: "O1", From: a, Body: "fixed", Time: at(6), Pos: 6}); err != nil {
			return err
		}
		if l, err = tx.LookUpMessages(me, ids, origins); err != nil {
			return fmt.Errorf("LookUpMessages after writes: %w", err)
		}
		after := map[string][]string{a + " O1": {"m2", "m5"}, a + " O2": {"m4"}, room + "/ann O1": {"r1"}}
		check(tx, "writes after a batch", l, map[string]string{"A1": "m1", "A5": "m2", "A9": "m3"}, after)
		for _, id := range []string{"A5", "A6"} {
			if got, ok, err := tx.MessageByArchiveID(me, id); err != nil || !ok || got.Version != bumped {
				t.Errorf("MessageByArchiveID(%q) after an edit naming its origin-id: version %d (%v, %v), want %d", id, got.Version, ok, err, bumped)
			}
		}
		if got, err := tx.MessagesByOriginID(a, "O3"); err != nil || len(got) != 1 || got[0].Key != "m1" {
			t.Errorf("MessagesByOriginID(O3) = %v, %v; want m1", keys(got), err)
		}
		return nil
	})
	// What the transaction saw is what it committed.
	view(t, s, func(tx store.Tx) error {
		l, err := tx.LookUpMessages(me, ids, origins)
		if err != nil {
			return err
		}
		check(tx, "committed", l, map[string]string{"A1": "m1", "A5": "m2", "A9": "m3"},
			map[string][]string{a + " O1": {"m2", "m5"}, a + " O2": {"m4"}, room + "/ann O1": {"r1"}})
		return nil
	})
}

func testArchiveIDUnique(t *testing.T, s store.Store) {
	const a = "a@example.org"
	m1 := msg(a, "m1", 1)
	m1.ArchiveBy, m1.ArchiveID = "me@example.org", "A1"
	put(t, s, m1)
	v0 := version(t, s)
	dup := msg(a, "m2", 2)
	dup.ArchiveBy, dup.ArchiveID = "me@example.org", "A1"
	var putErr error
	err := s.Update(ctx, func(tx store.Tx) error {
		_, putErr = tx.PutMessage(dup)
		return putErr
	})
	if putErr == nil || err == nil {
		t.Errorf("a second message with archive id A1: PutMessage = %v, Update = %v; want errors", putErr, err)
	}
	if v := version(t, s); v != v0 {
		t.Errorf("Version after a refused put = %d, want %d", v, v0)
	}
	wantKeys(t, "Messages after a refused put", messages(t, s, a, all, 0), "m1")

	// Moving the id: free it first, then give it to the other message.
	m1.ArchiveID = ""
	dup.ArchiveID = "A1"
	put(t, s, m1, dup)
	view(t, s, func(tx store.Tx) error {
		if got, ok, err := tx.MessageByArchiveID("me@example.org", "A1"); err != nil || !ok || got.Key != "m2" {
			t.Errorf("MessageByArchiveID(A1) = %q, %v, %v; want m2", got.Key, ok, err)
		}
		return nil
	})

	// Edits too: one archive id, one edit.
	putEdits(t, s, store.Edit{Key: "e1", Conversation: a, Target: "x", ArchiveBy: "me@example.org", ArchiveID: "E1"})
	err = s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.PutEdit(store.Edit{Key: "e2", Conversation: a, Target: "y", ArchiveBy: "me@example.org", ArchiveID: "E1"})
		return err
	})
	if err == nil {
		t.Error("a second edit with archive id E1 was stored")
	}
}

func testReplaceKeepsIndexes(t *testing.T, s store.Store) {
	const a, b = "a@example.org", "b@example.org"
	m := out(a, "m1", 10, store.StateQueued)
	m.ArchiveBy, m.ArchiveID = "me@example.org", "A1"
	m.Direction = store.Inbound
	put(t, s, m, msg(a, "m2", 20))

	check := func(when string, archiveID, originID string, outbox bool, inbound int, order ...string) {
		t.Helper()
		view(t, s, func(tx store.Tx) error {
			for _, id := range []string{"A1", "A2"} {
				got, ok, err := tx.MessageByArchiveID("me@example.org", id)
				if err != nil || ok != (id == archiveID) || (ok && got.Key != "m1") {
					t.Errorf("%s: MessageByArchiveID(%s) = %q, %v, %v", when, id, got.Key, ok, err)
				}
			}
			for _, id := range []string{"o-m1", "O2"} {
				got, err := tx.MessagesByOriginID("me@example.org", id)
				if err != nil || (len(got) == 1) != (id == originID) || len(got) > 1 {
					t.Errorf("%s: MessagesByOriginID(%s) = %q, %v", when, id, keys(got), err)
				}
			}
			got, err := tx.Outbox()
			if err != nil || (len(got) == 1) != outbox || len(got) > 1 {
				t.Errorf("%s: Outbox = %q, %v; want m1: %v", when, keys(got), err, outbox)
			}
			if n, err := tx.CountInbound(a, 0); err != nil || n != inbound {
				t.Errorf("%s: CountInbound = %d, %v; want %d", when, n, err, inbound)
			}
			last, ok, err := tx.LastMessage(a)
			if err != nil || !ok || last.Key != order[len(order)-1] {
				t.Errorf("%s: LastMessage = %q, %v, %v; want %q", when, last.Key, ok, err, order[len(order)-1])
			}
			return nil
		})
		wantKeys(t, when+": Messages", messages(t, s, a, all, 0), order...)
	}
	check("first", "A1", "o-m1", true, 2, "m1", "m2")

	m.ArchiveID, m.OriginID, m.State, m.Pos, m.Direction = "A2", "O2", store.StateSent, 30, store.Outbound
	put(t, s, m)
	check("after replacing m1", "A2", "O2", false, 1, "m2", "m1")

	m.ArchiveID, m.OriginID, m.Pos = "", "", 5
	put(t, s, m)
	check("after clearing m1's ids", "", "", false, 1, "m1", "m2")

	// Replacing within one transaction, several times.
	update(t, s, func(tx store.Tx) error {
		for _, st := range []store.MessageState{store.StateQueued, store.StateSent, store.StateQueued} {
			m.State, m.ArchiveID, m.Pos = st, fmt.Sprint("A", int(st)+1), store.Pos(st)+40
			if _, err := tx.PutMessage(m); err != nil {
				return err
			}
		}
		return nil
	})
	check("after three puts in one transaction", "A1", "", true, 1, "m2", "m1")

	// A message that moves to another conversation leaves the first one.
	m.Conversation = b
	put(t, s, m)
	wantKeys(t, "Messages of a after m1 moved", messages(t, s, a, all, 0), "m2")
	wantKeys(t, "Messages of b after m1 moved", messages(t, s, b, all, 0), "m1")
}

func testOutbox(t *testing.T, s store.Store) {
	const a, b = "a@example.org", "b@example.org"
	put(t, s,
		out(a, "q3", store.Provisional+3, store.StateQueued),
		out(b, "q1", store.Provisional+1, store.StateQueued),
		out(a, "s2", store.Provisional+2, store.StateSent),
		out(a, "q2b", store.Provisional+2, store.StateQueued),
		out(b, "q2a", store.Provisional+2, store.StateQueued),
		msg(a, "in", 1),
	)
	outbox := func() []store.Message {
		t.Helper()
		var ms []store.Message
		view(t, s, func(tx store.Tx) error {
			var err error
			ms, err = tx.Outbox()
			return err
		})
		return ms
	}
	wantKeys(t, "Outbox", outbox(), "q1", "q2a", "q2b", "q3")
	if ms := outbox(); len(ms) > 0 && !bytes.Equal(ms[0].Raw, []byte("<message id='s-q1'/>")) {
		t.Errorf("Outbox[0].Raw = %q", ms[0].Raw)
	}
	for _, st := range []store.MessageState{store.StateSent, store.StateAcked, store.StateDelivered, store.StateRead} {
		m := out(a, "q3", store.Provisional+3, st)
		put(t, s, m)
		wantKeys(t, "Outbox after q3 became "+st.String(), outbox(), "q1", "q2a", "q2b")
	}
	put(t, s, out(a, "s2", store.Provisional+2, store.StateQueued)) // requeued
	wantKeys(t, "Outbox after s2 was requeued", outbox(), "q1", "q2a", "q2b", "s2")
}

func testEditsOnRead(t *testing.T, s store.Store) {
	const a, me = "a@example.org", "me@example.org"
	m1 := msg(a, "m1", 1)
	m1.ArchiveBy, m1.ArchiveID, m1.OriginID = me, "A1", "O1"
	m2 := msg(a, "m2", 2)
	m2.ArchiveBy, m2.ArchiveID = me, "A2"
	m3 := msg(a, "m3", 3)
	put(t, s, m1, m2, m3, msg("b@example.org", "n1", 1))
	v0 := version(t, s)

	var ve uint64
	update(t, s, func(tx store.Tx) error {
		var err error
		ve, err = tx.PutEdit(store.Edit{Key: "e1", Conversation: a, Kind: store.Correction, Target: "O1", From: a, Body: "fixed", Pos: 4})
		return err
	})
	ms, v1, err := s.MessagesSince(ctx, a, v0)
	if err != nil {
		t.Fatal(err)
	}
	wantKeys(t, "MessagesSince after a correction", ms, "m1")
	if len(ms) == 1 && (ms[0].Body != "fixed" || !ms[0].Corrected || ms[0].Version <= v0 || ms[0].Version > ve) {
		t.Errorf("corrected m1 = %+v; want Body fixed, Corrected, Version in (%d, %d]", ms[0], v0, ve)
	}

	putEdits(t, s,
		store.Edit{Key: "e2", Conversation: a, Kind: store.Retraction, Target: "A2", From: a, Pos: 5},
		store.Edit{Key: "e3", Conversation: a, Kind: store.Reaction, Target: "s-m3", From: me, Reactions: []string{"👍", "🎉"}, Pos: 6},
		store.Edit{Key: "e4", Conversation: a, Kind: store.Reaction, Target: "s-m3", From: a, Reactions: []string{"👍"}, Pos: 7},
		store.Edit{Key: "e5", Conversation: a, Kind: store.Correction, Target: "s-m3", From: me, Body: "not mine to fix", Pos: 8},
		store.Edit{Key: "e6", Conversation: "b@example.org", Kind: store.Correction, Target: "s-m3", From: a, Body: "wrong conversation", Pos: 9},
	)
	ms, _, err = s.MessagesSince(ctx, a, v1)
	if err != nil {
		t.Fatal(err)
	}
	wantKeys(t, "MessagesSince after a retraction and reactions", ms, "m2", "m3")

	ms = messages(t, s, a, all, 0)
	wantKeys(t, "Messages", ms, "m1", "m2", "m3")
	if len(ms) != 3 {
		return
	}
	if m := ms[0]; m.Body != "fixed" || !m.Corrected || m.Retracted || m.Reactions != nil {
		t.Errorf("m1 = %+v; want corrected", m)
	}
	if m := ms[1]; m.Body != "" || m.Corrected || !m.Retracted {
		t.Errorf("m2 = %+v; want retracted", m)
	}
	want := map[string][]string{"👍": {a, me}, "🎉": {me}}
	if m := ms[2]; m.Body != "body m3" || m.Corrected || !reflect.DeepEqual(m.Reactions, want) {
		t.Errorf("m3 = %+v; want reactions %v and the body unchanged", m, want)
	}
	// A page holds the edits of its messages only, and MessagesSince applies them too.
	if page := messages(t, s, a, 3, 1); len(page) != 1 || !page[0].Retracted {
		t.Errorf("Messages(before 3, limit 1) = %+v; want m2 retracted", page)
	}
	if ms, _, err := s.MessagesSince(ctx, a, 0); err != nil || len(ms) != 3 || !ms[0].Corrected || !ms[1].Retracted || ms[2].Reactions == nil {
		t.Errorf("MessagesSince(0) = %+v, %v; want the edits applied", ms, err)
	}
	// The message as stored is unchanged (Tx.Message returns it without edits).
	if m, _ := get(t, s, "m1"); m.Body != "body m1" {
		t.Errorf("stored m1.Body = %q, want the original", m.Body)
	}

	// Replacing an edit re-targets it: both targets change.
	v2 := version(t, s)
	putEdits(t, s, store.Edit{Key: "e1", Conversation: a, Kind: store.Correction, Target: "s-m3", From: a, Body: "m3 fixed", Pos: 4})
	ms, _, err = s.MessagesSince(ctx, a, v2)
	if err != nil {
		t.Fatal(err)
	}
	wantKeys(t, "MessagesSince after re-targeting e1", ms, "m1", "m3")
	if len(ms) == 2 && (ms[0].Corrected || ms[0].Body != "body m1" || ms[1].Body != "m3 fixed") {
		t.Errorf("after re-targeting e1: %+v", ms)
	}
	if ms, _, err := s.MessagesSince(ctx, "b@example.org", v0); err != nil || len(ms) != 0 {
		t.Errorf("MessagesSince of b = %q, %v; edits of a must not touch it", keys(ms), err)
	}
}

func testEditLookups(t *testing.T, s store.Store) {
	const a, me = "a@example.org", "me@example.org"
	e := store.Edit{Key: "e1", Conversation: a, Kind: store.Reaction, Target: "s-m1", From: me, Reactions: []string{"👍", "🎉"},
		ArchiveBy: me, ArchiveID: "E1", Time: at(3), Pos: 3}
	putEdits(t, s, e)
	view(t, s, func(tx store.Tx) error {
		for _, lookup := range []func() (store.Edit, bool, error){
			func() (store.Edit, bool, error) { return tx.Edit("e1") },
			func() (store.Edit, bool, error) { return tx.EditByArchiveID(me, "E1") },
		} {
			got, ok, err := lookup()
			if err != nil || !ok {
				t.Errorf("lookup = %v, %v", ok, err)
				continue
			}
			want := e
			want.Version = got.Version
			got.Time = normTime(got.Time)
			want.Time = normTime(want.Time)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("edit = %+v, want %+v", got, want)
			}
		}
		if _, ok, err := tx.EditByArchiveID(a, "E1"); ok || err != nil {
			t.Errorf("EditByArchiveID(other archive) = %v, %v; want absent", ok, err)
		}
		if _, ok, err := tx.Message("e1"); ok || err != nil {
			t.Errorf("an edit is not a message: Message(e1) = %v, %v", ok, err)
		}
		return nil
	})
	// Changing its archive id updates the lookup.
	e.ArchiveID = "E2"
	putEdits(t, s, e)
	view(t, s, func(tx store.Tx) error {
		if _, ok, err := tx.EditByArchiveID(me, "E1"); ok || err != nil {
			t.Errorf("EditByArchiveID(old id) = %v, %v; want absent", ok, err)
		}
		if got, ok, err := tx.EditByArchiveID(me, "E2"); !ok || err != nil || got.Key != "e1" {
			t.Errorf("EditByArchiveID(new id) = %q, %v, %v; want e1", got.Key, ok, err)
		}
		return nil
	})
}

func testEditBeforeTarget(t *testing.T, s store.Store) {
	const a = "a@example.org"
	// A correction can arrive (a MAM page, newest first) before its target.
	putEdits(t, s, store.Edit{Key: "e1", Conversation: a, Kind: store.Correction, Target: "s-m1", From: a, Body: "fixed", Pos: 2})
	if ms := messages(t, s, a, all, 0); len(ms) != 0 {
		t.Errorf("an edit alone shows messages: %+v", ms)
	}
	put(t, s, msg(a, "m1", 1))
	if ms := messages(t, s, a, all, 0); len(ms) != 1 || ms[0].Body != "fixed" || !ms[0].Corrected {
		t.Errorf("Messages = %+v; want m1 corrected", ms)
	}
}

func testCountInbound(t *testing.T, s store.Store) {
	const a = "a@example.org"
	read := msg(a, "i2", 20)
	read.State = store.StateRead
	put(t, s, msg(a, "i1", 10), read, out(a, "o3", 30, store.StateAcked), msg(a, "i4", store.Provisional+1), msg("b@example.org", "x", 40))
	view(t, s, func(tx store.Tx) error {
		for _, tt := range []struct {
			conv  string
			after store.Pos
			want  int
		}{
			{a, 0, 3}, {a, -1, 3}, {a, 9, 3}, {a, 10, 2}, {a, 20, 1}, {a, 30, 1},
			{a, store.Provisional, 1}, {a, store.Provisional + 1, 0}, {a, all, 0},
			{"b@example.org", 0, 1}, {"c@example.org", 0, 0},
		} {
			if n, err := tx.CountInbound(tt.conv, tt.after); err != nil || n != tt.want {
				t.Errorf("CountInbound(%s, %d) = %d, %v; want %d", tt.conv, tt.after, n, err, tt.want)
			}
		}
		return nil
	})
	// Within a transaction, with committed messages replaced.
	update(t, s, func(tx store.Tx) error {
		count := func(when string, after store.Pos, want int) {
			t.Helper()
			if n, err := tx.CountInbound(a, after); err != nil || n != want {
				t.Errorf("%s: CountInbound(%d) in tx = %d, %v; want %d", when, after, n, err, want)
			}
		}
		for _, step := range []struct {
			m     store.Message
			after store.Pos
			want  int
		}{
			{out(a, "i1", 10, store.StateSent), 0, 2},  // i2, i4
			{msg(a, "i5", 50), 0, 3},                   // i2, i5, i4
			{msg(a, "i4", 5), 9, 2},                    // i2, i5
			{msg(a, "i2", store.Provisional+2), 30, 2}, // i5, i2
			{msg(a, "i2", store.Provisional+2), 30, 2}, // again: no double count
			{msg("b@example.org", "i5", 50), 0, 2},     // i4, i2
		} {
			if _, err := tx.PutMessage(step.m); err != nil {
				return err
			}
			count("after putting "+step.m.Key, step.after, step.want)
		}
		return nil
	})
	view(t, s, func(tx store.Tx) error {
		if n, err := tx.CountInbound(a, 0); err != nil || n != 2 {
			t.Errorf("CountInbound after commit = %d, %v; want 2", n, err)
		}
		return nil
	})
}

func testLastMessage(t *testing.T, s store.Store) {
	const a = "a@example.org"
	last := func(want string) {
		t.Helper()
		view(t, s, func(tx store.Tx) error {
			m, ok, err := tx.LastMessage(a)
			if err != nil || ok != (want != "") || m.Key != want {
				t.Errorf("LastMessage = %q, %v, %v; want %q", m.Key, ok, err, want)
			}
			return nil
		})
	}
	last("")
	put(t, s, msg(a, "m2", 2), msg(a, "m1", 1))
	last("m2")
	put(t, s, msg(a, "m3", store.Provisional+1))
	last("m3")
	put(t, s, msg(a, "m3", 3), msg("b@example.org", "x", store.Provisional+9))
	last("m3")
	put(t, s, msg(a, "m3", 0))
	last("m2")
	// Within a transaction, with committed messages replaced.
	update(t, s, func(tx store.Tx) error {
		for _, step := range []struct {
			m    store.Message
			want string
		}{
			{msg(a, "m2", -1), "m1"},
			{msg(a, "m4", store.Provisional+4), "m4"},
			{msg("b@example.org", "m4", 9), "m1"},
			{msg(a, "m1", -2), "m3"},
		} {
			if _, err := tx.PutMessage(step.m); err != nil {
				return err
			}
			if m, ok, err := tx.LastMessage(a); err != nil || !ok || m.Key != step.want {
				t.Errorf("after putting %s: LastMessage in tx = %q, %v, %v; want %q", step.m.Key, m.Key, ok, err, step.want)
			}
		}
		return nil
	})
	last("m3")
}

func testArchive(t *testing.T, s store.Store) {
	want := store.Archive{
		JID: "room@muc.example.org",
		Ranges: []store.Range{
			{First: "A10", Last: "A20", FirstPos: 10, LastPos: 20},
			{First: "A30", Last: "A90", FirstPos: 30, LastPos: 90},
		},
		Below:      []store.GapReason{store.GapExpired, store.GapUnfetched},
		Recheck:    time.Date(2026, 11, 21, 11, 0, 0, 123456000, time.UTC),
		ClockLead:  -1500 * time.Millisecond,
		ClockKnown: true,
	}
	var v uint64
	update(t, s, func(tx store.Tx) error {
		var err error
		v, err = tx.PutArchive(want)
		return err
	})
	got := func(jid string) store.Archive {
		t.Helper()
		var a store.Archive
		view(t, s, func(tx store.Tx) error {
			var err error
			a, err = tx.Archive(jid)
			return err
		})
		// The read-only getter sees the same.
		if b, err := s.Archive(ctx, jid); err != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("Store.Archive(%s) = %+v, %v; Tx.Archive = %+v", jid, b, err, a)
		}
		return a
	}
	want.Version = v
	if a := got(want.JID); !reflect.DeepEqual(a, want) {
		t.Errorf("Archive = %+v, want %+v", a, want)
	}
	if r, ok := got(want.JID).Latest(); !ok || r.Last != "A90" {
		t.Errorf("Latest = %+v, %v", r, ok)
	}
	if a := got("me@example.org"); a.JID != "me@example.org" || len(a.Ranges) != 0 || a.Version != 0 {
		t.Errorf("Archive of another JID = %+v, want zero with JID set", a)
	}

	// Replacing: ranges merge, the first reaches the start.
	want.Ranges = []store.Range{{First: "A1", Last: "A90", FirstPos: 1, LastPos: 90}}
	want.Below = []store.GapReason{store.GapStart}
	update(t, s, func(tx store.Tx) error {
		var err error
		v, err = tx.PutArchive(want)
		return err
	})
	want.Version = v
	if a := got(want.JID); !reflect.DeepEqual(a, want) {
		t.Errorf("Archive after replacing = %+v, want %+v", a, want)
	}
}

func testContacts(t *testing.T, s store.Store) {
	cs := []store.Contact{
		{JID: "c@example.org", Name: "Cé", Subscription: "both", Groups: []string{"Work", "Friends"}},
		{JID: "a@example.org", Subscription: "to", Ask: true},
		{JID: "b@example.org", Name: "B", Subscription: "none", Incoming: true},
	}
	vs := putEach(t, s, store.Tx.PutContact, cs...)
	contacts := func() []store.Contact {
		t.Helper()
		got, err := s.Contacts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			got[i].Groups = normStrings(got[i].Groups)
		}
		return got
	}
	want := []store.Contact{cs[1], cs[2], cs[0]}
	want[0].Version, want[1].Version, want[2].Version = vs[1], vs[2], vs[0]
	if got := contacts(); !reflect.DeepEqual(got, want) {
		t.Errorf("Contacts =\n %+v\nwant\n %+v", got, want)
	}
	view(t, s, func(tx store.Tx) error {
		if c, ok, err := tx.Contact("c@example.org"); err != nil || !ok || !reflect.DeepEqual(c, want[2]) {
			t.Errorf("Contact(c) = %+v, %v, %v; want %+v", c, ok, err, want[2])
		}
		return nil
	})

	// Deleting what is absent changes nothing; deleting a contact moves the
	// store version, so that the change feed's readers notice.
	before := version(t, s)
	update(t, s, func(tx store.Tx) error { return tx.DeleteContact("nobody@example.org") })
	if v := version(t, s); v != before {
		t.Errorf("Version after deleting an absent contact = %d, want %d", v, before)
	}
	update(t, s, func(tx store.Tx) error { return tx.DeleteContact("b@example.org") })
	if v := version(t, s); v <= before {
		t.Errorf("Version after deleting a contact = %d, want above %d", v, before)
	}
	cs[0].Groups = nil
	vs = putEach(t, s, store.Tx.PutContact, cs[0])
	want = []store.Contact{want[0], cs[0]}
	want[1].Version = vs[0]
	if got := contacts(); !reflect.DeepEqual(got, want) {
		t.Errorf("Contacts after a delete and a change =\n %+v\nwant\n %+v", got, want)
	}
	view(t, s, func(tx store.Tx) error {
		if _, ok, err := tx.Contact("b@example.org"); ok || err != nil {
			t.Errorf("deleted Contact(b) = %v, %v; want absent", ok, err)
		}
		return nil
	})
}

func testAccount(t *testing.T, s store.Store) {
	want := store.Account{JID: "me@example.org", SendMarkers: true, RosterVer: "ver7"}
	vs := putEach(t, s, store.Tx.PutAccount, want)
	want.Version = vs[0]
	view(t, s, func(tx store.Tx) error {
		if a, err := tx.Account(); err != nil || a != want {
			t.Errorf("Account = %+v, %v; want %+v", a, err, want)
		}
		return nil
	})
}

func session() store.Session {
	return store.Session{
		DeviceID:      "dev-1",
		JID:           "me@example.org",
		BoundJID:      "me@example.org/waxwing.x1",
		FASTMechanism: "HT-SHA-256-NONE",
		FASTToken:     "tok",
		FASTExpiry:    at(3600),
		SM: store.SMState{
			ID: "sm-1", Location: "xmpp.example.org:5222", Max: 5 * time.Minute, Since: at(10),
			Inbound: 7, Outbound: 1<<32 - 1,
			Unacked: []store.Outgoing{{Seq: 1<<32 - 2, Raw: []byte("<message id='a'/>")}, {Seq: 1<<32 - 1, Raw: []byte{0, 0xff, '<'}}},
		},
	}
}

func testSession(t *testing.T, s store.Store) {
	want := session()
	update(t, s, func(tx store.Tx) error { return tx.PutSession(want) })
	got, err := s.LoadState(ctx)
	if err != nil || !reflect.DeepEqual(normSession(got), normSession(want)) {
		t.Fatalf("LoadState = %+v, %v; want %+v", got, err, want)
	}
	view(t, s, func(tx store.Tx) error {
		if got, err := tx.Session(); err != nil || !reflect.DeepEqual(normSession(got), normSession(want)) {
			t.Errorf("Session = %+v, %v; want %+v", got, err, want)
		}
		return nil
	})
	// Deep copies both ways.
	got.SM.Unacked[0].Raw[0] = 'X'
	got.SM.Unacked = append(got.SM.Unacked[:1], store.Outgoing{Seq: 9})
	if again, _ := s.LoadState(ctx); !reflect.DeepEqual(normSession(again), normSession(want)) {
		t.Errorf("changing a loaded Session changed the store: %+v", again)
	}
	in := session()
	update(t, s, func(tx store.Tx) error { return tx.PutSession(in) })
	in.SM.Unacked[1].Raw[0] = 'X'
	if again, _ := s.LoadState(ctx); !reflect.DeepEqual(normSession(again), normSession(want)) {
		t.Errorf("changing a put Session changed the store: %+v", again)
	}
}

func testUpdateState(t *testing.T, s store.Store) {
	if err := s.UpdateState(ctx, func(st *store.Session) error {
		if st.DeviceID != "" {
			t.Errorf("UpdateState on an empty store gave %+v", st)
		}
		*st = session()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	v0 := version(t, s)
	if err := s.UpdateState(ctx, func(st *store.Session) error {
		if !reflect.DeepEqual(normSession(*st), normSession(session())) {
			t.Errorf("UpdateState gave %+v, want the stored session", st)
		}
		st.SM.Inbound++
		st.SM.Unacked[0].Raw[0] = 'X'
		return errTest
	}); !errors.Is(err, errTest) {
		t.Errorf("UpdateState = %v, want f's error", err)
	}
	if st, err := s.LoadState(ctx); err != nil || !reflect.DeepEqual(normSession(st), normSession(session())) {
		t.Errorf("LoadState after a failed UpdateState = %+v, %v; want unchanged", st, err)
	}
	if err := s.UpdateState(ctx, func(st *store.Session) error { st.SM.Inbound = 8; return nil }); err != nil {
		t.Fatal(err)
	}
	if st, err := s.LoadState(ctx); err != nil || st.SM.Inbound != 8 {
		t.Errorf("LoadState = %+v, %v; want Inbound 8", st, err)
	}
	if v := version(t, s); v != v0 {
		t.Errorf("Version after UpdateState = %d, want %d: the session is not a versioned record", v, v0)
	}
}

func testUpdateStateHook(t *testing.T, s store.Store) {
	const a = "a@example.org"
	put(t, s, out(a, "q1", store.Provisional+1, store.StateQueued))
	markSent := func(tx store.Tx) error {
		st, err := tx.Session()
		if err != nil {
			return err
		}
		if len(st.SM.Unacked) != 1 {
			return fmt.Errorf("the hook sees Session %+v, want the one UpdateState just changed", st)
		}
		m, ok, err := tx.Message("q1")
		if err != nil || !ok {
			return fmt.Errorf("Message(q1) = %v, %v", ok, err)
		}
		m.State = store.StateSent
		_, err = tx.PutMessage(m)
		return err
	}
	queue := func(st *store.Session) error {
		st.SM.Outbound++
		st.SM.Unacked = append(st.SM.Unacked, store.Outgoing{Seq: st.SM.Outbound, Raw: []byte("<message id='s-q1'/>")})
		return nil
	}

	// The hook fails: neither the session nor the message changes.
	failing := store.WithTx(ctx, func(tx store.Tx) error {
		if err := markSent(tx); err != nil {
			return err
		}
		return errTest
	})
	if err := s.UpdateState(failing, queue); !errors.Is(err, errTest) {
		t.Errorf("UpdateState with a failing hook = %v, want the hook's error", err)
	}
	if st, err := s.LoadState(ctx); err != nil || len(st.SM.Unacked) != 0 || st.SM.Outbound != 0 {
		t.Errorf("LoadState after a failed hook = %+v, %v; want unchanged", st, err)
	}
	if m, _ := get(t, s, "q1"); m.State != store.StateQueued {
		t.Errorf("q1 after a failed hook is %v, want queued", m.State)
	}

	// f fails: the hook does not run.
	ran := false
	hooked := store.WithTx(ctx, func(store.Tx) error { ran = true; return nil })
	if err := s.UpdateState(hooked, func(*store.Session) error { return errTest }); !errors.Is(err, errTest) || ran {
		t.Errorf("UpdateState with a failing f = %v, hook ran: %v; want f's error, no hook", err, ran)
	}

	// Both succeed: both commit.
	if err := s.UpdateState(store.WithTx(ctx, markSent), queue); err != nil {
		t.Fatalf("UpdateState with a hook: %v", err)
	}
	if st, err := s.LoadState(ctx); err != nil || len(st.SM.Unacked) != 1 || st.SM.Outbound != 1 {
		t.Errorf("LoadState after the hook = %+v, %v; want one unacked", st, err)
	}
	if m, _ := get(t, s, "q1"); m.State != store.StateSent {
		t.Errorf("q1 after the hook is %v, want sent", m.State)
	}
	view(t, s, func(tx store.Tx) error {
		if ms, err := tx.Outbox(); err != nil || len(ms) != 0 {
			t.Errorf("Outbox after the hook = %q, %v; want empty", keys(ms), err)
		}
		return nil
	})
}

func testClosed(t *testing.T, s store.Store) {
	put(t, s, msg("a@example.org", "m1", 1))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ran := false
	for name, call := range map[string]func() error{
		"Update":      func() error { return s.Update(ctx, func(store.Tx) error { ran = true; return nil }) },
		"LoadState":   func() error { _, err := s.LoadState(ctx); return err },
		"UpdateState": func() error { return s.UpdateState(ctx, func(*store.Session) error { ran = true; return nil }) },
		"Version":     func() error { _, err := s.Version(ctx); return err },
		"Conversations": func() error {
			_, err := s.Conversations(ctx)
			return err
		},
		"ConversationsSince": func() error { _, _, err := s.ConversationsSince(ctx, 0); return err },
		"Messages":           func() error { _, err := s.Messages(ctx, "a@example.org", all, 0); return err },
		"MessagesSince":      func() error { _, _, err := s.MessagesSince(ctx, "a@example.org", 0); return err },
		"Contacts":           func() error { _, err := s.Contacts(ctx); return err },
	} {
		if err := call(); !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s on a closed store = %v, want ErrClosed", name, err)
		}
	}
	if ran {
		t.Error("a closed store ran a transaction")
	}
}

func testTxAfterUpdate(t *testing.T, s store.Store) {
	var leaked store.Tx
	update(t, s, func(tx store.Tx) error { leaked = tx; return nil })
	if _, err := leaked.PutMessage(msg("a@example.org", "m1", 1)); err == nil {
		t.Error("PutMessage on a finished transaction succeeded")
	}
	if ms := messages(t, s, "a@example.org", all, 0); len(ms) != 0 {
		t.Errorf("a finished transaction wrote %q", keys(ms))
	}
}

func testConcurrentUpdates(t *testing.T, s store.Store) {
	const workers, rounds = 8, 25
	errs := make(chan error, workers+1)
	stop := make(chan struct{})
	go func() { // a reader alongside the writers
		for {
			select {
			case <-stop:
				errs <- nil
				return
			default:
			}
			if _, err := s.Messages(ctx, "a@example.org", all, 10); err != nil {
				errs <- err
				return
			}
			if _, err := s.LoadState(ctx); err != nil {
				errs <- err
				return
			}
			runtime.Gosched() // js/wasm does not preempt: let the writers run
		}
	}()
	done := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range rounds {
				err := s.UpdateState(ctx, func(st *store.Session) error { st.SM.Inbound++; return nil })
				if err == nil {
					err = s.Update(ctx, func(tx store.Tx) error {
						_, err := tx.PutMessage(msg("a@example.org", fmt.Sprintf("w%d-%02d", w, i), store.Pos(w*100+i)))
						return err
					})
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range workers {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	close(stop)
	if err := <-errs; err != nil {
		t.Error(err)
	}
	if st, err := s.LoadState(ctx); err != nil || st.SM.Inbound != workers*rounds {
		t.Errorf("SM.Inbound = %d, %v; want %d (no lost update)", st.SM.Inbound, err, workers*rounds)
	}
	if ms := messages(t, s, "a@example.org", all, 0); len(ms) != workers*rounds {
		t.Errorf("%d messages, want %d", len(ms), workers*rounds)
	}
	ms, _, err := s.MessagesSince(ctx, "a@example.org", 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[uint64]bool)
	for _, m := range ms {
		if seen[m.Version] {
			t.Errorf("version %d stamped twice", m.Version)
		}
		seen[m.Version] = true
	}
}

func testDeepCopy(t *testing.T, s store.Store) {
	const a = "a@example.org"
	in := out(a, "m1", 1, store.StateQueued)
	put(t, s, in)
	putEdits(t, s, store.Edit{Key: "e1", Conversation: a, Kind: store.Reaction, Target: "s-m1", From: a, Reactions: []string{"👍"}, Pos: 2})
	in.Raw[0] = 'X' // the caller's slice is not the store's
	contact := store.Contact{JID: "c@example.org", Groups: []string{"Work"}}
	putEach(t, s, store.Tx.PutContact, contact)
	contact.Groups[0] = "X"
	arch := store.Archive{JID: "me@example.org", Ranges: []store.Range{{First: "A1", Last: "A2", FirstPos: 1, LastPos: 2}}, Below: []store.GapReason{store.GapStart}}
	putEach(t, s, store.Tx.PutArchive, arch)
	arch.Ranges[0].First, arch.Below[0] = "X", store.GapExpired

	// Change everything a read returns, then read again.
	for range 2 {
		ms := messages(t, s, a, all, 0)
		if len(ms) != 1 || ms[0].Raw[0] != '<' || !reflect.DeepEqual(ms[0].Reactions, map[string][]string{"👍": {a}}) {
			t.Fatalf("Messages = %+v", ms)
		}
		ms[0].Raw[0] = 'X'
		ms[0].Reactions["👍"][0] = "X"
		ms[0].Reactions["X"] = nil
		since, _, err := s.MessagesSince(ctx, a, 0)
		if err != nil || len(since) != 1 {
			t.Fatalf("MessagesSince = %+v, %v", since, err)
		}
		since[0].Raw[0] = 'X'
		cs, err := s.Contacts(ctx)
		if err != nil || len(cs) != 1 || !slices.Equal(cs[0].Groups, []string{"Work"}) {
			t.Fatalf("Contacts = %+v, %v", cs, err)
		}
		cs[0].Groups[0] = "X"
		view(t, s, func(tx store.Tx) error {
			for _, get := range []func() (store.Message, error){
				func() (store.Message, error) { m, _, err := tx.Message("m1"); return m, err },
				func() (store.Message, error) { m, _, err := tx.LastMessage(a); return m, err },
				func() (store.Message, error) { ms, err := tx.Outbox(); return ms[0], err },
				func() (store.Message, error) {
					ms, err := tx.MessagesByOriginID("me@example.org", "o-m1")
					return ms[0], err
				},
			} {
				m, err := get()
				if err != nil || m.Raw[0] != '<' {
					t.Errorf("a read returned %q, %v; want the stored Raw", m.Raw, err)
				}
				m.Raw[0] = 'X'
			}
			e, _, err := tx.Edit("e1")
			if err != nil || !slices.Equal(e.Reactions, []string{"👍"}) {
				t.Errorf("Edit = %+v, %v", e, err)
			}
			e.Reactions[0] = "X"
			c, _, err := tx.Contact("c@example.org")
			if err != nil || !slices.Equal(c.Groups, []string{"Work"}) {
				t.Errorf("Contact = %+v, %v", c, err)
			}
			c.Groups[0] = "X"
			ar, err := tx.Archive("me@example.org")
			if err != nil || len(ar.Ranges) != 1 || ar.Ranges[0].First != "A1" || ar.Below[0] != store.GapStart {
				t.Errorf("Archive = %+v, %v", ar, err)
			}
			if len(ar.Ranges) == 1 && len(ar.Below) == 1 {
				ar.Ranges[0].First, ar.Below[0] = "X", store.GapExpired
			}
			return nil
		})
	}
}

func testEditFieldsNotStored(t *testing.T, s store.Store) {
	m := msg("a@example.org", "m1", 1)
	m.Corrected, m.Retracted, m.Reactions = true, true, map[string][]string{"👍": {"x@example.org"}}
	put(t, s, m)
	want := msg("a@example.org", "m1", 1)
	got, _ := get(t, s, "m1")
	sameMessage(t, "Message", got, want)
	if ms := messages(t, s, "a@example.org", all, 0); len(ms) == 1 {
		sameMessage(t, "Messages", ms[0], want)
	}
}

func testNonASCIIAndLargeRaw(t *testing.T, s store.Store) {
	const conv = "jörg@exämple.org"
	raw := make([]byte, 256<<10)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	m := out(conv, "ключ-🔑", store.Provisional+1, store.StateQueued)
	m.Body = "Grüße 👋🏽 — 中文, עברית, \u0301e, 𝄞; <&>'\"\t\n"
	m.Raw = raw
	m.OriginID = "origin-✓"
	put(t, s, m)
	putConvs(t, s, store.Conversation{Peer: conv, Preview: m.Body, LastKey: m.Key})
	ms := messages(t, s, conv, all, 0)
	if len(ms) != 1 {
		t.Fatalf("Messages = %d messages", len(ms))
	}
	if !bytes.Equal(ms[0].Raw, raw) {
		t.Errorf("Raw of %d bytes came back as %d bytes, different", len(raw), len(ms[0].Raw))
	}
	sameMessage(t, "Messages[0]", ms[0], m)
	view(t, s, func(tx store.Tx) error {
		if got, err := tx.MessagesByOriginID(m.From, "origin-✓"); err != nil || len(got) != 1 || got[0].Key != m.Key {
			t.Errorf("MessagesByOriginID = %q, %v", keys(got), err)
		}
		if c, ok, err := tx.Conversation(conv); err != nil || !ok || c.Preview != m.Body {
			t.Errorf("Conversation = %+v, %v, %v", c, ok, err)
		}
		return nil
	})
}
