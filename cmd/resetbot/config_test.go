package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
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

// teamsVars is a Teams install's environment, as loadAll reads it, with extra settings over it.
func teamsVars(extra map[string]string) func(string) string {
	vars := map[string]string{"AZURE_TENANT_ID": testTenant, "AZURE_CLIENT_ID": testApp, "AZURE_CLIENT_SECRET": "x",
		"MicrosoftAppId": testApp, "MicrosoftAppTenantId": testTenant, "MicrosoftAppPassword": "x"}
	for k, v := range extra {
		vars[k] = v
	}
	return env(vars)
}

// The unauthenticated dev switch is refused unless nothing but this host can reach the listener.
func TestInsecureLoopbackOnlyOnLoopback(t *testing.T) {
	for _, c := range []struct {
		listen  string
		refused bool
	}{
		{"", true}, // the default, :3978, is every interface
		{":3978", true},
		{"0.0.0.0:3978", true},
		{"10.0.0.4:3978", true},
		{"127.0.0.1:3978", false},
		{"[::1]:3978", false},
		{"localhost:3978", false},
	} {
		vars := map[string]string{"RESETBOT_TEAMS_INSECURE_LOOPBACK": "1"}
		if c.listen != "" {
			vars["RESETBOT_LISTEN"] = c.listen
		}
		_, err := loadAll(teamsVars(vars), nil)
		said := err != nil && strings.Contains(err.Error(), "RESETBOT_TEAMS_INSECURE_LOOPBACK=1 accepts activities without a Bot Framework token")
		if said != c.refused {
			t.Errorf("RESETBOT_LISTEN=%q: %v", c.listen, err)
		}
	}
}

// serve keeps its trail and its undelivered passwords: a throwaway store is for the demo.
func TestServeRefusesAMemoryStore(t *testing.T) {
	_, err := loadAll(teamsVars(map[string]string{"RESETBOT_STORE": "sqlite::memory:"}), nil)
	if err == nil || !strings.Contains(err.Error(), "keeps nothing past a restart") {
		t.Errorf("an in-memory store: %v", err)
	}
}

// Slack people must link their chat account to Entra unless the admin says Slack's emails are SSO's;
// linking switches sign-in on, asking for no more than who signed in.
func TestSlackIdentitySetting(t *testing.T) {
	slack := map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "RESETBOT_APPROVALS_CHANNEL": "C0123ABCD"}
	with := func(kv map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range slack {
			out[k] = v
		}
		for k, v := range kv {
			out[k] = v
		}
		return out
	}
	c, err := loadAll(teamsVars(slack), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(c.Serve.Service.LinkedIdentity, chat.PlatformSlack) || !c.Serve.SignIn.Enabled || c.Serve.Service.LinkLifetime != 90*24*time.Hour {
		t.Errorf("by default Slack identities are linked, with sign-in on: %+v %+v", c.Serve.Service.LinkedIdentity, c.Serve.SignIn)
	}
	c, err = loadAll(teamsVars(with(map[string]string{"RESETBOT_SLACK_IDENTITY": "email", "RESETBOT_LINK_LIFETIME": "720h"})), nil)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(c.Serve.Service.LinkedIdentity, chat.PlatformSlack) || c.Serve.SignIn.Enabled {
		t.Errorf("email mode still links: %+v %+v", c.Serve.Service.LinkedIdentity, c.Serve.SignIn)
	}
	_, err = loadAll(teamsVars(with(map[string]string{"RESETBOT_SLACK_IDENTITY": "profile", "RESETBOT_LINK_LIFETIME": "1m"})), nil)
	if err == nil || !strings.Contains(err.Error(), `RESETBOT_SLACK_IDENTITY="profile": want linked`) || !strings.Contains(err.Error(), "RESETBOT_LINK_LIFETIME") {
		t.Errorf("bad identity settings: %v", err)
	}
}
