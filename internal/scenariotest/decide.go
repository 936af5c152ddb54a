package scenariotest

import (
	"context"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
)

// Deciding an approval: a deny is worded as a deny, the requester may withdraw their own request,
// and a deny's reason reaches the requester and the trail.
var decideScenarios = []scenario{
	{name: "RequesterWithdraws", run: requesterWithdraws},
	{name: "DenyWithReason", run: denyWithReason},
	{name: "DenyWithoutRights", run: denyWithoutRights},
}

func requesterWithdraws(t *testing.T, env *Env, d Driver) {
	// Clicked on the card.
	card := mustFind(t, d.Say(t, "pat@contoso.com", "/resetpw ceo@contoso.com"), "approvals", "")
	id := RequestID(t, card.Text)
	seen := d.Click(t, "pat@contoso.com", chat.ActionDeny, id)
	// Teams answers a click with the card it changed, the others with a reply as well.
	decidedCard(t, mustFind(t, seen, "card", "Withdrawn by Pat Admin"))
	for _, s := range seen {
		if strings.Contains(s.Text, "approve your own") {
			t.Errorf("the withdrawal speaks of approving: %q", s.Text)
		}
	}
	mustFind(t, d.Click(t, "sam@contoso.com", chat.ActionApprove, id), "reply", "already withdrawn by Pat Admin")
	wantRecord(t, env, id, "withdrawn", "")

	// Typed, with a reason, and "--" turned into an em dash and smart quotes by the keyboard.
	card = mustFind(t, d.Say(t, "pat@contoso.com", "/resetpw ceo@contoso.com"), "approvals", "")
	id = RequestID(t, card.Text)
	seen = d.Say(t, "pat@contoso.com", `deny `+id+` —reason “changed my mind”`)
	mustFind(t, seen, "reply", "withdrew")
	mustFind(t, seen, "card", "Withdrawn by Pat Admin")
	wantRecord(t, env, id, "withdrawn", "changed my mind")
	noWrites(t, env)
}

func denyWithReason(t *testing.T, env *Env, d Driver) {
	card := mustFind(t, d.Say(t, "pat@contoso.com", "/resetpw ceo@contoso.com"), "approvals", "")
	id := RequestID(t, card.Text)
	const why = "caller failed the call-back check"
	seen := d.Deny(t, "sam@contoso.com", id, why+"\n\u202eforged line")
	told := mustFind(t, seen, "dm:pat@contoso.com", "Sam Security denied your request")
	if !strings.Contains(told.Text, why) {
		t.Errorf("the requester is not told the reason: %q", told.Text)
	}
	if strings.Contains(told.Text, "\u202e") {
		t.Errorf("the reason reached the requester with a direction override: %q", told.Text)
	}
	mustFind(t, seen, "card", "Denied by Sam Security")
	wantRecord(t, env, id, "denied", why+" forged line")

	// A reason longer than a typed one may be is refused, and nothing is decided.
	card = mustFind(t, d.Say(t, "pat@contoso.com", "/resetpw ceo@contoso.com"), "approvals", "")
	id = RequestID(t, card.Text)
	mustFind(t, d.Deny(t, "sam@contoso.com", id, strings.Repeat("x", bot.MaxReasonLength+1)), "reply", "keep it under")
	mustFind(t, d.Say(t, "pat@contoso.com", "status "+id), "reply", "waiting for approval")
	noWrites(t, env)
}

func denyWithoutRights(t *testing.T, env *Env, d Driver) {
	card := mustFind(t, d.Say(t, "pat@contoso.com", "/resetpw ceo@contoso.com"), "approvals", "")
	id := RequestID(t, card.Text)
	for _, who := range []string{"helpdesk@contoso.com", "ceo@contoso.com"} {
		r := mustFind(t, d.Deny(t, who, id, "no"), "reply", "can't deny")
		if strings.Contains(r.Text, "approve") {
			t.Errorf("%s's refused deny speaks of approving: %q", who, r.Text)
		}
	}
	mustFind(t, d.Say(t, "pat@contoso.com", "status "+id), "reply", "waiting for approval")
	noWrites(t, env)
}

// wantRecord fails unless the trail holds an approval record of the request with this outcome and
// a detail that contains detail.
func wantRecord(t *testing.T, env *Env, id, outcome, detail string) {
	t.Helper()
	found := false
	err := env.Store.AuditSince(context.Background(), 0, func(r bot.AuditRecord) error {
		if r.RequestID == id && r.Event == bot.EventApproval && r.Outcome == outcome && strings.Contains(r.Detail, detail) {
			found = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Errorf("no %q approval record of %s with %q in the trail", outcome, id, detail)
	}
}

// decidedCard fails unless a card updated after its decision reads as a record: no deadline left
// on it, and a short title (what happened, who and when are rows of their own).
func decidedCard(t *testing.T, card Seen) {
	t.Helper()
	if strings.Contains(card.Text, "Expires") {
		t.Errorf("a decided card still shows when it expires: %q", card.Text)
	}
	title, _, _ := strings.Cut(card.Text, "\n")
	if strings.Contains(title, "·") || strings.Contains(title, " by ") || strings.Contains(title, "UTC") {
		t.Errorf("the decided card's title packs the decision into one line: %q", title)
	}
	for _, row := range []string{"Decision", " at"} {
		if !strings.Contains(card.Text, row) {
			t.Errorf("the decided card has no %q row: %q", strings.TrimSpace(row), card.Text)
		}
	}
}
