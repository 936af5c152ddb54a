package scenariotest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

// The list scenarios: a list of users — a file, or several names typed in one command — is a
// request like any other. It is previewed before anything is written, runs on its requester's
// go-ahead, counts against the same limits as single resets, is re-checked when approved, and leaves
// a record per target.

var listScenarios = []scenario{
	{name: "ListPreviewedThenRun", run: listPreviewedThenRun},
	{name: "ListFromRealExports", run: listFromRealExports},
	{name: "ListSamePersonNamedThreeWays", run: listSamePerson},
	{name: "ListRateLimitCountsTypedAndFiles", cfg: func(c *bot.Config) { c.RateLimit = 5 }, run: listRateLimit},
	{name: "ListApprovalCountsAcrossFiles", cfg: func(c *bot.Config) { c.ListApprovalAbove = 4 }, run: listApprovalAcrossFiles},
	{name: "ListRequesterDisabledAfterPreview", cfg: func(c *bot.Config) { c.ListApprovalAbove = 2 }, run: listRequesterDisabled},
	{name: "ListAuditedPerTarget", run: listAuditedPerTarget},
}

const agent = "helpdesk@contoso.com" // a Helpdesk Administrator, who sends the lists

// listPreviewedThenRun: a CSV is previewed with its refused rows named by line, nothing is written
// before the go-ahead, then each allowed user is reset once, their sessions revoked, their passwords
// shown only in the requester's DM, and a summary says how it went.
func listPreviewedThenRun(t *testing.T, env *Env, d Driver) {
	file := csvFile("UserPrincipalName,Reason",
		"adele@contoso.com,INC1001", // line 2
		"lynne@contoso.com,INC1002", // line 3
		"megan@contoso.com,INC1003", // line 4: a Global Administrator, whom a helpdesk may not reset
		"nobody@contoso.com,INC1004",
		"not a upn,INC1005")
	preview := previewOf(t, d.SendFile(t, agent, "users.csv", file, "resetpw bulk"), agent, "users.csv")
	for _, want := range []string{"5 rows → 2 can be reset, 0 need approval, 3 refused", "[Reset the 2]",
		"line 4 megan@contoso.com: ", "line 5 nobody@contoso.com: no such user", "line 6 not a upn: "} {
		if !strings.Contains(preview.Text, want) {
			t.Errorf("the preview does not say %q:\n%s", want, preview.Text)
		}
	}
	id := ListID(t, preview.Text)
	noWrites(t, env)

	// Only its requester may start it.
	mustFind(t, d.Say(t, "pat@contoso.com", "run "+id), "reply", "Only the person who sent the list")
	noWrites(t, env)

	seen := d.Click(t, agent, chat.ActionRun, id)
	mustFindFor(t, seen, agent, "Resetting 2 users")
	for _, upn := range []string{"adele@contoso.com", "lynne@contoso.com"} {
		resets := env.Graph.Resets(upn)
		if len(resets) != 1 {
			t.Fatalf("Graph set %d passwords for %s, want 1", len(resets), upn)
		}
		if !resets[0].ForceChange {
			t.Errorf("%s: Graph was not told to force a change at next sign-in", upn)
		}
		checkCompliant(t, resets[0].Password)
		if n := env.Graph.SessionsRevoked(upn); n != 1 {
			t.Errorf("%s: sessions revoked %d times, want 1", upn, n)
		}
		results := mustFind(t, seen, "dm:"+agent, resets[0].Password)
		if !strings.Contains(results.Text, upn) {
			t.Errorf("the results DM shows a password without naming %s: %q", upn, results.Text)
		}
		PasswordOnlyInDM(t, env, resets[0].Password, seen)
	}
	for _, upn := range []string{"megan@contoso.com", "nobody@contoso.com"} {
		if n := len(env.Graph.Resets(upn)) + env.Graph.SessionsRevoked(upn); n != 0 {
			t.Errorf("%s, refused in the preview, was written to Graph", upn)
		}
	}
	if n := count(seen, "", "✅ users.csv: 2 reset, 0 failed."); n != 1 {
		t.Errorf("the summary was shown %d times, want once:%s", n, dump(seen))
	}

	// A second press does nothing.
	mustFindFor(t, d.Click(t, agent, chat.ActionRun, id), agent, "no longer waiting")
	for _, upn := range []string{"adele@contoso.com", "lynne@contoso.com"} {
		if n := len(env.Graph.Resets(upn)); n != 1 {
			t.Errorf("after a second press Graph set %d passwords for %s, want 1", n, upn)
		}
	}

	// The results, line by line, for the record: every row, no password.
	seen = d.Say(t, agent, "status "+id)
	status := mustFind(t, seen, "reply", "List "+id)
	for _, want := range []string{"users.csv", "done", "line 4 megan@contoso.com"} {
		if !strings.Contains(status.Text, want) {
			t.Errorf("status does not say %q: %q", want, status.Text)
		}
	}
	if strings.Contains(status.Text, "in your direct messages") {
		file := mustFind(t, seen, "dm:"+agent, "6,not a upn,refused")
		for _, want := range []string{"2,adele@contoso.com,reset", "3,lynne@contoso.com,reset", "INC1001"} {
			if !strings.Contains(file.Text, want) {
				t.Errorf("the results file has no %q:\n%s", want, file.Text)
			}
		}
	}
	for _, upn := range []string{"adele@contoso.com", "lynne@contoso.com"} {
		if s := find(seen, "", env.Graph.Resets(upn)[0].Password); s != nil {
			t.Errorf("status showed %s's temporary password in %s", upn, s.Where)
		}
	}
}

// listFromRealExports: the files spreadsheets and PowerShell write — semicolons (Excel in many
// locales), a "#TYPE" first line (Windows PowerShell's Export-Csv), UTF-16 with tabs (Excel's
// "Unicode text") — preview the same users, refuse the same row by its line in the file, and reset
// the same people.
func listFromRealExports(t *testing.T, env *Env, d Driver) {
	for i, f := range []struct {
		name      string
		data      []byte
		meganLine int
	}{
		{"semicolons.csv", []byte("UserPrincipalName;Reason\r\nadele@contoso.com;INC1\r\nlynne@contoso.com;INC2\r\nnestor@contoso.com;INC3\r\nmegan@contoso.com;INC4\r\n"), 5},
		{"powershell.csv", []byte("#TYPE Selected.Microsoft.Graph.PowerShell.Models.MicrosoftGraphUser\r\n" +
			"\"DisplayName\",\"UserPrincipalName\",\"Id\"\r\n" +
			"\"Adele Vance\",\"adele@contoso.com\",\"" + graphtest.AdeleID + "\"\r\n" +
			"\"Lynne Robbins\",\"lynne@contoso.com\",\"" + graphtest.LynneID + "\"\r\n" +
			"\"Nestor Wilke\",\"nestor@contoso.com\",\"" + graphtest.NestorID + "\"\r\n" +
			"\"Megan Bowen\",\"megan@contoso.com\",\"" + graphtest.MeganID + "\"\r\n"), 6},
		{"unicode.txt", utf16LE("Display name\tUser principal name\tReason\r\nAdele Vance\tadele@contoso.com\tINC1\r\n" +
			"Lynne Robbins\tlynne@contoso.com\tINC2\r\nNestor Wilke\tnestor@contoso.com\tINC3\r\nMegan Bowen\tmegan@contoso.com\tINC4\r\n"), 5},
	} {
		preview := previewOf(t, d.SendFile(t, agent, f.name, f.data, "resetpw bulk"), agent, f.name)
		for _, want := range []string{"4 rows → 3 can be reset, 0 need approval, 1 refused", "[Reset the 3]",
			fmt.Sprintf("line %d megan@contoso.com", f.meganLine)} {
			if !strings.Contains(preview.Text, want) {
				t.Errorf("%s: the preview does not say %q:\n%s", f.name, want, preview.Text)
			}
		}
		id := ListID(t, preview.Text)
		seen := d.Click(t, agent, chat.ActionRun, id)
		for _, upn := range []string{"adele@contoso.com", "lynne@contoso.com", "nestor@contoso.com"} {
			resets := env.Graph.Resets(upn)
			if len(resets) != i+1 {
				t.Fatalf("%s: after it Graph has set %d passwords for %s, want %d", f.name, len(resets), upn, i+1)
			}
			mustFind(t, seen, "dm:"+agent, resets[i].Password)
			PasswordOnlyInDM(t, env, resets[i].Password, seen)
		}
		mustFind(t, seen, "", "✅ "+f.name+": 3 reset, 0 failed.")
	}
	if n := len(env.Graph.Resets("megan@contoso.com")); n != 0 {
		t.Errorf("a Global Administrator on a helpdesk's list was reset %d times", n)
	}
}

// listSamePerson: Adele named by UPN, by mail and by object ID, in a file or typed, is one target,
// the preview says which rows are the same person, and she is reset once.
func listSamePerson(t *testing.T, env *Env, d Driver) {
	adele, _ := env.Graph.User("adele@contoso.com")
	adele.Mail = "adele.vance@contoso.com" // a mail address that is not her UPN
	env.Graph.AddUser(adele)

	file := csvFile("UserPrincipalName",
		"adele@contoso.com",       // line 2
		"adele.vance@contoso.com", // line 3
		graphtest.AdeleID,         // line 4
		"lynne@contoso.com")
	preview := previewOf(t, d.SendFile(t, agent, "dupes.csv", file, "resetpw bulk"), agent, "dupes.csv")
	for _, want := range []string{"4 rows → 2 can be reset, 0 need approval, 2 refused", "[Reset the 2]",
		"line 3 adele.vance@contoso.com: the same person as line 2", "line 4 " + graphtest.AdeleID + ": the same person as line 2"} {
		if !strings.Contains(preview.Text, want) {
			t.Errorf("the preview does not say %q:\n%s", want, preview.Text)
		}
	}
	seen := d.Click(t, agent, chat.ActionRun, ListID(t, preview.Text))
	if n := len(env.Graph.Resets(graphtest.AdeleID)); n != 1 {
		t.Fatalf("Adele, named three ways, was reset %d times, want once", n)
	}
	if n := env.Graph.SessionsRevoked(graphtest.AdeleID); n != 1 {
		t.Errorf("Adele's sessions were revoked %d times, want once", n)
	}
	pw := env.Graph.Resets(graphtest.AdeleID)[0].Password
	if n := count(seen, "dm:"+agent, pw); n != 1 {
		t.Errorf("Adele's password was sent %d times, want once", n)
	}
	mustFind(t, seen, "", "✅ dupes.csv: 2 reset, 0 failed.")

	// Typed, the same: one preview, one target, one reset.
	seen = d.Say(t, agent, "/resetpw adele@contoso.com "+graphtest.AdeleID+" adele.vance@contoso.com")
	preview = previewOf(t, seen, agent, "→ 1 can be reset")
	for _, want := range []string{"3 rows", "[Reset the 1]", graphtest.AdeleID + ": the same person as adele@contoso.com",
		"adele.vance@contoso.com: the same person as adele@contoso.com"} {
		if !strings.Contains(preview.Text, want) {
			t.Errorf("the typed list's preview does not say %q:\n%s", want, preview.Text)
		}
	}
	if n := len(env.Graph.Resets(graphtest.AdeleID)); n != 1 {
		t.Fatalf("a typed list reset Adele before its go-ahead")
	}
	d.Click(t, agent, chat.ActionRun, ListID(t, preview.Text))
	if n := len(env.Graph.Resets(graphtest.AdeleID)); n != 2 {
		t.Fatalf("after the typed list Adele was reset %d times in all, want 2 (once per list)", n)
	}
}

// listRateLimit: with a limit of 5 resets an hour, a typed list of 3 runs; then a file of 3 is
// refused at its go-ahead with words about the limit, and nothing of it is written. The refused list
// does not use up the limit: one more single reset still goes through, and the list still does not.
func listRateLimit(t *testing.T, env *Env, d Driver) {
	typed := previewOf(t, d.Say(t, agent, "/resetpw adele@contoso.com lynne@contoso.com nestor@contoso.com --reason INC7"), agent, "[Reset the 3]")
	noWrites(t, env)
	d.Click(t, agent, chat.ActionRun, ListID(t, typed.Text))
	for _, upn := range []string{"adele@contoso.com", "lynne@contoso.com", "nestor@contoso.com"} {
		if n := len(env.Graph.Resets(upn)); n != 1 {
			t.Fatalf("the typed list set %d passwords for %s, want 1", n, upn)
		}
	}
	writes := len(env.Graph.Writes())

	file := csvFile("UserPrincipalName", "reader@contoso.com", "adele@contoso.com", "lynne@contoso.com")
	preview := previewOf(t, d.SendFile(t, agent, "more.csv", file, "resetpw bulk"), agent, "more.csv")
	seen := d.Click(t, agent, chat.ActionRun, ListID(t, preview.Text))
	refusal := mustFindFor(t, seen, agent, "the limit is 5")
	if !strings.Contains(refusal.Text, "3 users") {
		t.Errorf("the refusal does not say how many the list has: %q", refusal.Text)
	}
	if n := len(env.Graph.Writes()); n != writes {
		t.Errorf("a list over the limit wrote %d times to Graph", n-writes)
	}
	if n := len(env.Graph.Resets("reader@contoso.com")); n != 0 {
		t.Errorf("a list over the limit reset reader@")
	}
	if find(seen, "approvals", "") != nil || find(seen, "dm:", "") != nil {
		t.Errorf("a list over the limit sent more than the refusal:%s", dump(seen))
	}

	// The refused list used none of the limit: a single reset still fits (3 + 1), the list does not.
	mustFindFor(t, d.Say(t, agent, "/resetpw nestor@contoso.com"), agent, "Reset Nestor")
	if n := len(env.Graph.Resets("nestor@contoso.com")); n != 2 {
		t.Errorf("a single reset within the limit: nestor@ has %d passwords set, want 2", n)
	}
	mustFindFor(t, d.Click(t, agent, chat.ActionRun, ListID(t, preview.Text)), agent, "the limit is 5")
	if n := len(env.Graph.Resets("reader@contoso.com")); n != 0 {
		t.Errorf("a list over the limit reset reader@ when pressed again")
	}
}

// listApprovalAcrossFiles: with lists needing approval above 4 targets an hour, a file of 3 runs on
// its go-ahead alone; a second file of 3 within the hour needs a second person, on one card for the
// whole list, and runs once approved.
func listApprovalAcrossFiles(t *testing.T, env *Env, d Driver) {
	users := []string{"adele@contoso.com", "lynne@contoso.com", "nestor@contoso.com"}
	first := previewOf(t, d.SendFile(t, agent, "monday.csv", csvFile("UserPrincipalName", users...), "resetpw bulk"), agent, "monday.csv")
	if !strings.Contains(first.Text, "[Reset the 3]") || strings.Contains(first.Text, "approval:") {
		t.Errorf("a first list of 3 should need no approval:\n%s", first.Text)
	}
	seen := d.Click(t, agent, chat.ActionRun, ListID(t, first.Text))
	if find(seen, "approvals", "") != nil {
		t.Fatalf("a first list of 3 asked for approval:%s", dump(seen))
	}
	for _, upn := range users {
		if n := len(env.Graph.Resets(upn)); n != 1 {
			t.Fatalf("the first list set %d passwords for %s, want 1", n, upn)
		}
	}

	second := previewOf(t, d.SendFile(t, agent, "tuesday.csv", csvFile("UserPrincipalName", users...), "resetpw bulk"), agent, "tuesday.csv")
	for _, want := range []string{"[Ask approval for the 3]", "3 users with the 3 you asked for in the last hour is more than 4"} {
		if !strings.Contains(second.Text, want) {
			t.Errorf("the second preview does not say %q:\n%s", want, second.Text)
		}
	}
	id := ListID(t, second.Text)
	seen = d.Click(t, agent, chat.ActionRun, id)
	mustFindFor(t, seen, agent, "needs a second person")
	card := mustFind(t, seen, "approvals", id)
	for _, want := range []string{"Helen Desk", "tuesday.csv", "adele@contoso.com", "nestor@contoso.com", "more than 4"} {
		if !strings.Contains(card.Text, want) {
			t.Errorf("the approval card does not show %q: %q", want, card.Text)
		}
	}
	if n := count(seen, "approvals", ""); n != 1 {
		t.Errorf("%d approval cards for one list, want 1", n)
	}
	for _, upn := range users {
		if n := len(env.Graph.Resets(upn)); n != 1 {
			t.Fatalf("the second list reset %s before its approval", upn)
		}
	}

	mustFind(t, d.Click(t, agent, chat.ActionApprove, id), "reply", "can't approve your own request")
	seen = d.Click(t, "sam@contoso.com", chat.ActionApprove, id)
	mustFind(t, seen, "card", "Approved by Sam Security")
	for _, upn := range users {
		resets := env.Graph.Resets(upn)
		if len(resets) != 2 {
			t.Fatalf("after the approval Graph has set %d passwords for %s, want 2", len(resets), upn)
		}
		mustFind(t, seen, "dm:"+agent, resets[1].Password)
		PasswordOnlyInDM(t, env, resets[1].Password, seen)
	}
	mustFind(t, d.Click(t, "pat@contoso.com", chat.ActionApprove, id), "reply", "already")
	if n := len(env.Graph.Resets("adele@contoso.com")); n != 2 {
		t.Errorf("a second approval reset again (%d)", n)
	}
}

// listRequesterDisabled: a requester whose account is disabled in Entra after the preview cannot
// start it, and a list waiting for approval is denied when approved: nothing is reset either way.
func listRequesterDisabled(t *testing.T, env *Env, d Driver) {
	// Another agent, so the first one's account need not come back (where a chat account is linked
	// to Entra, disabling the account drops the link).
	const other = "pwadmin@contoso.com"
	small := previewOf(t, d.SendFile(t, other, "two.csv", csvFile("UserPrincipalName", "adele@contoso.com", "lynne@contoso.com"), "resetpw bulk"), other, "[Reset the 2]")
	env.Graph.SetAccountEnabled(other, false)
	seen := d.Click(t, other, chat.ActionRun, ListID(t, small.Text))
	mustFindFor(t, seen, other, "Your own account is disabled")
	if s := find(seen, "", "Resetting"); s != nil {
		t.Errorf("a disabled requester's list was started: %q", s.Text)
	}
	noWrites(t, env)

	big := previewOf(t, d.SendFile(t, agent, "three.csv", csvFile("UserPrincipalName", "adele@contoso.com", "lynne@contoso.com", "nestor@contoso.com"), "resetpw bulk"), agent, "[Ask approval for the 3]")
	id := ListID(t, big.Text)
	mustFind(t, d.Click(t, agent, chat.ActionRun, id), "approvals", id)
	env.Graph.SetAccountEnabled(agent, false)
	seen = d.Click(t, "sam@contoso.com", chat.ActionApprove, id)
	mustFind(t, seen, "card", "No longer allowed: the requester's account is disabled")
	mustFind(t, seen, "dm:"+agent, "nothing was reset")
	if s := find(seen, "", "Approved by"); s != nil {
		t.Errorf("a list whose requester is disabled was approved: %q", s.Text)
	}
	noWrites(t, env)
	mustFind(t, d.Click(t, "pat@contoso.com", chat.ActionApprove, id), "reply", "already")
	noWrites(t, env)
}

// listAuditedPerTarget: every target of a list has its own requested, decision, reset, revoke and
// delivery records, each with the target's line in the file; the row's Reason is on the request and
// on the reset; a refused row is recorded with why.
func listAuditedPerTarget(t *testing.T, env *Env, d Driver) {
	file := csvFile("UserPrincipalName,Reason",
		"adele@contoso.com,INC2001 locked out", // line 2
		"lynne@contoso.com,INC2002 new phone",  // line 3
		"nobody@contoso.com,INC2003")           // line 4
	preview := previewOf(t, d.SendFile(t, agent, "audit.csv", file, "resetpw bulk"), agent, "audit.csv")
	id := ListID(t, preview.Text)
	d.Click(t, agent, chat.ActionRun, id)

	type key struct {
		upn   string
		event bot.AuditEvent
	}
	got := map[key][]bot.AuditRecord{}
	err := env.Store.AuditSince(context.Background(), 0, func(r bot.AuditRecord) error {
		if r.RequestID == id && r.TargetUPN != "" {
			got[key{r.TargetUPN, r.Event}] = append(got[key{r.TargetUPN, r.Event}], r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []struct {
		upn, reason string
		line        int
	}{{"adele@contoso.com", "INC2001 locked out", 2}, {"lynne@contoso.com", "INC2002 new phone", 3}} {
		for _, want := range []struct {
			event   bot.AuditEvent
			outcome string
			reason  bool // the row's Reason is the record's detail
		}{
			{bot.EventRequested, "asked", true}, {bot.EventDecision, "allow", false}, {bot.EventReset, "done", true},
			{bot.EventRevoke, "done", false}, {bot.EventDelivery, "sent", false},
		} {
			recs := got[key{row.upn, want.event}]
			if len(recs) != 1 {
				t.Errorf("%s: %d %s records, want 1", row.upn, len(recs), want.event)
				continue
			}
			r := recs[0]
			if r.Outcome != want.outcome || r.Line != row.line || r.ActorUPN != agent || r.Platform == "" {
				t.Errorf("%s: %s record %+v, want outcome %q, line %d, by %s", row.upn, want.event, r, want.outcome, row.line, agent)
			}
			if want.reason && r.Detail != row.reason {
				t.Errorf("%s: %s record's detail %q, want the row's reason %q", row.upn, want.event, r.Detail, row.reason)
			}
		}
	}
	asked, decided := got[key{"nobody@contoso.com", bot.EventRequested}], got[key{"nobody@contoso.com", bot.EventDecision}]
	if len(asked) != 1 || asked[0].Line != 4 || asked[0].Detail != "INC2003" {
		t.Errorf("the refused row's request records: %+v, want one on line 4 with its reason", asked)
	}
	if len(decided) != 1 || decided[0].Outcome != "deny" || decided[0].Line != 4 || !strings.Contains(decided[0].Detail, "no such user") {
		t.Errorf("the refused row's decision records: %+v, want one denial on line 4 saying why", decided)
	}
	for _, ev := range []bot.AuditEvent{bot.EventReset, bot.EventRevoke, bot.EventDelivery} {
		if recs := got[key{"nobody@contoso.com", ev}]; len(recs) != 0 {
			t.Errorf("the refused row has %s records: %+v", ev, recs)
		}
	}
}

var listIDRe = regexp.MustCompile(`B-[0-9A-Z]{6}`)

// ListID finds the list ID a message shows.
func ListID(t *testing.T, text string) string {
	t.Helper()
	return idIn(t, listIDRe, "list", text)
}

// previewOf finds a list's preview: a message only its sender sees, with buttons to go ahead.
// Platforms differ in where an answer to a file lands (a reply where it was sent, or the sender's DM
// with the bot); either is the sender's alone.
func previewOf(t *testing.T, seen []Seen, as, contains string) Seen {
	t.Helper()
	for _, s := range seen {
		if (s.Where == "reply" || s.Where == "dm:"+as) && strings.Contains(s.Text, contains) && listIDRe.MatchString(s.Text) &&
			strings.Contains(s.Text, "→") {
			return s
		}
	}
	t.Fatalf("no preview containing %q for %s; saw:%s", contains, as, dump(seen))
	return Seen{}
}

// mustFindFor finds an answer only the person sees: a reply, or a message in their DM with the bot.
func mustFindFor(t *testing.T, seen []Seen, as, contains string) Seen {
	t.Helper()
	for _, s := range seen {
		if (s.Where == "reply" || s.Where == "dm:"+as) && strings.Contains(s.Text, contains) {
			return s
		}
	}
	t.Fatalf("nothing for %s containing %q; saw:%s", as, contains, dump(seen))
	return Seen{}
}

func count(seen []Seen, wherePrefix, contains string) int {
	n := 0
	for _, s := range seen {
		if strings.HasPrefix(s.Where, wherePrefix) && strings.Contains(s.Text, contains) {
			n++
		}
	}
	return n
}

func dump(seen []Seen) string {
	var b strings.Builder
	for _, s := range seen {
		b.WriteString("\n  [" + s.Where + "] " + s.Text)
	}
	return b.String()
}

// csvFile is a list file as a spreadsheet saves it: lines ended with CRLF.
func csvFile(header string, rows ...string) []byte {
	return []byte(header + "\r\n" + strings.Join(rows, "\r\n") + "\r\n")
}

// utf16LE is text as Excel's "Unicode text" saves it: UTF-16, little-endian, with a byte-order mark.
func utf16LE(s string) []byte {
	b := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}
