package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
	"github.com/resetbot/resetbot/internal/scenariotest"
)

func onlyReplies(t *testing.T, seen []scenariotest.Seen) string {
	t.Helper()
	if len(seen) != 1 || seen[0].Where != "reply" {
		t.Fatalf("audit answered with %+v; want one reply to the caller only", seen)
	}
	return seen[0].Text
}

// Approvers and security read the trail; everyone else is refused plainly, and the refusal is in
// the trail too.
func TestAuditVerbPermission(t *testing.T) {
	env := scenariotest.NewEnv(t, func(c *bot.Config) {
		c.Policy.AuditReaders = []string{bot.RoleReportsReader, graphtest.Tier0OperatorsID}
	})
	scenariotest.AuditDay(t, env)
	in := &scenariotest.Inbox{}
	env.Service.Attach(chat.PlatformShell, in)

	for _, who := range []string{
		"helpdesk@contoso.com", // Helpdesk Administrator tenant-wide: an approver
		"sam@contoso.com",      // Privileged Authentication Administrator
		"reports@contoso.com",  // Reports Reader: configured as security
		"lee@contoso.com",      // no role, but in a configured group
	} {
		text := onlyReplies(t, in.Say(t, env.Service, who, "/resetpw audit"))
		if !strings.Contains(text, "Audit trail, last 7 days") || !strings.Contains(text, "Resets: 3 done") {
			t.Errorf("%s was not shown the summary: %q", who, text)
		}
	}
	for _, who := range []string{
		"adele@contoso.com",     // no role
		"reader@contoso.com",    // Directory Readers
		"parishelp@contoso.com", // Helpdesk Administrator over one administrative unit only
	} {
		text := onlyReplies(t, in.Say(t, env.Service, who, "/resetpw audit adele@contoso.com"))
		if !strings.Contains(text, "for approvers and security") || strings.Contains(text, "adele@contoso.com →") {
			t.Errorf("%s was not refused: %q", who, text)
		}
	}
	reads, refusals := 0, 0
	for _, r := range trail(t, env.Store) {
		switch {
		case r.Event == bot.EventAuditRead:
			reads++
		case r.Event == bot.EventRefused && r.Outcome == "not_permitted":
			refusals++
			if r.TargetUPN != "adele@contoso.com" || r.ActorUPN == "" {
				t.Errorf("the refusal does not say who looked for whom: %+v", r)
			}
		}
	}
	if reads != 4 || refusals != 3 {
		t.Errorf("%d reads and %d refusals in the trail, want 4 and 3", reads, refusals)
	}

	// Without a configured audience, the default security roles apply: not Reports Reader.
	env2 := scenariotest.NewEnv(t, nil)
	in2 := &scenariotest.Inbox{}
	env2.Service.Attach(chat.PlatformShell, in2)
	if text := onlyReplies(t, in2.Say(t, env2.Service, "megan@contoso.com", "audit")); !strings.Contains(text, "Nothing in the trail in the last 7 days") {
		t.Errorf("Global Administrator on an empty trail: %q", text)
	}
	if text := onlyReplies(t, in2.Say(t, env2.Service, "reports@contoso.com", "audit")); !strings.Contains(text, "for approvers and security") {
		t.Errorf("Reports Reader read the trail by default: %q", text)
	}
}

// The summary filters by a person as agent or target, and by the window.
func TestAuditVerbFilters(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	scenariotest.AuditDay(t, env)
	in := &scenariotest.Inbox{}
	env.Service.Attach(chat.PlatformShell, in)
	say := func(text string) string { return onlyReplies(t, in.Say(t, env.Service, "sam@contoso.com", text)) }

	all := say("audit")
	for _, want := range []string{
		"Resets: 3 done",
		"Policy: 2 allowed · 3 needed approval · 1 refused",
		"Approvals: 1 approved · 1 denied · 1 expired · 1 click refused",
		"Other refusals: 1 command not understood · 1 unknown user",
		"Password DMs: 3 sent · 3 withdrawn",
		"pat@contoso.com → isaiah@contoso.com · approval expired",
		"sam@contoso.com → megan@contoso.com · denied · not verified",
		"helpdesk@contoso.com → adele@contoso.com · reset · locked out after phone change, INC0042 · R-",
		"only you can see this",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the summary does not say %q:\n%s", want, all)
		}
	}
	// People by their UPN, never by chat account keys; a command not understood is counted, not
	// listed.
	for _, never := range []string{"shell:demo:", "refused: command not understood"} {
		if strings.Contains(all, never) {
			t.Errorf("the summary shows %q:\n%s", never, all)
		}
	}
	// Newest first.
	if strings.Index(all, "isaiah") > strings.Index(all, "adele@contoso.com · reset") {
		t.Errorf("entries are not newest first:\n%s", all)
	}

	adele := say("audit Adele@Contoso.com")
	if !strings.Contains(adele, "· adele@contoso.com") || !strings.Contains(adele, "Resets: 1 done") ||
		strings.Contains(adele, "ceo@") || strings.Contains(adele, "megan@") {
		t.Errorf("filtered by target:\n%s", adele)
	}
	pat := say("audit pat@contoso.com")
	if !strings.Contains(pat, "Resets: 1 done") || !strings.Contains(pat, "pat@contoso.com → ceo@contoso.com · reset") ||
		strings.Contains(pat, "adele@") {
		t.Errorf("filtered by agent:\n%s", pat)
	}

	// Two days on, one more reset: a one-day window shows only it.
	env.Clock.Advance(48 * time.Hour)
	in.Say(t, env.Service, "helpdesk@contoso.com", "/resetpw nestor@contoso.com")
	recent := say("audit --since 1d")
	if !strings.Contains(recent, "last day") || !strings.Contains(recent, "Resets: 1 done") || strings.Contains(recent, "adele@") {
		t.Errorf("one-day window:\n%s", recent)
	}
	if week := say("audit --since=7d"); !strings.Contains(week, "Resets: 4 done") {
		t.Errorf("seven-day window:\n%s", week)
	}
	if none := say("audit lee@contoso.com"); !strings.Contains(none, "Nothing in the trail for lee@contoso.com in the last 7 days") {
		t.Errorf("nobody's records:\n%s", none)
	}
}

// Who may read the trail, by the policy alone.
func TestMayReadAudit(t *testing.T) {
	tw := func(role string) []bot.RoleAssignment { return []bot.RoleAssignment{{TemplateID: role, Scope: "/"}} }
	entra := bot.Policy{}
	rules := bot.Policy{Mode: bot.ModeRules, Rules: []bot.Rule{{Name: "desk", Agents: []string{"g-desk"}}}}
	narrowed := bot.Policy{AuditReaders: []string{"g-soc"}}
	for _, c := range []struct {
		name   string
		policy bot.Policy
		user   bot.User
		may    bool
	}{
		{"Helpdesk Administrator", entra, bot.User{Roles: tw(bot.RoleHelpdeskAdmin)}, true},
		{"Password Administrator", entra, bot.User{Roles: tw(bot.RolePasswordAdmin)}, true},
		{"Security Reader by default", entra, bot.User{Roles: tw(bot.RoleSecurityReader)}, true},
		{"Global Reader by default", entra, bot.User{Roles: tw(bot.RoleGlobalReader)}, true},
		{"Directory Readers", entra, bot.User{Roles: tw(bot.RoleDirectoryReaders)}, false},
		{"Helpdesk Administrator over one unit", entra,
			bot.User{Roles: []bot.RoleAssignment{{TemplateID: bot.RoleHelpdeskAdmin, Scope: "/administrativeUnits/au1"}}}, false},
		{"no role", entra, bot.User{}, false},
		{"rules mode agent", rules, bot.User{Groups: []string{"G-DESK"}}, true},
		{"rules mode, a role but no rule", rules, bot.User{Roles: tw(bot.RoleHelpdeskAdmin)}, false},
		{"configured group", narrowed, bot.User{Groups: []string{"g-soc"}}, true},
		{"default role dropped once an audience is configured", narrowed, bot.User{Roles: tw(bot.RoleSecurityReader)}, false},
		{"approvers stay with a configured audience", narrowed, bot.User{Roles: tw(bot.RoleHelpdeskAdmin)}, true},
	} {
		d := c.policy.MayReadAudit(c.user)
		if (d.Verdict == bot.Allow) != c.may {
			t.Errorf("%s: %v (%s), want may=%v", c.name, d.Verdict, d.Reason, c.may)
		}
	}
}

// Typos do not push resets out of the latest entries, and are counted in one line.
func TestAuditVerbCountsTypos(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	in := &scenariotest.Inbox{}
	env.Service.Attach(chat.PlatformShell, in)
	in.Say(t, env.Service, "helpdesk@contoso.com", "/resetpw adele@contoso.com")
	for range 12 {
		in.Say(t, env.Service, "helpdesk@contoso.com", "/resetpw adele")
	}
	all := onlyReplies(t, in.Say(t, env.Service, "sam@contoso.com", "audit"))
	for _, want := range []string{"helpdesk@contoso.com → adele@contoso.com · reset", "Other refusals: 12 commands not understood"} {
		if !strings.Contains(all, want) {
			t.Errorf("the summary does not say %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "shell:demo:") || strings.Contains(all, "command not understood ·") {
		t.Errorf("typos are listed, or named by chat key:\n%s", all)
	}
}
