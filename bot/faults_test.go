package bot_test

import (
	"context"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
	"github.com/resetbot/resetbot/internal/scenariotest"
)

// A password write whose answer is lost or wrong — a 5xx, no answer at all — before or after Entra
// applied it, on a single reset and on a list: what happened is settled from Entra's password
// change time, never guessed. Every target ends with exactly one password, the one delivered, and
// the requester is told it was reset. (Graph's batches send an item whose answer was lost again with
// the same body — the same password, which leaves the user as one reset does; no target ever gets
// a second password.)
func TestLostAnswersAreSettled(t *testing.T) {
	faults := []struct {
		name  string
		fault func(*graphtest.Server)
	}{
		{"500 before applying", func(g *graphtest.Server) { g.FailNextWrite(1, 500) }},
		{"500 after applying", func(g *graphtest.Server) { g.FailNextWriteAfterApplying(1, 500) }},
		{"502 after applying", func(g *graphtest.Server) { g.FailNextWriteAfterApplying(1, 502) }},
		{"no answer, not applied", func(g *graphtest.Server) { g.HangNextWrite(1) }},
		{"no answer, applied", func(g *graphtest.Server) { g.HangNextWriteAfterApplying(1) }},
	}
	for _, f := range faults {
		t.Run("single/"+f.name, func(t *testing.T) {
			env := scenariotest.NewEnv(t, nil)
			rec := &recorder{}
			env.Service.Attach(chat.PlatformShell, rec)
			f.fault(env.Graph)
			_ = env.Service.Handle(context.Background(), chat.Incoming{Actor: actor("helpdesk@contoso.com"), Text: "/resetpw adele@contoso.com", Reply: rec})
			checkSettled(t, env, rec, "adele@contoso.com")
			if !strings.Contains(strings.Join(rec.msgs, "\n"), "✅ Reset Adele Vance") {
				t.Errorf("the requester was not told the reset happened: %q", rec.msgs)
			}
		})
		t.Run("list/"+f.name, func(t *testing.T) {
			env := scenariotest.NewEnv(t, nil)
			rec := &recorder{}
			env.Service.Attach(chat.PlatformShell, rec)
			users := []string{"adele@contoso.com", "lynne@contoso.com", "nestor@contoso.com"}
			id := sendList(t, env.Service, rec, actor("helpdesk@contoso.com"), "u.csv", users...)
			f.fault(env.Graph)
			_ = env.Service.Handle(context.Background(), chat.Click(actor("helpdesk@contoso.com"), chat.ActionRun, id, "", rec))
			for _, upn := range users {
				checkSettled(t, env, rec, upn)
			}
			if !strings.Contains(strings.Join(rec.msgs, "\n"), "3 reset, 0 failed") {
				t.Errorf("the summary does not say all three were reset: %q", rec.msgs)
			}
		})
	}
}

func checkSettled(t *testing.T, env *scenariotest.Env, rec *recorder, upn string) {
	t.Helper()
	set := env.Graph.Resets(upn)
	if len(set) == 0 {
		t.Fatalf("%s: never reset", upn)
	}
	for _, s := range set[1:] {
		if s.Password != set[0].Password {
			t.Fatalf("%s: Graph set %d different passwords, want one", upn, len(set))
		}
	}
	found := false
	for _, m := range rec.msgs {
		if strings.Contains(m, set[0].Password) {
			found = found || strings.HasPrefix(m, "dm:helpdesk@contoso.com:")
		}
	}
	if !found {
		t.Errorf("%s: the password Entra holds was not delivered", upn)
	}
	if !revokedAfterReset(env.Graph, upn) {
		t.Errorf("%s: sessions not revoked after the reset", upn)
	}
}
