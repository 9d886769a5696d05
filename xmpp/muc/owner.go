package muc

import (
	"bytes"
	"context"
	"strconv"

	"github.com/crosstalk-im/crosstalk"
	"github.com/crosstalk-im/crosstalk/xmpp/feature"
	"github.com/crosstalk-im/crosstalk/xmpp/xmppmap"
)

type ownerQuery struct {
	Destroy *struct {
		Reason string `xml:"reason"`
	} `xml:"http://jabber.org/protocol/muc#owner destroy"`
	Form *struct {
		Type   string `xml:"type,attr"`
		Fields []struct {
			Var    string   `xml:"var,attr"`
			Values []string `xml:"value"`
		} `xml:"field"`
	} `xml:"jabber:x:data x"`
}

// owner answers the configuration form, applies a submitted one and
// destroys rooms (XEP-0045 §10.1–§10.9).
func owner(rooms Rooms) feature.HandlerFunc {
	return func(ctx context.Context, iq feature.IQ) ([]byte, error) {
		r, _, err := rooms.RoomState(ctx, iq.To)
		if err != nil {
			return nil, err
		}
		if iq.Type == "get" {
			if r.Affiliations[iq.From.Bare()] != crosstalk.AffiliationOwner {
				return nil, feature.Forbidden("only owners configure a room")
			}
			return configForm(r.Config), nil
		}
		var q ownerQuery
		if err := iq.Decode(&q); err != nil {
			return nil, err
		}
		switch {
		case q.Destroy != nil:
			return nil, rooms.DestroyRoom(ctx, iq.To, iq.From, q.Destroy.Reason)
		case q.Form != nil && q.Form.Type == "cancel":
			if r.Locked { // XEP-0045 §10.1.3: cancelling the initial configuration destroys the room
				return nil, rooms.DestroyRoom(ctx, iq.To, iq.From, "")
			}
			return nil, nil
		case q.Form != nil:
			values := make([][2]string, 0, len(q.Form.Fields))
			for _, f := range q.Form.Fields {
				v := ""
				if len(f.Values) > 0 {
					v = f.Values[0]
				}
				values = append(values, [2]string{f.Var, v})
			}
			cfg, err := applyForm(r.Config, values)
			if err != nil {
				return nil, err
			}
			if err := rooms.ConfigureRoom(ctx, iq.To, iq.From, cfg); err != nil {
				return nil, err
			}
			notifyConfig(ctx, rooms, iq.To, configCodes(r.Config, cfg))
			return nil, nil
		}
		return nil, feature.BadRequest("expected a form or destroy")
	}
}

func truth(v string) bool { return v == "1" || v == "true" }

// applyForm applies submitted (var, value) pairs to a configuration. The
// password switch is applied after every field, so a form that turns
// protection off while echoing the old secret clears it, whatever the
// order of its fields.
func applyForm(cfg crosstalk.RoomConfig, values [][2]string) (crosstalk.RoomConfig, error) {
	protected := ""
	for _, kv := range values {
		if kv[0] == "muc#roomconfig_passwordprotectedroom" {
			protected = kv[1]
			continue
		}
		applyField(&cfg, kv[0], kv[1])
	}
	switch {
	case protected == "":
	case !truth(protected):
		cfg.Password = ""
	case cfg.Password == "":
		return cfg, &feature.Error{Type: "modify", Condition: "not-acceptable", Text: "a password-protected room needs muc#roomconfig_roomsecret"}
	}
	return cfg, nil
}

func applyField(c *crosstalk.RoomConfig, name, v string) {
	switch name {
	case "muc#roomconfig_roomname":
		c.Name = v
	case "muc#roomconfig_roomdesc":
		c.Description = v
	case "muc#roomconfig_persistentroom":
		c.Persistent = truth(v)
	case "muc#roomconfig_membersonly":
		c.MembersOnly = truth(v)
	case "muc#roomconfig_moderatedroom":
		c.Moderated = truth(v)
	case "muc#roomconfig_publicroom":
		c.Public = truth(v)
	case "muc#roomconfig_roomsecret":
		c.Password = v
	case "muc#roomconfig_maxusers":
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			c.MaxOccupants = n
		}
	case "muc#roomconfig_historylength", "muc#maxhistoryfetch":
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			c.HistoryLength = n
		}
	case "muc#roomconfig_whois":
		c.WhoIs = crosstalk.WhoIsModerators
		if v == "anyone" {
			c.WhoIs = crosstalk.WhoIsAnyone
		}
	case "muc#roomconfig_changesubject":
		c.OccupantsChangeSubject = truth(v)
	}
}

func configForm(c crosstalk.RoomConfig) []byte {
	var b bytes.Buffer
	field := func(name, typ, value string) {
		b.WriteString("<field var='" + name + "' type='" + typ + "'><value>" + xmppmap.Escape(value) + "</value></field>")
	}
	bit := func(on bool) string {
		if on {
			return "1"
		}
		return "0"
	}
	whois := "moderators"
	if c.WhoIs == crosstalk.WhoIsAnyone {
		whois = "anyone"
	}
	b.WriteString("<query xmlns='" + NSOwner + "'><x xmlns='jabber:x:data' type='form'><title>Room configuration</title>")
	field("FORM_TYPE", "hidden", "http://jabber.org/protocol/muc#roomconfig")
	field("muc#roomconfig_roomname", "text-single", c.Name)
	field("muc#roomconfig_roomdesc", "text-single", c.Description)
	field("muc#roomconfig_persistentroom", "boolean", bit(c.Persistent))
	field("muc#roomconfig_publicroom", "boolean", bit(c.Public))
	field("muc#roomconfig_membersonly", "boolean", bit(c.MembersOnly))
	field("muc#roomconfig_moderatedroom", "boolean", bit(c.Moderated))
	field("muc#roomconfig_passwordprotectedroom", "boolean", bit(c.Password != ""))
	field("muc#roomconfig_roomsecret", "text-private", c.Password)
	field("muc#roomconfig_maxusers", "text-single", strconv.Itoa(c.MaxOccupants))
	field("muc#roomconfig_historylength", "text-single", strconv.Itoa(c.HistoryLength))
	b.WriteString("<field var='muc#roomconfig_whois' type='list-single' label='Who may discover real JIDs'><value>" + whois + "</value>" +
		"<option label='Moderators only'><value>moderators</value></option><option label='Anyone'><value>anyone</value></option></field>")
	field("muc#roomconfig_changesubject", "boolean", bit(c.OccupantsChangeSubject))
	b.WriteString("</x></query>")
	return b.Bytes()
}
