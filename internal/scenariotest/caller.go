package scenariotest

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
)

// Caller assurance, through every adapter: the user is told of their reset in their own chat and
// can say it wasn't them; the caller can be verified first, in the user's chat or by their manager;
// a Temporary Access Pass can be given instead of a password.
var callerScenarios = []scenario{
	{name: "NoticeAndWasntMe", run: noticeAndWasntMe},
	{name: "ChatVerification", cfg: requireVerify, run: chatVerification},
	{name: "ChatVerificationWrongNumber", cfg: requireVerify, run: chatVerificationWrong},
	{name: "ChatVerificationTimesOut", cfg: requireVerify, run: chatVerificationTimesOut},
	{name: "ManagerVerification", cfg: requireVerify, run: managerVerification},
	{name: "RequireBlocksUnverified", cfg: requireVerify, run: requireBlocksUnverified},
	{name: "AgentStatedVerification", run: agentStated},
	{name: "TemporaryAccessPass", run: temporaryAccessPass},
	{name: "TemporaryAccessPassPolicyOff", run: accessPassPolicyOff},
	{name: "MethodsForAgents", run: methodsForAgents},
}

func requireVerify(c *bot.Config) { c.Verify = bot.VerifyRequire }

// noticeAndWasntMe: after a reset the user gets a notice in their own chat, with no password in it;
// "This wasn't me" from them alerts security, is recorded and signs them out again; from anyone else
// it does nothing.
func noticeAndWasntMe(t *testing.T, env *Env, d Driver) {
	seen := d.Say(t, agent, "/resetpw adele@contoso.com --reason INC0042")
	reply := mustFind(t, seen, "reply", "Reset Adele Vance")
	if !strings.Contains(reply.Text, "Adele Vance was told in") {
		t.Errorf("the agent is not told the user was told: %q", reply.Text)
	}
	notice := mustFind(t, seen, "dm:adele@contoso.com", "Your password was reset by the helpdesk")
	for _, want := range []string{"Helen Desk", "This wasn't me"} {
		if !strings.Contains(notice.Text, want) {
			t.Errorf("the notice does not show %q: %q", want, notice.Text)
		}
	}
	pw := env.Graph.Resets("adele@contoso.com")[0].Password
	if strings.Contains(notice.Text, pw) {
		t.Fatal("the notice holds the password")
	}
	PasswordOnlyInDM(t, env, pw, seen)
	id := RequestID(t, notice.Text)

	// Someone else pressing it changes nothing.
	mustFind(t, d.Click(t, "megan@contoso.com", chat.ActionWasntMe, id), "reply", "for the person the notice was sent to")
	if n := env.Graph.SessionsRevoked("adele@contoso.com"); n != 1 {
		t.Fatalf("sessions revoked %d times after a stranger's click, want 1 (the reset's)", n)
	}
	r := mustFind(t, d.Click(t, "adele@contoso.com", chat.ActionWasntMe, id), "reply", "security has been told")
	if !strings.Contains(r.Text, "signed out everywhere") {
		t.Errorf("the user is not told they were signed out: %q", r.Text)
	}
	if n := env.Graph.SessionsRevoked("adele@contoso.com"); n != 2 {
		t.Errorf("sessions revoked %d times, want 2 (the reset's and the alarm's)", n)
	}
	mustFind(t, d.Click(t, "adele@contoso.com", chat.ActionWasntMe, id), "reply", "already")
	if n := env.Graph.SessionsRevoked("adele@contoso.com"); n != 2 {
		t.Errorf("a second press revoked again: %d", n)
	}
	alerts := records(t, env, func(r bot.AuditRecord) bool { return r.Event == bot.EventAlert && r.Outcome == "wasnt_me" })
	if len(alerts) != 1 || alerts[0].TargetUPN != "adele@contoso.com" || alerts[0].RequestID != id {
		t.Errorf("the trail's alerts: %+v", alerts)
	}
	notices := records(t, env, func(r bot.AuditRecord) bool { return r.Event == bot.EventNotice })
	if len(notices) != 1 || notices[0].Outcome != bot.NoticeSent {
		t.Errorf("the trail's notices: %+v", notices)
	}
}

var numberRe = regexp.MustCompile(`this number: (\d\d)`)

// askNumbers asks for a reset verified in chat and returns the request, the number the agent reads
// and the numbers the user got.
func askNumbers(t *testing.T, env *Env, d Driver) (id, right string, seen []Seen) {
	t.Helper()
	seen = d.Say(t, agent, "/resetpw adele@contoso.com --verify chat --reason INC7")
	m := numberRe.FindStringSubmatch(mustFind(t, seen, "reply", "Read Adele Vance this number").Text)
	if m == nil {
		t.Fatalf("no number for the agent in %s", dump(seen))
	}
	numbers := mustFind(t, seen, "dm:adele@contoso.com", "on the phone with the helpdesk")
	if !strings.Contains(numbers.Text, m[1]) {
		t.Fatalf("the user's numbers %q do not include %s", numbers.Text, m[1])
	}
	noWrites(t, env)
	return RequestID(t, numbers.Text), m[1], seen
}

// chatVerification: the right number, tapped by the user, lets the reset go ahead; taps by others
// do not count.
func chatVerification(t *testing.T, env *Env, d Driver) {
	id, right, _ := askNumbers(t, env, d)
	mustFind(t, d.Click(t, "megan@contoso.com", chat.ActionPick, id+":"+right), "reply", "not sent to you")
	noWrites(t, env)
	seen := d.Click(t, "adele@contoso.com", chat.ActionPick, id+":"+right)
	resets := env.Graph.Resets("adele@contoso.com")
	if len(resets) != 1 {
		t.Fatalf("Graph set %d passwords after the right number, want 1; saw%s", len(resets), dump(seen))
	}
	mustFind(t, seen, "dm:helpdesk@contoso.com", resets[0].Password)
	PasswordOnlyInDM(t, env, resets[0].Password, seen)
	// A second tap after success does nothing.
	d.Click(t, "adele@contoso.com", chat.ActionPick, id+":"+right)
	if n := len(env.Graph.Resets("adele@contoso.com")); n != 1 {
		t.Fatalf("a second tap reset again: %d", n)
	}
	resetRecs := records(t, env, func(r bot.AuditRecord) bool { return r.Event == bot.EventReset && r.RequestID == id })
	if len(resetRecs) != 1 || resetRecs[0].Assurance != bot.AssuranceChat {
		t.Errorf("the reset's record: %+v", resetRecs)
	}
}

// chatVerificationWrong: a wrong number ends the request; nothing is reset and the agent is told.
func chatVerificationWrong(t *testing.T, env *Env, d Driver) {
	id, right, _ := askNumbers(t, env, d)
	wrong := "10"
	if right == wrong {
		wrong = "11"
	}
	seen := d.Click(t, "adele@contoso.com", chat.ActionPick, id+":"+wrong)
	mustFind(t, seen, "dm:helpdesk@contoso.com", "not verified")
	d.Click(t, "adele@contoso.com", chat.ActionPick, id+":"+right)
	noWrites(t, env)
	failed := records(t, env, func(r bot.AuditRecord) bool { return r.Event == bot.EventVerify && r.Outcome == "failed" })
	if len(failed) != 1 {
		t.Errorf("the failed verification is not recorded once: %+v", failed)
	}
}

// chatVerificationTimesOut: nobody taps in time; the request expires and a late tap does nothing.
func chatVerificationTimesOut(t *testing.T, env *Env, d Driver) {
	id, right, _ := askNumbers(t, env, d)
	env.Clock.Advance(6 * time.Minute)
	seen := d.Tick(t)
	mustFind(t, seen, "dm:helpdesk@contoso.com", "The caller was not verified in time")
	d.Click(t, "adele@contoso.com", chat.ActionPick, id+":"+right)
	noWrites(t, env)
	mustFind(t, d.Say(t, agent, "status "+id), "reply", "expired")
}

// managerVerification: the manager's card; only the manager's answer counts; yes lets the reset go
// ahead, and no in another request stops it and alerts security.
func managerVerification(t *testing.T, env *Env, d Driver) {
	seen := d.Say(t, agent, "/resetpw adele@contoso.com --verify manager")
	mustFind(t, seen, "reply", "I asked Megan Bowen")
	card := mustFind(t, seen, "dm:megan@contoso.com", "Is this Adele Vance asking?")
	id := RequestID(t, card.Text)
	mustFind(t, d.Click(t, "sam@contoso.com", chat.ActionConfirm, id), "reply", "put to someone else")
	noWrites(t, env)
	seen = d.Click(t, "megan@contoso.com", chat.ActionConfirm, id)
	resets := env.Graph.Resets("adele@contoso.com")
	if len(resets) != 1 {
		t.Fatalf("Graph set %d passwords after the manager confirmed, want 1; saw%s", len(resets), dump(seen))
	}
	mustFind(t, seen, "dm:helpdesk@contoso.com", resets[0].Password)

	card = mustFind(t, d.Say(t, agent, "/resetpw adele@contoso.com --verify manager"), "dm:megan@contoso.com", "Is this Adele Vance asking?")
	seen = d.Click(t, "megan@contoso.com", chat.ActionDispute, RequestID(t, card.Text))
	mustFind(t, seen, "dm:helpdesk@contoso.com", "not verified")
	if n := len(env.Graph.Resets("adele@contoso.com")); n != 1 {
		t.Errorf("a disputed request reset: %d", n)
	}
	// A user with no manager can't be verified that way: the agent is told, and may choose again.
	mustFind(t, d.Say(t, agent, "/resetpw lynne@contoso.com --verify manager"), "reply", "has no manager in Entra")
}

// requireBlocksUnverified: under require, no reset happens without the bot's own verification.
func requireBlocksUnverified(t *testing.T, env *Env, d Driver) {
	choice := mustFind(t, d.Say(t, agent, "/resetpw adele@contoso.com"), "reply", "Verify the caller before I reset Adele Vance")
	if strings.Contains(choice.Text, "Skip") {
		t.Errorf("require offers a skip: %q", choice.Text)
	}
	mustFind(t, d.Say(t, agent, `/resetpw adele@contoso.com --verified "called back on the HR number"`), "reply", "your own check is not enough")
	mustFind(t, d.Say(t, agent, "/resetpw adele@contoso.com --no-verify"), "reply", "can't be skipped")
	noWrites(t, env)
}

// agentStated: the agent's own verification is recorded as theirs, not the bot's, and shown on the
// reset's record.
func agentStated(t *testing.T, env *Env, d Driver) {
	mustFind(t, d.Say(t, agent, `/resetpw adele@contoso.com --verified "called back on the HR number"`), "reply", "Reset Adele Vance")
	recs := records(t, env, func(r bot.AuditRecord) bool { return r.Event == bot.EventReset })
	if len(recs) != 1 || recs[0].Assurance != bot.AssuranceAgent {
		t.Fatalf("the reset's record: %+v", recs)
	}
	stated := records(t, env, func(r bot.AuditRecord) bool { return r.Event == bot.EventVerify && r.Outcome == "agent" })
	if len(stated) != 1 || stated[0].Detail != "called back on the HR number" {
		t.Errorf("the agent's words are not recorded: %+v", stated)
	}
}

// temporaryAccessPass: --tap makes one pass, changes no password, and shows the pass only in the
// agent's DM; a Helpdesk Administrator, who manages no methods, may not.
func temporaryAccessPass(t *testing.T, env *Env, d Driver) {
	mustFind(t, d.Say(t, agent, "/resetpw adele@contoso.com --tap"), "reply", "not manage authentication methods")
	seen := d.Say(t, "authadmin@contoso.com", "/resetpw adele@contoso.com --tap --reason INC9")
	passes := env.Graph.AccessPasses("adele@contoso.com")
	if len(passes) != 1 {
		t.Fatalf("Graph made %d passes, want 1; saw%s", len(passes), dump(seen))
	}
	if n := len(env.Graph.Resets("adele@contoso.com")); n != 0 {
		t.Errorf("a pass changed the password %d times", n)
	}
	if n := env.Graph.SessionsRevoked("adele@contoso.com"); n != 0 {
		t.Errorf("a pass signed the user out %d times", n)
	}
	mustFind(t, seen, "dm:authadmin@contoso.com", passes[0].Code)
	mustFind(t, seen, "dm:adele@contoso.com", "Temporary Access Pass was made for you")
	PasswordOnlyInDM(t, env, passes[0].Code, seen)
	if !passes[0].UsableOnce || passes[0].LifetimeMinutes != 60 {
		t.Errorf("the pass asked for: %+v", passes[0])
	}
}

// accessPassPolicyOff: with passes turned off in the tenant the agent is told so, and how to turn
// them on; nothing else changes.
func accessPassPolicyOff(t *testing.T, env *Env, d Driver) {
	env.Graph.SetAccessPassEnabled(false)
	seen := d.Say(t, "authadmin@contoso.com", "/resetpw adele@contoso.com --tap")
	r := mustFind(t, seen, "reply", "Temporary Access Pass is turned off in this tenant")
	if !strings.Contains(r.Text, "Authentication methods") {
		t.Errorf("the refusal does not say how to turn it on: %q", r.Text)
	}
	if len(env.Graph.AccessPasses("adele@contoso.com")) != 0 || len(env.Graph.Resets("adele@contoso.com")) != 0 {
		t.Error("something was made")
	}
	if find(seen, "dm:adele@contoso.com", "") != nil {
		t.Error("the user was told of a pass that was not made")
	}
}

// methodsForAgents: an agent sees the user's methods, masked, and which checks can work; someone
// without a reset right sees nothing of them.
func methodsForAgents(t *testing.T, env *Env, d Driver) {
	r := mustFind(t, d.Say(t, agent, "/resetpw methods adele@contoso.com"), "reply", "Adele Vance's sign-in methods")
	for _, want := range []string{"Microsoft Authenticator", "Phone", "34", "Megan Bowen", "--verify chat"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("methods do not show %q: %q", want, r.Text)
		}
	}
	for _, never := range []string{"4255550134", "adele.vance@outlook.com", "Adele's iPhone"} {
		if strings.Contains(r.Text, never) {
			t.Errorf("methods show %q in full: %q", never, r.Text)
		}
	}
	r = mustFind(t, d.Say(t, "lynne@contoso.com", "/resetpw methods adele@contoso.com"), "reply", "")
	if strings.Contains(r.Text, "Authenticator") {
		t.Errorf("someone with no reset right saw methods: %q", r.Text)
	}
}

// records are the trail's records that match.
func records(t *testing.T, env *Env, match func(bot.AuditRecord) bool) []bot.AuditRecord {
	t.Helper()
	var out []bot.AuditRecord
	if err := env.Store.AuditSince(context.Background(), 0, func(r bot.AuditRecord) error {
		if match(r) {
			out = append(out, r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}
