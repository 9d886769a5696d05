package main

import "testing"

// TestPresenceKeysDecode checks the SIP presence keys of the example file
// reach the configuration.
func TestPresenceKeysDecode(t *testing.T) {
	c, _, err := loadConfig(env{getenv: func(string) string { return "" }}, "serve", []string{"--config", "../../docs/crosstalk.example.toml"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.SIP.PresenceNotifySeconds != 5 || c.SIP.PresenceSubscriptionsPerAccount != 64 || c.SIP.PresencePublicationsPerAccount != 16 {
		t.Fatalf("presence keys: %+v", c.SIP)
	}
}
