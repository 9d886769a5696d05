package sip

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/crosstalk-im/crosstalk"
)

// contactUpdate is one Contact of a REGISTER, resolved against the bindings.
type contactUpdate struct {
	reg      crosstalk.Registration
	existing *binding
	remove   bool
}

// handleRegister is the registrar (RFC 3261 §10.3): digest authentication,
// then add, refresh, remove (expires=0, Contact: *) or query bindings.
func (r *registrar) handleRegister(ctx context.Context, req *sipmsg.Request, tx sipmsg.ServerTransaction) error {
	s := r.s
	if err := checkRequire(req); err != nil {
		return err
	}
	if !s.isLocalDomain(req.Recipient.Host) && !s.isSelf(&req.Recipient) {
		return statusErr(404, "Not Found (domain not served here)")
	}
	aor, err := crosstalk.ParseSIPURI(req.To().Address.String())
	if err != nil || aor.Local() == "" || !s.isLocalDomain(aor.Domain()) {
		return statusErr(404, "Not Found (address of record not served here)")
	}
	user, err := s.authenticate(ctx, req, wwwAuth, aor.Domain())
	if err != nil {
		return err
	}
	if user != aor {
		return &StatusError{Code: 403, Reason: "Forbidden (may not register this address)", Err: crosstalk.ErrNotAuthorized}
	}
	now := s.now()
	updates, removeAll, err := r.parseContacts(req, aor, now)
	if err != nil {
		return err
	}
	if !removeAll {
		n := len(r.list(aor))
		for _, u := range updates {
			switch {
			case u.existing == nil && !u.remove:
				n++
			case u.existing != nil && u.remove:
				n--
			}
		}
		if n > s.cfg.MaxBindingsPerAOR {
			return &StatusError{Code: 403, Reason: "Forbidden (too many bindings for this address)", Err: crosstalk.ErrForbidden}
		}
	}
	var added, removed []*binding
	if removeAll {
		removed = r.list(aor)
		for _, b := range removed {
			r.forget(ctx, b)
		}
	}
	for _, u := range updates {
		switch {
		case u.remove && u.existing != nil:
			r.forget(ctx, u.existing)
			removed = append(removed, u.existing)
		case u.remove:
		case u.existing != nil:
			r.refresh(u.existing, u.reg)
		default:
			b, err := r.add(u.reg)
			if err != nil {
				return err
			}
			r.store(b)
			added = append(added, b)
		}
	}
	res := sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
	outbound := false
	gruu := supports(req, "gruu")
	// The Contacts rendered when each binding last changed
	// (binding.render), written into one string that every header
	// slices: one allocation instead of one per binding.
	bindings := r.list(aor)
	var sb strings.Builder
	sb.Grow(64 * len(bindings))
	ends := make([]int, 0, len(bindings))
	var withGRUU []*binding
	for _, b := range bindings {
		instanceID, regID, written := b.writeContact(&sb, now, gruu)
		if instanceID != "" && regID > 0 {
			outbound = true
		}
		switch {
		case written:
			ends = append(ends, sb.Len())
		case instanceID != "":
			withGRUU = append(withGRUU, b)
		}
	}
	all, start := sb.String(), 0
	for _, end := range ends {
		res.AppendHeader(sipmsg.NewHeader("Contact", all[start:end]))
		start = end
	}
	for _, b := range withGRUU {
		// RFC 5627 §5.3: each binding with an instance gets its public
		// and a temporary GRUU.
		reg, u, _, ok := b.contact()
		if !ok {
			continue
		}
		c := &sipmsg.ContactHeader{Address: u, Params: sipmsg.NewParams()}
		c.Params.Add("expires", strconv.Itoa(int(reg.Expires.Sub(now).Round(time.Second)/time.Second)))
		c.Params.Add("+sip.instance", `"<`+reg.InstanceID+`>"`)
		c.Params.Add("pub-gruu", `"`+pubGRUU(aor, reg.InstanceID)+`"`)
		c.Params.Add("temp-gruu", `"`+s.tempGRUU(aor, reg.InstanceID)+`"`)
		if reg.RegID > 0 {
			c.Params.Add("reg-id", strconv.Itoa(reg.RegID))
		}
		if reg.Q != 1000 {
			c.Params.Add("q", formatQ(reg.Q))
		}
		res.AppendHeader(c)
	}
	for _, p := range headersNamed(req, "Path") {
		res.AppendHeader(sipmsg.NewHeader("Path", p.Value()))
	}
	if outbound && supports(req, "outbound") {
		res.AppendHeader(sipmsg.NewHeader("Require", "outbound"))
	}
	res.AppendHeader(sipmsg.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	s.addServer(res)
	if err := tx.Respond(res); err != nil {
		s.log.Debug().Err(err).Str("aor", aor.String()).Msg("sending 200 to REGISTER failed")
	}
	// After the 200, so a UA sees its registration confirmed before the
	// offline messages the hub now delivers; not bound to the transaction,
	// which may end as soon as the 200 is sent.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, b := range removed {
		b.Close(crosstalk.ErrEndpointClosed)
	}
	for _, b := range added {
		r.activate(ctx, b)
	}
	if ev := s.log.Debug(); ev.Enabled() { // the fields would cost allocations on every REGISTER
		ev.Str("aor", aor.String()).Str("remote", req.Source()).Str("call_id", callID(req)).
			Int("added", len(added)).Int("removed", len(removed)).Msg("registered")
	}
	return nil
}

// parseContacts resolves every Contact of a REGISTER: its expiry (423 below
// the minimum), its key, and the Call-ID/CSeq ordering against an existing
// binding (RFC 3261 §10.3 steps 6 and 7).
func (r *registrar) parseContacts(req *sipmsg.Request, aor crosstalk.Address, now time.Time) ([]contactUpdate, bool, error) {
	cfg := r.s.cfg
	defExpires := cfg.DefaultExpires
	if h := headerNamed(req, "Expires"); h != nil {
		n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
		if err != nil {
			return nil, false, statusErr(400, "Bad Request (Expires)")
		}
		defExpires = time.Duration(n) * time.Second
	}
	hdrs := req.GetHeaders("Contact")
	cid, cseq := callID(req), req.CSeq().SeqNo
	var out []contactUpdate
	for _, h := range hdrs {
		c, ok := h.(*sipmsg.ContactHeader)
		if !ok {
			return nil, false, statusErr(400, "Bad Request (Contact)")
		}
		if c.Address.Wildcard {
			if len(hdrs) != 1 || defExpires != 0 {
				return nil, false, statusErr(400, "Bad Request (Contact: * needs Expires: 0 and no other contact)")
			}
			for _, b := range r.list(aor) {
				if reg := b.registration(); reg.CallID == cid && reg.CSeq >= cseq {
					return nil, false, statusErr(400, "Bad Request (CSeq out of order)")
				}
			}
			return nil, true, nil
		}
		if s := strings.ToLower(c.Address.Scheme); s != "sip" && s != "sips" {
			return nil, false, statusErr(400, "Bad Request (contact scheme)")
		}
		expires := defExpires
		if v, ok := c.Params.Get("expires"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			if err != nil {
				return nil, false, statusErr(400, "Bad Request (contact expires)")
			}
			expires = time.Duration(n) * time.Second
		}
		if expires != 0 && expires < cfg.MinExpires {
			return nil, false, statusErr(423, "Interval Too Brief",
				sipmsg.NewHeader("Min-Expires", strconv.Itoa(int(cfg.MinExpires/time.Second))))
		}
		if expires > cfg.MaxExpires {
			expires = cfg.MaxExpires
		}
		reg := crosstalk.Registration{
			AOR:       aor,
			Contact:   c.Address.String(),
			CallID:    cid,
			CSeq:      cseq,
			Q:         1000,
			Received:  strings.ToLower(req.Transport()) + ":" + req.Source(),
			Expires:   now.Add(expires),
			UserAgent: headerValue(req, "User-Agent"),
		}
		if v, ok := c.Params.Get("q"); ok {
			q, err := parseQ(v)
			if err != nil {
				return nil, false, statusErr(400, "Bad Request (q-value)")
			}
			reg.Q = q
		}
		if v, ok := c.Params.Get("+sip.instance"); ok {
			reg.InstanceID = strings.Trim(v, `"<>`)
			if v, ok := c.Params.Get("reg-id"); ok {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 {
					return nil, false, statusErr(400, "Bad Request (reg-id)")
				}
				reg.RegID = n
			}
		}
		if supports(req, "path") {
			for _, p := range headersNamed(req, "Path") {
				reg.Path = append(reg.Path, strings.Split(p.Value(), ",")...)
			}
			for i := range reg.Path {
				reg.Path[i] = strings.TrimSpace(reg.Path[i])
			}
		}
		reg.Resource = resourceFor(reg.Key())
		u := contactUpdate{reg: reg, existing: r.get(aor, reg.Key()), remove: expires == 0}
		if u.existing != nil {
			old := u.existing.registration()
			if old.CallID == cid && cseq <= old.CSeq {
				return nil, false, statusErr(400, "Bad Request (CSeq out of order)")
			}
		}
		out = append(out, u)
	}
	return out, false, nil
}

// parseQ parses a q-value (RFC 3261 §20.10) into thousandths.
func parseQ(v string) (int, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 || f > 1 {
		return 0, fmt.Errorf("q-value %q", v)
	}
	return int(f*1000 + 0.5), nil
}

func formatQ(q int) string {
	return strconv.FormatFloat(float64(q)/1000, 'f', -1, 64)
}

// supports reports whether the request lists an option tag in Supported or
// Require.
func supports(req *sipmsg.Request, tag string) bool {
	for _, h := range req.Headers() {
		if n := h.Name(); !strings.EqualFold(n, "Supported") && !strings.EqualFold(n, "Require") && !strings.EqualFold(n, "k") {
			continue
		}
		for t := range strings.SplitSeq(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(t), tag) {
				return true
			}
		}
	}
	return false
}

func headerValue(m *sipmsg.Request, name string) string {
	if h := headerNamed(m, name); h != nil {
		return h.Value()
	}
	return ""
}
