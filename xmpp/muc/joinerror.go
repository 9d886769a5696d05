package muc

import (
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

// JoinError renders the error answer to a join (XEP-0045 §7.2.6–§7.2.11):
// a presence of type error from room@service/nick carrying an empty
// <x xmlns='…muc'/> (clients match join errors on it; the password is not
// echoed) and the error.
func JoinError(join *xmppmap.Stanza, e *feature.Error) []byte {
	reply := xmppmap.Stanza{Name: "presence"}
	reply.SetAttr("from", join.Attr("to"))
	reply.SetAttr("to", join.Attr("from"))
	reply.SetAttr("id", join.Attr("id"))
	reply.SetAttr("type", "error")
	reply.Inner = []byte("<x xmlns='" + NS + "'/>" + e.XML())
	return reply.Bytes()
}
