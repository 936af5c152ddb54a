package bot_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/scenariotest"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
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
	env.Service.Attach(chat.PlatformShell, rec)
	rows, problems := bulkFile(t, "adele@contoso.com", "lynne@contoso.com", "megan@contoso.com", "ceo@contoso.com", "nobody@contoso.com", "bad", "ADELE@contoso.com")
	helpdesk := actor("helpdesk@contoso.com")
	if err := env.Service.HandleBulk(context.Background(), chat.Incoming{Actor: helpdesk, Reply: rec}, "users.csv", rows, problems); err != nil {
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
	_ = env.Service.Handle(context.Background(), chat.Click(actor("pat@contoso.com"), chat.ActionRun, id, "", rec))
	if !strings.Contains(rec.msgs[len(rec.msgs)-1], "Only the person who sent the list") {
		t.Fatalf("another person started the list: %q", rec.msgs[len(rec.msgs)-1])
	}
	// Two clicks: one run.
	for range 2 {
		_ = env.Service.Handle(context.Background(), chat.Click(helpdesk, chat.ActionRun, id, "", rec))
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
		if strings.Contains(m, "2 reset, 0 failed") {
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
	env.Service.Attach(chat.PlatformShell, rec)
	rows, problems := bulkFile(t, "adele@contoso.com")
	helpdesk := actor("helpdesk@contoso.com")
	_ = env.Service.HandleBulk(context.Background(), chat.Incoming{Actor: helpdesk, Reply: rec}, "u.csv", rows, problems)
	id := scenariotestListID(t, rec.msgs[len(rec.msgs)-1])
	_ = env.Service.Handle(context.Background(), chat.Click(helpdesk, chat.ActionCancel, id, "", rec))
	_ = env.Service.Handle(context.Background(), chat.Click(helpdesk, chat.ActionRun, id, "", rec))
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

// stopping is a directory that "kills the process" after n resets have been confirmed: it cancels
// the run's context, as a SIGTERM or a crash would end it.
type stopping struct {
	bot.BatchDirectory
	n      int
	cancel context.CancelFunc
	mu     sync.Mutex
	seen   int
}

func (s *stopping) count() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen++
	if s.seen == s.n {
		s.cancel()
	}
}

func (s *stopping) ResetPassword(ctx context.Context, id string, pw bot.TempPassword, o bot.ResetOptions) (bot.ResetResult, error) {
	r, err := s.BatchDirectory.ResetPassword(ctx, id, pw, o)
	if err == nil {
		s.count()
	}
	return r, err
}

func (s *stopping) ResetPasswords(ctx context.Context, resets []bot.PasswordReset, progress func(bot.ResetOutcome)) []bot.ResetOutcome {
	return s.BatchDirectory.ResetPasswords(ctx, resets, func(o bot.ResetOutcome) {
		progress(o)
		if o.Err == nil {
			s.count()
		}
	})
}

// A run stopped part-way is finished by the next process: nobody is reset twice, nobody is lost.
func TestBulkResumesAfterStop(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	bd, ok := env.Directory.(bot.BatchDirectory)
	if !ok {
		bd = oneByOne{env.Directory.(directoryWithPasswordTimes)}
	}
	var users []string
	for i := range 40 {
		u := env.Graph.AddUser(graphtest.User{UPN: fmt.Sprintf("bulk%02d@contoso.com", i), DisplayName: fmt.Sprintf("Bulk %02d", i), AccountEnabled: true})
		users = append(users, u.UPN)
	}
	rows, problems := bulkFile(t, users...)
	helpdesk := actor("helpdesk@contoso.com")

	runCtx, kill := context.WithCancel(context.Background())
	first := bot.NewService(&stopping{BatchDirectory: bd, n: 10, cancel: kill}, env.Store, bot.Defaults(), nil)
	first.SetClock(env.Clock.Now)
	rec := &recorder{}
	first.Attach(chat.PlatformShell, rec)
	_ = first.HandleBulk(context.Background(), chat.Incoming{Actor: helpdesk, Reply: rec}, "big.csv", rows, problems)
	id := scenariotestListID(t, rec.msgs[len(rec.msgs)-1])
	_ = first.Handle(runCtx, chat.Click(helpdesk, chat.ActionRun, id, "", rec))

	// The next process starts and resumes.
	second := bot.NewService(env.Directory, env.Store, bot.Defaults(), nil)
	second.SetClock(env.Clock.Now)
	second.Attach(chat.PlatformShell, rec)
	second.ResumeBatches(context.Background())

	passwords := map[string]string{}
	for _, m := range rec.msgs {
		if !strings.HasPrefix(m, "dm:helpdesk@contoso.com: 🔐 Results") {
			continue
		}
		for _, line := range strings.Split(m, "\n") {
			if f := strings.Split(strings.TrimSpace(line), ","); len(f) == 3 && strings.HasPrefix(f[0], "bulk") {
				passwords[f[0]] = f[2]
			}
		}
	}
	lostSummary := ""
	for _, m := range rec.msgs {
		if strings.Contains(m, "were lost") {
			lostSummary = m
		}
	}
	for _, upn := range users {
		set := env.Graph.Resets(upn)
		if len(set) != 1 {
			t.Errorf("%s reset %d times, want exactly 1", upn, len(set))
			continue
		}
		if pw, ok := passwords[upn]; ok {
			if pw != set[0].Password {
				t.Errorf("%s: the results carry another password than Graph set", upn)
			}
		} else if !strings.Contains(lostSummary, upn) {
			t.Errorf("%s was reset but is neither in the results nor reported lost", upn)
		}
	}
	if open, _ := env.Store.UnfinishedBatches(context.Background()); len(open) != 0 {
		t.Errorf("lists still unfinished after the resume: %v", open)
	}
}

type directoryWithPasswordTimes interface {
	bot.Directory
	PasswordChangedAt(ctx context.Context, userID string) (time.Time, error)
}

// oneByOne is a BatchDirectory that sends one request at a time, for a directory that cannot batch.
type oneByOne struct{ directoryWithPasswordTimes }

func (o oneByOne) FindUsers(ctx context.Context, refs []string) ([]bot.User, []error) {
	users, errs := make([]bot.User, len(refs)), make([]error, len(refs))
	for i, r := range refs {
		users[i], errs[i] = o.FindUser(ctx, r)
	}
	return users, errs
}

func (o oneByOne) ResetPasswords(ctx context.Context, resets []bot.PasswordReset, progress func(bot.ResetOutcome)) []bot.ResetOutcome {
	out := make([]bot.ResetOutcome, len(resets))
	for i, r := range resets {
		res, err := o.ResetPassword(ctx, r.UserID, r.Password, r.Options)
		out[i] = bot.ResetOutcome{UserID: r.UserID, GraphRequestID: res.GraphRequestID, Err: err}
		progress(out[i])
	}
	return out
}

func (o oneByOne) RevokeSessionsMany(ctx context.Context, ids []string, progress func(bot.RevokeOutcome)) []bot.RevokeOutcome {
	out := make([]bot.RevokeOutcome, len(ids))
	for i, id := range ids {
		res, err := o.RevokeSessions(ctx, id)
		out[i] = bot.RevokeOutcome{UserID: id, GraphRequestID: res.GraphRequestID, Err: err}
		progress(out[i])
	}
	return out
}

// A list above the threshold needs a second person: nothing is reset until someone entitled to
// reset every user on it approves; the requester cannot, and a second approval does nothing.
func TestBulkListApproval(t *testing.T) {
	env := scenariotest.NewEnv(t, func(c *bot.Config) { c.ListApprovalAbove = 2 })
	rec := &recorder{}
	env.Service.Attach(chat.PlatformShell, rec)
	rows, problems := bulkFile(t, "adele@contoso.com", "lynne@contoso.com", "nestor@contoso.com")
	helpdesk := actor("helpdesk@contoso.com")
	_ = env.Service.HandleBulk(context.Background(), chat.Incoming{Actor: helpdesk, Reply: rec}, "u.csv", rows, problems)
	if !strings.Contains(rec.msgs[len(rec.msgs)-1], "needs a second person") {
		t.Fatalf("preview = %q", rec.msgs[len(rec.msgs)-1])
	}
	id := scenariotestListID(t, rec.msgs[len(rec.msgs)-1])
	_ = env.Service.Handle(context.Background(), chat.Click(helpdesk, chat.ActionRun, id, "", rec))
	var card string
	for _, m := range rec.msgs {
		if strings.HasPrefix(m, "approvals:") {
			card = m
		}
	}
	if !strings.Contains(card, id) {
		t.Fatalf("no list approval card: %q", rec.msgs)
	}
	_ = env.Service.Handle(context.Background(), chat.Click(helpdesk, chat.ActionApprove, id, "", rec))
	if !strings.Contains(rec.msgs[len(rec.msgs)-1], "can't approve your own request") {
		t.Errorf("self-approval answered %q", rec.msgs[len(rec.msgs)-1])
	}
	_ = env.Service.Handle(context.Background(), chat.Click(actor("reader@contoso.com"), chat.ActionApprove, id, "", rec))
	for _, upn := range []string{"adele@contoso.com", "lynne@contoso.com", "nestor@contoso.com"} {
		if n := len(env.Graph.Resets(upn)); n != 0 {
			t.Fatalf("%s was reset before an entitled approval", upn)
		}
	}
	_ = env.Service.Handle(context.Background(), chat.Click(actor("pwadmin@contoso.com"), chat.ActionApprove, id, "", rec))
	_ = env.Service.Handle(context.Background(), chat.Click(actor("sam@contoso.com"), chat.ActionApprove, id, "", rec))
	for _, upn := range []string{"adele@contoso.com", "lynne@contoso.com", "nestor@contoso.com"} {
		if n := len(env.Graph.Resets(upn)); n != 1 {
			t.Errorf("%s reset %d times, want 1", upn, n)
		}
	}
	if !strings.Contains(rec.msgs[len(rec.msgs)-1], "already decided") {
		t.Errorf("a second approval answered %q", rec.msgs[len(rec.msgs)-1])
	}
}

func TestBulkListApprovalExpires(t *testing.T) {
	env := scenariotest.NewEnv(t, func(c *bot.Config) { c.ListApprovalAbove = 1 })
	rec := &recorder{}
	env.Service.Attach(chat.PlatformShell, rec)
	rows, problems := bulkFile(t, "adele@contoso.com", "lynne@contoso.com")
	helpdesk := actor("helpdesk@contoso.com")
	_ = env.Service.HandleBulk(context.Background(), chat.Incoming{Actor: helpdesk, Reply: rec}, "u.csv", rows, problems)
	id := scenariotestListID(t, rec.msgs[len(rec.msgs)-1])
	_ = env.Service.Handle(context.Background(), chat.Click(helpdesk, chat.ActionRun, id, "", rec))
	env.Clock.Advance(31 * time.Minute)
	env.Service.Tick(context.Background())
	expired := 0
	for _, m := range rec.msgs {
		if strings.Contains(m, "Nobody approved list "+id) {
			expired++
		}
	}
	if expired != 1 {
		t.Errorf("the requester was told %d times that the list expired, want once", expired)
	}
	_ = env.Service.Handle(context.Background(), chat.Click(actor("sam@contoso.com"), chat.ActionApprove, id, "", rec))
	if n := len(env.Graph.Resets("adele@contoso.com")); n != 0 {
		t.Errorf("an expired list was reset")
	}
}
