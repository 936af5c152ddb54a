package signin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

// An agent signs in through the local authority, then resets a synced user: the reset goes to
// resetPassword with the agent's own token, the operation is polled to success, and the password
// Graph set is the one DMed.
func TestSyncedResetAfterSignIn(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.signInAs(t, "helpdesk@contoso.com")

	replies, dms := e.say(t, "helpdesk@contoso.com", "/resetpw alex@contoso.com")
	if !strings.Contains(text(replies), "✅ Reset Alex Wilber") || !strings.Contains(text(replies), "written back to on-premises AD") {
		t.Fatalf("replies: %s", text(replies))
	}
	sets := e.graph.Resets("alex@contoso.com")
	if len(sets) != 1 || sets[0].Via != "resetPassword" || sets[0].By != graphtest.HelpdeskID {
		t.Fatalf("Graph set %+v", sets)
	}
	var secret string
	for _, m := range dms {
		secret += m.Secret.Reveal()
	}
	if secret == "" || secret != sets[0].Password {
		t.Errorf("the DM carries %q, Graph set %q", secret, sets[0].Password)
	}
	polls := 0
	for _, r := range e.graph.Requests() {
		if strings.Contains(r.Path, "/authentication/operations/") {
			polls++
		}
		if r.Method != http.MethodGet && strings.Contains(r.Path, "resetPassword") && r.AsUser != graphtest.HelpdeskID {
			t.Errorf("resetPassword sent as %q", r.AsUser)
		}
	}
	if polls != 3 { // notStarted, running, succeeded
		t.Errorf("operation polled %d times, want 3", polls)
	}
	if strings.Contains(text(replies), sets[0].Password) {
		t.Error("the temporary password was in a reply")
	}
	e.secretsNowhere(t, sets[0].Password)
}

func TestSyncedResetFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(e *env)
		want  []string // in what the agent sees
	}{
		{"writeback not enabled in the tenant", func(e *env) { e.graph.SetWriteback(false) },
			[]string{"could not be written back to on-premises AD", "Optional features → Password writeback"}},
		{"writeback agent offline", func(e *env) { e.graph.SetWritebackAgentOnline(false) },
			[]string{"could not be written back to on-premises AD", "agent is running"}},
		{"on-premises policy", func(e *env) { e.graph.RejectOnPremises("alex@contoso.com", graphtest.MsgOnPremisesPolicy) },
			[]string{"on-premises AD refused the new password", "history or minimum age"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			e.signInAs(t, "helpdesk@contoso.com")
			tc.setup(e)
			replies, dms := e.say(t, "helpdesk@contoso.com", "/resetpw alex@contoso.com")
			got := text(replies)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("reply lacks %q:\n%s", w, got)
				}
			}
			if strings.Contains(got, "✅") || len(e.graph.Resets("alex@contoso.com")) != 0 {
				t.Errorf("reported or made a reset: %s", got)
			}
			for _, m := range dms {
				if !m.Secret.IsZero() {
					t.Error("a password was DMed for a failed reset")
				}
			}
			if n := countPath(e, "resetPassword"); n != 1 {
				t.Errorf("resetPassword sent %d times; it must never be repeated", n)
			}
		})
	}
}

// Entra's own check: the bot's rules let the agent reset a synced Groups Administrator, but the
// agent's Helpdesk Administrator role does not cover that role, so Graph refuses and the agent is
// told it was their role.
func TestSyncedResetAgentLacksRole(t *testing.T) {
	tenant := graphtest.Contoso()
	for i := range tenant.Users {
		if tenant.Users[i].ID == graphtest.DiegoID {
			tenant.Users[i].Roles = []bot.RoleAssignment{{TemplateID: bot.RoleGroupsAdmin, Scope: "/"}}
		}
	}
	e := newEnv(t, envOpts{tenant: tenant, policy: func(p *bot.Policy) {
		p.Mode = bot.ModeRules
		p.PrivilegedNeedsApproval = false
		p.Rules = []bot.Rule{{Name: "helpdesk", Agents: []string{graphtest.HelpdeskTeamID}, Targets: bot.Selector{Domains: []string{"contoso.com"}}}}
	}})
	e.signInAs(t, "helpdesk@contoso.com")
	replies, _ := e.say(t, "helpdesk@contoso.com", "/resetpw diego@contoso.com")
	got := text(replies)
	if !strings.Contains(got, "not enough privileges") || !strings.Contains(got, "your own Entra role") {
		t.Fatalf("reply: %s", got)
	}
	if len(e.graph.Resets("diego@contoso.com")) != 0 {
		t.Error("a password was set")
	}
}

func TestSyncedResetNeedsSignIn(t *testing.T) {
	e := newEnv(t, envOpts{})
	replies, _ := e.say(t, "helpdesk@contoso.com", "/resetpw alex@contoso.com")
	got := text(replies)
	if !strings.Contains(got, "/resetpw login") || !strings.Contains(got, "Nothing was reset") || !strings.Contains(got, "a link to open") {
		t.Fatalf("reply: %s", got)
	}
	if w := e.graph.Writes(); len(w) != 0 {
		t.Errorf("Graph received writes: %+v", w)
	}
	// Signed out after signing in: the same.
	e.signInAs(t, "helpdesk@contoso.com")
	if r, _ := e.say(t, "helpdesk@contoso.com", "/resetpw logout"); !strings.Contains(text(r), "Signed out") {
		t.Fatalf("logout: %s", text(r))
	}
	replies, _ = e.say(t, "helpdesk@contoso.com", "/resetpw alex@contoso.com")
	if !strings.Contains(text(replies), "/resetpw login") || len(e.graph.Writes()) != 0 {
		t.Fatalf("after logout: %s", text(replies))
	}
}

func TestWritebackOffRefusesSynced(t *testing.T) {
	e := newEnv(t, envOpts{policy: func(p *bot.Policy) { p.Writeback = false }})
	e.signInAs(t, "helpdesk@contoso.com")
	replies, _ := e.say(t, "helpdesk@contoso.com", "/resetpw alex@contoso.com")
	got := text(replies)
	if !strings.Contains(got, "password writeback is not enabled") || !strings.Contains(got, "Entra Connect → Optional features → Password writeback") {
		t.Fatalf("reply: %s", got)
	}
	if len(e.graph.Writes()) != 0 {
		t.Error("Graph received a write")
	}
}

// Delegated-only mode: the reset of a cloud user, and the session revocation after it, are made
// with the agent's token; the bot's application token only reads.
func TestDelegatedOnlyNeverWritesAsApp(t *testing.T) {
	e := newEnv(t, envOpts{policy: func(p *bot.Policy) { p.AsAgent = true }})
	e.graph.SetAppRole("") // the bot holds no role at all
	e.signInAs(t, "helpdesk@contoso.com")
	replies, _ := e.say(t, "helpdesk@contoso.com", "/resetpw adele@contoso.com")
	if !strings.Contains(text(replies), "✅ Reset Adele Vance") || !strings.Contains(text(replies), "sessions were revoked") {
		t.Fatalf("reply: %s", text(replies))
	}
	writes := e.graph.Writes()
	if len(writes) < 2 {
		t.Fatalf("expected the reset and the revocation, Graph received %+v", writes)
	}
	for _, w := range writes {
		if w.AsUser != graphtest.HelpdeskID {
			t.Errorf("%s %s was sent with the application token", w.Method, w.Path)
		}
	}
	if sets := e.graph.Resets("adele@contoso.com"); len(sets) != 1 || sets[0].Via != "patch" || sets[0].By != graphtest.HelpdeskID {
		t.Errorf("Graph set %+v", sets)
	}
	// Not signed in: refused before any write.
	e2 := newEnv(t, envOpts{policy: func(p *bot.Policy) { p.AsAgent = true }})
	replies, _ = e2.say(t, "helpdesk@contoso.com", "/resetpw adele@contoso.com")
	if !strings.Contains(text(replies), "/resetpw login") || len(e2.graph.Writes()) != 0 {
		t.Fatalf("not signed in: %s", text(replies))
	}
}

// Tokens are refreshed silently: with access tokens that are always near their end, every use
// refreshes through the refresh token and the new cache is kept, still sealed.
func TestSilentRefresh(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.auth.SetTokenLifetimes(time.Minute, time.Hour)
	e.signInAs(t, "helpdesk@contoso.com")
	for _, target := range []string{"alex@contoso.com", "diego@contoso.com"} {
		replies, _ := e.say(t, "helpdesk@contoso.com", "/resetpw "+target)
		if !strings.Contains(text(replies), "✅") {
			t.Fatalf("%s: %s", target, text(replies))
		}
	}
	refreshes := 0
	for _, c := range e.auth.TokenCalls() {
		if c.GrantType == "refresh_token" && c.Error == "" {
			refreshes++
		}
	}
	if refreshes < 2 {
		t.Errorf("%d silent refreshes, want one per reset", refreshes)
	}
	// Revoked at Entra: the next reset asks for a new sign-in, and nothing is reset.
	e.auth.RevokeRefreshTokens("helpdesk@contoso.com")
	before := len(e.graph.Resets("alex@contoso.com"))
	replies, _ := e.say(t, "helpdesk@contoso.com", "/resetpw alex@contoso.com")
	if !strings.Contains(text(replies), "/resetpw login") || len(e.graph.Resets("alex@contoso.com")) != before {
		t.Fatalf("after revocation: %s", text(replies))
	}
	e.secretsNowhere(t)
}

// The session ends with its lifetime.
func TestSessionExpires(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.signInAs(t, "helpdesk@contoso.com")
	e.clock.Advance(13 * time.Hour)
	replies, _ := e.say(t, "helpdesk@contoso.com", "/resetpw alex@contoso.com")
	if !strings.Contains(text(replies), "/resetpw login") || len(e.graph.Writes()) != 0 {
		t.Fatalf("reply: %s", text(replies))
	}
}

func TestDeviceCodeSignIn(t *testing.T) {
	e := newEnv(t, envOpts{deviceFlow: true})
	// Where sign-in is by code, the agent is told of a code, not a link.
	asked, _ := e.say(t, "helpdesk@contoso.com", "/resetpw alex@contoso.com")
	if got := text(asked); !strings.Contains(got, "a code to enter") || strings.Contains(got, "link") {
		t.Errorf("a synced reset before signing in by code: %s", got)
	}
	replies, dms := e.say(t, "helpdesk@contoso.com", "/resetpw login")
	if len(replies) != 1 || len(dms) != 1 || !strings.Contains(dms[0].Text, "Copy the code below") {
		t.Fatalf("replies %+v dms %+v", replies, dms)
	}
	if got := text(replies); !strings.Contains(got, "a code to enter") || strings.Contains(got, "link") {
		t.Errorf("login by code: %s", got)
	}
	code := deviceCode(t, dms[0])
	if strings.Contains(text(replies), code) {
		t.Error("the device code was shown outside the DM")
	}
	if err := e.auth.ApproveDevice(code, "helpdesk@contoso.com"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return strings.Contains(e.inbox.all(), "✅ Signed in to resetbot as helpdesk@contoso.com")
	})
	replies, _ = e.say(t, "helpdesk@contoso.com", "/resetpw alex@contoso.com")
	if !strings.Contains(text(replies), "✅ Reset Alex Wilber") {
		t.Fatalf("reply: %s", text(replies))
	}
	e.secretsNowhere(t, code)
}

// In the demo's sandbox the code is approved at once: the agent reads that they are signed in, once,
// and not "how to sign in" after it.
func TestSandboxSignInReadsInOrder(t *testing.T) {
	e := newEnv(t, envOpts{sandbox: "helpdesk@contoso.com"})
	replies, dms := e.say(t, "helpdesk@contoso.com", "/resetpw login")
	if len(dms) != 1 || !strings.HasPrefix(dms[0].Title, "✅ Signed in to resetbot as helpdesk@contoso.com") {
		t.Fatalf("DMs %+v, want one saying the agent is signed in", dms)
	}
	if len(replies) != 1 || !strings.Contains(replies[0].Title, "You are signed in as helpdesk@contoso.com") {
		t.Fatalf("reply %+v", replies)
	}
	if n := strings.Count(e.inbox.all(), "Signed in to resetbot"); n != 1 {
		t.Errorf("told %d times that the sign-in finished, want 1", n)
	}
	replies, _ = e.say(t, "helpdesk@contoso.com", "/resetpw alex@contoso.com")
	if !strings.Contains(text(replies), "✅ Reset Alex Wilber") {
		t.Fatalf("reply: %s", text(replies))
	}
}

// Signing in at Entra as someone else than the chat identity maps to keeps nothing, in both flows.
func TestIdentityMismatchRefused(t *testing.T) {
	e := newEnv(t, envOpts{})
	link := e.login(t, "helpdesk@contoso.com")
	e.auth.SignInAs("pat@contoso.com") // a Privileged Authentication Administrator's account
	status, body, _ := e.browse(t, link)
	if status != http.StatusForbidden || !strings.Contains(body, "You signed in as pat@contoso.com") ||
		!strings.Contains(body, "belongs to helpdesk@contoso.com") {
		t.Fatalf("callback: %d %s", status, body)
	}
	if _, ok, _ := e.store.GetAgentToken(context.Background(), actor("helpdesk@contoso.com").Key(), e.clock.Now()); ok {
		t.Fatal("a token was kept for the wrong person")
	}
	replies, _ := e.say(t, "helpdesk@contoso.com", "/resetpw alex@contoso.com")
	if !strings.Contains(text(replies), "/resetpw login") || len(e.graph.Writes()) != 0 {
		t.Fatalf("reset after a refused sign-in: %s", text(replies))
	}
	if !strings.Contains(e.logs.String(), "sign-in refused: the Entra account is not the agent's") {
		t.Error("the refusal was not logged")
	}
	e.secretsNowhere(t)

	d := newEnv(t, envOpts{deviceFlow: true})
	_, dms := d.say(t, "helpdesk@contoso.com", "/resetpw login")
	code := deviceCode(t, dms[0])
	if err := d.auth.ApproveDevice(code, "adele@contoso.com"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(d.inbox.all(), "You signed in as adele@contoso.com") })
	if _, ok, _ := d.store.GetAgentToken(context.Background(), actor("helpdesk@contoso.com").Key(), d.clock.Now()); ok {
		t.Fatal("device flow kept a token for the wrong person")
	}
}

func TestCallbackBadInput(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.auth.SignInAs("helpdesk@contoso.com")

	t.Run("wrong state", func(t *testing.T) {
		link := e.login(t, "helpdesk@contoso.com")
		resp, err := e.auth.Client().Get(link)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cb := resp.Header.Get("Location")
		forged := strings.Replace(cb, "state="+query(t, cb, "state"), "state=forged-state-value", 1)
		if status, body := e.get(t, forged); status != http.StatusBadRequest || !strings.Contains(body, "already used, has expired, or is not one resetbot made") {
			t.Fatalf("%d %s", status, body)
		}
	})
	t.Run("reused state", func(t *testing.T) {
		link := e.login(t, "helpdesk@contoso.com")
		status, _, cb := e.browse(t, link)
		if status != http.StatusOK {
			t.Fatalf("first use: %d", status)
		}
		if _, err := e.signIn.SignOut(context.Background(), actor("helpdesk@contoso.com")); err != nil {
			t.Fatal(err)
		}
		if status, body := e.get(t, cb); status != http.StatusBadRequest || !strings.Contains(body, "already used") {
			t.Fatalf("second use: %d %s", status, body)
		}
		if _, ok, _ := e.store.GetAgentToken(context.Background(), actor("helpdesk@contoso.com").Key(), e.clock.Now()); ok {
			t.Fatal("the replayed callback signed the agent in again")
		}
	})
	t.Run("expired link", func(t *testing.T) {
		link := e.login(t, "helpdesk@contoso.com")
		e.clock.Advance(11 * time.Minute)
		if status, body, _ := e.browse(t, link); status != http.StatusBadRequest || !strings.Contains(body, "has expired") {
			t.Fatalf("%d %s", status, body)
		}
	})
	t.Run("code for a different link", func(t *testing.T) {
		// The code of one sign-in presented with the state of another: PKCE's verifier does not
		// match, Entra refuses, nothing is kept.
		linkA := e.login(t, "helpdesk@contoso.com")
		linkB := e.login(t, "helpdesk@contoso.com")
		respA, err := e.auth.Client().Get(linkA)
		if err != nil {
			t.Fatal(err)
		}
		respA.Body.Close()
		cbA := respA.Header.Get("Location")
		mixed := strings.Replace(cbA, "state="+query(t, cbA, "state"), "state="+query(t, linkB, "state"), 1)
		if status, body := e.get(t, mixed); status != http.StatusBadRequest || !strings.Contains(body, "Entra did not accept") {
			t.Fatalf("%d %s", status, body)
		}
		if _, ok, _ := e.store.GetAgentToken(context.Background(), actor("helpdesk@contoso.com").Key(), e.clock.Now()); ok {
			t.Fatal("a token was kept")
		}
	})
	if len(e.graph.Writes()) != 0 {
		t.Error("Graph received writes")
	}
	e.secretsNowhere(t)
}

// A tampered or swapped token row does not open: the agent is asked to sign in again and nothing
// is reset.
func TestTamperedTokenRow(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, e *env, row bot.AgentToken) bot.AgentToken
	}{
		{"a flipped byte", func(_ *testing.T, _ *env, row bot.AgentToken) bot.AgentToken {
			row.Sealed[len(row.Sealed)/2] ^= 1
			return row
		}},
		{"another agent's row", func(t *testing.T, e *env, row bot.AgentToken) bot.AgentToken {
			e.signInAs(t, "pat@contoso.com")
			other, _, _ := e.store.GetAgentToken(ctx, actor("pat@contoso.com").Key(), e.clock.Now())
			row.Sealed = other.Sealed
			return row
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			e.signInAs(t, "helpdesk@contoso.com")
			row, ok, err := e.store.GetAgentToken(ctx, actor("helpdesk@contoso.com").Key(), e.clock.Now())
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			if err := e.store.PutAgentToken(ctx, tc.tamper(t, e, row)); err != nil {
				t.Fatal(err)
			}
			replies, _ := e.say(t, "helpdesk@contoso.com", "/resetpw alex@contoso.com")
			if !strings.Contains(text(replies), "/resetpw login") || len(e.graph.Resets("alex@contoso.com")) != 0 {
				t.Fatalf("reply: %s", text(replies))
			}
			if !strings.Contains(e.logs.String(), "stored sign-in does not open") {
				t.Error("the tampering was not logged")
			}
		})
	}
}

func countPath(e *env, part string) int {
	n := 0
	for _, r := range e.graph.Requests() {
		if strings.Contains(r.Path, part) {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// deviceCode reads the user code from the sign-in DM ("… enter the code ABC123, then …").
func deviceCode(t *testing.T, m chat.Message) string {
	t.Helper()
	// The code is a block of its own to copy, shown only in the DM, beside a link to the page.
	code := m.Secret.Reveal()
	if code == "" || strings.Contains(m.Text, code) {
		t.Fatalf("the code is not in a block of its own: %+v", m)
	}
	if len(m.Buttons) != 1 || m.Buttons[0].URL == "" {
		t.Fatalf("no button to open the sign-in page: %+v", m.Buttons)
	}
	return code
}

// The sign-in speaks the agent's platform: in Teams the app is ResetPW and commands are bare words.
func TestSignInInThePlatformsWords(t *testing.T) {
	teams := chat.Vocabulary{App: "ResetPW", Reset: "resetpw", Command: ""}
	e := newEnv(t, envOpts{sandbox: "helpdesk@contoso.com", words: func(chat.Platform) chat.Vocabulary { return teams }})
	_, dms := e.say(t, "helpdesk@contoso.com", "/resetpw login")
	if len(dms) != 1 || !strings.HasPrefix(dms[0].Title, "✅ Signed in to ResetPW as helpdesk@contoso.com") {
		t.Fatalf("DMs %+v, want one saying the agent is signed in to ResetPW", dms)
	}
	if got := text(dms); !strings.Contains(got, ". logout ends it.") || strings.Contains(got, "/resetpw") || strings.Contains(got, "resetbot") {
		t.Errorf("the sign-in DM is not in Teams' words: %s", got)
	}
}
