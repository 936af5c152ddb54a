package graphtest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
)

func TestPatchPasswordSucceeds(t *testing.T) {
	srv := newServer(t)
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	srv.SetClock(func() time.Time { return at })

	r := send(t, srv, "PATCH", "/v1.0/users/adele@contoso.com", passwordBody(goodPassword), header("client-request-id", "corr-1"))
	if r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("PATCH: %d %s", r.Status, r.Body)
	}
	sets := srv.Resets("adele@contoso.com")
	if len(sets) != 1 {
		t.Fatalf("Resets = %+v", sets)
	}
	want := PasswordSet{UserID: AdeleID, Password: goodPassword, ForceChange: true, At: at, Via: "patch",
		RequestID: r.Header.Get("request-id")}
	if sets[0] != want {
		t.Errorf("PasswordSet = %+v, want %+v", sets[0], want)
	}
	if got := srv.Resets(AdeleID); len(got) != 1 {
		t.Errorf("Resets by ID: %+v", got)
	}

	audits := srv.Audits()
	if len(audits) != 1 {
		t.Fatalf("audits: %+v", audits)
	}
	a := audits[0]
	if a.ActivityDisplayName != "Reset user password" || a.Category != "UserManagement" ||
		a.LoggedByService != "Core Directory" || a.Result != "success" || !a.ActivityDateTime.Equal(at) ||
		a.InitiatedBy.App == nil || a.InitiatedBy.App.AppID != ResetbotAppID || a.InitiatedBy.App.DisplayName != "resetbot" ||
		len(a.TargetResources) != 1 || a.TargetResources[0].ID != AdeleID ||
		a.TargetResources[0].UserPrincipalName != "adele@contoso.com" || a.CorrelationID != "corr-1" {
		t.Errorf("audit entry: %+v", a)
	}
}

func TestPatchForceChangeOnlySetsNoPassword(t *testing.T) {
	srv := newServer(t)
	body := map[string]any{"passwordProfile": map[string]any{"forceChangePasswordNextSignIn": true}}
	if r := send(t, srv, "PATCH", "/v1.0/users/adele@contoso.com", body); r.Status != http.StatusNoContent {
		t.Fatalf("status %d", r.Status)
	}
	if sets := srv.Resets("adele@contoso.com"); len(sets) != 0 {
		t.Errorf("a force-change-only PATCH recorded %+v", sets)
	}
}

func TestPatchSyncedUser(t *testing.T) {
	srv := newServer(t)
	r := send(t, srv, "PATCH", "/v1.0/users/alex@contoso.com", passwordBody(goodPassword))
	code, msg := r.graphErr(t)
	if r.Status != 400 || code != "Request_BadRequest" || msg != msgSynced {
		t.Errorf("synced PATCH: %d %s %q", r.Status, code, msg)
	}
	if len(srv.Resets("alex@contoso.com")) != 0 {
		t.Error("a refused PATCH was recorded")
	}
	// onPremisesSyncEnabled false is cloud-mastered again.
	if r := send(t, srv, "PATCH", "/v1.0/users/lynne@contoso.com", passwordBody(goodPassword)); r.Status != 204 {
		t.Errorf("lynne (no longer synced): %d %s", r.Status, r.Body)
	}
}

func TestPatchComplexity(t *testing.T) {
	srv := newServer(t)
	for _, pw := range []string{"Short1!", "alllowercaseletters", "Password1!", "Contoso123!", "P@ssw0rd-2026x",
		"Adele-Vance-2026", "xxADELExx99!", "Pässwort-Sicher-9", strings.Repeat("Ab1!", 65)} {
		r := send(t, srv, "PATCH", "/v1.0/users/adele@contoso.com", passwordBody(pw))
		code, msg := r.graphErr(t)
		if r.Status != 400 || code != "Request_BadRequest" || msg != complexityMessage {
			t.Errorf("%q: %d %s %q", pw, r.Status, code, msg)
		}
	}
	if len(srv.Resets("adele@contoso.com")) != 0 {
		t.Error("a refused password was recorded")
	}
	for _, pw := range []string{goodPassword, "abcdefgH1", "lower UPPER 123", strings.Repeat("Ab1!", 64)} {
		if r := send(t, srv, "PATCH", "/v1.0/users/adele@contoso.com", passwordBody(pw)); r.Status != 204 {
			t.Errorf("%q refused: %s", pw, r.Body)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	for _, c := range []struct {
		pw, upn string
		ok      bool
	}{
		{goodPassword, "adele@contoso.com", true},
		{"Abcdefg1", "adele@contoso.com", true},
		{"Abcdefg", "adele@contoso.com", false},         // 7 characters
		{"abcdefgh12", "adele@contoso.com", false},      // two classes
		{"My-Welc0me-Home", "adele@contoso.com", false}, // banned after substitution
		{"LeeGu-Rocks-2026", "lee@contoso.com", false},  // contains the account name
		{"Ab1-" + string(rune(0x1F600)), "x@contoso.com", false},
	} {
		if err := CheckPassword(c.pw, c.upn); (err == nil) != c.ok {
			t.Errorf("CheckPassword(%q, %q) = %v, want ok=%v", c.pw, c.upn, err, c.ok)
		}
	}
	for range 200 {
		if pw := generatePassword("lee@contoso.com"); CheckPassword(pw, "lee@contoso.com") != nil || len(pw) != 16 {
			t.Fatalf("generated %q fails the policy", pw)
		}
	}
}

func TestPatchAppRole(t *testing.T) {
	srv := newServer(t)
	srv.SetAppRole(bot.RoleHelpdeskAdmin)
	for _, target := range []string{"megan@contoso.com", "pat@contoso.com", "lee@contoso.com", "isaiah@contoso.com", "useradmin@contoso.com",
		"miriam@contoso.com", "henrietta@contoso.com"} { // owner and PIM-eligible member of a role-assignable group
		r := send(t, srv, "PATCH", "/v1.0/users/"+target, passwordBody(goodPassword))
		code, msg := r.graphErr(t)
		if r.Status != http.StatusForbidden || code != "Authorization_RequestDenied" || msg != msgInsufficient {
			t.Errorf("helpdesk app → %s: %d %s %q", target, r.Status, code, msg)
		}
	}
	for _, target := range []string{"adele@contoso.com", "reader@contoso.com", "pwadmin@contoso.com", "helpdesk@contoso.com"} {
		if r := send(t, srv, "PATCH", "/v1.0/users/"+target, passwordBody(goodPassword)); r.Status != http.StatusNoContent {
			t.Errorf("helpdesk app → %s: %d %s", target, r.Status, r.Body)
		}
	}
	srv.SetAppRole("")
	if r := send(t, srv, "PATCH", "/v1.0/users/adele@contoso.com", passwordBody(goodPassword)); r.Status != http.StatusForbidden {
		t.Errorf("app without a role: %d", r.Status)
	}
	srv.SetAppRole(bot.RoleGlobalAdmin)
	if r := send(t, srv, "PATCH", "/v1.0/users/megan@contoso.com", passwordBody(goodPassword)); r.Status != http.StatusNoContent {
		t.Errorf("GA app → GA: %d", r.Status)
	}
}

func TestPatchGzip(t *testing.T) {
	srv := newServer(t)
	r := send(t, srv, "PATCH", "/v1.0/users/adele@contoso.com", gzipped(t, passwordBody(goodPassword)),
		header("Content-Encoding", "gzip"))
	if r.Status != http.StatusNoContent {
		t.Fatalf("gzip body: %d %s", r.Status, r.Body)
	}
	reqs := srv.Requests()
	if last := reqs[len(reqs)-1]; !strings.Contains(string(last.Body), goodPassword) {
		t.Errorf("recorded body is not gunzipped: %q", last.Body)
	}

	// What kiota-http-go does on a retry: the plain body, still labelled gzip.
	r = send(t, srv, "PATCH", "/v1.0/users/adele@contoso.com", passwordBody("Other#Passw9rd-x"),
		header("Content-Encoding", "gzip"))
	if code, _ := r.graphErr(t); r.Status != http.StatusBadRequest || code != "BadRequest" {
		t.Errorf("mislabelled gzip: %d %s", r.Status, code)
	}
	if n := len(srv.Resets("adele@contoso.com")); n != 1 {
		t.Errorf("%d resets recorded, want 1", n)
	}
}

func TestPatchBadBodies(t *testing.T) {
	srv := newServer(t)
	for _, body := range []any{"{not json", map[string]any{"shoeSize": 42}, map[string]any{"accountEnabled": "yes"}} {
		if r := send(t, srv, "PATCH", "/v1.0/users/adele@contoso.com", body); r.Status != 400 {
			t.Errorf("%v: %d", body, r.Status)
		}
	}
	if r := send(t, srv, "PATCH", "/v1.0/users/nobody@contoso.com", passwordBody(goodPassword)); r.Status != 404 {
		t.Errorf("unknown user: %d", r.Status)
	}
	if r := send(t, srv, "PATCH", "/v1.0/users/adele@contoso.com", map[string]any{"accountEnabled": false}); r.Status != 204 {
		t.Errorf("disable: %d", r.Status)
	}
	if u, _ := srv.User("adele@contoso.com"); u.AccountEnabled {
		t.Error("accountEnabled not applied")
	}
}
