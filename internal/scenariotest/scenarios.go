package scenariotest

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
)

// Seen is one message as a person would see it, flattened to its visible text.
type Seen struct {
	// Where it appeared: "reply" (only the sender saw it), "dm:<upn>", "approvals" (a new card),
	// "card" (a card updated in place), "withdrawn:<upn>" (a password DM deleted or replaced).
	Where string
	Text  string
}

// Driver speaks one platform's protocol to a resetbot built on an Env.
type Driver interface {
	// Say sends a command as the persona (a UPN) and returns everything shown because of it, once
	// the bot has finished.
	Say(t *testing.T, as, text string) []Seen
	// SendFile sends a file (its name and bytes) with the text as the persona, the way the platform
	// lets a person send the bot a list: an upload in the bot's direct messages with "resetpw bulk",
	// an attachment in the 1:1 chat, a file named at the terminal. It returns what was shown
	// because of it, once the bot has finished.
	SendFile(t *testing.T, as, name string, data []byte, text string) []Seen
	// Click presses a button as the persona: Approve or Deny on an approval card, or Run or Cancel
	// on the preview of a list the persona sent.
	Click(t *testing.T, as string, action chat.Action, requestID string) []Seen
	// Deny presses Deny on an approval card as the persona, with the reason typed in the card's
	// box; the terminal, which has no box, types `deny R-… --reason …`.
	Deny(t *testing.T, as, requestID, reason string) []Seen
	// Tick runs the timed jobs (approval expiry, DM withdrawal) and returns what they showed.
	Tick(t *testing.T) []Seen
}

// scenario is one story told through every adapter. cfg, when set, changes the configuration the
// scenario's resetbot starts with (a lower limit, a threshold).
type scenario struct {
	name string
	cfg  func(*bot.Config)
	run  func(t *testing.T, env *Env, d Driver)
}

// Run runs every scenario, each on a fresh Env, through the driver the adapter's test builds.
func Run(t *testing.T, newDriver func(t *testing.T, env *Env) Driver) {
	scenarios := []scenario{
		{name: "AllowedReset", run: allowedReset},
		{name: "DeniedReset", run: deniedReset},
		{name: "SyncedUserRefused", run: syncedRefused},
		{name: "BadTargets", run: badTargets},
		{name: "ApprovalFlow", run: approvalFlow},
		{name: "ApprovalDenied", run: approvalDenied},
		{name: "ApprovalExpires", run: approvalExpires},
		{name: "ThrottledResetCompletesOnce", run: throttledReset},
		{name: "Whoami", run: whoami},
	}
	for _, sc := range append(append(append(append(scenarios, listScenarios...), callerScenarios...), decideScenarios...), limitScenarios...) {
		t.Run(sc.name, func(t *testing.T) {
			env := NewEnv(t, sc.cfg)
			sc.run(t, env, newDriver(t, env))
		})
	}
}

func allowedReset(t *testing.T, env *Env, d Driver) {
	seen := d.Say(t, "helpdesk@contoso.com", `/resetpw adele@contoso.com --reason "locked out after phone change, INC0042"`)
	reply := mustFind(t, seen, "reply", "Reset Adele Vance")
	if !strings.Contains(reply.Text, "in your DMs") && !strings.Contains(reply.Text, "in this chat") {
		t.Errorf("the reply does not say where the password went: %q", reply.Text)
	}
	resets := env.Graph.Resets("adele@contoso.com")
	if len(resets) != 1 {
		t.Fatalf("Graph set %d passwords for adele, want 1", len(resets))
	}
	pw := resets[0]
	if !pw.ForceChange {
		t.Error("Graph was not told to force a change at next sign-in")
	}
	if pw.Via != "patch" {
		t.Errorf("reset via %q, want a PATCH of passwordProfile", pw.Via)
	}
	checkCompliant(t, pw.Password)
	if n := env.Graph.SessionsRevoked("adele@contoso.com"); n != 1 {
		t.Errorf("sessions revoked %d times, want 1", n)
	}
	dm := mustFind(t, seen, "dm:helpdesk@contoso.com", pw.Password)
	_ = dm
	PasswordOnlyInDM(t, env, pw.Password, seen)

	// The DM is withdrawn once its time is up, and not before.
	if w := find(d.Tick(t), "withdrawn:helpdesk@contoso.com", ""); w != nil {
		t.Fatal("the password DM was withdrawn immediately")
	}
	env.Clock.Advance(16 * time.Minute)
	mustFind(t, d.Tick(t), "withdrawn:helpdesk@contoso.com", "")
	if again := find(d.Tick(t), "withdrawn:", ""); again != nil {
		t.Error("the DM was withdrawn twice")
	}
}

func deniedReset(t *testing.T, env *Env, d Driver) {
	seen := d.Say(t, "helpdesk@contoso.com", "/resetpw megan@contoso.com")
	r := mustFind(t, seen, "reply", "Megan Bowen")
	for _, want := range []string{"Global Administrator", "Helpdesk Administrator"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("the refusal does not name %q: %q", want, r.Text)
		}
	}
	noWrites(t, env)
	if find(seen, "dm:", "") != nil || find(seen, "approvals", "") != nil {
		t.Errorf("a refusal sent more than a reply: %+v", seen)
	}
	// Nobody resets themselves, whatever their roles.
	r = mustFind(t, d.Say(t, "megan@contoso.com", "/resetpw megan@contoso.com"), "reply", "your own password")
	if !strings.Contains(r.Text, "aka.ms/sspr") {
		t.Errorf("self-reset refusal does not point to self-service: %q", r.Text)
	}
	mustFind(t, d.Say(t, "megan@contoso.com", "/resetpw breakglass@contoso.com"), "reply", "")
	noWrites(t, env)
}

func syncedRefused(t *testing.T, env *Env, d Driver) {
	r := mustFind(t, d.Say(t, "helpdesk@contoso.com", "/resetpw alex@contoso.com"), "reply", "Alex Wilber")
	for _, want := range []string{"on-premises", "writeback"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("the synced refusal does not mention %q: %q", want, r.Text)
		}
	}
	noWrites(t, env)
}

func badTargets(t *testing.T, env *Env, d Driver) {
	for _, c := range []struct{ cmd, says string }{
		{"/resetpw nobody@contoso.com", "no user nobody@contoso.com"},
		{"/resetpw adele", "not a user name"},
		{"/resetpw johanna@contoso.com", "disabled"},
		{"/resetpw guest_fabrikam.com#EXT#@contoso.com", "home organisation"},
	} {
		r := mustFind(t, d.Say(t, "helpdesk@contoso.com", c.cmd), "reply", "")
		if !strings.Contains(strings.ToLower(r.Text), strings.ToLower(c.says)) {
			t.Errorf("%s: reply %q does not say %q", c.cmd, r.Text, c.says)
		}
	}
	noWrites(t, env)
}

func approvalFlow(t *testing.T, env *Env, d Driver) {
	seen := d.Say(t, "pat@contoso.com", `/resetpw ceo@contoso.com --reason "lost phone, verified by video call"`)
	mustFind(t, seen, "reply", "second person")
	card := mustFind(t, seen, "approvals", "Approve")
	for _, want := range []string{"Pat Admin", "Ceo Person", "Global Administrator", "lost phone, verified by video call"} {
		if !strings.Contains(card.Text, want) {
			t.Errorf("the approval card does not show %q: %q", want, card.Text)
		}
	}
	id := RequestID(t, card.Text)
	noWrites(t, env)

	mustFind(t, d.Click(t, "pat@contoso.com", chat.ActionApprove, id), "reply", "can't approve your own request")
	mustFind(t, d.Click(t, "ceo@contoso.com", chat.ActionApprove, id), "reply", "")
	mustFind(t, d.Click(t, "helpdesk@contoso.com", chat.ActionApprove, id), "reply", "")
	noWrites(t, env)

	seen = d.Click(t, "sam@contoso.com", chat.ActionApprove, id)
	decidedCard(t, mustFind(t, seen, "card", "Approved by Sam Security"))
	resets := env.Graph.Resets("ceo@contoso.com")
	if len(resets) != 1 {
		t.Fatalf("Graph set %d passwords for ceo, want 1", len(resets))
	}
	mustFind(t, seen, "dm:pat@contoso.com", resets[0].Password)
	PasswordOnlyInDM(t, env, resets[0].Password, seen)

	// A second click, or a typed approve, does nothing.
	mustFind(t, d.Click(t, "sam@contoso.com", chat.ActionApprove, id), "reply", "already")
	mustFind(t, d.Say(t, "megan@contoso.com", "approve "+id), "reply", "already")
	if n := len(env.Graph.Resets("ceo@contoso.com")); n != 1 {
		t.Fatalf("after more clicks Graph set %d passwords, want 1", n)
	}
	mustFind(t, d.Say(t, "pat@contoso.com", "status "+id), "reply", "done")
}

func approvalDenied(t *testing.T, env *Env, d Driver) {
	card := mustFind(t, d.Say(t, "pat@contoso.com", "/resetpw megan@contoso.com"), "approvals", "")
	id := RequestID(t, card.Text)
	seen := d.Click(t, "sam@contoso.com", chat.ActionDeny, id)
	decidedCard(t, mustFind(t, seen, "card", "Denied by Sam Security"))
	mustFind(t, seen, "dm:pat@contoso.com", "denied")
	mustFind(t, d.Click(t, "sam@contoso.com", chat.ActionApprove, id), "reply", "already")
	noWrites(t, env)
}

func approvalExpires(t *testing.T, env *Env, d Driver) {
	card := mustFind(t, d.Say(t, "pat@contoso.com", "/resetpw megan@contoso.com"), "approvals", "")
	id := RequestID(t, card.Text)
	env.Clock.Advance(31 * time.Minute)
	seen := d.Tick(t)
	decidedCard(t, mustFind(t, seen, "card", "Nobody approved it in time"))
	mustFind(t, seen, "dm:pat@contoso.com", "in time")
	mustFind(t, d.Click(t, "sam@contoso.com", chat.ActionApprove, id), "reply", "expired")
	noWrites(t, env)
}

func throttledReset(t *testing.T, env *Env, d Driver) {
	env.Graph.ThrottleNextWrite(1, time.Second)
	seen := d.Say(t, "helpdesk@contoso.com", "/resetpw lynne@contoso.com")
	mustFind(t, seen, "reply", "Reset Lynne Robbins")
	if n := len(env.Graph.Resets("lynne@contoso.com")); n != 1 {
		t.Fatalf("Graph set %d passwords for lynne, want exactly 1", n)
	}
	patches := 0
	for _, r := range env.Graph.Requests() {
		if r.Method == "PATCH" {
			patches++
		}
	}
	if patches != 2 {
		t.Errorf("Graph received %d PATCHes, want 2 (one throttled, one retried)", patches)
	}
}

func whoami(t *testing.T, env *Env, d Driver) {
	r := mustFind(t, d.Say(t, "helpdesk@contoso.com", "/resetpw whoami"), "reply", "Helpdesk Administrator")
	if !strings.Contains(r.Text, "Helen Desk") {
		t.Errorf("whoami does not name the person: %q", r.Text)
	}
	mustFind(t, d.Say(t, "helpdesk@contoso.com", "/resetpw help"), "reply", "whoami")

	// Someone who may reset nobody reads that, and whom to ask, and none of the rules that do not
	// apply to them.
	r = mustFind(t, d.Say(t, "adele@contoso.com", "/resetpw whoami"), "reply", "Adele Vance")
	for _, want := range []string{"reset nobody", "Helpdesk Administrator or Password Administrator", "aka.ms/sspr", "ask your helpdesk"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("whoami for a person with no role does not say %q: %q", want, r.Text)
		}
	}
	for _, never := range []string{"Never through resetbot", "second person", "guests", "administrative unit"} {
		if strings.Contains(r.Text, never) {
			t.Errorf("whoami for a person with no role speaks of %q: %q", never, r.Text)
		}
	}

	// An administrative unit is named as the directory names it, in whoami and in a refusal.
	for _, said := range []Seen{
		mustFind(t, d.Say(t, "parishelp@contoso.com", "/resetpw whoami"), "reply", "Helpdesk Administrator"),
		mustFind(t, d.Say(t, "parishelp@contoso.com", "/resetpw adele@contoso.com"), "reply", "Adele Vance"),
	} {
		if !strings.Contains(said.Text, "Paris office") || strings.Contains(said.Text, "30000000-") {
			t.Errorf("the administrative unit is not named by its display name: %q", said.Text)
		}
	}
	noWrites(t, env)
}

// PasswordOnlyInDM fails if the password appears anywhere but a DM: other messages, the service's
// log, the audit trail, or the bytes of the database files.
func PasswordOnlyInDM(t *testing.T, env *Env, password string, seen []Seen) {
	t.Helper()
	for _, s := range seen {
		if strings.Contains(s.Text, password) && !strings.HasPrefix(s.Where, "dm:") {
			t.Errorf("the password appeared in %s: %q", s.Where, s.Text)
		}
	}
	if strings.Contains(env.Logs(), password) {
		t.Error("the password appeared in the log")
	}
	err := env.Store.AuditSince(context.Background(), 0, func(r bot.AuditRecord) error {
		if strings.Contains(r.Detail+r.Outcome+r.TargetUPN+r.ActorUPN, password) {
			t.Errorf("the password appeared in audit record %d", r.Seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		b, err := os.ReadFile(env.StorePath + suffix)
		if err != nil {
			continue
		}
		if strings.Contains(string(b), password) {
			t.Errorf("the password is in the database file %s", "resetbot.db"+suffix)
		}
	}
}

func noWrites(t *testing.T, env *Env) {
	t.Helper()
	for _, r := range env.Graph.Writes() {
		t.Errorf("Graph received a write: %s %s", r.Method, r.Path)
	}
}

var requestIDRe = regexp.MustCompile(`R-[0-9A-Z]{6}`)

// RequestID finds the request ID a message shows.
func RequestID(t *testing.T, text string) string {
	t.Helper()
	return idIn(t, requestIDRe, "request", text)
}

func idIn(t *testing.T, re *regexp.Regexp, kind, text string) string {
	t.Helper()
	id := re.FindString(text)
	if id == "" {
		t.Fatalf("no %s ID in %q", kind, text)
	}
	return id
}

func find(seen []Seen, wherePrefix, contains string) *Seen {
	for i := range seen {
		if strings.HasPrefix(seen[i].Where, wherePrefix) && strings.Contains(seen[i].Text, contains) {
			return &seen[i]
		}
	}
	return nil
}

func mustFind(t *testing.T, seen []Seen, wherePrefix, contains string) Seen {
	t.Helper()
	if s := find(seen, wherePrefix, contains); s != nil {
		return *s
	}
	t.Fatalf("nothing in %q containing %q; saw:%s", wherePrefix, contains, dump(seen))
	return Seen{}
}

func checkCompliant(t *testing.T, pw string) {
	t.Helper()
	if len(pw) < 16 {
		t.Errorf("temporary password has %d characters, want at least 16", len(pw))
	}
	var lower, upper, digit, symbol bool
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			symbol = true
		}
	}
	if !lower || !upper || !digit || !symbol {
		t.Errorf("temporary password lacks a character class (lower %v upper %v digit %v symbol %v)", lower, upper, digit, symbol)
	}
}
