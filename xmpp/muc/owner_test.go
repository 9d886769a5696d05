package muc

import (
	"testing"

	"github.com/crosstalk-im/crosstalk"
)

func TestApplyForm(t *testing.T) {
	base := crosstalk.DefaultRoomConfig()
	for i, tc := range []struct {
		values [][2]string
		want   func(*crosstalk.RoomConfig)
		fails  bool
	}{
		{nil, func(*crosstalk.RoomConfig) {}, false}, // an instant room: nothing changes
		{[][2]string{{"muc#roomconfig_roomname", "Salon ☕"}, {"muc#roomconfig_persistentroom", "true"}, {"muc#roomconfig_maxusers", "30"},
			{"muc#roomconfig_historylength", "5"}, {"muc#roomconfig_whois", "anyone"}, {"muc#roomconfig_membersonly", "1"},
			{"muc#roomconfig_moderatedroom", "1"}, {"muc#roomconfig_publicroom", "0"}, {"muc#roomconfig_changesubject", "1"}},
			func(c *crosstalk.RoomConfig) {
				c.Name, c.Persistent, c.MaxOccupants, c.HistoryLength, c.WhoIs = "Salon ☕", true, 30, 5, crosstalk.WhoIsAnyone
				c.MembersOnly, c.Moderated, c.Public, c.OccupantsChangeSubject = true, true, false, true
			}, false},
		{[][2]string{{"muc#roomconfig_passwordprotectedroom", "1"}, {"muc#roomconfig_roomsecret", "geheim"}},
			func(c *crosstalk.RoomConfig) { c.Password = "geheim" }, false},
		{[][2]string{{"muc#roomconfig_passwordprotectedroom", "0"}, {"muc#roomconfig_roomsecret", "geheim"}},
			func(*crosstalk.RoomConfig) {}, false}, // protection off wins over an echoed secret
		{[][2]string{{"muc#roomconfig_passwordprotectedroom", "1"}}, nil, true},
		{[][2]string{{"muc#roomconfig_maxusers", "-1"}, {"muc#roomconfig_historylength", "x"}, {"unknown", "1"}},
			func(*crosstalk.RoomConfig) {}, false},
	} {
		got, err := applyForm(base, tc.values)
		if tc.fails {
			if err == nil {
				t.Errorf("%d: accepted %v", i, tc.values)
			}
			continue
		}
		want := base
		tc.want(&want)
		if err != nil || got != want {
			t.Errorf("%d: %v: got %+v, %v; want %+v", i, tc.values, got, err, want)
		}
	}
}
