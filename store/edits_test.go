package store

import (
	"reflect"
	"testing"
)

func TestApplyEdits(t *testing.T) {
	const conv, peer, me = "a@example.org", "a@example.org", "me@example.org"
	base := Message{Key: "m1", Conversation: conv, ArchiveBy: me, ArchiveID: "A1", OriginID: "O1", StanzaID: "S1", From: peer, Body: "hello", Pos: 1}
	edit := func(key string, kind EditKind, target, from string, pos Pos) Edit {
		return Edit{Key: key, Conversation: conv, Kind: kind, Target: target, From: from, Pos: pos}
	}
	corr := func(key, target, from, body string, pos Pos) Edit {
		e := edit(key, Correction, target, from, pos)
		e.Body = body
		return e
	}
	react := func(key, target, from string, pos Pos, rs ...string) Edit {
		e := edit(key, Reaction, target, from, pos)
		e.Reactions = rs
		return e
	}
	with := func(f func(*Message)) Message {
		m := base
		f(&m)
		return m
	}
	tests := []struct {
		name  string
		edits []Edit
		want  Message
	}{
		{"no edits", nil, base},
		{"correction by stanza id", []Edit{corr("e1", "S1", peer, "fixed", 2)}, with(func(m *Message) { m.Body, m.Corrected = "fixed", true })},
		{"correction by origin id", []Edit{corr("e1", "O1", peer, "fixed", 2)}, with(func(m *Message) { m.Body, m.Corrected = "fixed", true })},
		{"correction by archive id is ignored", []Edit{corr("e1", "A1", peer, "fixed", 2)}, base},
		{"correction by someone else is ignored", []Edit{corr("e1", "S1", "mallory@example.org", "fixed", 2)}, base},
		{"correction in another conversation is ignored", []Edit{func() Edit { e := corr("e1", "S1", peer, "fixed", 2); e.Conversation = "b@example.org"; return e }()}, base},
		{"latest correction wins, in any order", []Edit{corr("e3", "S1", peer, "third", 4), corr("e1", "S1", peer, "first", 2), corr("e2", "O1", peer, "second", 3)}, with(func(m *Message) { m.Body, m.Corrected = "third", true })},
		{"same position: higher key wins", []Edit{corr("eb", "S1", peer, "b", 2), corr("ea", "S1", peer, "a", 2)}, with(func(m *Message) { m.Body, m.Corrected = "b", true })},
		{"retraction by archive id", []Edit{edit("r1", Retraction, "A1", peer, 2)}, with(func(m *Message) { m.Body, m.Retracted = "", true })},
		{"retraction by origin id", []Edit{edit("r1", Retraction, "O1", peer, 2)}, with(func(m *Message) { m.Body, m.Retracted = "", true })},
		{"retraction by stanza id", []Edit{edit("r1", Retraction, "S1", peer, 2)}, with(func(m *Message) { m.Body, m.Retracted = "", true })},
		{"retraction by someone else is ignored", []Edit{edit("r1", Retraction, "A1", "mallory@example.org", 2)}, base},
		{"retraction beats a later correction", []Edit{edit("r1", Retraction, "A1", peer, 2), corr("e1", "S1", peer, "back", 3)}, with(func(m *Message) { m.Body, m.Retracted = "", true })},
		{"reactions of two senders", []Edit{react("x1", "S1", me, 2, "👍", "❤️"), react("x2", "A1", "b@example.org", 3, "👍")},
			with(func(m *Message) { m.Reactions = map[string][]string{"👍": {"b@example.org", me}, "❤️": {me}} })},
		{"a sender's latest set replaces the earlier one", []Edit{react("x2", "O1", me, 3, "😂"), react("x1", "S1", me, 2, "👍")},
			with(func(m *Message) { m.Reactions = map[string][]string{"😂": {me}} })},
		{"an empty set removes the sender", []Edit{react("x1", "S1", me, 2, "👍"), react("x2", "S1", me, 3)}, base},
		{"duplicate and empty reactions count once", []Edit{react("x1", "S1", me, 2, "👍", "👍", "")},
			with(func(m *Message) { m.Reactions = map[string][]string{"👍": {me}} })},
		{"unmatched edits are ignored", []Edit{corr("e1", "nope", peer, "x", 2), edit("r1", Retraction, "", peer, 2), react("x1", "nope", me, 2, "👍"), {Key: "k", Conversation: conv, Kind: 99, Target: "S1", From: peer}}, base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			in.Corrected, in.Reactions = true, map[string][]string{"stale": {"x"}} // never stored: recomputed
			msgs := []Message{in}
			got := ApplyEdits(msgs, tt.edits)
			if len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
				t.Errorf("ApplyEdits =\n %+v\nwant\n %+v", got, tt.want)
			}
			if !reflect.DeepEqual(msgs[0], in) {
				t.Errorf("ApplyEdits changed its input: %+v", msgs[0])
			}
		})
	}
}

func TestApplyEditsSeveralMessages(t *testing.T) {
	const conv = "room@muc.example.org"
	msgs := []Message{
		{Key: "m1", Conversation: conv, StanzaID: "same", From: conv + "/ann", Body: "one"},
		{Key: "m2", Conversation: conv, StanzaID: "same", From: conv + "/bob", Body: "two"},
		{Key: "m3", Conversation: conv, OriginID: "o3", StanzaID: "o3", ArchiveID: "A3", From: conv + "/ann", Body: "three"},
	}
	edits := []Edit{
		{Key: "e1", Conversation: conv, Kind: Correction, Target: "same", From: conv + "/bob", Body: "TWO"},
		{Key: "e2", Conversation: conv, Kind: Reaction, Target: "A3", From: conv + "/bob", Reactions: []string{"👍"}},
		{Key: "e3", Conversation: conv, Kind: Reaction, Target: "o3", From: conv + "/ann", Reactions: []string{"👍"}},
	}
	got := ApplyEdits(msgs, edits)
	want := []Message{
		msgs[0],
		{Key: "m2", Conversation: conv, StanzaID: "same", From: conv + "/bob", Body: "TWO", Corrected: true},
		{Key: "m3", Conversation: conv, OriginID: "o3", StanzaID: "o3", ArchiveID: "A3", From: conv + "/ann", Body: "three",
			Reactions: map[string][]string{"👍": {conv + "/ann", conv + "/bob"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ApplyEdits =\n %+v\nwant\n %+v", got, want)
	}
	if got := ApplyEdits(nil, edits); len(got) != 0 {
		t.Errorf("ApplyEdits(nil) = %+v", got)
	}
}
