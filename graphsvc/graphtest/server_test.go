package graphtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/resetbot/resetbot/bot"
)

func TestAuthenticationRequired(t *testing.T) {
	srv := newServer(t)
	for name, o := range map[string]opt{
		"missing": noAuth(),
		"wrong":   header("Authorization", "Bearer not-the-token"),
		"scheme":  header("Authorization", srv.Token),
	} {
		t.Run(name, func(t *testing.T) {
			r := send(t, srv, "GET", "/v1.0/users/adele@contoso.com", nil, o)
			if r.Status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", r.Status)
			}
			if code, _ := r.graphErr(t); code != "InvalidAuthenticationToken" {
				t.Errorf("code %q", code)
			}
		})
	}
	if r := send(t, srv, "GET", "/v1.0/users/adele@contoso.com", nil); r.Status != http.StatusOK {
		t.Fatalf("with the token: status %d: %s", r.Status, r.Body)
	}
}

func TestCredentialHandsOutTheToken(t *testing.T) {
	srv := newServer(t)
	tok, err := srv.Credential().GetToken(context.Background(),
		policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
	if err != nil || tok.Token != srv.Token || tok.ExpiresOn.IsZero() {
		t.Fatalf("GetToken = %+v, %v", tok, err)
	}
}

func TestRequestIDs(t *testing.T) {
	srv := newServer(t)
	r := send(t, srv, "GET", "/v1.0/users/adele@contoso.com", nil, header("client-request-id", "abc-123"))
	if r.Header.Get("request-id") == "" || r.Header.Get("client-request-id") != "abc-123" {
		t.Errorf("request-id %q, client-request-id %q", r.Header.Get("request-id"), r.Header.Get("client-request-id"))
	}
	r2 := send(t, srv, "GET", "/v1.0/users/adele@contoso.com", nil)
	if r2.Header.Get("request-id") == r.Header.Get("request-id") {
		t.Error("request-id is not fresh per request")
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || reqs[0].Header.Get("client-request-id") != "abc-123" || reqs[0].RequestID != r.Header.Get("request-id") {
		t.Errorf("recorded %+v", reqs)
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	srv := newServer(t)
	cases := []struct {
		method, path string
		status       int
		msg          string
	}{
		{"GET", "/v1.0/userz/adele@contoso.com", 400, "Resource not found for the segment 'userz'."},
		{"GET", "/v1.0/users/adele@contoso.com/nothing", 400, "Resource not found for the segment 'nothing'."},
		{"GET", "/v1.0/v1.0/users", 400, "Resource not found for the segment 'v1.0'."},
		{"GET", "/v1.0/me", 400, "/me request is only valid with delegated authentication flow."},
		{"DELETE", "/v1.0/users/adele@contoso.com", 405, "Specified HTTP method is not allowed for the request target."},
	}
	for _, c := range cases {
		r := send(t, srv, c.method, c.path, nil)
		if r.Status != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, r.Status, c.status)
			continue
		}
		if _, msg := r.graphErr(t); msg != c.msg {
			t.Errorf("%s %s: message %q, want %q", c.method, c.path, msg, c.msg)
		}
	}
}

func TestSeededTenant(t *testing.T) {
	srv := newServer(t)
	want := map[string]string{
		"adele@contoso.com": AdeleID, "helpdesk@contoso.com": HelpdeskID, "megan@contoso.com": MeganID,
		"ceo@contoso.com": CeoID, "pat@contoso.com": PatID, "sam@contoso.com": SamID,
		"pwadmin@contoso.com": PwAdminID, "authadmin@contoso.com": AuthAdminID,
		"useradmin@contoso.com": UserAdminID, "groupsadmin@contoso.com": GroupsAdminID,
		"reader@contoso.com": ReaderID, "reports@contoso.com": ReportsID, "pra@contoso.com": PraID,
		"lee@contoso.com": LeeID, "parishelp@contoso.com": ParisHelpID, "nestor@contoso.com": NestorID,
		"lynne@contoso.com": LynneID, "alex@contoso.com": AlexID, "diego@contoso.com": DiegoID,
		"johanna@contoso.com": JohannaID, GuestUPN: GuestID, "breakglass@contoso.com": BreakGlassID,
		"isaiah@contoso.com": IsaiahID, "miriam@contoso.com": MiriamID, "henrietta@contoso.com": HenriettaID,
	}
	for upn, id := range want {
		u, ok := srv.User(upn)
		if !ok || u.ID != id {
			t.Errorf("User(%q) = %v, %v; want ID %s", upn, u.ID, ok, id)
		}
	}
	if n := len(Contoso().Users); n != len(want) {
		t.Errorf("Contoso has %d users, the test names %d", n, len(want))
	}

	lee, _ := srv.BotUser("lee@contoso.com")
	if !lee.InRoleAssignableGroup || len(lee.Roles) != 0 {
		t.Errorf("lee: %+v", lee)
	}
	paris, _ := srv.BotUser("parishelp@contoso.com")
	if len(paris.Roles) != 1 || paris.Roles[0].AdministrativeUnit() != ParisOfficeID {
		t.Errorf("parishelp roles: %+v", paris.Roles)
	}
	isaiah, _ := srv.BotUser("isaiah@contoso.com")
	if len(isaiah.Roles) != 0 || len(isaiah.EligibleRoles) != 1 || isaiah.EligibleRoles[0].TemplateID != bot.RoleGlobalAdmin {
		t.Errorf("isaiah: %+v", isaiah)
	}
	miriam, _ := srv.BotUser("miriam@contoso.com")
	if !miriam.InRoleAssignableGroup || !miriam.RoleAssignableGroupOwner || len(miriam.Groups) != 0 {
		t.Errorf("miriam: %+v", miriam)
	}
	henrietta, _ := srv.BotUser("henrietta@contoso.com")
	if !henrietta.InRoleAssignableGroup || henrietta.RoleAssignableGroupOwner || len(henrietta.Groups) != 0 || henrietta.ManagerID != MiriamID {
		t.Errorf("henrietta: %+v", henrietta)
	}
	alex, _ := srv.BotUser("alex@contoso.com")
	johanna, _ := srv.BotUser("johanna@contoso.com")
	guest, _ := srv.BotUser(GuestID)
	if !alex.Synced || johanna.Enabled || !guest.Guest {
		t.Errorf("alex synced %v, johanna enabled %v, guest %v", alex.Synced, johanna.Enabled, guest.Guest)
	}
}

func TestServersDoNotShareState(t *testing.T) {
	a, b := newServer(t), newServer(t)
	if a.Token == b.Token || a.URL == b.URL {
		t.Fatal("two servers share a token or URL")
	}
	a.AddUser(User{UPN: "new@contoso.com", AccountEnabled: true})
	if _, ok := b.User("new@contoso.com"); ok {
		t.Fatal("a user added to one server shows in another")
	}
	if u, _ := a.User("new@contoso.com"); u.ID == "" || u.UserType != "Member" {
		t.Fatalf("AddUser did not fill defaults: %+v", u)
	}
}

func TestCloseWithAHungRequest(t *testing.T) {
	srv := NewServer(Contoso())
	srv.HangNext(1)
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", srv.URL+"/v1.0/users/adele@contoso.com", nil)
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		resp, err := http.DefaultClient.Do(req) // no timeout: only Close can end it
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for len(srv.Requests()) == 0 {
		time.Sleep(time.Millisecond) // until the request is held
	}
	start := time.Now()
	srv.Close()
	if err := <-done; err == nil {
		t.Error("a hung request got an answer")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v with a hung request", d)
	}
}
