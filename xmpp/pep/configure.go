package pep

import (
	"context"
	"errors"
	"strconv"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// NSNodeConfig is the FORM_TYPE of node configuration (XEP-0060 §8.2).
const NSNodeConfig = NS + "#node_config"

// configure answers <configure/> of pubsub#owner: get returns the node's
// configuration form, set applies a submitted one (access model and
// max_items; the other fields clients send are accepted as publish
// options are), cancel does nothing.
func (s *Service) configure(ctx context.Context, iq feature.IQ, req request) ([]byte, error) {
	c := req.Configure
	if c.Node == "" {
		return nil, pubsubError("modify", "bad-request", "nodeid-required")
	}
	owner := iq.From.Bare()
	n, err := s.store.GetPEPNode(ctx, owner, c.Node)
	if errors.Is(err, crosstalk.ErrNotFound) {
		return nil, feature.ItemNotFound()
	} else if err != nil {
		return nil, wrapStore("configure", err)
	}
	if iq.Type == "get" {
		return []byte("<pubsub xmlns='" + NSOwner + "'><configure node='" + xmppmap.Escape(n.Node) + "'>" +
			"<x xmlns='jabber:x:data' type='form'><field var='FORM_TYPE' type='hidden'><value>" + NSNodeConfig + "</value></field>" +
			"<field var='pubsub#access_model' type='list-single'><option><value>" + AccessPresence + "</value></option>" +
			"<option><value>" + AccessOpen + "</value></option><option><value>" + AccessWhitelist + "</value></option>" +
			"<value>" + n.Access + "</value></field>" +
			"<field var='pubsub#max_items' type='text-single'><value>" + strconv.Itoa(n.MaxItems) + "</value></field>" +
			"</x></configure></pubsub>"), nil
	}
	if c.Form == nil || c.Form.Type == "cancel" {
		return nil, nil
	}
	if c.Form.Type != "submit" {
		return nil, feature.BadRequest("submit a form of type submit")
	}
	access, maxItems, err := s.parseForm(c.Form.Fields, NSNodeConfig)
	if err != nil {
		var fe *feature.Error
		if errors.As(err, &fe) && fe.Condition == "conflict" { // an unsupported value, not a precondition
			return nil, &feature.Error{Type: "modify", Condition: "not-acceptable", Text: fe.Text}
		}
		return nil, err
	}
	if access != "" {
		n.Access = access
	}
	if maxItems != 0 {
		n.MaxItems = maxItems
	}
	if err := s.store.PutPEPNode(ctx, n); err != nil {
		return nil, wrapStore("configure", err)
	}
	return nil, nil
}
