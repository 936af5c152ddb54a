package slack

import (
	"strings"
	"testing"

	"github.com/resetbot/resetbot/internal/scenariotest"
)

// TestScenarios runs the suite every adapter passes, through signed HTTP requests and the fake Slack.
// Each scenario also checks that no token or signing secret reached the log.
func TestScenarios(t *testing.T) {
	scenariotest.Run(t, func(t *testing.T, env *scenariotest.Env) scenariotest.Driver {
		h := newHarness(t, env, nil)
		t.Cleanup(func() { noSecretsLogged(t, h) })
		return driver{h}
	})
}

func noSecretsLogged(t *testing.T, h *harness) {
	t.Helper()
	for _, secret := range []string{fakeBotToken, fakeAppToken, fakeSecret, "secretpart"} {
		if strings.Contains(h.logs.String(), secret) || strings.Contains(h.env.Logs(), secret) {
			t.Errorf("a secret (%.8s…) reached the log", secret)
		}
	}
}

// Slack keeps its own words, whatever Teams says: the slash command, DMs and #approvals.
func TestSlackWords(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	d := driver{newHarness(t, env, nil)}
	all := func(seen []scenariotest.Seen) string {
		var b strings.Builder
		for _, s := range seen {
			b.WriteString(s.Text + "\n")
		}
		return b.String()
	}
	help := all(d.Say(t, "helpdesk@contoso.com", "help"))
	for _, want := range []string{"/resetpw whoami", "/resetpw status R-7F3K9Q", "comes to you by DM"} {
		if !strings.Contains(help, want) {
			t.Errorf("help does not say %q:\n%s", want, help)
		}
	}
	if reset := all(d.Say(t, "helpdesk@contoso.com", "adele@contoso.com")); !strings.Contains(reset, "in your DMs") {
		t.Errorf("the outcome does not say the password is in the DMs:\n%s", reset)
	}
	if asked := all(d.Say(t, "pat@contoso.com", "ceo@contoso.com --reason lost phone")); !strings.Contains(asked, "I asked #approvals") {
		t.Errorf("the requester is not told the approval went to #approvals:\n%s", asked)
	}
}

// A Slack reader whose profile says Europe/Paris reads the times meant for them in Paris time.
func TestTimesInTheReadersZone(t *testing.T) {
	env := scenariotest.NewEnv(t, nil) // the bot's own zone is UTC; the clock says 10:00 UTC
	h := newHarness(t, env, nil)
	h.slack.mu.Lock()
	u := h.slack.users[personaID("helpdesk@contoso.com")]
	u.TZ = "Europe/Paris"
	h.slack.users[u.ID] = u
	h.slack.mu.Unlock()
	var all strings.Builder
	for _, s := range (driver{h}).Say(t, "helpdesk@contoso.com", "/resetpw adele@contoso.com") {
		all.WriteString(s.Where + ": " + s.Text + "\n")
	}
	for _, want := range []string{"disappears at 11:15 CET", "removed at 11:15 CET"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("a reader in Paris is not told %q:\n%s", want, all.String())
		}
	}
	if strings.Contains(all.String(), "10:15 UTC") {
		t.Errorf("a reader in Paris is told a time in UTC:\n%s", all.String())
	}
}
