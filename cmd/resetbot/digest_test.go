package main

import (
	"strings"
	"testing"
)

// A malformed schedule, zone or business hours is a startup error naming the setting.
func TestDigestSettingsErrors(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	if ds, err := loadDigestSettings(env(nil)); err != nil || ds.Spec != "0 8 * * 1-5" || ds.Schedule == nil || !ds.Entra {
		t.Fatalf("defaults: %+v, %v", ds, err)
	}
	for setting, kv := range map[string]map[string]string{
		"RESETBOT_DIGEST_SCHEDULE":     {"RESETBOT_DIGEST_SCHEDULE": "every morning"},
		"RESETBOT_DIGEST_TZ":           {"RESETBOT_DIGEST_TZ": "Mars/Olympus"},
		"RESETBOT_DIGEST_HOURS":        {"RESETBOT_DIGEST_HOURS": "9 to 5"},
		"RESETBOT_DIGEST_AGENT_FACTOR": {"RESETBOT_DIGEST_AGENT_FACTOR": "0.5"},
	} {
		_, err := loadDigestSettings(env(kv))
		if err == nil || !strings.Contains(err.Error(), setting) {
			t.Errorf("%s: %v", setting, err)
		}
	}
	ds, err := loadDigestSettings(env(map[string]string{"RESETBOT_DIGEST_TZ": "Europe/Paris", "RESETBOT_DIGEST_HOURS": "07:00-19:00 Mon-Sat"}))
	if err != nil || ds.Config.Location.String() != "Europe/Paris" || ds.Config.Hours.String() != "07:00-19:00 Mon-Sat" {
		t.Errorf("%+v %v", ds.Config, err)
	}
}
