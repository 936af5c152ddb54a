package graphtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/resetbot/resetbot/bot"
)

const (
	msgUnreadableBody = "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."
	msgSynced         = "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration."
	msgInsufficient   = "Insufficient privileges to complete the operation."
)

// writableUserProps are the user properties a PATCH may carry. The simulator applies passwordProfile,
// accountEnabled, displayName and passwordPolicies, and accepts the rest without storing them.
var writableUserProps = map[string]bool{
	"@odata.type": true, "passwordProfile": true, "accountEnabled": true, "displayName": true,
	"passwordPolicies": true, "givenName": true, "surname": true, "jobTitle": true, "mobilePhone": true,
	"officeLocation": true, "preferredLanguage": true, "businessPhones": true, "otherMails": true,
}

type passwordProfile struct {
	Password                             *string `json:"password"`
	ForceChangePasswordNextSignIn        bool    `json:"forceChangePasswordNextSignIn"`
	ForceChangePasswordNextSignInWithMfa bool    `json:"forceChangePasswordNextSignInWithMfa"`
}

// mayChangeCredentials is Graph's own check on the app: its role must cover every role the target
// holds, by Microsoft's who-can-reset matrix (which also governs invalidating refresh tokens).
func (s *Server) mayChangeCredentials(u *User) bool {
	return bot.RoleCanReset(s.appRole, s.botUser(u))
}

// patchUser is PATCH /users/{id}. Checks run in the order Graph is understood to apply them: the
// target exists, the body is readable, the caller may change the target, the target is cloud-mastered,
// the password meets policy.
func (s *Server) patchUser(c *call, p []string) response {
	u := s.lookup(p[0])
	if u == nil {
		return notFound(p[0])
	}
	var body map[string]json.RawMessage
	if c.bodyErr != nil || json.Unmarshal(c.body, &body) != nil || body == nil {
		return badRequest(msgUnreadableBody)
	}
	for k := range body {
		if !writableUserProps[k] {
			return graphError(http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf(
				"Property '%s' does not exist on type 'microsoft.graph.user'. Make sure to only use property names that are defined by the type.", k))
		}
	}
	var (
		pp      *passwordProfile
		enabled *bool
		name    *string
		pol     *string
	)
	for k, dst := range map[string]any{"passwordProfile": &pp, "accountEnabled": &enabled, "displayName": &name, "passwordPolicies": &pol} {
		if raw, ok := body[k]; ok && json.Unmarshal(raw, dst) != nil {
			return badRequest(fmt.Sprintf("Invalid value for property '%s'.", k))
		}
	}
	if pp != nil || enabled != nil {
		if denied := delegatedDenied(c, ScopePasswordProfile, "User.ReadWrite.All", "Directory.AccessAsUser.All"); denied != nil {
			return *denied
		}
		if !s.mayChangeCredentialsAs(c, u) {
			return graphError(http.StatusForbidden, "Authorization_RequestDenied", msgInsufficient)
		}
	}
	changes := len(body)
	if _, ok := body["@odata.type"]; ok {
		changes--
	}
	if u.Synced() && changes > 0 {
		return graphError(http.StatusBadRequest, "Request_BadRequest", msgSynced)
	}
	if pp != nil && pp.Password != nil {
		strong := !strings.Contains(u.PasswordPolicies, "DisableStrongPassword")
		if checkPassword(*pp.Password, u.UPN, strong) != nil {
			return graphError(http.StatusBadRequest, "Request_BadRequest", complexityMessage)
		}
	}

	now := s.now()
	if pp != nil && pp.Password != nil {
		s.resets[u.ID] = append(s.resets[u.ID], PasswordSet{
			UserID: u.ID, Password: *pp.Password, ForceChange: pp.ForceChangePasswordNextSignIn,
			ForceChangeWithMFA: pp.ForceChangePasswordNextSignInWithMfa, At: now, Via: "patch", RequestID: c.requestID,
			By: c.asUser,
		})
		u.LastPasswordChange = now
		s.logChange(c, u, now, "Reset user password", "Core Directory", "success", "")
	}
	// A passwordProfile with only the force-change flags answers 204 and sets no password (graph-docs
	// #4267 reports exactly that); nothing is recorded.
	if enabled != nil && *enabled != u.AccountEnabled {
		u.AccountEnabled = *enabled
		activity := "Disable account"
		if *enabled {
			activity = "Enable account"
		}
		s.logChange(c, u, now, activity, "Core Directory", "success", "")
	}
	if name != nil {
		u.DisplayName = *name
	}
	if pol != nil {
		u.PasswordPolicies = *pol
	}
	return ok(http.StatusNoContent, nil)
}

// revokeSessions is POST /users/{id}/revokeSignInSessions.
func (s *Server) revokeSessions(c *call, p []string) response {
	u := s.lookup(p[0])
	if u == nil {
		return notFound(p[0])
	}
	if denied := delegatedDenied(c, ScopeRevokeSessions, "User.ReadWrite.All", "Directory.AccessAsUser.All"); denied != nil {
		return *denied
	}
	if !s.mayChangeCredentialsAs(c, u) {
		return graphError(http.StatusForbidden, "Authorization_RequestDenied", msgInsufficient)
	}
	s.revoked[u.ID]++
	s.logChange(c, u, s.now(), "Update StsRefreshTokenValidFrom Timestamp", "Core Directory", "success", "")
	return ok(http.StatusOK, map[string]any{
		"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", "value": true})
}

// passwordMethodID is the ID of every user's password authentication method.
const passwordMethodID = "28c10230-6103-485e-b985-444c60001490"

// operation is a resetPassword long-running operation. The reset takes effect when it is accepted;
// the first poll reports "notStarted", the second "running" and later ones the outcome, so clients
// exercise their poll loop.
type operation struct {
	id, userID          string
	created, lastAction time.Time
	polls               int
	status, detail      string // the outcome: succeeded or failed, and why
}

const msgNoWriteback = "Password writeback is not enabled for this tenant: the password of a user synchronised from on-premises Active Directory cannot be reset in the cloud."

// resetPassword is POST /users/{id}/authentication/methods/{passwordMethodID}/resetPassword. It
// takes a delegated token only (an app-only token is refused 403) and checks the signed-in user's
// own roles. For a synced user it needs newPassword and ends, once polled, in a failed operation
// when writeback is off, the writeback agent is offline, or on-premises AD refuses the password.
func (s *Server) resetPassword(c *call, p []string) response {
	if c.asUser == "" {
		return graphError(http.StatusForbidden, "Authorization_RequestDenied", msgAppOnly)
	}
	u := s.lookup(p[0])
	if u == nil {
		return notFound(p[0])
	}
	if !strings.EqualFold(p[1], passwordMethodID) {
		return notFound(p[1])
	}
	var body struct {
		NewPassword *string `json:"newPassword"`
	}
	if c.bodyErr != nil || len(bytes.TrimSpace(c.body)) > 0 && json.Unmarshal(c.body, &body) != nil {
		return badRequest(msgUnreadableBody)
	}
	if denied := delegatedDenied(c, ScopeAuthMethodsReadWrite); denied != nil {
		return *denied
	}
	if !s.mayChangeCredentialsAs(c, u) {
		return graphError(http.StatusForbidden, "Authorization_RequestDenied", msgInsufficient)
	}
	var password string
	generated := body.NewPassword == nil
	switch {
	case !generated:
		password = *body.NewPassword
		if checkPassword(password, u.UPN, !strings.Contains(u.PasswordPolicies, "DisableStrongPassword")) != nil {
			return graphError(http.StatusBadRequest, "Request_BadRequest", complexityMessage)
		}
	case u.Synced():
		// Graph documents newPassword as required in hybrid password scenarios; the wording is ours.
		return badRequest("newPassword is required to reset the password of a user synchronised from on-premises Active Directory.")
	default:
		password = generatePassword(u.UPN)
	}

	now := s.now()
	op := &operation{id: newGUID(), userID: u.ID, created: now, lastAction: now, status: "succeeded"}
	failure := ""
	if u.Synced() {
		switch {
		case !s.writeback:
			failure = msgNoWriteback
		case s.writebackAgentDown:
			failure = MsgWritebackAgentOffline
		case s.onPremReject[u.ID] != "":
			failure = s.onPremReject[u.ID]
		}
	}
	if failure != "" {
		op.status, op.detail = "failed", failure
		s.logChange(c, u, now, "Reset password (by admin)", "Self-service Password Management", "failure", failure)
	} else {
		s.resets[u.ID] = append(s.resets[u.ID], PasswordSet{UserID: u.ID, Password: password, ForceChange: true,
			At: now, Via: "resetPassword", RequestID: c.requestID, By: c.asUser})
		u.LastPasswordChange = now
		s.logChange(c, u, now, "Reset password (by admin)", "Self-service Password Management", "success", "")
		s.logChange(c, u, now, "Reset user password", "Core Directory", "success", "")
	}
	s.ops[op.id] = op

	// Graph's Location carries routing parameters; clients must follow it as given.
	loc := s.URL + "/v1.0/users/" + u.ID + "/authentication/operations/" + op.id + "?aadgdc=LOC01P&aadgsu=ssprprod-a"
	resp := ok(http.StatusAccepted, nil).with("Location", loc).with("Retry-After", "1")
	if generated {
		resp.body = map[string]any{
			"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.passwordResetResponse",
			"newPassword":    password,
		}
	}
	return resp
}

// getOperation is GET /users/{id}/authentication/operations/{opId}.
func (s *Server) getOperation(c *call, p []string) response {
	if c.asUser == "" {
		return graphError(http.StatusForbidden, "Authorization_RequestDenied", msgAppOnly)
	}
	if denied := delegatedDenied(c, ScopeAuthMethodsRead, ScopeAuthMethodsReadWrite); denied != nil {
		return *denied
	}
	u := s.lookup(p[0])
	if u == nil {
		return notFound(p[0])
	}
	op := s.ops[p[1]]
	if op == nil || op.userID != u.ID {
		return notFound(p[1])
	}
	op.polls++
	op.lastAction = s.now()
	status, detail := "notStarted", any(nil)
	switch {
	case op.polls == 2:
		status = "running"
	case op.polls > 2:
		status = op.status
		if op.detail != "" {
			detail = op.detail
		}
	}
	return ok(http.StatusOK, map[string]any{
		"@odata.context":     "https://graph.microsoft.com/v1.0/$metadata#users('" + u.ID + "')/authentication/operations/$entity",
		"id":                 op.id,
		"createdDateTime":    op.created.UTC().Format(time.RFC3339Nano),
		"lastActionDateTime": op.lastAction.UTC().Format(time.RFC3339Nano),
		"resourceLocation":   nil,
		"status":             status,
		"statusDetail":       detail,
	})
}

// initiator is who Entra's audit names for a change: the signed-in user of a delegated call, else
// the bot's app.
func (s *Server) initiator(c *call) AuditInitiator {
	if a := s.users[c.asUser]; c.asUser != "" && a != nil {
		return AuditInitiator{User: &AuditUser{ID: a.ID, DisplayName: a.DisplayName, UserPrincipalName: a.UPN}}
	}
	return AuditInitiator{App: &AuditApp{AppID: s.tenant.AppID, DisplayName: s.tenant.AppDisplayName,
		ServicePrincipalID: s.tenant.ServicePrincipalID}}
}

// logChange writes the directory audit entry Entra would for a change made by the call's caller.
func (s *Server) logChange(c *call, u *User, at time.Time, activity, service, result, reason string) {
	s.addAudits(at, []DirectoryAudit{{
		Category:            "UserManagement",
		CorrelationID:       c.clientRequestID,
		Result:              result,
		ResultReason:        reason,
		ActivityDisplayName: activity,
		ActivityDateTime:    at,
		LoggedByService:     service,
		OperationType:       "Update",
		InitiatedBy:         s.initiator(c),
		TargetResources:     []AuditTarget{{ID: u.ID, DisplayName: u.DisplayName, Type: "User", UserPrincipalName: u.UPN}},
	}})
}
