package main

import (
	"strings"
	"testing"
)

func TestSignInSettings(t *testing.T) {
	key := "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=" // 32 bytes

	c, err := loadServeConfig(env(map[string]string{}))
	if err != nil || c.SignIn.Enabled {
		t.Fatalf("default: sign-in on=%v err=%v", c.SignIn.Enabled, err)
	}
	for name, kv := range map[string]map[string]string{
		"writeback without a key":     {"RESETBOT_PASSWORD_WRITEBACK": "true", "RESETBOT_ENCRYPTION_KEY": ""},
		"agent mode with a short key": {"RESETBOT_RESET_AS": "agent", "RESETBOT_ENCRYPTION_KEY": "c2hvcnQ="},
	} {
		_, err := loadServeConfig(env(kv))
		if err == nil || !strings.Contains(err.Error(), "RESETBOT_ENCRYPTION_KEY") {
			t.Errorf("%s: %v", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "c2hvcnQ=") {
			t.Errorf("%s: the error echoes the key", name)
		}
	}
	c, err = loadServeConfig(env(map[string]string{"RESETBOT_PASSWORD_WRITEBACK": "true", "RESETBOT_ENCRYPTION_KEY": key,
		"RESETBOT_PUBLIC_URL": "https://resetbot.contoso.com/", "RESETBOT_RESET_AS": "agent"}))
	if err != nil || !c.SignIn.Enabled || len(c.SignIn.Key) != 32 || c.SignIn.PublicURL != "https://resetbot.contoso.com" ||
		!c.Service.Policy.Writeback || !c.Service.Policy.AsAgent {
		t.Fatalf("%+v %v", c.SignIn, err)
	}
	for _, bad := range []map[string]string{
		{"RESETBOT_RESET_AS": "bot"},
		{"RESETBOT_PASSWORD_WRITEBACK": "true", "RESETBOT_ENCRYPTION_KEY": key, "RESETBOT_PUBLIC_URL": "http://resetbot.contoso.com"},
	} {
		if _, err := loadServeConfig(env(bad)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
