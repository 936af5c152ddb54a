package teams

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/chat"
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

// Installing the app in a chat or a team posts one welcome there: what the bot does, whoami, where
// approvals go; in a team, that answers are private. A person joining posts nothing.
func TestWelcomeOnInstall(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	d := newDriver(t, env).(*driver)
	pat := d.persona(t, "pat@contoso.com")
	bot := map[string]any{"id": "28:" + testAppID, "name": "ResetPW"}
	welcomes := func(act map[string]any) []string {
		t.Helper()
		mark := d.h.conn.Count()
		if st, body := d.h.send(tenanted(act)); st != http.StatusOK {
			t.Fatalf("POST /api/messages = %d %s", st, body)
		}
		d.h.wait()
		var out []string
		for _, c := range d.h.conn.since(mark) {
			if c.Method == "POST" && c.Card != nil {
				out = append(out, c.Conv+": "+CardText(*c.Card))
			}
		}
		return out
	}

	personal := d.h.message(pat, "")
	delete(personal, "text")
	personal["type"], personal["action"] = "installationUpdate", "add"
	got := welcomes(personal)
	if len(got) != 1 || !strings.HasPrefix(got[0], "a:chat-"+pat.aad+": 👋 ResetPW resets Entra ID passwords") {
		t.Fatalf("the install in a 1:1 chat posted %q, want one welcome there", got)
	}
	for _, want := range []string{"whoami", "help", "I ask in the approvals channel", "only you can see"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("the welcome does not say %q: %q", want, got[0])
		}
	}
	if strings.Contains(got[0], "@mention") {
		t.Errorf("the welcome in a 1:1 chat speaks of @mentions: %q", got[0])
	}
	// Teams announces the same install again as a conversationUpdate: one welcome is enough.
	again := d.h.message(pat, "")
	again["type"], again["membersAdded"] = "conversationUpdate", []any{bot}
	if got := welcomes(again); len(got) != 0 {
		t.Errorf("the same install was welcomed twice: %q", got)
	}

	team := d.h.channelMessage(pat, "", false)
	team["type"], team["membersAdded"] = "conversationUpdate", []any{bot}
	team["conversation"] = map[string]any{"id": "19:it-general@thread.tacv2", "conversationType": "channel"}
	got = welcomes(team)
	if len(got) != 1 || !strings.HasPrefix(got[0], "19:it-general@thread.tacv2: 👋") || !strings.Contains(got[0], "@mention ResetPW") {
		t.Fatalf("the install in a team posted %q, want one welcome that says answers are private", got)
	}

	joined := d.h.channelMessage(pat, "", false)
	joined["type"], joined["membersAdded"] = "conversationUpdate", []any{pat.from()}
	joined["conversation"] = map[string]any{"id": "19:other@thread.tacv2", "conversationType": "channel"}
	if got := welcomes(joined); len(got) != 0 {
		t.Errorf("a person joining a team was welcomed by the bot: %q", got)
	}
}

// The password card says what is true in Teams, where it is replaced rather than deleted, and in
// Slack, where it is deleted: it is removed at a time. It says that only the reader sees the chat,
// and its icon is its own: no other message the service says wears it.
func TestPasswordCard(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	var card string
	for _, ex := range env.Examples(t, chat.PlatformTeams) {
		text := CardText(Render(chat.ViewOn(ex.Message, ex.Surface)))
		if ex.Name == "password_dm" {
			card = text
			continue
		}
		if strings.Contains(text, "🗝") {
			t.Errorf("%s wears the password card's icon: %q", ex.Name, text)
		}
	}
	if !strings.HasPrefix(card, "🗝️ Temporary password for ") {
		t.Errorf("the password card does not open with its own icon: %q", card)
	}
	for _, want := range []string{"Only you can see this chat", "is removed at 10:15"} {
		if !strings.Contains(card, want) {
			t.Errorf("the password card does not say %q: %q", want, card)
		}
	}
	if strings.Contains(card, "deletes itself") {
		t.Errorf("the password card promises to delete itself, which Teams does not do: %q", card)
	}
}

// Times: in the reader's zone where Teams tells it (localTimezone), with the day when it is not
// today where the reader is.
func TestTimesInTheReadersZoneWithTheirDay(t *testing.T) {
	env := scenariotest.NewEnv(t, nil) // the bot's own zone is UTC
	d := newDriver(t, env).(*driver)
	env.Clock.Advance(13*time.Hour + 50*time.Minute) // Fri 27 Nov 23:50 UTC
	agent := d.persona(t, "helpdesk@contoso.com")
	say := func(act map[string]any) string {
		t.Helper()
		mark := d.h.conn.Count()
		if st, body := d.h.send(tenanted(act)); st != http.StatusOK {
			t.Fatalf("POST /api/messages = %d %s", st, body)
		}
		d.h.wait()
		var mine []string // what the agent reads; the user's own notice is in their zone
		for _, s := range d.seen(t, d.h.conn.since(mark), agent) {
			if s.Where == "reply" || s.Where == "dm:helpdesk@contoso.com" {
				mine = append(mine, s.Text)
			}
		}
		return strings.Join(mine, "\n")
	}

	// In UTC the password goes after midnight: tomorrow, so the day is said.
	got := say(d.h.message(agent, "resetpw adele@contoso.com"))
	if !strings.Contains(got, "disappears at Sat 28 Nov 00:05 UTC") || !strings.Contains(got, "removed at Sat 28 Nov 00:05 UTC") {
		t.Errorf("a time after midnight does not say its day:\n%s", got)
	}
	// In New York it is still Friday evening: no day, New York time.
	act := d.h.message(agent, "resetpw lynne@contoso.com")
	act["localTimezone"] = "America/New_York"
	got = say(act)
	if !strings.Contains(got, "disappears at 19:05 EST") || strings.Contains(got, "UTC") {
		t.Errorf("a reader in New York is not told New York time:\n%s", got)
	}
}
