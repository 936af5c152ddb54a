package bot_test

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/scenariotest"
)

func bulkFile(t *testing.T, lines ...string) ([]bot.UserRow, []bot.RowProblem) {
	t.Helper()
	rows, problems, err := bot.ParseUserCSV(strings.NewReader("UserPrincipalName\n"+strings.Join(lines, "\n")), bot.MaxBulkRows)
	if err != nil {
		t.Fatal(err)
	}
	return rows, problems
}

// A list is previewed, nothing is reset until the go-ahead, then each allowed user is reset once and
// the passwords arrive only in the results DM.
func TestBulkPreviewThenRun(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	rec := &recorder{}
	env.Service.Attach(bot.PlatformShell, rec)
	rows, problems := bulkFile(t, "adele@contoso.com", "lynne@contoso.com", "megan@contoso.com", "ceo@contoso.com", "nobody@contoso.com", "bad", "ADELE@contoso.com")
	helpdesk := actor("helpdesk@contoso.com")
	if err := env.Service.HandleBulk(context.Background(), bot.Incoming{Actor: helpdesk, Reply: rec}, "users.csv", rows, problems); err != nil {
		t.Fatal(err)
	}
	preview := rec.msgs[len(rec.msgs)-1]
	if !strings.Contains(preview, "7 rows → 2 can be reset, 0 need approval, 5 refused") {
		t.Fatalf("preview = %q", preview)
	}
	for _, r := range env.Graph.Requests() {
		if r.Method != "GET" {
			t.Fatalf("the preview wrote to Graph: %s %s", r.Method, r.Path)
		}
	}
	id := strings.Fields(preview[strings.Index(preview, "List B-")+5:])[0]

	// Someone else cannot start it.
	_ = env.Service.Handle(context.Background(), bot.Click(actor("pat@contoso.com"), bot.ActionRun, id, "", rec))
	if !strings.Contains(rec.msgs[len(rec.msgs)-1], "Only the person who sent the list") {
		t.Fatalf("another person started the list: %q", rec.msgs[len(rec.msgs)-1])
	}
	// Two clicks: one run.
	for range 2 {
		_ = env.Service.Handle(context.Background(), bot.Click(helpdesk, bot.ActionRun, id, "", rec))
	}
	for _, upn := range []string{"adele@contoso.com", "lynne@contoso.com"} {
		if n := len(env.Graph.Resets(upn)); n != 1 {
			t.Errorf("%s reset %d times, want 1", upn, n)
		}
	}
	var results string
	for _, m := range rec.msgs {
		if strings.HasPrefix(m, "dm:helpdesk@contoso.com: 🔐 Results") {
			results = m
		}
	}
	table, _, _ := strings.Cut(results[strings.Index(results, "UserPrincipalName"):], " This message")
	recs, err := csv.NewReader(strings.NewReader(strings.TrimSpace(table))).ReadAll()
	if err != nil {
		t.Fatalf("results are not CSV: %v", err)
	}
	if len(recs) != 3 {
		t.Fatalf("results have %d lines, want a header and 2", len(recs))
	}
	for _, r := range recs[1:] {
		set := env.Graph.Resets(r[0])
		if r[1] != "reset" || len(set) != 1 || r[2] != set[0].Password {
			t.Errorf("result %v does not match what Graph set", r)
		}
		scenariotest.PasswordOnlyInDM(t, env, set[0].Password, nil)
		for _, m := range rec.msgs {
			if strings.Contains(m, set[0].Password) && !strings.HasPrefix(m, "dm:") {
				t.Errorf("a password appeared outside a DM: %q", m)
			}
		}
	}
	summaries := 0
	for _, m := range rec.msgs {
		if strings.Contains(m, "2 reset, 0 not reset") {
			summaries++
		}
	}
	if summaries != 1 {
		t.Errorf("%d run summaries, want 1: %q", summaries, rec.msgs)
	}
}

func TestBulkCancel(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	rec := &recorder{}
	env.Service.Attach(bot.PlatformShell, rec)
	rows, problems := bulkFile(t, "adele@contoso.com")
	helpdesk := actor("helpdesk@contoso.com")
	_ = env.Service.HandleBulk(context.Background(), bot.Incoming{Actor: helpdesk, Reply: rec}, "u.csv", rows, problems)
	id := scenariotestListID(t, rec.msgs[len(rec.msgs)-1])
	_ = env.Service.Handle(context.Background(), bot.Click(helpdesk, bot.ActionCancel, id, "", rec))
	_ = env.Service.Handle(context.Background(), bot.Click(helpdesk, bot.ActionRun, id, "", rec))
	if n := len(env.Graph.Resets("adele@contoso.com")); n != 0 {
		t.Fatalf("a cancelled list reset %d users", n)
	}
	if !strings.Contains(rec.msgs[len(rec.msgs)-1], "no longer waiting") {
		t.Errorf("running a cancelled list said %q", rec.msgs[len(rec.msgs)-1])
	}
}

func scenariotestListID(t *testing.T, msg string) string {
	t.Helper()
	i := strings.Index(msg, "List B-")
	if i < 0 {
		t.Fatalf("no list ID in %q", msg)
	}
	return strings.Fields(msg[i+5:])[0]
}
