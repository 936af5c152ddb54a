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
