package graphtest

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

const tapPath = "/v1.0/users/adele@contoso.com/authentication/temporaryAccessPassMethods"

// A pass is answered once, in the 201 of its creation; listings never show the code; a second pass
// replaces the first.
func TestCreateAccessPass(t *testing.T) {
	srv := newServer(t)
	r := send(t, srv, "POST", tapPath, map[string]any{"lifetimeInMinutes": 90, "isUsableOnce": true})
	if r.Status != http.StatusCreated {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	got := r.json(t)
	code, _ := got["temporaryAccessPass"].(string)
	if len(code) != 8 || got["lifetimeInMinutes"] != float64(90) || got["isUsableOnce"] != true ||
		got["@odata.type"] != "#microsoft.graph.temporaryAccessPassAuthenticationMethod" || got["startDateTime"] == nil {
		t.Errorf("created: %v", got)
	}
	listed := values(t, send(t, srv, "GET", tapPath, nil))
	if len(listed) != 1 || listed[0]["temporaryAccessPass"] != nil || listed[0]["id"] != got["id"] || listed[0]["isUsable"] != true {
		t.Errorf("listed: %v", listed)
	}
	second := send(t, srv, "POST", tapPath, nil).json(t)
	listed = values(t, send(t, srv, "GET", tapPath, nil))
	if len(listed) != 1 || listed[0]["id"] != second["id"] || second["lifetimeInMinutes"] != float64(60) || second["isUsableOnce"] != false {
		t.Errorf("after a second pass (policy defaults): %v, listed %v", second, listed)
	}
	passes := srv.AccessPasses("adele@contoso.com")
	if len(passes) != 2 || passes[0].Code != code || passes[1].Code == code || passes[1].RequestID != srv.Requests()[2].RequestID {
		t.Errorf("passes: %+v", passes)
	}
	audits := srv.Audits()
	if last := audits[len(audits)-1]; last.ActivityDisplayName != "Admin registered security info" || last.TargetResources[0].ID != AdeleID {
		t.Errorf("audit: %+v", last)
	}
	if r := send(t, srv, "POST", "/v1.0/users/nobody@contoso.com/authentication/temporaryAccessPassMethods", nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown user: %d", r.Status)
	}
	// A pass past its lifetime is listed as expired.
	srv.SetClock(func() time.Time { return time.Now().Add(2 * time.Hour) })
	if listed := values(t, send(t, srv, "GET", tapPath, nil)); listed[0]["isUsable"] != false || listed[0]["methodUsabilityReason"] != "Expired" {
		t.Errorf("expired: %v", listed)
	}
}

func TestAccessPassRefusals(t *testing.T) {
	srv := newServer(t)
	refused := func(path string, body any, wantMsg string) {
		t.Helper()
		r := send(t, srv, "POST", path, body)
		code, msg := r.graphErr(t)
		if r.Status != http.StatusBadRequest || code != "badRequest" || msg != wantMsg {
			t.Errorf("%s %v: %d %s %q", path, body, r.Status, code, msg)
		}
	}
	refused(tapPath, map[string]any{"lifetimeInMinutes": 30}, "Invalid LifetimeInMinutes specified. The valid range between 60 and 480.")
	refused(tapPath, map[string]any{"lifetimeInMinutes": 481}, "Invalid LifetimeInMinutes specified. The valid range between 60 and 480.")
	refused("/v1.0/users/"+GuestID+"/authentication/temporaryAccessPassMethods", nil, tapGuest)
	srv.SetAccessPassEnabled(false)
	refused(tapPath, nil, tapConverged)
	// In scope: the Helpdesk Team, less the members of Tier0 Operators.
	pol := DefaultAccessPassPolicy()
	pol.IncludeGroups, pol.ExcludeGroups = []string{HelpdeskTeamID}, []string{Tier0OperatorsID}
	srv.SetAccessPassPolicy(pol)
	refused(tapPath, nil, tapConverged)
	if r := send(t, srv, "POST", "/v1.0/users/helpdesk@contoso.com/authentication/temporaryAccessPassMethods", nil); r.Status != http.StatusCreated {
		t.Errorf("in scope: %d %s", r.Status, r.Body)
	}
	lee, _ := srv.User("lee@contoso.com")
	lee.Groups = append(lee.Groups, HelpdeskTeamID)
	srv.AddUser(lee)
	refused("/v1.0/users/lee@contoso.com/authentication/temporaryAccessPassMethods", nil, tapConverged)
	if len(srv.AccessPasses("adele@contoso.com")) != 0 || len(srv.AccessPasses("lee@contoso.com")) != 0 {
		t.Error("a refused pass was created")
	}
	// A policy that forces one-time passes makes every pass one-time.
	pol = DefaultAccessPassPolicy()
	pol.UsableOnce = true
	srv.SetAccessPassPolicy(pol)
	if got := send(t, srv, "POST", tapPath, map[string]any{"isUsableOnce": false}).json(t); got["isUsableOnce"] != true {
		t.Errorf("forced one-time: %v", got)
	}
	// A delegated token needs the authentication-methods permission.
	tok, _ := srv.IssueUserToken("pat@contoso.com", []string{ScopeUserRead}, time.Hour)
	if r := send(t, srv, "POST", tapPath, nil, header("Authorization", "Bearer "+tok)); r.Status != http.StatusForbidden {
		t.Errorf("delegated without the permission: %d", r.Status)
	}
}

func TestAccessPassPolicy(t *testing.T) {
	srv := newServer(t)
	path := "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass"
	got := send(t, srv, "GET", path, nil).json(t)
	if got["state"] != "enabled" || got["minimumLifetimeInMinutes"] != float64(60) || got["maximumLifetimeInMinutes"] != float64(480) ||
		got["defaultLifetimeInMinutes"] != float64(60) || got["isUsableOnce"] != false ||
		got["@odata.type"] != "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration" {
		t.Errorf("default policy: %v", got)
	}
	if inc := got["includeTargets"].([]any); len(inc) != 1 || inc[0].(map[string]any)["id"] != "all_users" {
		t.Errorf("include: %v", inc)
	}
	srv.SetAccessPassPolicy(AccessPassPolicy{MinimumMinutes: 10, MaximumMinutes: 43200, DefaultMinutes: 120, UsableOnce: true,
		IncludeGroups: []string{HelpdeskTeamID}, ExcludeGroups: []string{Tier0OperatorsID}})
	got = send(t, srv, "GET", path, nil).json(t)
	inc, exc := got["includeTargets"].([]any), got["excludeTargets"].([]any)
	if got["state"] != "disabled" || got["isUsableOnce"] != true || len(inc) != 1 || inc[0].(map[string]any)["id"] != HelpdeskTeamID ||
		len(exc) != 1 || exc[0].(map[string]any)["id"] != Tier0OperatorsID {
		t.Errorf("policy: %v", got)
	}
	if r := send(t, srv, "GET", strings.Replace(path, "TemporaryAccessPass", "Fido2", 1), nil); r.Status != http.StatusNotFound {
		t.Errorf("another method's configuration: %d", r.Status)
	}
}

func TestListAuthenticationMethods(t *testing.T) {
	srv := newServer(t)
	kinds := func(ref string) []string {
		var out []string
		for _, m := range values(t, send(t, srv, "GET", "/v1.0/users/"+ref+"/authentication/methods", nil)) {
			out = append(out, strings.TrimPrefix(m["@odata.type"].(string), "#microsoft.graph."))
		}
		return out
	}
	if got := kinds("adele@contoso.com"); !slices.Equal(got, []string{"passwordAuthenticationMethod", "phoneAuthenticationMethod",
		"microsoftAuthenticatorAuthenticationMethod", "emailAuthenticationMethod"}) {
		t.Errorf("adele: %v", got)
	}
	if got := kinds("helpdesk@contoso.com"); !slices.Equal(got, []string{"passwordAuthenticationMethod"}) {
		t.Errorf("helpdesk: %v", got)
	}
	phone := values(t, send(t, srv, "GET", "/v1.0/users/adele@contoso.com/authentication/methods", nil))[1]
	if phone["id"] != "3179e48a-750b-4051-897c-87b9720928f7" || phone["phoneNumber"] != "+1 4255550134" || phone["phoneType"] != "mobile" {
		t.Errorf("phone: %v", phone)
	}
	send(t, srv, "POST", tapPath, nil)
	if got := kinds("adele@contoso.com"); got[len(got)-1] != "temporaryAccessPassAuthenticationMethod" {
		t.Errorf("with a pass: %v", got)
	}
	if r := send(t, srv, "GET", "/v1.0/users/nobody@contoso.com/authentication/methods", nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown user: %d", r.Status)
	}
}
