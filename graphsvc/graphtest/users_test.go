package graphtest

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/resetbot/resetbot/bot"
)

func TestGetUser(t *testing.T) {
	srv := newServer(t)
	sel := "?$select=id,userPrincipalName,accountEnabled,onPremisesSyncEnabled,userType"

	r := send(t, srv, "GET", "/v1.0/users/adele@contoso.com"+sel, nil)
	u := r.json(t)
	if r.Status != 200 || u["id"] != AdeleID || u["accountEnabled"] != true || u["userType"] != "Member" {
		t.Fatalf("adele: %d %v", r.Status, u)
	}
	if v, present := u["onPremisesSyncEnabled"]; !present || v != nil {
		t.Errorf("cloud-only onPremisesSyncEnabled = %v (present %v), want null", v, present)
	}
	if _, present := u["displayName"]; present {
		t.Error("$select did not limit the properties")
	}
	if u := send(t, srv, "GET", "/v1.0/users/"+AlexID+sel, nil).json(t); u["onPremisesSyncEnabled"] != true {
		t.Errorf("alex by ID: %v", u)
	}
	if u := send(t, srv, "GET", "/v1.0/users/LYNNE@contoso.com"+sel, nil).json(t); u["onPremisesSyncEnabled"] != false {
		t.Errorf("lynne (UPN case-insensitive): %v", u)
	}
	if u := send(t, srv, "GET", "/v1.0/users/"+url.PathEscape(GuestUPN)+sel, nil).json(t); u["id"] != GuestID || u["userType"] != "Guest" {
		t.Errorf("guest: %v", u)
	}

	// Without $select Graph leaves out accountEnabled and onPremisesSyncEnabled.
	def := send(t, srv, "GET", "/v1.0/users/adele@contoso.com", nil).json(t)
	if _, present := def["onPremisesSyncEnabled"]; present || def["displayName"] != "Adele Vance" {
		t.Errorf("default properties: %v", def)
	}

	r = send(t, srv, "GET", "/v1.0/users/adele@contoso.com?$select=id,nope", nil)
	if code, _ := r.graphErr(t); r.Status != 400 || code != "BadRequest" {
		t.Errorf("unknown $select: %d %s", r.Status, code)
	}

	r = send(t, srv, "GET", "/v1.0/users/nobody@contoso.com", nil)
	code, msg := r.graphErr(t)
	if r.Status != 404 || code != "Request_ResourceNotFound" ||
		msg != "Resource 'nobody@contoso.com' does not exist or one of its queried reference-property objects are not present." {
		t.Errorf("not found: %d %s %q", r.Status, code, msg)
	}
}

func TestManager(t *testing.T) {
	srv := newServer(t)
	u := send(t, srv, "GET", "/v1.0/users/adele@contoso.com?$select=id&$expand=manager($select=id)", nil).json(t)
	mgr, _ := u["manager"].(map[string]any)
	if mgr["id"] != MeganID || mgr["@odata.type"] != "#microsoft.graph.user" || len(mgr) != 2 {
		t.Errorf("expanded manager: %v", u["manager"])
	}
	if u := send(t, srv, "GET", "/v1.0/users/lynne@contoso.com?$select=id&$expand=manager($select=id)", nil).json(t); u["manager"] != nil {
		t.Errorf("lynne has no manager, got %v", u["manager"])
	}
	if m := send(t, srv, "GET", "/v1.0/users/"+AdeleID+"/manager", nil).json(t); m["id"] != MeganID {
		t.Errorf("/manager: %v", m)
	}
	if r := send(t, srv, "GET", "/v1.0/users/lynne@contoso.com/manager", nil); r.Status != 404 {
		t.Errorf("/manager without one: %d", r.Status)
	}
}

func TestFilterUsers(t *testing.T) {
	srv := newServer(t)
	q := url.Values{"$filter": {"userPrincipalName eq 'ADELE@contoso.com' or mail eq 'guest@fabrikam.com'"}, "$select": {"id"}}
	got := values(t, send(t, srv, "GET", "/v1.0/users?"+q.Encode(), nil))
	if len(got) != 2 || got[0]["id"] != AdeleID || got[1]["id"] != GuestID {
		t.Errorf("filter: %v", got)
	}
	q = url.Values{"$filter": {"mail eq 'o''brien@contoso.com'"}}
	if got := values(t, send(t, srv, "GET", "/v1.0/users?"+q.Encode(), nil)); len(got) != 0 {
		t.Errorf("no match: %v", got)
	}
	q = url.Values{"$filter": {"shoeSize eq '42'"}}
	if r := send(t, srv, "GET", "/v1.0/users?"+q.Encode(), nil); r.Status != 400 {
		t.Errorf("unknown property: %d", r.Status)
	}
	q = url.Values{"$filter": {"userPrincipalName eq"}}
	if r := send(t, srv, "GET", "/v1.0/users?"+q.Encode(), nil); r.Status != 400 {
		t.Errorf("truncated filter: %d", r.Status)
	}
}

func TestTransitiveMemberOf(t *testing.T) {
	srv := newServer(t)
	got := values(t, send(t, srv, "GET", "/v1.0/users/"+LeeID+"/transitiveMemberOf/microsoft.graph.group", nil))
	if len(got) != 1 || got[0]["id"] != Tier0OperatorsID || got[0]["isAssignableToRole"] != true ||
		got[0]["@odata.type"] != "#microsoft.graph.group" || got[0]["displayName"] != "Tier0 Operators" {
		t.Errorf("lee's groups: %v", got)
	}

	// Roles held through a role-assignable group show in transitiveMemberOf, not memberOf.
	srv.AddGroup(Group{ID: Tier0OperatorsID, DisplayName: "Tier0 Operators", IsAssignableToRole: true,
		Roles: []bot.RoleAssignment{{TemplateID: bot.RoleSecurityAdmin, Scope: "/"}}})
	roles := values(t, send(t, srv, "GET", "/v1.0/users/"+LeeID+"/transitiveMemberOf/microsoft.graph.directoryRole", nil))
	if len(roles) != 1 || roles[0]["roleTemplateId"] != bot.RoleSecurityAdmin || roles[0]["id"] == bot.RoleSecurityAdmin {
		t.Errorf("lee's transitive roles: %v", roles)
	}
	if direct := values(t, send(t, srv, "GET", "/v1.0/users/"+LeeID+"/memberOf/microsoft.graph.directoryRole", nil)); len(direct) != 0 {
		t.Errorf("lee's direct roles: %v", direct)
	}

	// Paging: helpdesk@ is in one group and holds one role; $top=1 gives two pages.
	r := send(t, srv, "GET", "/v1.0/users/helpdesk@contoso.com/transitiveMemberOf?$top=1", nil)
	page := r.json(t)
	next, _ := page["@odata.nextLink"].(string)
	if len(values(t, r)) != 1 || next == "" {
		t.Fatalf("first page: %s", r.Body)
	}
	r2 := send(t, srv, "GET", next, nil)
	if p2 := r2.json(t); len(values(t, r2)) != 1 || p2["@odata.nextLink"] != nil {
		t.Fatalf("second page: %s", r2.Body)
	}
	types := []any{values(t, r)[0]["@odata.type"], values(t, r2)[0]["@odata.type"]}
	if !slices.Contains(types, "#microsoft.graph.group") || !slices.Contains(types, "#microsoft.graph.directoryRole") {
		t.Errorf("helpdesk's memberships: %v", types)
	}

	if r := send(t, srv, "GET", "/v1.0/users/lee@contoso.com/transitiveMemberOf?$top=1000", nil); r.Status != 400 {
		t.Errorf("$top=1000: %d", r.Status)
	}
}

func TestAdministrativeUnits(t *testing.T) {
	srv := newServer(t)
	got := values(t, send(t, srv, "GET", "/v1.0/users/nestor@contoso.com/memberOf/microsoft.graph.administrativeUnit", nil))
	if len(got) != 1 || got[0]["id"] != ParisOfficeID || got[0]["isMemberManagementRestricted"] != false ||
		got[0]["@odata.type"] != "#microsoft.graph.administrativeUnit" {
		t.Errorf("nestor's units: %v", got)
	}
	if got := values(t, send(t, srv, "GET", "/v1.0/users/adele@contoso.com/memberOf/microsoft.graph.administrativeUnit", nil)); len(got) != 0 {
		t.Errorf("adele's units: %v", got)
	}
}

func TestRoleAssignments(t *testing.T) {
	srv := newServer(t)
	list := func(path, filter string) []map[string]any {
		return values(t, send(t, srv, "GET", path+"?"+url.Values{"$filter": {filter}}.Encode(), nil))
	}
	got := list("/v1.0/roleManagement/directory/roleAssignments", "principalId eq '"+HelpdeskID+"'")
	if len(got) != 1 || got[0]["roleDefinitionId"] != bot.RoleHelpdeskAdmin || got[0]["directoryScopeId"] != "/" ||
		got[0]["principalId"] != HelpdeskID || got[0]["id"] == "" {
		t.Errorf("helpdesk: %v", got)
	}
	got = list("/v1.0/roleManagement/directory/roleAssignments", "principalId eq '"+ParisHelpID+"'")
	if len(got) != 1 || got[0]["directoryScopeId"] != "/administrativeUnits/"+ParisOfficeID {
		t.Errorf("parishelp: %v", got)
	}
	got = list("/v1.0/roleManagement/directory/roleAssignments", "principalId in ('"+MeganID+"','"+PatID+"','"+AdeleID+"')")
	if len(got) != 2 {
		t.Errorf("in: %v", got)
	}
	if got := list("/v1.0/roleManagement/directory/roleAssignments", "principalId eq '"+IsaiahID+"'"); len(got) != 0 {
		t.Errorf("isaiah's active roles: %v", got)
	}
	got = list("/v1.0/roleManagement/directory/roleEligibilitySchedules", "principalId eq '"+IsaiahID+"'")
	if len(got) != 1 || got[0]["roleDefinitionId"] != bot.RoleGlobalAdmin || got[0]["directoryScopeId"] != "/" {
		t.Errorf("isaiah's eligibilities: %v", got)
	}

	// A role held through a group is assigned to the group.
	srv.AddGroup(Group{ID: Tier0OperatorsID, DisplayName: "Tier0 Operators", IsAssignableToRole: true,
		Roles: []bot.RoleAssignment{{TemplateID: bot.RoleSecurityAdmin}}})
	got = list("/v1.0/roleManagement/directory/roleAssignments", "principalId in ('"+LeeID+"','"+Tier0OperatorsID+"')")
	if len(got) != 1 || got[0]["principalId"] != Tier0OperatorsID || got[0]["directoryScopeId"] != "/" {
		t.Errorf("group-held role: %v", got)
	}

	r := send(t, srv, "GET", "/v1.0/roleManagement/directory/roleAssignments?$expand=roleDefinition&"+
		url.Values{"$filter": {"principalId eq '" + PatID + "'"}}.Encode(), nil)
	if def, _ := values(t, r)[0]["roleDefinition"].(map[string]any); def["templateId"] != bot.RolePrivilegedAuthAdmin {
		t.Errorf("$expand=roleDefinition: %s", r.Body)
	}
}

func TestRevokeSignInSessions(t *testing.T) {
	srv := newServer(t)
	r := send(t, srv, "POST", "/v1.0/users/adele@contoso.com/revokeSignInSessions", nil)
	if r.Status != http.StatusOK || r.json(t)["value"] != true {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	send(t, srv, "POST", "/v1.0/users/"+AdeleID+"/revokeSignInSessions", nil)
	if n := srv.SessionsRevoked(AdeleID); n != 2 {
		t.Errorf("SessionsRevoked = %d", n)
	}
	srv.SetAppRole(bot.RoleHelpdeskAdmin)
	if r := send(t, srv, "POST", "/v1.0/users/megan@contoso.com/revokeSignInSessions", nil); r.Status != http.StatusForbidden {
		t.Errorf("helpdesk app revoking a Global Administrator: %d", r.Status)
	}
}
