package graphtest

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// as signs the request with a delegated token for the user, carrying resetPassword's permission.
func as(t *testing.T, srv *Server, user string, scopes ...string) opt {
	t.Helper()
	if len(scopes) == 0 {
		scopes = []string{ScopeAuthMethodsReadWrite}
	}
	tok, err := srv.IssueUserToken(user, scopes, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return header("Authorization", "Bearer "+tok)
}

const resetPath = "/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword"

// poll follows a resetPassword Location until the operation ends, returning the statuses seen.
func poll(t *testing.T, srv *Server, location string) (statuses []string, detail any) {
	t.Helper()
	pat := as(t, srv, "pat@contoso.com")
	for range 5 {
		r := send(t, srv, "GET", location, nil, pat)
		if r.Status != 200 {
			t.Fatalf("poll: %d %s", r.Status, r.Body)
		}
		op := r.json(t)
		statuses = append(statuses, op["status"].(string))
		if s := op["status"]; s == "succeeded" || s == "failed" {
			return statuses, op["statusDetail"]
		}
	}
	t.Fatalf("operation did not end: %v", statuses)
	return nil, nil
}

func TestResetPasswordCloudUser(t *testing.T) {
	srv := newServer(t)
	pat := as(t, srv, "pat@contoso.com")
	r := send(t, srv, "POST", "/v1.0/users/adele@contoso.com"+resetPath, nil, pat)
	loc := r.Header.Get("Location")
	if r.Status != http.StatusAccepted || r.Header.Get("Retry-After") != "1" ||
		!strings.HasPrefix(loc, srv.URL+"/v1.0/users/"+AdeleID+"/authentication/operations/") {
		t.Fatalf("resetPassword: %d %v", r.Status, r.Header)
	}
	generated, _ := r.json(t)["newPassword"].(string)
	if CheckPassword(generated, "adele@contoso.com") != nil {
		t.Fatalf("generated password %q", generated)
	}
	statuses, _ := poll(t, srv, loc)
	if strings.Join(statuses, ",") != "notStarted,running,succeeded" {
		t.Errorf("statuses %v", statuses)
	}
	sets := srv.Resets("adele@contoso.com")
	if len(sets) != 1 || sets[0].Via != "resetPassword" || sets[0].Password != generated || !sets[0].ForceChange || sets[0].By != PatID {
		t.Errorf("Resets = %+v", sets)
	}

	// A supplied password is checked against the policy and returns no body.
	r = send(t, srv, "POST", "/v1.0/users/adele@contoso.com"+resetPath, map[string]any{"newPassword": "Password1!"}, pat)
	if _, msg := r.graphErr(t); r.Status != 400 || msg != complexityMessage {
		t.Errorf("banned newPassword: %d %q", r.Status, msg)
	}
	r = send(t, srv, "POST", "/v1.0/users/adele@contoso.com"+resetPath, map[string]any{"newPassword": goodPassword}, pat)
	if r.Status != http.StatusAccepted || len(r.Body) != 0 {
		t.Errorf("supplied newPassword: %d %s", r.Status, r.Body)
	}
}

func TestResetPasswordSyncedUser(t *testing.T) {
	srv := newServer(t)
	body := map[string]any{"newPassword": goodPassword}
	pat := as(t, srv, "pat@contoso.com")

	r := send(t, srv, "POST", "/v1.0/users/alex@contoso.com"+resetPath, body, pat)
	if r.Status != http.StatusAccepted {
		t.Fatalf("writeback off: %d %s", r.Status, r.Body)
	}
	statuses, detail := poll(t, srv, r.Header.Get("Location"))
	if statuses[len(statuses)-1] != "failed" || !strings.Contains(detail.(string), "writeback") {
		t.Errorf("writeback off: %v %v", statuses, detail)
	}
	if len(srv.Resets("alex@contoso.com")) != 0 {
		t.Error("a failed operation set a password")
	}

	srv.SetWriteback(true)
	r = send(t, srv, "POST", "/v1.0/users/alex@contoso.com"+resetPath, body, pat)
	statuses, _ = poll(t, srv, r.Header.Get("Location"))
	if strings.Join(statuses, ",") != "notStarted,running,succeeded" {
		t.Errorf("writeback on: %v", statuses)
	}
	if sets := srv.Resets("alex@contoso.com"); len(sets) != 1 || sets[0].Password != goodPassword {
		t.Errorf("Resets = %+v", sets)
	}

	if r := send(t, srv, "POST", "/v1.0/users/alex@contoso.com"+resetPath, nil, pat); r.Status != 400 {
		t.Errorf("synced user without newPassword: %d", r.Status)
	}
}

func TestResetPasswordErrors(t *testing.T) {
	srv := newServer(t)
	pat := as(t, srv, "pat@contoso.com")
	if r := send(t, srv, "POST", "/v1.0/users/nobody@contoso.com"+resetPath, nil, pat); r.Status != 404 {
		t.Errorf("unknown user: %d", r.Status)
	}
	if r := send(t, srv, "POST", "/v1.0/users/adele@contoso.com/authentication/methods/123/resetPassword", nil, pat); r.Status != 404 {
		t.Errorf("unknown method: %d", r.Status)
	}
	if r := send(t, srv, "GET", "/v1.0/users/adele@contoso.com/authentication/operations/nope", nil, pat); r.Status != 404 {
		t.Errorf("unknown operation: %d", r.Status)
	}
	// The application token is refused: resetPassword and its operations are delegated only.
	r := send(t, srv, "POST", "/v1.0/users/adele@contoso.com"+resetPath, nil)
	if code, msg := r.graphErr(t); r.Status != 403 || code != "Authorization_RequestDenied" || !strings.Contains(msg, "delegated") {
		t.Errorf("app-only: %d %s %s", r.Status, code, msg)
	}
	// Entra checks the signed-in user's own role: a Helpdesk Administrator may not reset a Global
	// Administrator, nor anyone without the delegated permission, nor themself.
	for name, o := range map[string]opt{
		"role":       as(t, srv, "helpdesk@contoso.com"),
		"permission": as(t, srv, "pat@contoso.com", ScopeUserRead),
	} {
		if r := send(t, srv, "POST", "/v1.0/users/megan@contoso.com"+resetPath, nil, o); r.Status != 403 {
			t.Errorf("%s: %d", name, r.Status)
		}
	}
	if r := send(t, srv, "POST", "/v1.0/users/pat@contoso.com"+resetPath, nil, pat); r.Status != 403 {
		t.Errorf("self: %d", r.Status)
	}
	if len(srv.Resets("megan@contoso.com")) != 0 {
		t.Error("a refused call set a password")
	}
}

func TestResetPasswordWritebackFailures(t *testing.T) {
	srv := newServer(t)
	srv.SetWriteback(true)
	pat := as(t, srv, "pat@contoso.com")
	body := map[string]any{"newPassword": goodPassword}

	srv.SetWritebackAgentOnline(false)
	r := send(t, srv, "POST", "/v1.0/users/alex@contoso.com"+resetPath, body, pat)
	if statuses, detail := poll(t, srv, r.Header.Get("Location")); statuses[len(statuses)-1] != "failed" || detail != MsgWritebackAgentOffline {
		t.Errorf("agent offline: %v %v", statuses, detail)
	}
	srv.SetWritebackAgentOnline(true)
	srv.RejectOnPremises("alex@contoso.com", MsgOnPremisesPolicy)
	r = send(t, srv, "POST", "/v1.0/users/alex@contoso.com"+resetPath, body, pat)
	if statuses, detail := poll(t, srv, r.Header.Get("Location")); statuses[len(statuses)-1] != "failed" || detail != MsgOnPremisesPolicy {
		t.Errorf("on-premises policy: %v %v", statuses, detail)
	}
	if len(srv.Resets("alex@contoso.com")) != 0 {
		t.Error("a failed writeback set a password")
	}
	// The record says which credential each write used.
	for _, w := range srv.Writes() {
		if w.AsUser != PatID {
			t.Errorf("%s %s recorded as %q", w.Method, w.Path, w.AsUser)
		}
	}
}
