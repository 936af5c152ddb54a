package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
	"github.com/resetbot/resetbot/internal/scenariotest"
)

// graphRequests counts what Graph's limits count: every request of its own and every item of a
// $batch, not the $batch envelopes.
func graphRequests(g *graphtest.Server) int {
	n := 0
	for _, r := range g.Requests() {
		if !strings.HasSuffix(r.Path, "/$batch") {
			n++
		}
	}
	return n
}

// addUsers seeds n ordinary users, as a list's targets.
func addUsers(g *graphtest.Server, n int) []string {
	upns := make([]string, n)
	for i := range n {
		upns[i] = g.AddUser(graphtest.User{UPN: fmt.Sprintf("list%04d@contoso.com", i), DisplayName: fmt.Sprintf("List %04d", i),
			AccountEnabled: true, UserType: "Member"}).UPN
	}
	return upns
}

// A list of 1,000 users costs at most 3 Graph requests per user end to end — the preview, the
// approval, the check just before each write, the resets and the revocations — because what all
// users share (role assignments, role-assignable groups, units) is read once, users are read 15 to
// a request, and resets and revocations go in $batch.
func TestListGraphCostPerUser(t *testing.T) {
	const n = 1000
	env := scenariotest.NewEnv(t, func(c *bot.Config) { c.RateLimit, c.TenantLimit = 0, 0 })
	users := addUsers(env.Graph, n)
	rec := &recorder{}
	env.Service.Attach(chat.PlatformShell, rec)
	before := graphRequests(env.Graph)
	helpdesk := actor("helpdesk@contoso.com")
	id := sendList(t, env.Service, rec, helpdesk, "users.csv", users...)
	preview := graphRequests(env.Graph) - before
	_ = env.Service.Handle(context.Background(), chat.Click(helpdesk, chat.ActionRun, id, "", rec))
	if !strings.Contains(strings.Join(rec.msgs, "\n"), "needs a second person") {
		t.Fatalf("a list of %d was not sent for approval: %q", n, rec.last())
	}
	asked := graphRequests(env.Graph) - before
	_ = env.Service.Handle(context.Background(), chat.Click(actor("sam@contoso.com"), chat.ActionApprove, id, "", rec))
	total := graphRequests(env.Graph) - before
	for _, u := range users {
		if len(env.Graph.Resets(u)) != 1 || env.Graph.SessionsRevoked(u) != 1 {
			t.Fatalf("%s: %d resets, %d revocations", u, len(env.Graph.Resets(u)), env.Graph.SessionsRevoked(u))
		}
	}
	perUser := float64(total) / n
	t.Logf("Graph requests for %d users: preview %d, go-ahead %d, approval and run %d; %.2f per user", n, preview, asked-preview, total-asked, perUser)
	if perUser > 3 {
		t.Errorf("%.2f Graph requests per user end to end, want at most 3", perUser)
	}
}
