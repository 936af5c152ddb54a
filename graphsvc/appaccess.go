package graphsvc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/resetbot/resetbot/bot"
)

// AppAccess is what resetbot's own sign-in may do, as Entra sees it: the application permissions
// an administrator consented to (the roles claim of its token) and the Entra roles its service
// principal holds. `resetbot check` reads it to tell a missing consent from a missing role, which
// Graph answers alike (403 Authorization_RequestDenied).
type AppAccess struct {
	Permissions []string // application permissions, e.g. User-PasswordProfile.ReadWrite.All
	Roles       []string // role template IDs assigned to the service principal (active)
	// RolesErr says why the roles could not be read; they are then unknown, not none.
	RolesErr error
}

// AppAccess reads the app's token claims and its role assignments. It changes nothing. The token
// itself never leaves this function.
func (c *Client) AppAccess(ctx context.Context) (AppAccess, error) {
	tok, err := c.token.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.scope}})
	if err != nil {
		return AppAccess{}, c.fail(ctx, err)
	}
	var claims struct {
		Roles []string `json:"roles"`
		OID   string   `json:"oid"`
	}
	parts := strings.Split(tok.Token, ".")
	if len(parts) != 3 {
		return AppAccess{}, errors.New("the token Entra gave is not a JWT, so its permissions cannot be read")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil || json.Unmarshal(payload, &claims) != nil {
		return AppAccess{}, errors.New("the token Entra gave could not be read, so its permissions are unknown")
	}
	a := AppAccess{Permissions: claims.Roles}
	slices.Sort(a.Permissions)
	if !bot.IsGUID(claims.OID) {
		a.RolesErr = errors.New("the token names no service principal")
		return a, nil
	}
	res := c.getRaw(ctx, "/roleManagement/directory/roleAssignments?$select=roleDefinitionId,directoryScopeId&$filter="+
		url.QueryEscape("principalId eq '"+strings.ToLower(claims.OID)+"'"))
	if res.err != nil {
		a.RolesErr = res.err
		return a, nil
	}
	var page struct {
		Value []struct {
			RoleDefinitionID string `json:"roleDefinitionId"`
			DirectoryScopeID string `json:"directoryScopeId"`
		} `json:"value"`
	}
	if err := json.Unmarshal(res.body, &page); err != nil {
		a.RolesErr = errors.New("Graph's list of role assignments could not be read")
		return a, nil
	}
	for _, ra := range page.Value {
		// Only directory-wide roles let the app reset anyone it is asked to; a unit-scoped one
		// covers that unit only, which the policy cannot know from here.
		if ra.DirectoryScopeID == "/" && !slices.Contains(a.Roles, strings.ToLower(ra.RoleDefinitionID)) {
			a.Roles = append(a.Roles, strings.ToLower(ra.RoleDefinitionID))
		}
	}
	return a, nil
}
