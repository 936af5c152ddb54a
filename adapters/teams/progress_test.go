package teams

import (
	"strings"
	"testing"

	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/internal/scenariotest"
)

// posted is what the bot posted in a conversation (new messages) and what it changed in place.
func posted(calls []connCall, conv string) (posts, updates []connCall) {
	for _, c := range calls {
		switch {
		case c.Conv != conv:
		case c.Method == "POST":
			posts = append(posts, c)
		case c.Method == "PUT":
			updates = append(updates, c)
		}
	}
	return posts, updates
}

// A reset posts "⏳ Resetting …" where it was asked and turns that very message into the outcome,
// instead of leaving it "in progress" above a second message; the password is the one other
// message the agent gets.
func TestTheResettingMessageBecomesTheOutcome(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	d := newDriver(t, env).(*driver)
	agent := d.persona(t, "helpdesk@contoso.com")
	mark := d.h.conn.Count()
	d.Say(t, "helpdesk@contoso.com", "resetpw adele@contoso.com")
	calls := d.h.conn.since(mark)

	posts, updates := posted(calls, "a:chat-"+agent.aad)
	if len(posts) != 1 || !strings.Contains(CardText(*posts[0].Card), "⏳ Resetting Adele Vance") {
		t.Fatalf("the agent's chat got %d new messages, want the one ⏳ Resetting: %+v", len(posts), posts)
	}
	if len(updates) != 1 || updates[0].ActivityID != posts[0].ActivityID {
		t.Fatalf("the ⏳ message was updated %d times, want once in place: %+v", len(updates), updates)
	}
	if got := CardText(*updates[0].Card); !strings.HasPrefix(got, "✅ Reset Adele Vance") {
		t.Errorf("the ⏳ message became %q, want the outcome", got)
	}
	dmPosts, _ := posted(calls, "a:dm-29:"+agent.aad)
	if len(dmPosts) != 1 || !strings.Contains(CardText(*dmPosts[0].Card), "Temporary password for adele@contoso.com") {
		t.Errorf("the agent got %d password messages, want 1: %+v", len(dmPosts), dmPosts)
	}
}

// A list's run posts one progress message, updated in place into the summary, and one results
// message per hundred users: nothing per target, so twenty users are not sixty messages.
func TestAListPostsNothingPerTarget(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	d := newDriver(t, env).(*driver)
	agent := d.persona(t, "helpdesk@contoso.com")
	names := []string{"adele@contoso.com", "lynne@contoso.com", "nestor@contoso.com"}
	preview := d.Say(t, "helpdesk@contoso.com", "resetpw "+strings.Join(names, " "))
	id := scenariotest.ListID(t, preview[0].Text)
	mark := d.h.conn.Count()
	d.Click(t, "helpdesk@contoso.com", chat.ActionRun, id)
	calls := d.h.conn.since(mark)

	if posts, _ := posted(calls, "a:chat-"+agent.aad); len(posts) != 0 {
		t.Errorf("the run posted %d messages in the chat the list was sent in: %+v", len(posts), posts)
	}
	posts, updates := posted(calls, "a:dm-29:"+agent.aad)
	if len(posts) != 2 {
		t.Fatalf("the run of %d users posted %d messages, want 2 (progress, results): %+v", len(names), len(posts), posts)
	}
	results := CardText(*posts[1].Card)
	for _, upn := range names {
		if !strings.Contains(results, upn) {
			t.Errorf("the one results message does not hold %s: %q", upn, results)
		}
	}
	if len(updates) == 0 || updates[len(updates)-1].ActivityID != posts[0].ActivityID ||
		!strings.Contains(CardText(*updates[len(updates)-1].Card), "3 reset, 0 failed") {
		t.Errorf("the progress message did not become the summary: %+v", updates)
	}
}
