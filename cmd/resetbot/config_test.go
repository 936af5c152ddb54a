package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestServeConfigDefaults(t *testing.T) {
	c, err := loadServeConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":3978" || c.Store != "sqlite:resetbot.db" || c.Service.DMTTL != 15*time.Minute ||
		c.Service.ApprovalTTL != 30*time.Minute || !c.Service.Policy.PrivilegedNeedsApproval || c.Service.Policy.Mode != bot.ModeEntra {
		t.Errorf("defaults: %+v", c)
	}
}

func TestServeConfigReadsSettings(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "rules.json")
	os.WriteFile(rules, []byte(`[{"name":"paris desk","agents":["g1"],"targets":{"domains":["paris.contoso.com"]}}]`), 0o600)
	c, err := loadServeConfig(env(map[string]string{
		"RESETBOT_POLICY_MODE": "rules", "RESETBOT_RULES_FILE": rules, "RESETBOT_BOT_ROLE": "Password Administrator",
		"RESETBOT_PROTECTED": "breakglass@contoso.com, bg2@contoso.com", "RESETBOT_DM_TTL": "5m", "RESETBOT_TZ": "Europe/Paris",
	}))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Service.Policy
	if p.Mode != bot.ModeRules || p.BotRole != bot.RolePasswordAdmin || len(p.Protected) != 2 || p.Protected[1] != "bg2@contoso.com" ||
		len(p.Rules) != 1 || p.Rules[0].Targets.Domains[0] != "paris.contoso.com" || c.Service.DMTTL != 5*time.Minute ||
		c.Service.Location.String() != "Europe/Paris" {
		t.Errorf("settings not read: %+v", c.Service)
	}
}

func TestServeConfigErrorsNameTheSetting(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "rules.json")
	os.WriteFile(rules, []byte(`[{"name":"x","agents":["g"],"targets":{"domain":["typo"]}}]`), 0o600)
	for _, c := range []struct {
		env  map[string]string
		says string
	}{
		{map[string]string{"RESETBOT_POLICY_MODE": "yolo"}, "RESETBOT_POLICY_MODE"},
		{map[string]string{"RESETBOT_POLICY_MODE": "rules"}, "needs RESETBOT_RULES_FILE"},
		{map[string]string{"RESETBOT_RULES_FILE": rules}, "unknown field"},
		{map[string]string{"RESETBOT_DM_TTL": "forever"}, "RESETBOT_DM_TTL"},
		{map[string]string{"RESETBOT_PASSWORD_LENGTH": "8"}, "RESETBOT_PASSWORD_LENGTH"},
		{map[string]string{"RESETBOT_TZ": "Mars/Olympus"}, "RESETBOT_TZ"},
		{map[string]string{"RESETBOT_BOT_ROLE": "Chief Wizard"}, "RESETBOT_BOT_ROLE"},
		{map[string]string{"RESETBOT_REVOKE_SESSIONS": "sometimes"}, "RESETBOT_REVOKE_SESSIONS"},
	} {
		_, err := loadServeConfig(env(c.env))
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%v: %v, want it to say %q", c.env, err, c.says)
		}
	}
}
