package graphtest

import (
	"net/http"
	"strings"

	"github.com/resetbot/resetbot/bot"
)

// assignment is one role assignment or eligibility, whoever its principal (user or group).
type assignment struct {
	principalID string
	ra          bot.RoleAssignment
}

// assignments lists active assignments (eligible=false) or PIM eligibilities, users first, then
// groups, in seed order. Only direct principals: a user's roles through a group are listed under the
// group, as Graph's roleAssignments does.
func (d *directory) assignments(eligible bool) []assignment {
	var out []assignment
	for _, id := range d.userOrder {
		u := d.users[id]
		ras := u.Roles
		if eligible {
			ras = u.EligibleRoles
		}
		for _, ra := range normalizeScope(ras) {
			out = append(out, assignment{u.ID, ra})
		}
	}
	for _, id := range d.groupOrder {
		ras := d.groups[id].Roles
		if eligible {
			ras = d.groups[id].EligibleRoles
		}
		for _, ra := range normalizeScope(ras) {
			out = append(out, assignment{id, ra})
		}
	}
	if !eligible {
		for _, ra := range normalizeScope(d.tenant.AppRoles) {
			out = append(out, assignment{d.tenant.ServicePrincipalID, ra})
		}
	}
	return out
}

var assignmentFilterProps = map[string]propKind{
	"id": kindString, "principalId": kindString, "roleDefinitionId": kindString, "directoryScopeId": kindString,
}

func assignmentJSON(a assignment, kind string) map[string]any {
	return map[string]any{
		"id":               stableGUID(kind + "/" + a.principalID + "/" + a.ra.TemplateID + "/" + a.ra.Scope),
		"principalId":      a.principalID,
		"roleDefinitionId": a.ra.TemplateID,
		"directoryScopeId": a.ra.Scope,
		"appScopeId":       nil,
	}
}

func (s *Server) listRoleAssignments(c *call, _ []string) response {
	return s.listAssignments(c, false)
}

func (s *Server) listRoleEligibilities(c *call, _ []string) response {
	return s.listAssignments(c, true)
}

// listAssignments serves roleAssignments and roleEligibilitySchedules(Instances), with $filter on
// principalId (eq, in) and friends, $select, and $expand=roleDefinition. Without a filter it lists
// the whole tenant's, users' and groups' alike, 100 a page.
func (s *Server) listAssignments(c *call, eligible bool) response {
	filter, bad := filterOf(c, assignmentFilterProps)
	if bad != nil {
		return *bad
	}
	expand := option(c, "expand")
	if expand != "" && !strings.EqualFold(expand, "roleDefinition") {
		return graphError(http.StatusBadRequest, "Request_UnsupportedQuery",
			"graphtest supports $expand=roleDefinition only, not '"+expand+"'.")
	}
	kind, context := "assignment", "roleManagement/directory/roleAssignments"
	if eligible {
		kind, context = "eligibility", "roleManagement/directory/roleEligibilitySchedules"
	}
	var items []map[string]any
	for _, a := range s.assignments(eligible) {
		obj := assignmentJSON(a, kind)
		if filter != nil && !filter.match(func(p string) any { return obj[p] }) {
			continue
		}
		if eligible {
			obj["memberType"] = "Direct"
			obj["status"] = "Provisioned"
			obj["scheduleInfo"] = map[string]any{"startDateTime": "2025-01-01T00:00:00Z",
				"expiration": map[string]any{"type": "noExpiration", "endDateTime": nil, "duration": nil}}
		}
		obj, bad = selectOn(obj, selection(c), "microsoft.graph.unifiedRoleAssignment")
		if bad != nil {
			return *bad
		}
		if expand != "" {
			obj["roleDefinition"] = map[string]any{"id": a.ra.TemplateID, "templateId": a.ra.TemplateID,
				"displayName": bot.RoleName(a.ra.TemplateID), "isBuiltIn": true, "isEnabled": true}
		}
		items = append(items, obj)
	}
	return s.collection(c, context, items, 100)
}
