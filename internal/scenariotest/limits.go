package scenariotest

import (
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
)

// limitScenarios: an agent past their limit is told once per ask, not once per name, and told when
// they may ask again.
var limitScenarios = []scenario{
	{name: "RateLimitSaidOnce", cfg: func(c *bot.Config) { c.RateLimit = 3 }, run: rateLimitSaidOnce},
}

func rateLimitSaidOnce(t *testing.T, env *Env, d Driver) {
	const agent = "helpdesk@contoso.com"
	mustFind(t, d.Say(t, agent, "/resetpw adele@contoso.com"), "reply", "Reset Adele Vance")
	env.Clock.Advance(10 * time.Minute)
	mustFind(t, d.Say(t, agent, "/resetpw lynne@contoso.com"), "reply", "Reset Lynne Robbins")

	// Two more typed at once, with one left: refused once for the list, with when more frees up
	// (the 10:00 reset leaves the hour's count at 11:00).
	preview := previewOf(t, d.Say(t, agent, "/resetpw nestor@contoso.com reader@contoso.com"), agent, "")
	seen := d.Click(t, agent, chat.ActionRun, ListID(t, preview.Text))
	said := mustFindFor(t, seen, agent, "limit")
	if !strings.Contains(said.Text, "11:00") {
		t.Errorf("the refusal does not say when the limit frees up: %q", said.Text)
	}
	if n := strings.Count(allText(seen), "the limit is"); n != 1 {
		t.Errorf("the limit was explained %d times, want once:%s", n, dump(seen))
	}

	// The last one left (an approval asked for counts too), then one more: refused once, with the
	// time.
	mustFind(t, d.Say(t, agent, "/resetpw pwadmin@contoso.com"), "reply", "second person") // asked, so counted
	seen = d.Say(t, agent, "/resetpw reports@contoso.com")
	said = mustFindFor(t, seen, agent, "limit")
	if !strings.Contains(said.Text, "You may ask again at 11:00") {
		t.Errorf("the refusal does not say when the agent may ask again: %q", said.Text)
	}
	if n := strings.Count(allText(seen), "the limit is"); n != 1 {
		t.Errorf("the limit was explained %d times, want once:%s", n, dump(seen))
	}
}

func allText(seen []Seen) string {
	var b strings.Builder
	for _, s := range seen {
		b.WriteString(s.Text + "\n")
	}
	return b.String()
}
