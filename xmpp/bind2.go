package xmpp

import (
	"context"
	"encoding/xml"
	"unicode/utf8"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/carbons"
	"github.com/crosstalk-im/crosstalk/xmpp/mam"
)

// XEP-0386 Bind 2, version 1.1.0: resource binding inside a XEP-0388
// <authenticate/>, with session features enabled in the same step.

// bind2Inline lists the features a Bind 2 request may enable inline, as
// the stream feature advertises them: exactly those bind2 handles.
// XEP-0198 resumption is XEP-0388's inline <sm/> (sasl2.go), next to
// <bind/>; enabling stream management is one of these.
const bind2Inline = "<feature var='" + carbons.NS + "'/><feature var='" + nsCSI + "'/><feature var='" + nsSM + "'/>"

// bind2Request is a Bind 2 <bind/> request.
type bind2Request struct {
	// Tag is the client's <tag/>, trimmed and cut to maxBindTag bytes: the
	// prefix of the resource.
	Tag string
	// Carbons enables XEP-0280 carbons for the session.
	Carbons bool
	// Inactive starts the session inactive (XEP-0352).
	Inactive bool
	// SM is an XEP-0198 <enable/>, nil for none.
	SM *smEnable
}

// bind2XML is the wire form of <bind xmlns='urn:xmpp:bind:0'/>.
type bind2XML struct {
	Tag    *string `xml:"urn:xmpp:bind:0 tag"`
	Inline []struct {
		XMLName xml.Name
		Resume  string `xml:"resume,attr"`
		Max     int    `xml:"max,attr"`
	} `xml:",any"`
}

// request checks a <bind/>: its tag and the features it enables inline.
// Features in other namespaces than those advertised are ignored, as
// unknown extensions are.
func (w *bind2XML) request() (bind2Request, error) {
	var r bind2Request
	if w.Tag != nil {
		if !utf8.ValidString(*w.Tag) {
			return r, &authenticateError{"malformed-request", "bind tag is not UTF-8"}
		}
		r.Tag = clip(*w.Tag, maxBindTag)
	}
	for _, f := range w.Inline {
		switch {
		case f.XMLName.Space == carbons.NS && f.XMLName.Local == "enable":
			r.Carbons = true
		case f.XMLName.Space == nsCSI && f.XMLName.Local == "inactive":
			r.Inactive = true
		case f.XMLName.Space == nsCSI && f.XMLName.Local == "active":
			r.Inactive = false
		case f.XMLName.Space == nsSM && f.XMLName.Local == "enable":
			r.SM = &smEnable{Resume: f.Resume, Max: f.Max}
		}
	}
	return r, nil
}

// bind2Resource returns the address Bind 2 binds for a tag: the tag, '/'
// and a random part (XEP-0386 §3.2.1), or the bare address (the hub picks
// a resource) when there is no tag or it cannot be in a resource.
func bind2Resource(user crosstalk.Address, tag string) crosstalk.Address {
	if tag == "" {
		return user
	}
	if a, err := user.WithResource(tag + "/" + newID()); err == nil {
		return a
	}
	return user
}

// bind2 binds the session a Bind 2 request asks for, with its inline
// features on from the start, and ends the account's earlier sessions of
// the same client installation (XEP-0386 §3.2: the same user-agent id).
// It returns what <bound/> carries: XEP-0198's <enabled/> when asked for,
// and XEP-0313's archive <metadata/> when the hub keeps archives, after
// dropping the account's offline messages that the archive holds
// (XEP-0386 §3.2): the client gets them by MAM.
func (n *negotiation) bind2(ctx context.Context, user crosstalk.Address, req sasl2Request) (*session, []byte, error) {
	sess, err := n.bindSession(ctx, bind2Resource(user, req.Bind.Tag))
	if err != nil {
		return nil, nil, err
	}
	var bound []byte
	if req.Bind.SM != nil {
		// The answer goes in <bound/>, before any stanza: count from now.
		bound, _ = sess.enableSM(*req.Bind.SM)
		sess.sm.start()
	}
	if n.srv.hub.Archiving() {
		// XEP-0386 §3.2 (MUST): the offline messages are cleared without
		// being sent, "as they will be provided by MAM"; only those the
		// archive holds (Hub.DropArchivedOffline). First, so that the
		// metadata below counts them. A failure leaves them offline, to be
		// delivered at initial presence as for any session.
		if dropped, err := n.srv.hub.DropArchivedOffline(ctx, user); err != nil {
			sess.log.Warn().Err(err).Msg("offline messages not cleared at Bind 2")
		} else if dropped > 0 {
			sess.log.Debug().Int("dropped", dropped).Msg("offline messages cleared: in the archive")
		}
		// XEP-0386 §3.2 (SHOULD): the archive as written at the binding,
		// without waiting for the archive writer (Hub.ArchiveEnds): it is
		// advisory, the client's query after its last id waits. The client
		// can do without it, so a failed read is logged and left out.
		md, err := mam.Metadata(ctx, n.srv.hub, user)
		if err != nil {
			sess.log.Warn().Err(err).Msg("no archive metadata in <bound/>")
		}
		bound = append(bound, md...)
	}
	sess.userAgent = req.UserAgent.ID
	if req.Bind.Carbons {
		carbons.Enable(sess)
	}
	if req.Bind.Inactive {
		sess.csi.inactive.Store(true)
	}
	if id := req.UserAgent.ID; id != "" {
		for _, old := range n.srv.local.of(user) {
			if old != sess && old.userAgent == id {
				old.log.Info().Str("replaced_by", sess.addr.String()).Msg("the same client logged in again")
				old.Close(crosstalk.ErrResourceConflict)
			}
		}
	}
	return sess, bound, nil
}
