package sip

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

func TestSentinelTable(t *testing.T) {
	for _, e := range crosstalk.Sentinels() {
		found := false
		for _, s := range sentinelStatus {
			if s.err == e {
				found = true
			}
		}
		if !found {
			t.Errorf("sentinel %q has no SIP status", e)
		}
		code, reason := StatusFor(fmt.Errorf("wrapped: %w", e))
		if code < 400 || code > 699 || reason == "" {
			t.Errorf("sentinel %q maps to %d %q", e, code, reason)
		}
	}
	for _, tc := range []struct {
		err  error
		code int
	}{
		{crosstalk.ErrNoSuchAccount, 404},
		{crosstalk.ErrRemoteNotSupported, 501},
		{crosstalk.ErrShuttingDown, 503},
		{context.DeadlineExceeded, 504},
		{errors.New("boom"), 500},
		{fmt.Errorf("x: %w", statusErr(423, "Interval Too Brief")), 423},
		// RFC 7247 §6.1, for errors the other protocol reports.
		{fmt.Errorf("x: %w", &crosstalk.DeliveryError{Condition: "recipient-unavailable"}), 480},
		{&crosstalk.DeliveryError{Condition: "service-unavailable"}, 503},
		{&crosstalk.DeliveryError{Condition: "item-not-found"}, 404},
	} {
		if code, reason := StatusFor(tc.err); code != tc.code || reason == "" {
			t.Errorf("StatusFor(%v) = %d, want %d", tc.err, code, tc.code)
		}
	}
}
