package signin_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

// linkedEnv treats the terminal as a platform that does not vouch for Entra identities, as Slack is:
// a person is trusted only once they linked their chat account by signing in.
func linkedEnv(t *testing.T) *env {
	return newEnv(t, envOpts{config: func(c *bot.Config) { c.LinkedIdentity = []chat.Platform{chat.PlatformShell} }})
}

// An unlinked person is sent a sign-in by DM and nothing else happens; once they signed in as the
// Entra account their chat email names, their commands run; the trail records both.
func TestUnlinkedPersonSignsInOnceThenActs(t *testing.T) {
	e := linkedEnv(t)
	replies, dms := e.say(t, "helpdesk@contoso.com", "/resetpw adele@contoso.com")
	if !strings.Contains(text(replies), "link your chat account to Entra") || !strings.Contains(text(dms), "Sign in") {
		t.Fatalf("replies %s\ndms %s", text(replies), text(dms))
	}
	if w := e.graph.Writes(); len(w) != 0 {
		t.Fatalf("an unlinked person's command wrote to Graph: %+v", w)
	}
	link := signInLink(t, text(dms))
	e.auth.SignInAs("helpdesk@contoso.com")
	if status, body, _ := e.browse(t, link); status != http.StatusOK || !strings.Contains(body, "Signed in as helpdesk@contoso.com") {
		t.Fatalf("callback: %d %s", status, body)
	}
	replies, _ = e.say(t, "helpdesk@contoso.com", "/resetpw adele@contoso.com")
	if !strings.Contains(text(replies), "✅ Reset Adele Vance") {
		t.Fatalf("after the link: %s", text(replies))
	}
	if n := len(e.graph.Resets("adele@contoso.com")); n != 1 {
		t.Errorf("%d resets", n)
	}
	trail := e.trail(t)
	for _, want := range []string{"refused=not_linked", "signin=linked"} {
		if !strings.Contains(trail, want) {
			t.Errorf("the trail has no %s: %s", want, trail)
		}
	}
	e.secretsNowhere(t)
}

// Someone whose chat email names an admin cannot become that admin: signing in as themselves links
// nothing, and the admin's account is never acted for.
func TestLinkNeedsTheSignInOfTheAccountTheEmailNames(t *testing.T) {
	e := linkedEnv(t)
	_, dms := e.say(t, "megan@contoso.com", "/resetpw adele@contoso.com") // a chat account claiming megan's email
	link := signInLink(t, text(dms))
	e.auth.SignInAs("adele@contoso.com") // who is really at the keyboard
	if _, body, _ := e.browse(t, link); !strings.Contains(body, "Nothing was kept") {
		t.Fatalf("a sign-in as someone else was accepted: %s", body)
	}
	replies, _ := e.say(t, "megan@contoso.com", "/resetpw adele@contoso.com")
	if !strings.Contains(text(replies), "link your chat account") {
		t.Errorf("after a sign-in as someone else: %s", text(replies))
	}
	if w := e.graph.Writes(); len(w) != 0 {
		t.Errorf("Graph was written to: %+v", w)
	}
}

// A link is renewed after its lifetime, and dropped when the Entra account is disabled.
func TestLinkLifetimeAndDisabledAccounts(t *testing.T) {
	e := linkedEnv(t)
	e.svc.Link(t.Context(), actor("helpdesk@contoso.com"), graphtest.HelpdeskID, "helpdesk@contoso.com")
	if replies, _ := e.say(t, "helpdesk@contoso.com", "/resetpw whoami"); !strings.Contains(text(replies), "Helen Desk") {
		t.Fatalf("a linked person: %s", text(replies))
	}
	e.clock.Advance(91 * 24 * time.Hour)
	if replies, _ := e.say(t, "helpdesk@contoso.com", "/resetpw whoami"); !strings.Contains(text(replies), "link your chat account") {
		t.Errorf("a link past its lifetime still counts: %s", text(replies))
	}
	e.svc.Link(t.Context(), actor("pat@contoso.com"), graphtest.PatID, "pat@contoso.com")
	pat, _ := e.graph.User("pat@contoso.com")
	pat.AccountEnabled = false
	e.graph.AddUser(pat)
	e.say(t, "pat@contoso.com", "/resetpw whoami")
	if _, ok, _ := e.store.GetLink(t.Context(), actor("pat@contoso.com").Key()); ok {
		t.Error("a disabled person's link was kept")
	}
}

func signInLink(t *testing.T, dm string) string {
	t.Helper()
	for _, w := range strings.Fields(dm) {
		if strings.HasPrefix(w, "https://") {
			return w
		}
	}
	t.Fatalf("no sign-in link in %q", dm)
	return ""
}

// trail is the audit trail as "event=outcome" words.
func (e *env) trail(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	err := e.store.AuditSince(t.Context(), 0, func(r bot.AuditRecord) error {
		b.WriteString(string(r.Event) + "=" + r.Outcome + " ")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
