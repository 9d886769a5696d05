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
	} {
		if code, _ := StatusFor(tc.err); code != tc.code {
			t.Errorf("StatusFor(%v) = %d, want %d", tc.err, code, tc.code)
		}
	}
}
