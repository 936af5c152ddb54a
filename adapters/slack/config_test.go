package slack

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func envOf(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestConfigFromEnv(t *testing.T) {
	const bot, app, secret = "xoxb-1-2-abc", "xapp-1-A-3-def", "s3cr3t-signing"
	for _, c := range []struct {
		name    string
		env     map[string]string
		enabled bool
		errs    []string // each must appear in the error; none means no error
	}{
		{"nothing set: Slack is off", map[string]string{}, false, nil},
		{"HTTP mode", map[string]string{EnvBotToken: bot, EnvSigningSecret: secret, EnvApprovalsChannel: "C0123ABCD"}, true, nil},
		{"Socket Mode", map[string]string{EnvBotToken: bot, EnvAppToken: app, EnvApprovalsChannel: "C0123ABCD"}, true, nil},
		{"no bot token", map[string]string{EnvSigningSecret: secret, EnvApprovalsChannel: "C0123ABCD"}, true, []string{EnvBotToken + " is not set"}},
		{"a user token", map[string]string{EnvBotToken: "xoxp-1-2", EnvSigningSecret: secret, EnvApprovalsChannel: "C0123ABCD"}, true, []string{EnvBotToken + " does not start with xoxb-"}},
		{"HTTP without a secret", map[string]string{EnvBotToken: bot, EnvApprovalsChannel: "C0123ABCD"}, true, []string{EnvSigningSecret + " is not set"}},
		{"an app token that is not", map[string]string{EnvBotToken: bot, EnvAppToken: "xoxb-9", EnvApprovalsChannel: "C0123ABCD"}, true, []string{EnvAppToken + " does not start with xapp-"}},
		{"no approvals channel", map[string]string{EnvBotToken: bot, EnvSigningSecret: secret}, true, []string{EnvApprovalsChannel + " is not set"}},
		{"a channel name", map[string]string{EnvBotToken: bot, EnvSigningSecret: secret, EnvApprovalsChannel: "#approvals"}, true, []string{EnvApprovalsChannel + `="#approvals"`}},
		{"API URL without a slash", map[string]string{EnvBotToken: bot, EnvSigningSecret: secret, EnvApprovalsChannel: "C0123ABCD", EnvAPIURL: "https://gw.contoso.com/api"}, true, []string{EnvAPIURL}},
		{"API URL not http", map[string]string{EnvBotToken: bot, EnvSigningSecret: secret, EnvApprovalsChannel: "C0123ABCD", EnvAPIURL: "ftp://x/"}, true, []string{EnvAPIURL}},
		{"bad workspace", map[string]string{EnvBotToken: bot, EnvSigningSecret: secret, EnvApprovalsChannel: "C0123ABCD", EnvWorkspaces: "T0123ABC, contoso"}, true, []string{EnvWorkspaces, `"contoso"`}},
		{"everything wrong at once", map[string]string{EnvBotToken: "nope", EnvAppToken: "nope"}, true, []string{EnvBotToken, EnvAppToken, EnvApprovalsChannel}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, enabled, err := ConfigFromEnv(envOf(c.env))
			if enabled != c.enabled {
				t.Errorf("enabled = %v, want %v", enabled, c.enabled)
			}
			if len(c.errs) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
			} else if err == nil {
				t.Fatalf("no error, want one naming %v", c.errs)
			}
			if err != nil {
				for _, want := range c.errs {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("the error does not say %q:\n%v", want, err)
					}
				}
				for _, s := range []string{bot, app, secret, "xoxp-1-2", "xoxb-9"} {
					if strings.Contains(err.Error(), s) {
						t.Errorf("the error repeats a secret: %v", err)
					}
				}
			}
			for _, shown := range []string{cfg.String(), fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), logged(cfg)} {
				for _, s := range []string{bot, app, secret} {
					if strings.Contains(shown, s) {
						t.Errorf("printing the config shows a secret: %s", shown)
					}
				}
			}
		})
	}
	cfg, _, _ := ConfigFromEnv(envOf(map[string]string{EnvBotToken: bot, EnvSigningSecret: secret, EnvApprovalsChannel: "C0123ABCD", EnvWorkspaces: "T0123ABC,E0456DEF"}))
	if len(cfg.Workspaces) != 2 || cfg.SocketMode() {
		t.Errorf("config %v", cfg)
	}
}

func logged(cfg Config) string {
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "config", cfg)
	return b.String()
}

func TestNewRefusesWhatCannotWork(t *testing.T) {
	h := newHarness(t, nil, nil)
	for _, cfg := range []Config{
		{SigningSecret: "s", ApprovalsChannel: "C1"},
		{BotToken: "xoxb-1", ApprovalsChannel: "C1"},
		{BotToken: "xoxb-1", SigningSecret: "s"},
		{BotToken: "xoxb-1", SigningSecret: "s", ApprovalsChannel: "C1", APIURL: "::"},
	} {
		if _, err := New(cfg, h.env.Service); err == nil {
			t.Errorf("New(%v) worked", cfg)
		}
	}
}
