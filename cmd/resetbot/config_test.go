package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// env is a test's environment; the two keys every install needs are there unless the test sets them.
func env(kv map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := kv[k]; ok {
			return v
		}
		switch k {
		case "RESETBOT_ENCRYPTION_KEY":
			return "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
		case EnvAuditKey:
			return "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
		}
		return ""
	}
}

// Both keys are needed by every install, and a missing one is named.
func TestServeConfigNeedsBothKeys(t *testing.T) {
	_, err := loadServeConfig(env(map[string]string{"RESETBOT_ENCRYPTION_KEY": "", EnvAuditKey: "short"}))
	if err == nil || !strings.Contains(err.Error(), "RESETBOT_ENCRYPTION_KEY is not set") || !strings.Contains(err.Error(), "RESETBOT_AUDIT_KEY is neither") {
		t.Fatalf("err = %v, want both keys named", err)
	}
	if strings.Contains(err.Error(), "short") {
		t.Error("the error echoes the key's value")
	}
}

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
