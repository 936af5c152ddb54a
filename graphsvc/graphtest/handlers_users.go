package graphtest

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// defaultUserProps are what Graph v1.0 returns for a user without $select. accountEnabled, userType
// and onPremisesSyncEnabled are not among them: a client that forgets $select reads them as absent.
var defaultUserProps = []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail",
	"mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}

func userJSON(u *User) map[string]any {
	given, sur, _ := strings.Cut(u.DisplayName, " ")
	m := map[string]any{
		"id": u.ID, "userPrincipalName": u.UPN, "displayName": u.DisplayName,
		"givenName": given, "surname": sur, "accountEnabled": u.AccountEnabled, "userType": u.UserType,
		"businessPhones": []string{}, "otherMails": []string{}, "jobTitle": nil, "mobilePhone": nil,
		"officeLocation": nil, "preferredLanguage": nil, "mail": nil, "passwordPolicies": nil,
		"onPremisesSyncEnabled": nil, "passwordProfile": nil,
	}
	if u.Mail != "" {
		m["mail"] = u.Mail
	}
	if u.PasswordPolicies != "" {
		m["passwordPolicies"] = u.PasswordPolicies
	}
	if u.OnPremisesSyncEnabled != nil {
		m["onPremisesSyncEnabled"] = *u.OnPremisesSyncEnabled
	}
	m["lastPasswordChangeDateTime"] = nil
	if !u.LastPasswordChange.IsZero() {
		m["lastPasswordChangeDateTime"] = u.LastPasswordChange.UTC().Format(time.RFC3339)
	}
	return m
}

// renderUser applies $select and $expand=manager the way Graph does for one user.
func (s *Server) renderUser(u *User, sel []string, expand string) (map[string]any, *response) {
	if sel == nil {
		sel = defaultUserProps
	}
	out, unknown := project(userJSON(u), sel)
	if len(unknown) > 0 {
		r := badRequest(fmt.Sprintf("Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.user'.", unknown[0]))
		return nil, &r
	}
	if expand == "" {
		return out, nil
	}
	nav, inner, _ := strings.Cut(strings.TrimSuffix(expand, ")"), "(")
	if !strings.EqualFold(strings.TrimSpace(nav), "manager") {
		r := graphError(http.StatusBadRequest, "Request_UnsupportedQuery",
			"graphtest supports $expand=manager only, not '"+expand+"'.")
		return nil, &r
	}
	var mgrSel []string
	for _, opt := range strings.Split(inner, ";") {
		if k, v, ok := strings.Cut(opt, "="); ok && strings.TrimPrefix(strings.TrimSpace(k), "$") == "select" {
			mgrSel = strings.Split(v, ",")
		}
	}
	if m := s.users[u.ManagerID]; m != nil {
		mgr, bad := s.renderUser(m, mgrSel, "")
		if bad != nil {
			return nil, bad
		}
		mgr["@odata.type"] = "#microsoft.graph.user"
		out["manager"] = mgr
	}
	return out, nil
}

func (s *Server) getUser(c *call, p []string) response {
	u := s.lookup(p[0])
	if u == nil {
		return notFound(p[0])
	}
	out, bad := s.renderUser(u, selection(c), option(c, "expand"))
	if bad != nil {
		return *bad
	}
	out["@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#users/$entity"
	return ok(http.StatusOK, out)
}

func (s *Server) getManager(c *call, p []string) response {
	u := s.lookup(p[0])
	if u == nil {
		return notFound(p[0])
	}
	m := s.users[u.ManagerID]
	if m == nil {
		return notFound("manager")
	}
	out, bad := s.renderUser(m, selection(c), "")
	if bad != nil {
		return *bad
	}
	out["@odata.type"] = "#microsoft.graph.user"
	out["@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#directoryObjects/$entity"
	return ok(http.StatusOK, out)
}

var userFilterProps = map[string]propKind{
	"id": kindString, "userPrincipalName": kindString, "mail": kindString, "displayName": kindString,
	"givenName": kindString, "surname": kindString, "userType": kindString, "accountEnabled": kindBool,
	"onPremisesSyncEnabled": kindBool,
}

// userRecord reads one property of a user for a filter. The properties filters use most are read
// straight from the user; a list of thousands filtered many times must not build each user's JSON.
func userRecord(u *User) record {
	var m map[string]any
	return func(prop string) any {
		switch prop {
		case "id":
			return u.ID
		case "userPrincipalName":
			return u.UPN
		case "mail":
			if u.Mail == "" {
				return nil
			}
			return u.Mail
		case "displayName":
			return u.DisplayName
		case "accountEnabled":
			return u.AccountEnabled
		}
		if m == nil {
			m = userJSON(u)
		}
		return m[prop]
	}
}

func (s *Server) listUsers(c *call, _ []string) response {
	filter, bad := filterOf(c, userFilterProps)
	if bad != nil {
		return *bad
	}
	sel, expand := selection(c), option(c, "expand")
	var items []map[string]any
	for _, id := range s.userOrder {
		u := s.users[id]
		if filter != nil && !filter.match(userRecord(u)) {
			continue
		}
		out, bad := s.renderUser(u, sel, expand)
		if bad != nil {
			return *bad
		}
		items = append(items, out)
	}
	return s.collection(c, "users", items, 100)
}

func (s *Server) memberOf(c *call, p []string) response {
	return s.memberships(c, p, false)
}

func (s *Server) transitiveMemberOf(c *call, p []string) response {
	return s.memberships(c, p, true)
}

// memberships lists what the user is a member of, as Graph does: groups, administrative units and
// directory roles (tenant-wide assignments only; unit-scoped ones are scopedRoleMemberOf in Graph).
// Roles held through a role-assignable group appear only in the transitive listing. A type cast
// segment (/microsoft.graph.group or /graph.group, …) narrows the list.
func (s *Server) memberships(c *call, p []string, transitive bool) response {
	u := s.lookup(p[0])
	if u == nil {
		return notFound(p[0])
	}
	cast := ""
	if len(p) > 1 {
		// The SDK writes casts with Graph's short namespace alias (graph.group); both are accepted.
		cast = lower(p[1])
		if !strings.HasPrefix(cast, "microsoft.") {
			cast = "microsoft." + cast
		}
		switch cast {
		case "microsoft.graph.group", "microsoft.graph.administrativeunit", "microsoft.graph.directoryrole":
		default:
			return badRequest("Resource not found for the segment '" + p[1] + "'.")
		}
	}
	var items []map[string]any
	add := func(typ string, obj map[string]any) {
		if cast == "" || cast == lower(typ) {
			obj["@odata.type"] = "#" + typ
			items = append(items, obj)
		}
	}
	roles := map[string]bool{}
	addRoles := func(ras []bot.RoleAssignment) {
		for _, ra := range normalizeScope(ras) {
			if ra.TenantWide() && !roles[ra.TemplateID] {
				roles[ra.TemplateID] = true
				add("microsoft.graph.directoryRole", map[string]any{"id": directoryRoleID(ra.TemplateID),
					"displayName": bot.RoleName(ra.TemplateID), "description": nil, "roleTemplateId": ra.TemplateID})
			}
		}
	}
	for _, gid := range u.Groups {
		if g := s.groups[gid]; g != nil {
			add("microsoft.graph.group", map[string]any{"id": g.ID, "displayName": g.DisplayName,
				"isAssignableToRole": g.IsAssignableToRole, "securityEnabled": true, "mailEnabled": false,
				"groupTypes": []string{}})
		}
	}
	for _, aid := range u.AdministrativeUnits {
		if a := s.aus[aid]; a != nil {
			add("microsoft.graph.administrativeUnit", map[string]any{"id": a.ID, "displayName": a.DisplayName,
				"isMemberManagementRestricted": a.IsMemberManagementRestricted, "visibility": nil})
		}
	}
	addRoles(u.Roles)
	if transitive {
		for _, gid := range u.Groups {
			if g := s.groups[gid]; g != nil {
				addRoles(g.Roles)
			}
		}
	}
	if sel := selection(c); sel != nil {
		for i, obj := range items {
			items[i], _ = project(obj, sel) // properties of other types are simply absent
		}
	}
	return s.collection(c, "directoryObjects", items, 100)
}

// directoryRoleID is the object ID of a role's activated directoryRole in this tenant. Like Graph's, it
// differs from the template ID: clients must match roleTemplateId.
func directoryRoleID(templateID string) string { return stableGUID("directoryRole/" + templateID) }

// stableGUID derives a GUID-shaped ID from a name, so derived objects keep their IDs across runs.
func stableGUID(name string) string {
	b := sha256.Sum256([]byte(name))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
