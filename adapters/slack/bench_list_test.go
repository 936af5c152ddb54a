package slack

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
	"github.com/resetbot/resetbot/internal/scenariotest"
)

// BenchmarkListEndToEnd measures a list the way a helpdesk runs it: from the Slack event carrying a
// 1,000-row CSV in the bot's DM to the last user reset, with the preview, the requester's go-ahead
// and a second person's approval clicked through the real handlers, against the Graph simulator
// answering every request in 20 ms. Side by side, in the same run, on the same simulator: the seed's
// loop, one user at a time (look the user up, then PATCH the password), as a Graph PowerShell
// script does it. Reported: both times, the speed-up, Graph requests per user end to end (each $batch
// item counts as one, as Graph's limits count it), and the process's peak RSS after the list.
//
//	go test -run '^$' -bench BenchmarkListEndToEnd -benchtime 1x ./adapters/slack/
func BenchmarkListEndToEnd(b *testing.B) {
	const users, latency = 1000, 20 * time.Millisecond
	for range b.N {
		b.StopTimer()
		env := scenariotest.NewEnv(b, func(c *bot.Config) { c.RateLimit, c.TenantLimit = 0, 0 })
		h := newHarness(b, env, nil)
		var csv strings.Builder
		csv.WriteString("UserPrincipalName,Reason\n")
		for i := range users {
			u := env.Graph.AddUser(graphtest.User{UPN: fmt.Sprintf("list%04d@contoso.com", i), DisplayName: fmt.Sprintf("List %04d", i),
				AccountEnabled: true, UserType: "Member"})
			fmt.Fprintf(&csv, "%s,INC%05d\n", u.UPN, i)
		}
		env.Graph.SetLatency(latency)
		before := graphItems(env.Graph)
		b.StartTimer()

		start := time.Now()
		seen := h.sendList(b, "U_HELPDESK", "resetpw bulk", map[string]fakeFile{"F1": {Name: "users.csv", Filetype: "csv", Data: []byte(csv.String())}})
		preview := findSeen(seen, "dm:helpdesk@contoso.com", "List B-")
		if preview == "" {
			b.Fatalf("no preview: %+v", seen)
		}
		id := strings.Fields(preview[strings.Index(preview, "List B-")+5:])[0]
		previewed := time.Since(start)
		h.post(b, "/slack/interactions", h.clickForm("U_HELPDESK", chat.ActionRun, id, blockList, "D_U_HELPDESK"), nil)
		h.adapter.Wait()
		h.post(b, "/slack/interactions", h.clickForm("U_SAM", chat.ActionApprove, id, blockApproval, fakeApprovals), nil)
		h.adapter.Wait()
		took := time.Since(start)

		b.StopTimer()
		reset := 0
		for i := range users {
			if len(env.Graph.Resets(fmt.Sprintf("list%04d@contoso.com", i))) == 1 {
				reset++
			}
		}
		if reset != users {
			b.Fatalf("%d of %d users reset", reset, users)
		}
		perUser := float64(graphItems(env.Graph)-before) / users
		rss := peakRSS()

		// The seed's loop on the same simulator: look up, then PATCH, one user at a time.
		loopStart := time.Now()
		for i := range users {
			u, err := env.Directory.FindUser(context.Background(), fmt.Sprintf("list%04d@contoso.com", i))
			if err != nil {
				b.Fatal(err)
			}
			pw, _ := bot.GeneratePassword(bot.PasswordSpec{Length: 16})
			if _, err := env.Directory.ResetPassword(context.Background(), u.ID, pw, bot.ResetOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		loop := time.Since(loopStart)
		b.ReportMetric(took.Seconds(), "list-s")
		b.ReportMetric(previewed.Seconds(), "preview-s")
		b.ReportMetric(loop.Seconds(), "loop-s")
		b.ReportMetric(loop.Seconds()/took.Seconds(), "speedup")
		b.ReportMetric(perUser, "graph-req/user")
		b.ReportMetric(rss, "peakRSS-MB")
		b.StartTimer()
	}
}

// graphItems counts requests as Graph's limits do: each request of its own and each $batch item.
func graphItems(g *graphtest.Server) int {
	n := 0
	for _, r := range g.Requests() {
		if !strings.HasSuffix(r.Path, "/$batch") {
			n++
		}
	}
	return n
}

func findSeen(seen []scenariotest.Seen, where, contains string) string {
	for _, s := range seen {
		if strings.HasPrefix(s.Where, where) && strings.Contains(s.Text, contains) {
			return s.Text
		}
	}
	return ""
}

// peakRSS is the process's peak resident set size so far, in MB (Linux; 0 elsewhere).
func peakRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}
