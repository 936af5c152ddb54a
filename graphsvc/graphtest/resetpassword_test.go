package graphtest

import (
	"net/http"
	"strings"
	"testing"
)

const resetPath = "/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword"

// poll follows a resetPassword Location until the operation ends, returning the statuses seen.
func poll(t *testing.T, srv *Server, location string) (statuses []string, detail any) {
	t.Helper()
	for range 5 {
		r := send(t, srv, "GET", location, nil)
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
	r := send(t, srv, "POST", "/v1.0/users/adele@contoso.com"+resetPath, nil)
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
	if strings.Join(statuses, ",") != "running,succeeded" {
		t.Errorf("statuses %v", statuses)
	}
	sets := srv.Resets("adele@contoso.com")
	if len(sets) != 1 || sets[0].Via != "resetPassword" || sets[0].Password != generated || !sets[0].ForceChange {
		t.Errorf("Resets = %+v", sets)
	}

	// A supplied password is checked against the policy and returns no body.
	r = send(t, srv, "POST", "/v1.0/users/adele@contoso.com"+resetPath, map[string]any{"newPassword": "Password1!"})
	if _, msg := r.graphErr(t); r.Status != 400 || msg != complexityMessage {
		t.Errorf("banned newPassword: %d %q", r.Status, msg)
	}
	r = send(t, srv, "POST", "/v1.0/users/adele@contoso.com"+resetPath, map[string]any{"newPassword": goodPassword})
	if r.Status != http.StatusAccepted || len(r.Body) != 0 {
		t.Errorf("supplied newPassword: %d %s", r.Status, r.Body)
	}
}

func TestResetPasswordSyncedUser(t *testing.T) {
	srv := newServer(t)
	body := map[string]any{"newPassword": goodPassword}

	r := send(t, srv, "POST", "/v1.0/users/alex@contoso.com"+resetPath, body)
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
	r = send(t, srv, "POST", "/v1.0/users/alex@contoso.com"+resetPath, body)
	statuses, _ = poll(t, srv, r.Header.Get("Location"))
	if strings.Join(statuses, ",") != "running,succeeded" {
		t.Errorf("writeback on: %v", statuses)
	}
	if sets := srv.Resets("alex@contoso.com"); len(sets) != 1 || sets[0].Password != goodPassword {
		t.Errorf("Resets = %+v", sets)
	}

	if r := send(t, srv, "POST", "/v1.0/users/alex@contoso.com"+resetPath, nil); r.Status != 400 {
		t.Errorf("synced user without newPassword: %d", r.Status)
	}
}

func TestResetPasswordErrors(t *testing.T) {
	srv := newServer(t)
	if r := send(t, srv, "POST", "/v1.0/users/nobody@contoso.com"+resetPath, nil); r.Status != 404 {
		t.Errorf("unknown user: %d", r.Status)
	}
	if r := send(t, srv, "POST", "/v1.0/users/adele@contoso.com/authentication/methods/123/resetPassword", nil); r.Status != 404 {
		t.Errorf("unknown method: %d", r.Status)
	}
	if r := send(t, srv, "GET", "/v1.0/users/adele@contoso.com/authentication/operations/nope", nil); r.Status != 404 {
		t.Errorf("unknown operation: %d", r.Status)
	}
	srv.SetAppRole("")
	if r := send(t, srv, "POST", "/v1.0/users/adele@contoso.com"+resetPath, nil); r.Status != 403 {
		t.Errorf("no role: %d", r.Status)
	}
}
