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
