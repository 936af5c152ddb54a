package teams

import (
	"net/http"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/internal/scenariotest"
)

// In Teams the bot speaks Teams: the command menu's bare words, "this chat" for the 1:1 chat the
// agent reads everything private in, the app's own name, and the approvals channel as Teams shows
// it (team › channel), never Slack's "#approvals", "/resetpw" or "DM".
func TestTeamsWords(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	d := newDriver(t, env).(*driver)

	help := strings.Join(texts(d.Say(t, "helpdesk@contoso.com", "help")), "\n")
	for _, want := range []string{"ResetPW resets", "\nwhoami\n", "\nstatus R-7F3K9Q\n", "resetpw user@contoso.com", "in this chat"} {
		if !strings.Contains(help, want) {
			t.Errorf("help does not say %q:\n%s", want, help)
		}
	}
	for _, slack := range []string{"/resetpw", "DM", "direct message", "resetbot"} {
		if strings.Contains(help, slack) {
			t.Errorf("help in Teams says %q:\n%s", slack, help)
		}
	}

	reset := strings.Join(texts(d.Say(t, "helpdesk@contoso.com", "resetpw adele@contoso.com")), "\n")
	if !strings.Contains(reset, "The temporary password is in this chat") || strings.Contains(reset, "DM") {
		t.Errorf("the outcome does not say the password is in this chat:\n%s", reset)
	}

	// A message in the approvals channel tells the adapter its team's and channel's names.
	sam := d.persona(t, "sam@contoso.com")
	act := d.h.channelMessage(sam, "whoami", true)
	cd := act["channelData"].(map[string]any)
	cd["team"].(map[string]any)["name"] = "IT"
	cd["channel"].(map[string]any)["name"] = "approvals"
	if st, body := d.h.send(tenanted(act)); st != http.StatusOK {
		t.Fatalf("POST /api/messages = %d %s", st, body)
	}
	d.h.wait()

	seen := d.Say(t, "pat@contoso.com", `resetpw ceo@contoso.com --reason "lost phone"`)
	var asked, card string
	for _, s := range seen {
		switch s.Where {
		case "reply":
			asked += s.Text
		case "approvals":
			card += s.Text
		}
	}
	if !strings.Contains(asked, "I asked IT › approvals") || !strings.Contains(asked, "in this chat when it is decided") || strings.Contains(asked, "#approvals") {
		t.Errorf("the requester is not told where the approval went in Teams' words: %q", asked)
	}
	if !strings.Contains(card, "goes to Pat Admin in their chat with ResetPW") {
		t.Errorf("the approval card's confirmation does not say where the password goes: %q", card)
	}
}

func texts(seen []scenariotest.Seen) []string {
	var out []string
	for _, s := range seen {
		out = append(out, s.Text)
	}
	return out
}
