package graphtest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Authentication methods and Temporary Access Passes (next-wave.md §1–2): a user's registered
// methods, the tenant's TAP policy, and TAP creation, which answers the pass once, in the 201 of its
// creation, and replaces any earlier pass (one per user).

// AuthMethod is a method a user registered, as the simulator stores it. Type is Graph's type name
// without namespace: "phoneAuthenticationMethod", "emailAuthenticationMethod",
// "microsoftAuthenticatorAuthenticationMethod", "fido2AuthenticationMethod",
// "windowsHelloForBusinessAuthenticationMethod", "softwareOathAuthenticationMethod", or one the SDK
// does not know. The password method is always there and is not stored.
type AuthMethod struct {
	ID          string // generated when empty
	Type        string
	PhoneNumber string // phone: "+1 4255550134"
	PhoneType   string // phone: mobile, alternateMobile, office
	Email       string // email
	DisplayName string // authenticator, fido2, Windows Hello: the device or key's name
	Model       string // fido2
	Created     time.Time
}

// AccessPassPolicy is the tenant's Temporary Access Pass policy as the simulator keeps it.
type AccessPassPolicy struct {
	Enabled                                        bool
	MinimumMinutes, MaximumMinutes, DefaultMinutes int
	UsableOnce                                     bool     // every pass is one-time
	DefaultLength                                  int      // characters of a pass
	IncludeGroups                                  []string // nil: all users
	ExcludeGroups                                  []string
}

// DefaultAccessPassPolicy is Entra's default once TAP is enabled for all users: 1 hour by default,
// 1 to 8 hours allowed, multi-use allowed, 8 characters.
func DefaultAccessPassPolicy() AccessPassPolicy {
	return AccessPassPolicy{Enabled: true, MinimumMinutes: 60, MaximumMinutes: 480, DefaultMinutes: 60, DefaultLength: 8}
}

// IssuedAccessPass is a pass the server created.
type IssuedAccessPass struct {
	ID              string
	UserID          string
	Code            string
	Created, Start  time.Time
	LifetimeMinutes int
	UsableOnce      bool
	RequestID       string // the request-id of the call that created it
}

// SetAccessPassPolicy replaces the tenant's Temporary Access Pass policy.
func (s *Server) SetAccessPassPolicy(p AccessPassPolicy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.IncludeGroups, p.ExcludeGroups = slices.Clone(p.IncludeGroups), slices.Clone(p.ExcludeGroups)
	s.tapPolicy = p
}

// SetAccessPassEnabled turns the Temporary Access Pass method on or off, keeping the rest of the
// policy.
func (s *Server) SetAccessPassEnabled(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tapPolicy.Enabled = on
}

// AccessPasses returns every pass created for the user, oldest first; only the last can be in use.
func (s *Server) AccessPasses(upnOrID string) []IssuedAccessPass {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookup(upnOrID)
	if u == nil {
		return nil
	}
	return slices.Clone(s.passes[u.ID])
}

// tapConverged is the refusal third-party code reports when TAP is off or the user is outside its
// scope (next-wave.md §1.4: status and full wording not documented; this wording is ours around the
// reported phrase).
const tapConverged = "Converged UserCredentialPolicy does not allow creating or updating the method TemporaryAccessPass for this user."

const tapGuest = "Temporary Access Pass cannot be added to an external guest user."

// covered reports whether the policy's scope includes u.
func (p AccessPassPolicy) covered(u *User) bool {
	for _, g := range p.ExcludeGroups {
		if slices.Contains(u.Groups, g) {
			return false
		}
	}
	if p.IncludeGroups == nil {
		return true
	}
	for _, g := range p.IncludeGroups {
		if slices.Contains(u.Groups, g) {
			return true
		}
	}
	return false
}

// createAccessPass is POST /users/{id}/authentication/temporaryAccessPassMethods.
func (s *Server) createAccessPass(c *call, p []string) response {
	u := s.lookup(p[0])
	if u == nil {
		return notFound(p[0])
	}
	var body struct {
		LifetimeInMinutes *int       `json:"lifetimeInMinutes"`
		IsUsableOnce      *bool      `json:"isUsableOnce"`
		StartDateTime     *time.Time `json:"startDateTime"`
	}
	if c.bodyErr != nil || len(c.body) > 0 && json.Unmarshal(c.body, &body) != nil {
		return badRequest(msgUnreadableBody)
	}
	if denied := delegatedDenied(c, ScopeAuthMethodsReadWrite); denied != nil {
		return *denied
	}
	if c.asUser != "" && !s.mayChangeCredentialsAs(c, u) {
		return graphError(http.StatusForbidden, "Authorization_RequestDenied", msgInsufficient)
	}
	pol := s.tapPolicy
	switch {
	case u.UserType == "Guest" && strings.Contains(strings.ToUpper(u.UPN), "#EXT#"):
		return graphError(http.StatusBadRequest, "badRequest", tapGuest)
	case !pol.Enabled || !pol.covered(u):
		return graphError(http.StatusBadRequest, "badRequest", tapConverged)
	}
	minutes := pol.DefaultMinutes
	if body.LifetimeInMinutes != nil {
		minutes = *body.LifetimeInMinutes
	}
	if minutes < pol.MinimumMinutes || minutes > pol.MaximumMinutes {
		return graphError(http.StatusBadRequest, "badRequest", fmt.Sprintf(
			"Invalid LifetimeInMinutes specified. The valid range between %d and %d.", pol.MinimumMinutes, pol.MaximumMinutes))
	}
	once := pol.UsableOnce || body.IsUsableOnce != nil && *body.IsUsableOnce
	now := s.now().UTC().Truncate(time.Second)
	start := now
	if body.StartDateTime != nil {
		start = body.StartDateTime.UTC()
	}
	pass := IssuedAccessPass{ID: newGUID(), UserID: u.ID, Code: accessPassCode(max(pol.DefaultLength, 8)), Created: now,
		Start: start, LifetimeMinutes: minutes, UsableOnce: once, RequestID: c.requestID}
	s.passes[u.ID] = append(s.passes[u.ID], pass)
	s.logChange(c, u, now, "Admin registered security info", "Authentication Methods", "success", "")

	out := accessPassJSON(pass, now)
	out["temporaryAccessPass"] = pass.Code // only here, in the answer to its creation
	out["@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#users('" + u.ID + "')/authentication/temporaryAccessPassMethods/$entity"
	return ok(http.StatusCreated, out)
}

// accessPassJSON is a pass as Graph lists it: the code is always null.
func accessPassJSON(p IssuedAccessPass, now time.Time) map[string]any {
	usable, reason := true, "EnabledByPolicy"
	switch {
	case now.Before(p.Start):
		usable, reason = false, "NotYetValid"
	case !now.Before(p.Start.Add(time.Duration(p.LifetimeMinutes) * time.Minute)):
		usable, reason = false, "Expired"
	}
	return map[string]any{
		"@odata.type":           "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
		"id":                    p.ID,
		"temporaryAccessPass":   nil,
		"createdDateTime":       p.Created.Format(time.RFC3339),
		"startDateTime":         p.Start.Format(time.RFC3339),
		"lifetimeInMinutes":     p.LifetimeMinutes,
		"isUsableOnce":          p.UsableOnce,
		"isUsable":              usable,
		"methodUsabilityReason": reason,
	}
}

// currentPass is the user's pass in force (the last created), if any.
func (s *Server) currentPass(userID string) (IssuedAccessPass, bool) {
	ps := s.passes[userID]
	if len(ps) == 0 {
		return IssuedAccessPass{}, false
	}
	return ps[len(ps)-1], true
}

// listAccessPasses is GET /users/{id}/authentication/temporaryAccessPassMethods (at most one).
func (s *Server) listAccessPasses(c *call, p []string) response {
	u := s.lookup(p[0])
	if u == nil {
		return notFound(p[0])
	}
	if denied := delegatedDenied(c, ScopeAuthMethodsRead, ScopeAuthMethodsReadWrite); denied != nil {
		return *denied
	}
	var items []map[string]any
	if pass, ok := s.currentPass(u.ID); ok {
		items = append(items, accessPassJSON(pass, s.now()))
	}
	return s.collection(c, "users('"+u.ID+"')/authentication/temporaryAccessPassMethods", items, 100)
}

// listAuthMethods is GET /users/{id}/authentication/methods: the password method, the registered
// ones, and the pass in force.
func (s *Server) listAuthMethods(c *call, p []string) response {
	u := s.lookup(p[0])
	if u == nil {
		return notFound(p[0])
	}
	if denied := delegatedDenied(c, ScopeAuthMethodsRead, ScopeAuthMethodsReadWrite); denied != nil {
		return *denied
	}
	items := []map[string]any{{"@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
		"id": passwordMethodID, "password": nil, "createdDateTime": nil}}
	for _, m := range u.AuthMethods {
		obj := map[string]any{"@odata.type": "#microsoft.graph." + m.Type, "id": m.ID}
		created := any(nil)
		if !m.Created.IsZero() {
			created = m.Created.UTC().Format(time.RFC3339)
		}
		switch m.Type {
		case "phoneAuthenticationMethod":
			obj["phoneNumber"], obj["phoneType"], obj["smsSignInState"] = m.PhoneNumber, m.PhoneType, "notSupported"
		case "emailAuthenticationMethod":
			obj["emailAddress"] = m.Email
		case "microsoftAuthenticatorAuthenticationMethod":
			obj["displayName"], obj["deviceTag"], obj["phoneAppVersion"], obj["createdDateTime"] = m.DisplayName, "SoftwareTokenActivated", "6.2401.0119", created
		case "fido2AuthenticationMethod":
			obj["displayName"], obj["model"], obj["aaGuid"], obj["attestationLevel"], obj["createdDateTime"] = m.DisplayName, m.Model, newGUID(), "attested", created
		case "windowsHelloForBusinessAuthenticationMethod":
			obj["displayName"], obj["keyStrength"], obj["createdDateTime"] = m.DisplayName, "normal", created
		case "softwareOathAuthenticationMethod":
			obj["secretKey"] = nil
		default:
			obj["createdDateTime"] = created
		}
		items = append(items, obj)
	}
	if pass, ok := s.currentPass(u.ID); ok {
		items = append(items, accessPassJSON(pass, s.now()))
	}
	return s.collection(c, "users('"+u.ID+"')/authentication/methods", items, 100)
}

// getAuthMethodConfiguration is GET /policies/authenticationMethodsPolicy/
// authenticationMethodConfigurations/{id}; only TemporaryAccessPass is modelled.
func (s *Server) getAuthMethodConfiguration(c *call, p []string) response {
	if !strings.EqualFold(p[0], "TemporaryAccessPass") {
		return notFound(p[0])
	}
	pol := s.tapPolicy
	state := "disabled"
	if pol.Enabled {
		state = "enabled"
	}
	include := []map[string]any{}
	if pol.IncludeGroups == nil {
		include = append(include, map[string]any{"targetType": "group", "id": "all_users", "isRegistrationRequired": false})
	}
	for _, g := range pol.IncludeGroups {
		include = append(include, map[string]any{"targetType": "group", "id": g, "isRegistrationRequired": false})
	}
	exclude := []map[string]any{}
	for _, g := range pol.ExcludeGroups {
		exclude = append(exclude, map[string]any{"targetType": "group", "id": g})
	}
	return ok(http.StatusOK, map[string]any{
		"@odata.context":           "https://graph.microsoft.com/v1.0/$metadata#policies/authenticationMethodsPolicy/authenticationMethodConfigurations/$entity",
		"@odata.type":              "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
		"id":                       "TemporaryAccessPass",
		"state":                    state,
		"defaultLifetimeInMinutes": pol.DefaultMinutes,
		"defaultLength":            pol.DefaultLength,
		"minimumLifetimeInMinutes": pol.MinimumMinutes,
		"maximumLifetimeInMinutes": pol.MaximumMinutes,
		"isUsableOnce":             pol.UsableOnce,
		"includeTargets":           include,
		"excludeTargets":           exclude,
	})
}

// accessPassCode makes a pass like Entra's ("+drkzqAD"): letters, digits and a few symbols.
func accessPassCode(n int) string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789+-=%#"
	b := make([]byte, n)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}
