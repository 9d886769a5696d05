package crosstalk

import (
	"strings"
	"testing"
)

// parseState reads the Appendix A notation: "None", "None+PO", "None+PI",
// "None+PO+PI", "To", "To+PI", "From", "From+PO", "Both", with "+PA" for
// pre-approval.
func parseState(s string) SubscriptionState {
	parts := strings.Split(s, "+")
	st := SubscriptionState{Subscription: ParseSubscription(strings.ToLower(parts[0]))}
	for _, p := range parts[1:] {
		switch p {
		case "PO":
			st.PendingOut = true
		case "PI":
			st.PendingIn = true
		case "PA":
			st.PreApproved = true
		}
	}
	return st
}

// TestSubscriptionAppendixA walks every (state, event) pair of RFC 6121
// Appendix A. Each cell is the state after the event, then "!" when the
// stanza is forwarded (routed to the contact for Out*, delivered to the owner
// for In*), "*" when the server auto-replies 'subscribed'.
func TestSubscriptionAppendixA(t *testing.T) {
	events := [...]SubscriptionEvent{OutSubscribe, OutUnsubscribe, OutSubscribed, OutUnsubscribed, InSubscribe, InUnsubscribe, InSubscribed, InUnsubscribed}
	//                 A.2.1 out-sub  A.2.2 out-unsub  A.3.1 out-subd   A.3.2 out-unsubd  A.4.1 in-sub     A.4.2 in-unsub  A.5.1 in-subd   A.5.2 in-unsubd
	table := [...][9]string{
		{"None", "None+PO!", "None!", "None+PA", "None", "None+PI!", "None", "None", "None"},
		{"None+PO", "None+PO!", "None!", "None+PO+PA", "None+PO", "None+PO+PI!", "None+PO", "To!", "None!"},
		{"None+PI", "None+PO+PI!", "None+PI!", "From!", "None!", "None+PI", "None!", "None+PI", "None+PI"},
		{"None+PO+PI", "None+PO+PI!", "None+PI!", "From+PO!", "None+PO!", "None+PO+PI", "None+PO!", "To+PI!", "None+PI!"},
		{"To", "To!", "None!", "To+PA", "To", "To+PI!", "To", "To", "None!"},
		{"To+PI", "To+PI!", "None+PI!", "Both!", "To!", "To+PI", "To!", "To+PI", "None+PI!"},
		{"From", "From+PO!", "From!", "From", "None!", "From*", "None!", "From", "From"},
		{"From+PO", "From+PO!", "From!", "From+PO", "None+PO!", "From+PO*", "None+PO!", "Both!", "From!"},
		{"Both", "Both!", "From!", "Both", "To!", "Both*", "To!", "Both", "From!"},
		// Pre-approval (§3.4): an inbound subscribe is approved at once.
		{"None+PA", "None+PO+PA!", "None+PA!", "None+PA", "None", "From*", "None+PA", "None+PA", "None+PA"},
		{"To+PA", "To+PA!", "None+PA!", "To+PA", "To", "Both*", "To+PA", "To+PA", "None+PA!"},
	}
	for i, row := range table {
		from := parseState(row[0])
		for j, ev := range events {
			cell := row[j+1]
			want := parseState(strings.TrimRight(cell, "!*"))
			got, eff := from.Apply(ev)
			if got != want {
				t.Errorf("row %d %s, event %d: state %+v, want %s", i, row[0], j, got, cell)
			}
			if eff.Forward != strings.HasSuffix(cell, "!") {
				t.Errorf("row %d %s, event %d: forward = %v, want %s", i, row[0], j, eff.Forward, cell)
			}
			if eff.AutoSubscribed != strings.HasSuffix(cell, "*") {
				t.Errorf("row %d %s, event %d: auto-subscribed = %v, want %s", i, row[0], j, eff.AutoSubscribed, cell)
			}
			if eff.Changed != (got != from) {
				t.Errorf("row %d %s, event %d: changed = %v", i, row[0], j, eff.Changed)
			}
		}
	}
}
