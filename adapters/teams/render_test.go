package teams

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/chat/chattest"
	"github.com/resetbot/resetbot/internal/scenariotest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// approval is an approval card with or without its buttons, for the tests of what a card carries.
func approval(title string, buttons bool) chat.Message {
	m := chat.Message{
		Title: title,
		Fields: []chat.Field{
			{Label: "Requested by", Value: "Pat Admin (Privileged Authentication Administrator)"},
			{Label: "Target", Value: "Ceo Person · ceo@contoso.com · Global Administrator"},
			{Label: "Why approval", Value: "Ceo Person holds Global Administrator, so this needs a second person."},
			{Label: "Reason", Value: "lost phone, verified by video call [see](https://evil.example/)"},
			{Label: "Expires", Value: "11:02 UTC"},
		},
	}
	if buttons {
		m.Buttons = []chat.Button{
			{Label: "Approve", Action: chat.ActionApprove, RequestID: "R-Q2M8AB", Primary: true,
				Confirm: "Reset the password of Ceo Person (ceo@contoso.com) now? The temporary password goes to Pat Admin by DM."},
			{Label: "Deny", Action: chat.ActionDeny, RequestID: "R-Q2M8AB", Danger: true},
		}
		m.Footer = "Approvers must be entitled to reset the target themselves, and may not be the requester or the target."
	}
	return m
}

// TestRenderGolden locks the Adaptive Card of every kind of message the service says (chattest's
// examples, said by the real service) and of the adapter's own note that replaces an expired password
// DM. go test -update rewrites the files.
func TestRenderGolden(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	env.Service.Attach(chat.PlatformTeams, newHarness(t, harnessOpts{}).adapter) // the help in Teams' words
	examples := append(env.Examples(t, chat.PlatformTeams),
		chattest.Example{Name: "password_dm_expired", Surface: chat.SurfaceChannel, Message: withdrawnMessage})
	for _, ex := range examples {
		t.Run(ex.Name, func(t *testing.T) {
			got, err := json.MarshalIndent(Render(chat.ViewOn(ex.Message, ex.Surface)), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", ex.Name+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s changed; if that is intended run go test ./adapters/teams -run TestRenderGolden -update\ngot:\n%s", path, got)
			}
		})
	}
}

// A secret shows only in a DM, literally; outside one it is dropped whatever the caller asked.
func TestSecretOnlyInDMs(t *testing.T) {
	m := chat.Message{Title: "t", Secret: chat.NewSecret("Kx7#*mP_2q")}
	if b, _ := json.Marshal(Render(chat.ViewOn(m, chat.SurfaceChannel))); strings.Contains(string(b), "Kx7") {
		t.Fatalf("a secret was rendered outside a DM: %s", b)
	}
	if got := CardText(Render(chat.ViewOn(m, chat.SurfaceDM))); !strings.Contains(got, "Kx7#*mP_2q") {
		t.Fatalf("the DM lost the secret or mangled it: %q", got)
	}
}

// Approval buttons carry the request ID and the verb, nothing else; a confirmation is a ShowCard
// step before the Action.Execute.
func TestButtonsCarryOnlyTheRequestID(t *testing.T) {
	c := Render(chat.ViewOn(approval("x", true), chat.SurfaceChannel))
	if len(c.Actions) != 2 {
		t.Fatalf("%d actions", len(c.Actions))
	}
	approve, deny := c.Actions[0], c.Actions[1]
	if approve.Type != "Action.ShowCard" || approve.Card == nil || len(approve.Card.Actions) != 1 {
		t.Fatalf("approve: %+v", approve)
	}
	exec := approve.Card.Actions[0]
	for _, a := range []CardAction{exec, deny} {
		if a.Type != "Action.Execute" || a.Data == nil || a.Data.RequestID != "R-Q2M8AB" || a.Data.Action != "" ||
			a.Fallback == nil || a.Fallback.Type != "Action.Submit" || a.Fallback.Data.Action != a.Verb {
			t.Errorf("button %+v", a)
		}
	}
	if exec.Verb != "approve" || deny.Verb != "deny" {
		t.Errorf("verbs %q %q", exec.Verb, deny.Verb)
	}
	if strings.Contains(string(mustJSON(t, c)), "](https://evil") {
		t.Error("a link typed into the reason would be clickable")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Teams joins a TextBlock's single line breaks into one run-on paragraph ("Resets: 2 done Policy: 1
// allowed …"): every line the service wrote in whoami and audit is a TextBlock of its own.
func TestEveryLineIsItsOwnBlock(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	for _, ex := range env.Examples(t, chat.PlatformTeams) {
		if ex.Name != "whoami" && ex.Name != "audit" {
			continue
		}
		blocks := map[string]bool{}
		for _, e := range Render(chat.ViewOn(ex.Message, ex.Surface)).Body {
			if e.Type == "TextBlock" {
				if strings.Contains(e.Text, "\n") {
					t.Errorf("%s: a TextBlock holds a line break Teams would lose: %q", ex.Name, e.Text)
				}
				blocks[strings.ReplaceAll(e.Text, "**", "")] = true
			}
		}
		lines := strings.Split(ex.Message.Text, "\n")
		if len(lines) < 2 {
			t.Fatalf("%s has %d lines of text; the example should have several", ex.Name, len(lines))
		}
		for _, l := range lines {
			if l = strings.TrimSpace(l); l != "" && !blocks[strings.ReplaceAll(l, "*", "")] {
				t.Errorf("%s: the line %q is not a TextBlock of its own", ex.Name, l)
			}
		}
	}
}

// A link button (the sign-in) opens its page: Action.OpenUrl, carrying no action for the bot.
func TestLinkButtonOpensItsPage(t *testing.T) {
	m := chat.Message{Title: "🔑 Sign in as pat@contoso.com", Buttons: []chat.Button{{Label: "Sign in", URL: "https://login.example/authorize?state=x", Primary: true}}}
	c := Render(chat.ViewOn(m, chat.SurfaceDM))
	if len(c.Actions) != 1 {
		t.Fatalf("%d actions", len(c.Actions))
	}
	if a := c.Actions[0]; a.Type != "Action.OpenUrl" || a.URL != "https://login.example/authorize?state=x" || a.Title != "Sign in" || a.Data != nil || a.Verb != "" {
		t.Errorf("the sign-in button is %+v, want an Action.OpenUrl to the page", a)
	}
}
