package app

// From one view to the next: which regions of the page to re-render.
// Diff renders only what changed (templ components of package ui), so a
// new message is one appended element, a state change one replaced
// element, and the composer (with its focus and text) is left alone.

import (
	"context"
	"reflect"
	"strings"

	"github.com/a-h/templ"

	"github.com/waxwing-im/waxwing/wasm/ui"
)

// PatchOp says what to do with a Patch's HTML.
type PatchOp uint8

const (
	OpView    PatchOp = iota // replace the content of #view
	OpReplace                // replace the element with id ID
	OpAppend                 // append to the content of the element with id ID
)

// Patch is one change to the page.
type Patch struct {
	Op   PatchOp
	ID   string
	HTML string
}

// Diff returns the patches that turn the page showing old (nil: nothing
// rendered yet) into one showing v.
func Diff(ctx context.Context, old *ui.App, v ui.App) ([]Patch, error) {
	var out []Patch
	add := func(op PatchOp, id string, c templ.Component) error {
		var b strings.Builder
		if err := c.Render(ctx, &b); err != nil {
			return err
		}
		out = append(out, Patch{Op: op, ID: id, HTML: b.String()})
		return nil
	}
	if old == nil || old.Screen != v.Screen || (old.Chat == nil) != (v.Chat == nil) {
		return out, add(OpView, "view", ui.AppView(v))
	}
	type region struct {
		changed bool
		id      string
		c       templ.Component
	}
	regions := []region{
		{!reflect.DeepEqual(old.Connection, v.Connection), "connection", ui.ConnectionBar(v.Connection)},
		{old.Notice != v.Notice, "notice", ui.NoticeView(v.Notice)},
	}
	// Only the regions the screen has: a patch for one it lacks (#nav on
	// the login screen, when this tab becomes the leader) would make the
	// page render #view whole, and the person's typing in the form be lost.
	nav := region{old.Self != v.Self || old.Follower != v.Follower, "nav", ui.Nav(v)}
	switch v.Screen {
	case ui.ScreenLogin:
		regions = append(regions, region{!reflect.DeepEqual(old.Login, v.Login), "login", ui.LoginForm(v.Login)})
	case ui.ScreenContacts:
		regions = append(regions, nav, region{!reflect.DeepEqual(old.Contacts, v.Contacts), "contacts", ui.ContactsView(v.Contacts)})
	case ui.ScreenChats:
		regions = append(regions, nav, region{!reflect.DeepEqual(old.Inbox, v.Inbox), "inbox", ui.InboxList(v.Inbox)})
	}
	for _, r := range regions {
		if r.changed {
			if err := add(OpReplace, r.id, r.c); err != nil {
				return nil, err
			}
		}
	}
	if v.Screen != ui.ScreenChats || v.Chat == nil {
		return out, nil
	}
	oc, nc := old.Chat, v.Chat
	if oc.JID != nc.JID {
		for _, r := range []region{
			{true, "chat-header", ui.ChatHeader(nc)},
			{true, "messages", ui.Messages(nc)},
			{true, "composer-area", ui.ComposerArea(nc)},
		} {
			if err := add(OpReplace, r.id, r.c); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	if oc.Name != nc.Name || oc.Presence != nc.Presence {
		if err := add(OpReplace, "chat-header", ui.ChatHeader(nc)); err != nil {
			return nil, err
		}
	}
	if oc.Older != nc.Older || oc.Loading != nc.Loading || len(oc.Items) == 0 || !isPrefix(oc.Items, nc.Items) {
		return out, add(OpReplace, "messages", ui.Messages(nc))
	}
	for i, it := range oc.Items {
		if !reflect.DeepEqual(it, nc.Items[i]) {
			if err := add(OpReplace, "m-"+nc.Items[i].Message.Key, ui.ChatItemView(nc.Items[i])); err != nil {
				return nil, err
			}
		}
	}
	if len(nc.Items) > len(oc.Items) {
		var b strings.Builder
		for _, it := range nc.Items[len(oc.Items):] {
			if err := ui.ChatItemView(it).Render(ctx, &b); err != nil {
				return nil, err
			}
		}
		out = append(out, Patch{Op: OpAppend, ID: messageListID, HTML: b.String()})
	}
	return out, nil
}

// isPrefix reports whether the items of old are, one for one, the first
// items of cur: the same messages (perhaps in a new state), day separators
// and gaps, in the same order. Only messages may differ in content.
func isPrefix(old, cur []ui.ChatItem) bool {
	if len(old) > len(cur) {
		return false
	}
	for i, o := range old {
		n := cur[i]
		if o.Kind != n.Kind {
			return false
		}
		switch o.Kind {
		case ui.ItemMessage:
			if o.Message.Key != n.Message.Key {
				return false
			}
		default:
			if !reflect.DeepEqual(o, n) {
				return false
			}
		}
	}
	return true
}

// messageListID is the id of the element holding a chat's items
// (ui.Messages), where new ones are appended.
const messageListID = "message-list"
