package pep

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// maxName bounds node names and item ids, in bytes (they are keys of the
// store's indexes).
const maxName = 1024

type itemEl struct {
	ID    string `xml:"id,attr"`
	Inner []byte `xml:",innerxml"`
}

type field struct {
	Var    string   `xml:"var,attr"`
	Values []string `xml:"value"`
}

type request struct {
	Publish *struct {
		Node  string   `xml:"node,attr"`
		Items []itemEl `xml:"item"`
	} `xml:"publish"`
	Options *struct {
		Fields []field `xml:"jabber:x:data x>field"`
	} `xml:"publish-options"`
	Retract *struct {
		Node   string   `xml:"node,attr"`
		Notify string   `xml:"notify,attr"`
		Items  []itemEl `xml:"item"`
	} `xml:"retract"`
	Items *struct {
		Node     string   `xml:"node,attr"`
		MaxItems string   `xml:"max_items,attr"`
		Items    []itemEl `xml:"item"`
	} `xml:"items"`
	Delete *struct {
		Node string `xml:"node,attr"`
	} `xml:"delete"`
	Configure *struct {
		Node string `xml:"node,attr"`
		Form *struct {
			Type   string  `xml:"type,attr"`
			Fields []field `xml:"field"`
		} `xml:"jabber:x:data x"`
	} `xml:"configure"`
}

// pubsub answers <pubsub xmlns='http://jabber.org/protocol/pubsub'/>.
func (s *Service) pubsub(ctx context.Context, iq feature.IQ) ([]byte, error) {
	var req request
	if err := iq.Decode(&req); err != nil {
		return nil, err
	}
	owner := iq.To
	if owner.IsZero() {
		owner = iq.From.Bare()
	}
	switch {
	case iq.Type == "get" && req.Items != nil:
		return s.items(ctx, owner, iq.From.Bare(), req)
	case iq.Type == "set" && req.Publish != nil:
		if owner != iq.From.Bare() {
			return nil, feature.Forbidden("only the owner publishes to a PEP node")
		}
		return s.publish(ctx, owner, req)
	case iq.Type == "set" && req.Retract != nil:
		if owner != iq.From.Bare() {
			return nil, feature.Forbidden("only the owner retracts from a PEP node")
		}
		return s.retract(ctx, owner, req)
	}
	return nil, &feature.Error{Type: "cancel", Condition: "feature-not-implemented"}
}

// owner answers <pubsub xmlns='http://jabber.org/protocol/pubsub#owner'/>.
func (s *Service) owner(ctx context.Context, iq feature.IQ) ([]byte, error) {
	var req request
	if err := iq.Decode(&req); err != nil {
		return nil, err
	}
	if req.Configure != nil {
		return s.configure(ctx, iq, req)
	}
	if req.Delete == nil || iq.Type != "set" {
		return nil, &feature.Error{Type: "cancel", Condition: "feature-not-implemented"}
	}
	if req.Delete.Node == "" {
		return nil, pubsubError("modify", "bad-request", "nodeid-required")
	}
	owner := iq.From.Bare()
	n, err := s.store.GetPEPNode(ctx, owner, req.Delete.Node)
	if errors.Is(err, crosstalk.ErrNotFound) {
		return nil, feature.ItemNotFound()
	} else if err != nil {
		return nil, wrapStore("delete node", err)
	}
	if err := s.store.DeletePEPNode(ctx, owner, n.Node); err != nil {
		return nil, wrapStore("delete node", err)
	}
	s.notify(ctx, n, []byte("<delete node='"+xmppmap.Escape(n.Node)+"'/>"))
	if n.Node == NSBookmarks {
		s.syncBookmarks(ctx, owner, n.Node) // no XEP-0402 bookmarks: an empty XEP-0048 list
	}
	return nil, nil
}

// options reads XEP-0223 publish options into a node configuration.
func (s *Service) options(req request) (access string, maxItems int, err error) {
	if req.Options == nil {
		return "", 0, nil
	}
	return s.parseForm(req.Options.Fields, NSPublishOptions)
}

// parseForm reads node configuration fields of a form of formType.
func (s *Service) parseForm(fields []field, formType string) (access string, maxItems int, err error) {
	for _, f := range fields {
		v := ""
		if len(f.Values) > 0 {
			v = strings.TrimSpace(f.Values[0])
		}
		switch f.Var {
		case "FORM_TYPE":
			if v != formType {
				return "", 0, feature.BadRequest("the form's FORM_TYPE must be " + formType)
			}
		case "pubsub#access_model":
			if v != AccessOpen && v != AccessPresence && v != AccessWhitelist {
				return "", 0, preconditionNotMet("access model " + v + " is not supported")
			}
			access = v
		case "pubsub#max_items":
			if v == "max" {
				maxItems = s.limits.MaxItems
				break
			}
			n, perr := strconv.Atoi(v)
			if perr != nil || n < 1 || n > s.limits.MaxItems {
				return "", 0, preconditionNotMet("pubsub#max_items must be 1 to " + strconv.Itoa(s.limits.MaxItems) + " or max")
			}
			maxItems = n
		case "pubsub#persist_items":
			if v != "1" && v != "true" {
				return "", 0, preconditionNotMet("items are always persistent")
			}
		case "pubsub#send_last_published_item", "pubsub#deliver_payloads", "pubsub#deliver_notifications", "pubsub#notify_retract":
			// Behaviour is fixed (on_sub_and_presence, payloads delivered);
			// these are accepted so that common clients can publish.
		default:
			return "", 0, preconditionNotMet("unsupported publish option " + f.Var)
		}
	}
	return access, maxItems, nil
}

func (s *Service) publish(ctx context.Context, owner crosstalk.Address, req request) ([]byte, error) {
	p := req.Publish
	if p.Node == "" {
		return nil, pubsubError("modify", "bad-request", "nodeid-required")
	}
	if len(p.Items) != 1 {
		return nil, pubsubError("modify", "bad-request", "invalid-payload")
	}
	if len(p.Node) > maxName || len(p.Items[0].ID) > maxName {
		return nil, &feature.Error{Type: "modify", Condition: "not-acceptable", Text: "node names and item ids are at most " + strconv.Itoa(maxName) + " bytes"}
	}
	payload := bytes.TrimSpace(p.Items[0].Inner)
	if len(payload) == 0 {
		return nil, pubsubError("modify", "bad-request", "payload-required")
	}
	if len(payload) > s.limits.MaxPayload {
		return nil, pubsubError("modify", "not-acceptable", "payload-too-big")
	}
	access, maxItems, err := s.options(req)
	if err != nil {
		return nil, err
	}
	n, err := s.store.GetPEPNode(ctx, owner, p.Node)
	switch {
	case errors.Is(err, crosstalk.ErrNotFound):
		nodes, err := s.store.ListPEPNodes(ctx, owner)
		if err != nil {
			return nil, wrapStore("publish", err)
		}
		if len(nodes) >= s.limits.MaxNodes {
			return nil, &feature.Error{Type: "wait", Condition: "resource-constraint", Text: "too many PEP nodes"}
		}
		def := AccessPresence
		if isBookmarkNode(p.Node) {
			def = AccessWhitelist // bookmarks are private data (XEP-0223) even when a client forgets to say so
		}
		if p.Node == NSBookmarks && maxItems == 0 {
			maxItems = s.limits.MaxItems // one item per room (XEP-0402 asks for max_items=max)
		}
		n = crosstalk.PEPNode{Owner: owner, Node: p.Node, Access: cmpOr(access, def), MaxItems: max(maxItems, 1)}
		if err := s.store.PutPEPNode(ctx, n); err != nil {
			return nil, wrapStore("publish", err)
		}
	case err != nil:
		return nil, wrapStore("publish", err)
	default: // XEP-0223 §7: the options are preconditions on an existing node
		if access != "" && access != n.Access {
			return nil, preconditionNotMet("the node's access model is " + n.Access)
		}
		if maxItems != 0 && maxItems != n.MaxItems {
			return nil, preconditionNotMet("the node's max_items is " + strconv.Itoa(n.MaxItems))
		}
	}
	it := crosstalk.PEPItem{ID: p.Items[0].ID, Payload: payload, Published: s.now()}
	if it.ID == "" {
		it.ID = s.nextID("")
	}
	if err := s.store.PublishPEPItem(ctx, owner, n.Node, it); err != nil {
		return nil, wrapStore("publish", err)
	}
	s.notify(ctx, n, itemsEvent(n.Node, []crosstalk.PEPItem{it}))
	if isBookmarkNode(n.Node) {
		s.syncBookmarks(ctx, owner, n.Node) // XEP-0402 §5.3 (bookmarks.go)
	}
	return []byte("<pubsub xmlns='" + NS + "'><publish node='" + xmppmap.Escape(n.Node) + "'><item id='" +
		xmppmap.Escape(it.ID) + "'/></publish></pubsub>"), nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Service) retract(ctx context.Context, owner crosstalk.Address, req request) ([]byte, error) {
	r := req.Retract
	if r.Node == "" {
		return nil, pubsubError("modify", "bad-request", "nodeid-required")
	}
	if len(r.Items) != 1 || r.Items[0].ID == "" {
		return nil, pubsubError("modify", "bad-request", "item-required")
	}
	n, err := s.store.GetPEPNode(ctx, owner, r.Node)
	if errors.Is(err, crosstalk.ErrNotFound) {
		return nil, feature.ItemNotFound()
	} else if err != nil {
		return nil, wrapStore("retract", err)
	}
	if err := s.store.RetractPEPItem(ctx, owner, r.Node, r.Items[0].ID); errors.Is(err, crosstalk.ErrNotFound) {
		return nil, feature.ItemNotFound()
	} else if err != nil {
		return nil, wrapStore("retract", err)
	}
	if r.Notify == "true" || r.Notify == "1" {
		s.notify(ctx, n, []byte("<items node='"+xmppmap.Escape(n.Node)+"'><retract id='"+xmppmap.Escape(r.Items[0].ID)+"'/></items>"))
	}
	if n.Node == NSBookmarks {
		s.syncBookmarks(ctx, owner, n.Node)
	}
	return nil, nil
}

func (s *Service) items(ctx context.Context, owner, who crosstalk.Address, req request) ([]byte, error) {
	r := req.Items
	if r.Node == "" {
		return nil, pubsubError("modify", "bad-request", "nodeid-required")
	}
	n, err := s.store.GetPEPNode(ctx, owner, r.Node)
	if errors.Is(err, crosstalk.ErrNotFound) {
		return nil, feature.ItemNotFound()
	} else if err != nil {
		return nil, wrapStore("items", err)
	}
	if err := s.mayRead(ctx, n, who); err != nil {
		return nil, err
	}
	limit := 0
	if r.MaxItems != "" {
		if limit, err = strconv.Atoi(r.MaxItems); err != nil || limit < 1 {
			return nil, feature.BadRequest("max_items must be a positive number")
		}
	}
	var ids []string
	for _, it := range r.Items {
		ids = append(ids, it.ID)
	}
	items, err := s.store.PEPItems(ctx, owner, n.Node, ids, limit)
	if err != nil {
		return nil, wrapStore("items", err)
	}
	slices.Reverse(items) // oldest first
	var b bytes.Buffer
	b.WriteString("<pubsub xmlns='" + NS + "'>")
	b.Write(itemsElement(n.Node, items))
	b.WriteString("</pubsub>")
	return b.Bytes(), nil
}

// itemsElement renders <items node=”><item id=”>payload</item>…</items>.
func itemsElement(node string, items []crosstalk.PEPItem) []byte {
	var b bytes.Buffer
	b.WriteString("<items node='" + xmppmap.Escape(node) + "'>")
	for _, it := range items {
		b.WriteString("<item id='" + xmppmap.Escape(it.ID) + "'>")
		b.Write(it.Payload)
		b.WriteString("</item>")
	}
	b.WriteString("</items>")
	return b.Bytes()
}

// itemsEvent is the content of an event notification carrying items.
func itemsEvent(node string, items []crosstalk.PEPItem) []byte { return itemsElement(node, items) }
