package graphtest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot"
)

// ids returns the "id" of every item of a collection response.
func ids(t *testing.T, r reply) []string {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	var out []string
	for _, v := range values(t, r) {
		out = append(out, fmt.Sprint(v["id"]))
	}
	return out
}

func get(t *testing.T, srv *Server, path string, q url.Values) reply {
	t.Helper()
	if q != nil {
		path += "?" + q.Encode()
	}
	return send(t, srv, "GET", path, nil)
}

func TestListGroups(t *testing.T) {
	srv := newServer(t)
	q := url.Values{"$filter": {"isAssignableToRole eq true"}, "$select": {"id,displayName"}}
	r := get(t, srv, "/v1.0/groups", q)
	got := values(t, r)
	if len(got) != 1 || got[0]["id"] != Tier0OperatorsID || got[0]["displayName"] != "Tier0 Operators" || len(got[0]) != 2 {
		t.Errorf("role-assignable groups: %v", got)
	}
	if all := ids(t, get(t, srv, "/v1.0/groups", nil)); !slices.Equal(all, []string{Tier0OperatorsID, HelpdeskTeamID}) {
		t.Errorf("all groups: %v", all)
	}
	if r := get(t, srv, "/v1.0/groups", url.Values{"$select": {"id,shoeSize"}}); r.Status != http.StatusBadRequest {
		t.Errorf("unknown property selected: %d", r.Status)
	}
	g := get(t, srv, "/v1.0/groups/"+Tier0OperatorsID, url.Values{"$select": {"isAssignableToRole"}}).json(t)
	if g["isAssignableToRole"] != true || g["id"] != Tier0OperatorsID {
		t.Errorf("one group: %v", g)
	}
	if r := get(t, srv, "/v1.0/groups/20000000-0000-4000-8000-0000000000ff", nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown group: %d", r.Status)
	}
}

func TestGroupMembersAndOwners(t *testing.T) {
	srv := newServer(t)
	sel := url.Values{"$select": {"id"}}
	base := "/v1.0/groups/" + Tier0OperatorsID
	for _, path := range []string{base + "/members", base + "/members/microsoft.graph.user", base + "/transitiveMembers",
		base + "/transitiveMembers/graph.user"} {
		if got := ids(t, get(t, srv, path, sel)); !slices.Equal(got, []string{LeeID}) {
			t.Errorf("%s: %v", path, got)
		}
	}
	// Owners are not members; a PIM-eligible member is neither until activated.
	if got := ids(t, get(t, srv, base+"/owners", sel)); !slices.Equal(got, []string{MiriamID}) {
		t.Errorf("owners: %v", got)
	}
	m := values(t, get(t, srv, base+"/members", nil))
	if len(m) != 1 || m[0]["@odata.type"] != "#microsoft.graph.user" || m[0]["userPrincipalName"] != "lee@contoso.com" {
		t.Errorf("members without $select: %v", m)
	}
	if got := ids(t, get(t, srv, base+"/members/microsoft.graph.group", nil)); len(got) != 0 {
		t.Errorf("group members of a group that has none: %v", got)
	}
	if r := get(t, srv, base+"/members/microsoft.graph.shoe", nil); r.Status != http.StatusBadRequest {
		t.Errorf("unknown cast: %d", r.Status)
	}
	if r := get(t, srv, "/v1.0/groups/nope/owners", nil); r.Status != http.StatusNotFound {
		t.Errorf("owners of an unknown group: %d", r.Status)
	}
	// Paging: 150 members of Helpdesk Team come in pages of $top.
	for i := range 150 {
		srv.AddUser(User{UPN: fmt.Sprintf("team%03d@contoso.com", i), AccountEnabled: true, Groups: []string{HelpdeskTeamID}})
	}
	r := get(t, srv, "/v1.0/groups/"+HelpdeskTeamID+"/transitiveMembers/microsoft.graph.user", url.Values{"$select": {"id"}, "$top": {"100"}})
	page := r.json(t)
	next, _ := page["@odata.nextLink"].(string)
	if len(values(t, r)) != 100 || next == "" {
		t.Fatalf("first page: %d items, next %q", len(values(t, r)), next)
	}
	if rest := ids(t, send(t, srv, "GET", next, nil)); len(rest) != 52 { // helpdesk@, parishelp@ and 150, less the first 100
		t.Errorf("second page: %d items", len(rest))
	}
}

func TestGroupEligibilitySchedules(t *testing.T) {
	srv := newServer(t)
	srv.AddGroup(Group{ID: HelpdeskTeamID, DisplayName: "Helpdesk Team", EligibleOwners: []string{AdeleID}})
	path := "/v1.0/identityGovernance/privilegedAccess/group/eligibilitySchedules"
	got := values(t, get(t, srv, path, url.Values{"$filter": {"groupId eq '" + Tier0OperatorsID + "'"}}))
	if len(got) != 1 || got[0]["principalId"] != HenriettaID || got[0]["accessId"] != "member" || got[0]["groupId"] != Tier0OperatorsID ||
		got[0]["status"] != "Provisioned" || got[0]["memberType"] != "direct" {
		t.Errorf("by group: %v", got)
	}
	got = values(t, get(t, srv, path, url.Values{"$filter": {"principalId eq '" + AdeleID + "' and accessId eq 'owner'"}}))
	if len(got) != 1 || got[0]["groupId"] != HelpdeskTeamID || got[0]["accessId"] != "owner" {
		t.Errorf("by principal: %v", got)
	}
	for _, f := range []string{"", "accessId eq 'member'", "groupId ne 'x'", "groupId eq 'a' or principalId eq 'b'"} {
		r := get(t, srv, path, url.Values{"$filter": {f}})
		if code, _ := r.graphErr(t); r.Status != http.StatusBadRequest || code != "BadRequest" {
			t.Errorf("filter %q: %d %s", f, r.Status, code)
		}
	}
}

func TestListAdministrativeUnits(t *testing.T) {
	srv := newServer(t)
	const lockedID = "30000000-0000-4000-8000-0000000000aa"
	srv.AddAdministrativeUnit(AdministrativeUnit{ID: lockedID, DisplayName: "Locked", IsMemberManagementRestricted: true})
	srv.AddUser(User{UPN: "vault@contoso.com", AccountEnabled: true, AdministrativeUnits: []string{lockedID, ParisOfficeID}})
	got := values(t, get(t, srv, "/v1.0/directory/administrativeUnits", url.Values{"$select": {"id,isMemberManagementRestricted"}}))
	if len(got) != 2 || got[0]["id"] != ParisOfficeID || got[0]["isMemberManagementRestricted"] != false ||
		got[1]["isMemberManagementRestricted"] != true || len(got[1]) != 2 {
		t.Errorf("units: %v", got)
	}
	vault, _ := srv.User("vault@contoso.com")
	if m := ids(t, get(t, srv, "/v1.0/directory/administrativeUnits/"+ParisOfficeID+"/members", url.Values{"$select": {"id"}})); !slices.Equal(m, []string{NestorID, vault.ID}) {
		t.Errorf("Paris office members: %v", m)
	}
	if m := ids(t, get(t, srv, "/v1.0/directory/administrativeUnits/"+lockedID+"/members/microsoft.graph.user", nil)); !slices.Equal(m, []string{vault.ID}) {
		t.Errorf("Locked members: %v", m)
	}
	u := get(t, srv, "/v1.0/directory/administrativeUnits/"+lockedID, nil).json(t)
	if u["isMemberManagementRestricted"] != true {
		t.Errorf("one unit: %v", u)
	}
	if r := get(t, srv, "/v1.0/directory/administrativeUnits/nope/members", nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown unit: %d", r.Status)
	}
}

// Graph takes at most 15 values in an `in` (or clauses joined with or).
func TestFilterInLimit(t *testing.T) {
	srv := newServer(t)
	upns := func(n int) string {
		var q []string
		for i := range n {
			q = append(q, fmt.Sprintf("'u%d@contoso.com'", i))
		}
		q[0] = "'adele@contoso.com'"
		return strings.Join(q, ",")
	}
	if got := ids(t, get(t, srv, "/v1.0/users", url.Values{"$filter": {"userPrincipalName in (" + upns(15) + ")"}})); !slices.Equal(got, []string{AdeleID}) {
		t.Errorf("15 values: %v", got)
	}
	for _, f := range []string{"userPrincipalName in (" + upns(16) + ")",
		"userPrincipalName in (" + upns(10) + ") or id in (" + upns(6) + ")"} {
		r := get(t, srv, "/v1.0/users", url.Values{"$filter": {f}})
		code, msg := r.graphErr(t)
		if r.Status != http.StatusBadRequest || code != "Request_UnsupportedQuery" || !strings.Contains(msg, "16. Max allowed: 15") {
			t.Errorf("16 values: %d %s %q", r.Status, code, msg)
		}
	}
	// Fifteen values each on both sides of an and is two groups of 15: accepted.
	f := "userPrincipalName in (" + upns(15) + ") and mail in (" + upns(15) + ")"
	if r := get(t, srv, "/v1.0/users", url.Values{"$filter": {f}}); r.Status != http.StatusOK {
		t.Errorf("15 and 15: %d %s", r.Status, r.Body)
	}
}

// The whole tenant's assignments, with $select: users' and groups', active and eligible.
func TestListAllRoleAssignments(t *testing.T) {
	srv := newServer(t)
	srv.AddGroup(Group{ID: Tier0OperatorsID, DisplayName: "Tier0 Operators", IsAssignableToRole: true,
		Roles:         []bot.RoleAssignment{{TemplateID: bot.RoleUserAdmin}},
		EligibleRoles: []bot.RoleAssignment{{TemplateID: bot.RoleGlobalAdmin, Scope: "/"}}})
	sel := url.Values{"$select": {"principalId,roleDefinitionId,directoryScopeId"}}
	active := values(t, get(t, srv, "/v1.0/roleManagement/directory/roleAssignments", sel))
	last := active[len(active)-1]
	if last["principalId"] != Tier0OperatorsID || last["roleDefinitionId"] != bot.RoleUserAdmin || last["directoryScopeId"] != "/" ||
		last["id"] == nil || len(last) != 4 {
		t.Errorf("the group's active role, selected: %v", last)
	}
	elig := values(t, get(t, srv, "/v1.0/roleManagement/directory/roleEligibilitySchedules", sel))
	if len(elig) != 2 || elig[0]["principalId"] != IsaiahID || elig[1]["principalId"] != Tier0OperatorsID {
		t.Errorf("eligibilities: %v", elig)
	}
	if r := get(t, srv, "/v1.0/roleManagement/directory/roleAssignments", url.Values{"$select": {"nope"}}); r.Status != http.StatusBadRequest {
		t.Errorf("unknown property selected: %d", r.Status)
	}
}

// What a client reading the privileged set sees: groups narrowed to those of interest and the
// role-assignable ones; units to those that matter.
func TestBotUserSeen(t *testing.T) {
	srv := newServer(t)
	helpdesk, _ := srv.BotUserSeen("helpdesk@contoso.com", Interest{Groups: []string{}})
	if len(helpdesk.Groups) != 0 {
		t.Errorf("no groups of interest: %v", helpdesk.Groups)
	}
	helpdesk, _ = srv.BotUserSeen("helpdesk@contoso.com", Interest{Groups: []string{HelpdeskTeamID}})
	lee, _ := srv.BotUserSeen("lee@contoso.com", Interest{Groups: []string{}})
	if !slices.Equal(helpdesk.Groups, []string{HelpdeskTeamID}) || !slices.Equal(lee.Groups, []string{Tier0OperatorsID}) {
		t.Errorf("helpdesk %v, lee %v", helpdesk.Groups, lee.Groups)
	}
	// Paris office is the scope of parishelp@'s role: it matters. Another plain unit does not,
	// unless asked for.
	const plainID = "30000000-0000-4000-8000-0000000000bb"
	srv.AddAdministrativeUnit(AdministrativeUnit{ID: plainID, DisplayName: "Plain"})
	srv.AddUser(User{ID: NestorID, UPN: "nestor@contoso.com", AccountEnabled: true, AdministrativeUnits: []string{ParisOfficeID, plainID}})
	nestor, _ := srv.BotUserSeen(NestorID, Interest{})
	all, _ := srv.BotUser(NestorID)
	asked, _ := srv.BotUserSeen(NestorID, Interest{Units: []string{plainID}})
	if !slices.Equal(nestor.AdministrativeUnits, []string{ParisOfficeID}) || len(all.AdministrativeUnits) != 2 || len(asked.AdministrativeUnits) != 2 {
		t.Errorf("seen %v, all %v, asked %v", nestor.AdministrativeUnits, all.AdministrativeUnits, asked.AdministrativeUnits)
	}
	// A PIM-eligible member of a role-assignable group is eligible for the group's roles.
	srv.AddGroup(Group{ID: Tier0OperatorsID, DisplayName: "Tier0 Operators", IsAssignableToRole: true,
		Roles: []bot.RoleAssignment{{TemplateID: bot.RoleUserAdmin, Scope: "/"}}, EligibleMembers: []string{HenriettaID}})
	henrietta, _ := srv.BotUser(HenriettaID)
	if len(henrietta.Roles) != 0 || len(henrietta.EligibleRoles) != 1 || henrietta.EligibleRoles[0].TemplateID != bot.RoleUserAdmin {
		t.Errorf("henrietta: %+v", henrietta)
	}
}
