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
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The messages below are the service's, as it words them (bot/cards.go, bot/service.go).
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

var goldens = []struct {
	name string
	m    chat.Message
	o    chat.Surface
}{
	{"approval_pending", approval("🔐 Password reset needs approval — R-Q2M8AB", true), chat.SurfaceChannel},
	{"approval_approved", approval("✅ Approved by Sam Security at 10:35 UTC · reset done, sessions revoked · R-Q2M8AB", false), chat.SurfaceChannel},
	{"approval_denied", approval("⛔ Denied by Sam Security: not verified at 10:35 UTC · R-Q2M8AB", false), chat.SurfaceChannel},
	{"approval_expired", approval("⌛ Expired at 11:02 UTC: nobody approved it in time · R-Q2M8AB", false), chat.SurfaceChannel},
	{"password_dm", chat.Message{
		Title:  "🔐 Temporary password for adele@contoso.com",
		Secret: chat.NewSecret("Kx7#mP2q-Vt9*wL_r4"),
		Text:   "Copy it and give it to Adele Vance over a channel you have verified. They must change it at next sign-in.",
		Footer: "This message deletes itself at 10:42 UTC · request R-7F3K9Q",
	}, chat.SurfaceDM},
	{"password_dm_expired", withdrawnMessage, chat.SurfaceChannel},
	{"refusal", chat.Message{
		Title: "⛔ You can't reset Megan Bowen: she is a Global Administrator.",
		Text:  "Your role (Helpdesk Administrator) may reset users without admin roles and a few reader roles — *Microsoft's rule*. Ask a Privileged Authentication Administrator, or see resetpw whoami.",
	}, chat.SurfaceChannel},
	{"help", chat.Message{
		Title: "resetbot resets Entra ID passwords for the helpdesk",
		Fields: []chat.Field{
			{Label: "/resetpw user@contoso.com [more…] [--reason TEXT]", Value: "Reset one or more users (up to 20). They must choose a new password at next sign-in; the temporary password comes to you by DM."},
			{Label: "/resetpw whoami", Value: "Who you are in Entra, and whom you may reset."},
			{Label: "/resetpw status R-7F3K9Q", Value: "Where a request stands."},
		},
		Footer: "Admin targets need a second person. Your own password: https://aka.ms/sspr",
	}, chat.SurfaceChannel},
}

func TestRenderGolden(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			got, err := json.MarshalIndent(Render(chat.ViewOn(g.m, g.o)), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", g.name+".golden.json")
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
