package pep

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// Bookmarks (XEP-0402 with XEP-0048 through PEP). XEP-0402 bookmarks are
// items of the PEP node urn:xmpp:bookmarks:1, one per room (item id = room
// JID); XEP-0048 keeps all of them in one <storage xmlns='storage:bookmarks'/>
// item of the node storage:bookmarks (XEP-0223 private storage). The
// service keeps the two in step ("urn:xmpp:bookmarks:1#compat-pep"): a
// publish or retract on the XEP-0402 node rewrites the XEP-0048 item from
// all XEP-0402 items (keeping its <url/> entries); a publish of a new
// XEP-0048 list publishes the XEP-0402 items that are new or changed and
// retracts the ones it no longer holds, with notifications, as if the client
// had done it. Both nodes are created whitelist (private) unless the
// publisher asked otherwise. Private XML storage (XEP-0049, and so
// "urn:xmpp:bookmarks:1#compat") is not served.

// Bookmark namespaces and nodes.
const (
	// NSBookmarks is the XEP-0402 namespace and node.
	NSBookmarks = "urn:xmpp:bookmarks:1"
	// FeatureBookmarksCompatPEP says the server keeps XEP-0402 and the
	// PEP form of XEP-0048 in step (XEP-0402 §5.3).
	FeatureBookmarksCompatPEP = NSBookmarks + "#compat-pep"
	// NSLegacyBookmarks is XEP-0048's namespace and PEP node.
	NSLegacyBookmarks = "storage:bookmarks"
	// legacyItem is the id of XEP-0048's one item.
	legacyItem = "current"
)

// isBookmarkNode reports whether a node holds bookmarks, which are private
// by default.
func isBookmarkNode(node string) bool { return node == NSBookmarks || node == NSLegacyBookmarks }

// conference402 is an XEP-0402 <conference/>.
type conference402 struct {
	XMLName  xml.Name `xml:"urn:xmpp:bookmarks:1 conference"`
	Name     string   `xml:"name,attr,omitempty"`
	Autojoin string   `xml:"autojoin,attr,omitempty"`
	Nick     string   `xml:"nick,omitempty"`
	Password string   `xml:"password,omitempty"`
	Ext      *struct {
		Inner []byte `xml:",innerxml"`
	} `xml:"extensions"`
}

// storage48 is an XEP-0048 <storage/>.
type storage48 struct {
	XMLName     xml.Name       `xml:"storage:bookmarks storage"`
	Conferences []conference48 `xml:"conference"`
	URLs        []struct {
		Name string `xml:"name,attr"`
		URL  string `xml:"url,attr"`
	} `xml:"url"`
}

// conference48 is an XEP-0048 <conference/>.
type conference48 struct {
	JID      string `xml:"jid,attr"`
	Name     string `xml:"name,attr"`
	Autojoin string `xml:"autojoin,attr"`
	Nick     string `xml:"nick"`
	Password string `xml:"password"`
}

// bookmark is one room bookmark in neutral form.
type bookmark struct {
	room, name, nick, password string
	autojoin                   bool
	// ext is XEP-0402's <extensions/> content, kept across an XEP-0048 round trip.
	ext []byte
}

func truth(s string) bool { return s == "true" || s == "1" }

// parse402 reads an XEP-0402 item.
func parse402(id string, payload []byte) (bookmark, error) {
	var c conference402
	if err := xml.Unmarshal(payload, &c); err != nil {
		return bookmark{}, fmt.Errorf("bookmark %s: %w", id, err)
	}
	b := bookmark{room: id, name: c.Name, nick: c.Nick, password: c.Password, autojoin: truth(c.Autojoin)}
	if c.Ext != nil {
		b.ext = bytes.TrimSpace(c.Ext.Inner)
	}
	return b, nil
}

// render402 renders a bookmark as an XEP-0402 item payload.
func render402(b bookmark) []byte {
	var s strings.Builder
	s.WriteString("<conference xmlns='" + NSBookmarks + "'")
	if b.name != "" {
		s.WriteString(" name='" + xmppmap.Escape(b.name) + "'")
	}
	if b.autojoin {
		s.WriteString(" autojoin='true'")
	}
	s.WriteString(">")
	if b.nick != "" {
		s.WriteString("<nick>" + xmppmap.Escape(b.nick) + "</nick>")
	}
	if b.password != "" {
		s.WriteString("<password>" + xmppmap.Escape(b.password) + "</password>")
	}
	if len(b.ext) > 0 {
		s.WriteString("<extensions>" + string(b.ext) + "</extensions>")
	}
	s.WriteString("</conference>")
	return []byte(s.String())
}

// parse48 reads an XEP-0048 <storage/>: its bookmarks (rooms with a valid
// JID, the first of duplicates) and its raw <url/> entries.
func parse48(payload []byte) ([]bookmark, []byte, error) {
	var st storage48
	if err := xml.Unmarshal(payload, &st); err != nil {
		return nil, nil, fmt.Errorf("storage:bookmarks: %w", err)
	}
	var out []bookmark
	seen := map[string]bool{}
	for _, c := range st.Conferences {
		room, err := crosstalk.ParseAddress(c.JID)
		if err != nil || !room.IsBare() || seen[room.String()] {
			continue
		}
		seen[room.String()] = true
		out = append(out, bookmark{room: room.String(), name: c.Name, nick: c.Nick, password: c.Password, autojoin: truth(c.Autojoin)})
	}
	var urls bytes.Buffer
	for _, u := range st.URLs {
		urls.WriteString("<url name='" + xmppmap.Escape(u.Name) + "' url='" + xmppmap.Escape(u.URL) + "'/>")
	}
	return out, urls.Bytes(), nil
}

// render48 renders bookmarks and url entries as an XEP-0048 <storage/>.
func render48(bs []bookmark, urls []byte) []byte {
	var s strings.Builder
	s.WriteString("<storage xmlns='" + NSLegacyBookmarks + "'>")
	for _, b := range bs {
		s.WriteString("<conference jid='" + xmppmap.Escape(b.room) + "'")
		if b.name != "" {
			s.WriteString(" name='" + xmppmap.Escape(b.name) + "'")
		}
		if b.autojoin {
			s.WriteString(" autojoin='true'")
		}
		s.WriteString(">")
		if b.nick != "" {
			s.WriteString("<nick>" + xmppmap.Escape(b.nick) + "</nick>")
		}
		if b.password != "" {
			s.WriteString("<password>" + xmppmap.Escape(b.password) + "</password>")
		}
		s.WriteString("</conference>")
	}
	s.Write(urls)
	s.WriteString("</storage>")
	return []byte(s.String())
}

// same reports whether two bookmarks say the same, XEP-0048's fields only
// (extensions are XEP-0402's own).
func same(a, b bookmark) bool {
	return a.room == b.room && a.name == b.name && a.nick == b.nick && a.password == b.password && a.autojoin == b.autojoin
}

// syncBookmarks keeps the two bookmark nodes in step after node changed; it
// is serialised per service (bookmark changes are rare).
func (s *Service) syncBookmarks(ctx context.Context, owner crosstalk.Address, node string) {
	s.bookmarkMu.Lock()
	defer s.bookmarkMu.Unlock()
	var err error
	switch node {
	case NSBookmarks:
		err = s.sync402To48(ctx, owner)
	case NSLegacyBookmarks:
		err = s.sync48To402(ctx, owner)
	}
	if err != nil {
		s.log.Warn().Err(err).Str("owner", owner.String()).Str("node", node).Msg("keeping bookmarks in step failed")
	}
}

// bookmarkNode returns a bookmark node of owner, creating it whitelist.
func (s *Service) bookmarkNode(ctx context.Context, owner crosstalk.Address, node string, maxItems int) (crosstalk.PEPNode, error) {
	n, err := s.store.GetPEPNode(ctx, owner, node)
	if errors.Is(err, crosstalk.ErrNotFound) {
		n = crosstalk.PEPNode{Owner: owner, Node: node, Access: AccessWhitelist, MaxItems: maxItems}
		err = s.store.PutPEPNode(ctx, n)
	}
	if err != nil {
		return n, wrapStore("bookmarks", err)
	}
	return n, nil
}

// current402 returns owner's XEP-0402 bookmarks, oldest first.
func (s *Service) current402(ctx context.Context, owner crosstalk.Address) ([]bookmark, error) {
	items, err := s.store.PEPItems(ctx, owner, NSBookmarks, nil, 0)
	if errors.Is(err, crosstalk.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, wrapStore("bookmarks", err)
	}
	slices.Reverse(items)
	out := make([]bookmark, 0, len(items))
	for _, it := range items {
		if b, err := parse402(it.ID, it.Payload); err == nil {
			out = append(out, b)
		}
	}
	return out, nil
}

// sync402To48 rewrites the XEP-0048 item from the XEP-0402 items.
func (s *Service) sync402To48(ctx context.Context, owner crosstalk.Address) error {
	bs, err := s.current402(ctx, owner)
	if err != nil {
		return err
	}
	var urls []byte
	old, err := s.store.PEPItems(ctx, owner, NSLegacyBookmarks, nil, 1)
	if err == nil && len(old) > 0 {
		_, urls, _ = parse48(old[0].Payload)
	}
	n, err := s.bookmarkNode(ctx, owner, NSLegacyBookmarks, 1)
	if err != nil {
		return err
	}
	it := crosstalk.PEPItem{ID: legacyItem, Payload: render48(bs, urls), Published: s.now()}
	if len(old) > 0 && bytes.Equal(old[0].Payload, it.Payload) {
		return nil
	}
	if err := s.store.PublishPEPItem(ctx, owner, n.Node, it); err != nil {
		return wrapStore("bookmarks", err)
	}
	s.notify(ctx, n, itemsEvent(n.Node, []crosstalk.PEPItem{it}))
	return nil
}

// sync48To402 publishes and retracts XEP-0402 items to match the newest
// XEP-0048 list.
func (s *Service) sync48To402(ctx context.Context, owner crosstalk.Address) error {
	items, err := s.store.PEPItems(ctx, owner, NSLegacyBookmarks, nil, 1)
	if err != nil || len(items) == 0 {
		return err
	}
	want, _, err := parse48(items[0].Payload)
	if err != nil {
		return err
	}
	have, err := s.current402(ctx, owner)
	if err != nil {
		return err
	}
	n, err := s.bookmarkNode(ctx, owner, NSBookmarks, s.limits.MaxItems)
	if err != nil {
		return err
	}
	byRoom := make(map[string]bookmark, len(have))
	for _, b := range have {
		byRoom[b.room] = b
	}
	kept := map[string]bool{}
	for _, b := range want {
		kept[b.room] = true
		if old, ok := byRoom[b.room]; ok {
			if same(old, b) {
				continue
			}
			b.ext = old.ext
		}
		it := crosstalk.PEPItem{ID: b.room, Payload: render402(b), Published: s.now()}
		if err := s.store.PublishPEPItem(ctx, owner, n.Node, it); err != nil {
			return wrapStore("bookmarks", err)
		}
		s.notify(ctx, n, itemsEvent(n.Node, []crosstalk.PEPItem{it}))
	}
	for _, b := range have {
		if kept[b.room] {
			continue
		}
		if err := s.store.RetractPEPItem(ctx, owner, n.Node, b.room); err != nil && !errors.Is(err, crosstalk.ErrNotFound) {
			return wrapStore("bookmarks", err)
		}
		s.notify(ctx, n, []byte("<items node='"+xmppmap.Escape(n.Node)+"'><retract id='"+xmppmap.Escape(b.room)+"'/></items>"))
	}
	return nil
}
