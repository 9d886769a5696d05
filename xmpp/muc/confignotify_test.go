package muc

import (
	"reflect"
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

func TestConfigCodes(t *testing.T) {
	base := crosstalk.DefaultRoomConfig()
	named, open, hidden := base, base, base
	named.Name = "x"
	open.WhoIs = crosstalk.WhoIsAnyone
	hidden.WhoIs = crosstalk.WhoIsModerators
	for i, tc := range []struct {
		before, after crosstalk.RoomConfig
		want          []int
	}{
		{base, base, nil},
		{base, named, []int{104}},
		{base, open, []int{104, 172}},
		{open, hidden, []int{104, 173}},
	} {
		if got := configCodes(tc.before, tc.after); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%d: %v, want %v", i, got, tc.want)
		}
	}
}
