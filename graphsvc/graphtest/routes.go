package graphtest

import (
	"net/http"
	"strings"
)

// handler answers one call. It runs with Server.mu held, so it reads and changes the directory
// freely, and must not block.
type handler func(s *Server, c *call, params []string) response

type route struct {
	pattern []string // literal segments match case-insensitively, as in Graph; "{}" captures one
	method  string
	h       handler
}

var routes = func() []route {
	r := func(method, pattern string, h handler) route {
		return route{pattern: strings.Split(pattern, "/"), method: method, h: h}
	}
	get, post, patch := http.MethodGet, http.MethodPost, http.MethodPatch
	return []route{
		r(get, "users", (*Server).listUsers),
		r(get, "users/{}", (*Server).getUser),
		r(patch, "users/{}", (*Server).patchUser),
		r(get, "users/{}/manager", (*Server).getManager),
		r(get, "users/{}/memberOf", (*Server).memberOf),
		r(get, "users/{}/memberOf/{}", (*Server).memberOf),
		r(get, "users/{}/transitiveMemberOf", (*Server).transitiveMemberOf),
		r(get, "users/{}/transitiveMemberOf/{}", (*Server).transitiveMemberOf),
		r(post, "users/{}/revokeSignInSessions", (*Server).revokeSessions),
		r(get, "users/{}/authentication/methods", (*Server).listAuthMethods),
		r(get, "users/{}/authentication/temporaryAccessPassMethods", (*Server).listAccessPasses),
		r(post, "users/{}/authentication/temporaryAccessPassMethods", (*Server).createAccessPass),
		r(get, "policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{}", (*Server).getAuthMethodConfiguration),
		r(post, "users/{}/authentication/methods/{}/resetPassword", (*Server).resetPassword),
		r(get, "users/{}/authentication/operations/{}", (*Server).getOperation),
		r(get, "groups", (*Server).listGroups),
		r(get, "groups/{}", (*Server).getGroup),
		r(get, "groups/{}/members", (*Server).groupMembers),
		r(get, "groups/{}/members/{}", (*Server).groupMembers),
		r(get, "groups/{}/transitiveMembers", (*Server).groupMembers),
		r(get, "groups/{}/transitiveMembers/{}", (*Server).groupMembers),
		r(get, "groups/{}/owners", (*Server).groupOwners),
		r(get, "groups/{}/owners/{}", (*Server).groupOwners),
		r(get, "identityGovernance/privilegedAccess/group/eligibilitySchedules", (*Server).listGroupEligibilities),
		r(get, "directory/administrativeUnits", (*Server).listUnits),
		r(get, "directory/administrativeUnits/{}", (*Server).getUnit),
		r(get, "directory/administrativeUnits/{}/members", (*Server).unitMembers),
		r(get, "directory/administrativeUnits/{}/members/{}", (*Server).unitMembers),
		r(get, "roleManagement/directory/roleAssignments", (*Server).listRoleAssignments),
		r(get, "roleManagement/directory/roleEligibilitySchedules", (*Server).listRoleEligibilities),
		r(get, "roleManagement/directory/roleEligibilityScheduleInstances", (*Server).listRoleEligibilities),
		r(get, "auditLogs/directoryAudits", (*Server).listDirectoryAudits),
		r(get, "auditLogs/directoryAudits/{}", (*Server).getDirectoryAudit),
	}
}()

// route finds the handler for a call and writes its response, or Graph's answer to a path or
// method it does not know.
func (s *Server) route(w http.ResponseWriter, c *call) {
	rest, found := strings.CutPrefix(c.path, "/v1.0/")
	if !found {
		version, _, _ := strings.Cut(strings.TrimPrefix(c.path, "/"), "/")
		s.write(w, c, badRequest("Invalid version: "+version))
		return
	}
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	if strings.EqualFold(segs[0], "me") {
		if c.asUser == "" {
			// The bot's token is app-only; a client that asks for /me has a bug worth a clear answer.
			s.write(w, c, badRequest("/me request is only valid with delegated authentication flow."))
			return
		}
		segs = append([]string{"users", c.asUser}, segs[1:]...)
	}
	deepest, wrongMethod := 0, false
	for _, rt := range routes {
		params, n := match(rt.pattern, segs)
		if n < len(segs) || n < len(rt.pattern) {
			deepest = max(deepest, n)
			continue
		}
		if rt.method != c.method {
			wrongMethod = true
			continue
		}
		s.mu.Lock()
		resp := rt.h(s, c, params)
		s.mu.Unlock()
		s.write(w, c, resp)
		return
	}
	if wrongMethod {
		s.write(w, c, graphError(http.StatusMethodNotAllowed, "Request_BadRequest",
			"Specified HTTP method is not allowed for the request target."))
		return
	}
	s.write(w, c, badRequest("Resource not found for the segment '"+segs[min(deepest, len(segs)-1)]+"'."))
}

// match returns the captured segments and how many leading segments matched.
func match(pattern, segs []string) (params []string, n int) {
	for n < len(pattern) && n < len(segs) {
		switch {
		case pattern[n] == "{}" && segs[n] != "":
			params = append(params, segs[n])
		case strings.EqualFold(pattern[n], segs[n]):
		default:
			return params, n
		}
		n++
	}
	return params, n
}
