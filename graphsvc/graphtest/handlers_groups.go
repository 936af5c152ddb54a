package graphtest

import (
	"net/http"
	"slices"
	"strings"
)

// The group side of the directory: groups with their members and owners, PIM for Groups
// eligibilities, and administrative units with their members. A client reads the tenant's
// privileged set from here once, instead of asking about each user's memberships.

func groupJSON(g *Group) map[string]any {
	visibility := any(nil)
	if g.IsAssignableToRole {
		visibility = "Private"
	}
	return map[string]any{
		"id": g.ID, "displayName": g.DisplayName, "isAssignableToRole": g.IsAssignableToRole,
		"securityEnabled": true, "mailEnabled": false, "groupTypes": []string{}, "visibility": visibility,
	}
}

var groupFilterProps = map[string]propKind{
	"id": kindString, "displayName": kindString, "isAssignableToRole": kindBool, "securityEnabled": kindBool,
}

// listGroups is GET /groups: $filter (isAssignableToRole eq true, id, displayName), $select, $top.
func (s *Server) listGroups(c *call, _ []string) response {
	filter, bad := filterOf(c, groupFilterProps)
	if bad != nil {
		return *bad
	}
	var items []map[string]any
	for _, id := range s.groupOrder {
		obj := groupJSON(s.groups[id])
		if filter != nil && !filter.match(func(p string) any { return obj[p] }) {
			continue
		}
		if obj, bad = selectOn(obj, selection(c), "microsoft.graph.group"); bad != nil {
			return *bad
		}
		items = append(items, obj)
	}
	return s.collection(c, "groups", items, 100)
}

func (s *Server) getGroup(c *call, p []string) response {
	g := s.groups[p[0]]
	if g == nil {
		return notFound(p[0])
	}
	obj, bad := selectOn(groupJSON(g), selection(c), "microsoft.graph.group")
	if bad != nil {
		return *bad
	}
	obj["@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#groups/$entity"
	return ok(http.StatusOK, obj)
}

// groupMembers is GET /groups/{id}/members and /transitiveMembers (groups do not nest here, so they
// are the same), with an optional type cast segment.
func (s *Server) groupMembers(c *call, p []string) response {
	g := s.groups[p[0]]
	if g == nil {
		return notFound(p[0])
	}
	var ids []string
	for _, id := range s.userOrder {
		if slices.Contains(s.users[id].Groups, g.ID) {
			ids = append(ids, id)
		}
	}
	return s.directoryObjects(c, p[1:], ids)
}

// groupOwners is GET /groups/{id}/owners, with an optional type cast segment. PIM-eligible owners
// are not listed until they activate.
func (s *Server) groupOwners(c *call, p []string) response {
	g := s.groups[p[0]]
	if g == nil {
		return notFound(p[0])
	}
	return s.directoryObjects(c, p[1:], g.Owners)
}

// directoryObjects answers a listing of users as directoryObjects: each with its @odata.type,
// narrowed by a type cast segment (cast[0], when given) and $select, paged by $top (at most 999).
func (s *Server) directoryObjects(c *call, cast []string, userIDs []string) response {
	onlyUsers := false
	if len(cast) > 0 {
		switch t := strings.TrimPrefix(lower(cast[0]), "microsoft."); t {
		case "graph.user":
			onlyUsers = true
		case "graph.group", "graph.device", "graph.serviceprincipal", "graph.orgcontact":
			return s.collection(c, "directoryObjects", nil, 100) // no members of those kinds here
		default:
			return badRequest("Resource not found for the segment '" + cast[0] + "'.")
		}
	}
	var items []map[string]any
	for _, id := range userIDs {
		u := s.users[id]
		if u == nil {
			continue
		}
		obj := map[string]any{"id": u.ID, "displayName": u.DisplayName, "userPrincipalName": u.UPN, "mail": nil}
		if u.Mail != "" {
			obj["mail"] = u.Mail
		}
		obj, bad := selectOn(obj, selection(c), "microsoft.graph.directoryObject")
		if bad != nil {
			return *bad
		}
		if !onlyUsers {
			obj["@odata.type"] = "#microsoft.graph.user"
		}
		items = append(items, obj)
	}
	return s.collection(c, "directoryObjects", items, 100)
}

var groupEligibilityFilterProps = map[string]propKind{
	"id": kindString, "groupId": kindString, "principalId": kindString, "accessId": kindString, "memberType": kindString,
}

// listGroupEligibilities is GET /identityGovernance/privilegedAccess/group/eligibilitySchedules:
// PIM for Groups eligibilities (accessId member or owner). Graph requires $filter with groupId eq or
// principalId eq; without one it answers 400 (the wording is ours).
func (s *Server) listGroupEligibilities(c *call, _ []string) response {
	filter, bad := filterOf(c, groupEligibilityFilterProps)
	if bad != nil {
		return *bad
	}
	if !hasEq(filter, "groupId", "principalId") {
		return badRequest("The $filter must name a groupId or a principalId with eq: list eligibilities per group or per principal.")
	}
	var items []map[string]any
	for _, gid := range s.groupOrder {
		g := s.groups[gid]
		for _, access := range []struct {
			id    string
			users []string
		}{{"member", g.EligibleMembers}, {"owner", g.EligibleOwners}} {
			for _, uid := range access.users {
				obj := map[string]any{
					"id":           stableGUID("groupEligibility/" + gid + "/" + access.id + "/" + uid),
					"accessId":     access.id,
					"groupId":      gid,
					"principalId":  uid,
					"memberType":   "direct",
					"status":       "Provisioned",
					"createdUsing": stableGUID("groupEligibilityRequest/" + gid + "/" + access.id + "/" + uid),
					"scheduleInfo": map[string]any{"startDateTime": "2025-01-01T00:00:00Z",
						"expiration": map[string]any{"type": "noExpiration", "endDateTime": nil, "duration": nil}},
				}
				if !filter.match(func(p string) any { return obj[p] }) {
					continue
				}
				if obj, bad = selectOn(obj, selection(c), "microsoft.graph.privilegedAccessGroupEligibilitySchedule"); bad != nil {
					return *bad
				}
				items = append(items, obj)
			}
		}
	}
	return s.collection(c, "identityGovernance/privilegedAccess/group/eligibilitySchedules", items, 100)
}

// hasEq reports whether the filter requires one of props to equal a value: an eq comparison on
// it, alone or joined to others with and.
func hasEq(e filterExpr, props ...string) bool {
	switch x := e.(type) {
	case cmpExpr:
		return x.op == "eq" && slices.Contains(props, x.prop)
	case andExpr:
		for _, t := range x {
			if hasEq(t, props...) {
				return true
			}
		}
	}
	return false
}

func unitJSON(a *AdministrativeUnit) map[string]any {
	return map[string]any{"id": a.ID, "displayName": a.DisplayName,
		"isMemberManagementRestricted": a.IsMemberManagementRestricted, "visibility": nil, "description": nil}
}

var unitFilterProps = map[string]propKind{"id": kindString, "displayName": kindString}

// listUnits is GET /directory/administrativeUnits: $filter, $select, $top.
func (s *Server) listUnits(c *call, _ []string) response {
	filter, bad := filterOf(c, unitFilterProps)
	if bad != nil {
		return *bad
	}
	var items []map[string]any
	for _, id := range s.auOrder {
		obj := unitJSON(s.aus[id])
		if filter != nil && !filter.match(func(p string) any { return obj[p] }) {
			continue
		}
		if obj, bad = selectOn(obj, selection(c), "microsoft.graph.administrativeUnit"); bad != nil {
			return *bad
		}
		items = append(items, obj)
	}
	return s.collection(c, "directory/administrativeUnits", items, 100)
}

func (s *Server) getUnit(c *call, p []string) response {
	a := s.aus[p[0]]
	if a == nil {
		return notFound(p[0])
	}
	obj, bad := selectOn(unitJSON(a), selection(c), "microsoft.graph.administrativeUnit")
	if bad != nil {
		return *bad
	}
	obj["@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#directory/administrativeUnits/$entity"
	return ok(http.StatusOK, obj)
}

// unitMembers is GET /directory/administrativeUnits/{id}/members: the unit's direct members.
func (s *Server) unitMembers(c *call, p []string) response {
	a := s.aus[p[0]]
	if a == nil {
		return notFound(p[0])
	}
	var ids []string
	for _, id := range s.userOrder {
		if slices.Contains(s.users[id].AdministrativeUnits, a.ID) {
			ids = append(ids, id)
		}
	}
	return s.directoryObjects(c, p[1:], ids)
}
