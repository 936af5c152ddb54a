package graphsvc

import (
	"context"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/resetbot/resetbot/bot"
)

// userFields are the user properties the bot needs. onPremisesSyncEnabled is only returned when
// selected; without it every synced user would look cloud-only and get PATCHed.
// lastPasswordChangeDateTime, also only on $select, tells an interrupted list whether a reset
// happened.
var userFields = []string{"id", "userPrincipalName", "mail", "displayName", "accountEnabled", "onPremisesSyncEnabled",
	"userType", "lastPasswordChangeDateTime"}

// managerExpand brings the manager's ID in the same request (for delivery to the manager).
var managerExpand = []string{"manager($select=id)"}

// FindUser looks a user up by object ID, UPN or mail address with what decides who may reset them:
// active and eligible role assignments (direct, and through role-assignable groups, including
// PIM-eligible membership), ownership of role-assignable groups, the groups and administrative
// units the policy reads, and the matrix flags. It answers every field exactly as FindUsers does.
//
// It costs one read of the user (GET /users/{id or UPN}; a second, by mail, for a ref with "@"
// that is nobody's UPN), the tenant's privileged set shared with every other lookup and read at
// most once per Config.DirectoryCacheTTL, and, only when Config.GroupsOfInterest is nil, one read
// of the user's own groups. Any failed read fails the lookup: a user whose roles could not be read
// must never look like a user without roles.
func (c *Client) FindUser(ctx context.Context, ref string) (bot.User, error) {
	ref = strings.TrimSpace(ref)
	if !bot.IsGUID(ref) && !strings.Contains(ref, "@") {
		return bot.User{}, malformedRef(ref)
	}
	index := c.indexLater(ctx)
	u, err := c.lookupUser(ctx, ref)
	if err != nil {
		return bot.User{}, err
	}
	var own []string
	if c.groupsOfInterest == nil {
		if own, err = c.memberGroups(ctx, u.ID); err != nil {
			return bot.User{}, c.fail(ctx, err)
		}
	}
	idx, idxErr := index()
	if idxErr != nil {
		return bot.User{}, c.fail(ctx, idxErr)
	}
	idx.complete(&u, own, c.groupsOfInterest == nil)
	return u, nil
}

// lookupUser resolves ref to the user itself. A GUID is an object ID; anything with "@" is tried
// as a UPN and then as a mail address (guests and users whose UPN differs from their mail).
func (c *Client) lookupUser(ctx context.Context, ref string) (bot.User, error) {
	gu, err := c.users().ByUserId(ref).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: userFields, Expand: managerExpand},
	})
	if err == nil && gu != nil {
		return toBotUser(gu), nil
	}
	missing := ""
	if err != nil {
		de := c.fail(ctx, err)
		if bot.KindOf(de) != bot.ErrNotFound {
			return bot.User{}, de
		}
		missing = de.(*bot.DirectoryError).RequestID
	}
	if bot.IsGUID(ref) {
		return bot.User{}, userNotFound(ref, missing)
	}

	headers := &khttp.HeadersInspectionOptions{InspectResponseHeaders: true, ResponseHeaders: abs.NewResponseHeaders()}
	list, err := c.users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
			Filter: ptr("mail eq " + odataString(ref)),
			Select: userFields,
			Expand: managerExpand,
		},
		Options: []abs.RequestOption{headers},
	})
	if err != nil {
		return bot.User{}, c.fail(ctx, err)
	}
	var found []models.Userable
	if list != nil {
		found = list.GetValue()
	}
	switch len(found) {
	case 0:
		return bot.User{}, userNotFound(ref, header(headers.GetResponseHeaders(), "request-id"))
	case 1:
		return toBotUser(found[0]), nil
	default:
		return bot.User{}, ambiguousMail(len(found), ref)
	}
}

func toBotUser(gu models.Userable) bot.User {
	u := bot.User{
		ID:          deref(gu.GetId()),
		UPN:         deref(gu.GetUserPrincipalName()),
		Mail:        deref(gu.GetMail()),
		DisplayName: deref(gu.GetDisplayName()),
		Enabled:     gu.GetAccountEnabled() != nil && *gu.GetAccountEnabled(),
		Synced:      gu.GetOnPremisesSyncEnabled() != nil && *gu.GetOnPremisesSyncEnabled(),
		Guest:       strings.EqualFold(deref(gu.GetUserType()), "Guest"),
	}
	if m := gu.GetManager(); m != nil {
		u.ManagerID = deref(m.GetId())
	}
	if t := gu.GetLastPasswordChangeDateTime(); t != nil {
		u.PasswordChangedAt = t.UTC()
	}
	return u
}

// memberGroupsRequest is the read of a user's transitive groups, with the type cast as Microsoft
// documents it (/transitiveMemberOf/microsoft.graph.group; the SDK writes the short alias
// graph.group, which Graph accepts but not every Graph look-alike does).
func (c *Client) memberGroupsRequest(ctx context.Context, userID string) (*abs.RequestInformation, error) {
	info, err := c.users().ByUserId(userID).TransitiveMemberOf().GraphGroup().ToGetRequestInformation(ctx, &users.ItemTransitiveMemberOfGraphGroupRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemTransitiveMemberOfGraphGroupRequestBuilderGetQueryParameters{Select: []string{"id"}},
	})
	if info != nil {
		info.UrlTemplate = strings.Replace(info.UrlTemplate, "/graph.", "/microsoft.graph.", 1)
	}
	return info, err
}

// memberGroups lists the IDs of the groups the user is a transitive member of.
func (c *Client) memberGroups(ctx context.Context, userID string) ([]string, error) {
	info, err := c.memberGroupsRequest(ctx, userID)
	if err != nil {
		return nil, err
	}
	resp, err := c.adapter.Send(ctx, info, models.CreateGroupCollectionResponseFromDiscriminatorValue,
		abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue})
	if err != nil || resp == nil {
		return nil, err
	}
	var all []string
	err = eachItem(ctx, c, resp, models.CreateGroupCollectionResponseFromDiscriminatorValue, func(g models.Groupable) {
		all = append(all, deref(g.GetId()))
	})
	return all, err
}

// ResetPassword sets a temporary password with PATCH /users/{id} passwordProfile and forces a change
// at next sign-in. The password goes into the request body and nowhere else: errors are classified
// from Graph's answer (which never echoes it) and scrubbed again to be sure.
func (c *Client) ResetPassword(ctx context.Context, userID string, pw bot.TempPassword, opts bot.ResetOptions) (bot.ResetResult, error) {
	return c.patchPassword(ctx, c.adapter, userID, pw, opts)
}

// patchPassword is ResetPassword through adapter: the bot's own, or one acting as an agent.
func (c *Client) patchPassword(ctx context.Context, adapter abs.RequestAdapter, userID string, pw bot.TempPassword, opts bot.ResetOptions) (bot.ResetResult, error) {
	if strings.TrimSpace(userID) == "" {
		// ByUserId("") would PATCH /users itself.
		return bot.ResetResult{}, &bot.DirectoryError{Kind: bot.ErrOther, Message: "no user ID given for the reset", Remedy: RemedyOther}
	}
	if pw.IsZero() {
		return bot.ResetResult{}, &bot.DirectoryError{Kind: bot.ErrOther, Message: "no temporary password given for the reset", Remedy: RemedyOther}
	}
	secret, force, mfa := pw.Reveal(), true, opts.RequireMFA
	profile := models.NewPasswordProfile()
	profile.SetPassword(&secret)
	profile.SetForceChangePasswordNextSignIn(&force)
	profile.SetForceChangePasswordNextSignInWithMfa(&mfa)
	body := models.NewUser()
	body.SetPasswordProfile(profile)

	headers := &khttp.HeadersInspectionOptions{InspectResponseHeaders: true, ResponseHeaders: abs.NewResponseHeaders()}
	_, err := users.NewUsersRequestBuilderInternal(map[string]string{"baseurl": c.baseURL}, adapter).ByUserId(userID).Patch(ctx, body, &users.UserItemRequestBuilderPatchRequestConfiguration{
		Options: []abs.RequestOption{headers},
	})
	if err != nil {
		return bot.ResetResult{}, redact(c.fail(ctx, err), secret)
	}
	return bot.ResetResult{GraphRequestID: header(headers.GetResponseHeaders(), "request-id")}, nil
}

// redact removes the password from a classified error's text: Graph does not echo it, but an
// unexpected error wrapped from below might.
func redact(err error, secret string) error {
	de, ok := err.(*bot.DirectoryError)
	if !ok || secret == "" {
		return err
	}
	cp := *de
	cp.Message = strings.ReplaceAll(cp.Message, secret, "[redacted]")
	cp.Code = strings.ReplaceAll(cp.Code, secret, "[redacted]")
	return &cp
}

// RevokeSessions invalidates the user's refresh tokens and session cookies
// (POST /users/{id}/revokeSignInSessions) and returns Graph's request-id. Revoking twice leaves the
// user as revoking once, so a 5xx is retried like a read; see shouldRetry.
func (c *Client) RevokeSessions(ctx context.Context, userID string) (bot.RevokeResult, error) {
	return c.revokeSessions(ctx, c.adapter, userID)
}

func (c *Client) revokeSessions(ctx context.Context, adapter abs.RequestAdapter, userID string) (bot.RevokeResult, error) {
	if strings.TrimSpace(userID) == "" {
		return bot.RevokeResult{}, &bot.DirectoryError{Kind: bot.ErrOther, Message: "no user ID given for the session revocation", Remedy: RemedyOther}
	}
	headers := &khttp.HeadersInspectionOptions{InspectResponseHeaders: true, ResponseHeaders: abs.NewResponseHeaders()}
	resp, err := users.NewUsersRequestBuilderInternal(map[string]string{"baseurl": c.baseURL}, adapter).ByUserId(userID).RevokeSignInSessions().
		PostAsRevokeSignInSessionsPostResponse(ctx, &users.ItemRevokeSignInSessionsRequestBuilderPostRequestConfiguration{
			Options: []abs.RequestOption{headers}})
	if err != nil {
		return bot.RevokeResult{}, c.fail(ctx, err)
	}
	reqID := header(headers.GetResponseHeaders(), "request-id")
	if resp != nil && resp.GetValue() != nil && !*resp.GetValue() {
		return bot.RevokeResult{}, notRevoked(reqID)
	}
	return bot.RevokeResult{GraphRequestID: reqID}, nil
}

// notRevoked is Graph's 2xx answer {"value": false}: it did not revoke, and said so.
func notRevoked(reqID string) *bot.DirectoryError {
	return &bot.DirectoryError{Kind: bot.ErrOther, Message: "Graph answered that the sessions were not revoked",
		Remedy: RemedyOther, RequestID: reqID}
}

// eachItem calls fn for every item of a collection response and of the pages its @odata.nextLink
// leads to.
func eachItem[T any](ctx context.Context, c *Client, first absser.Parsable, ctor absser.ParsableFactory, fn func(T)) error {
	it, err := msgraphgocore.NewPageIterator[T](first, c.adapter, ctor)
	if err != nil {
		return err
	}
	return it.Iterate(ctx, func(item T) bool {
		fn(item)
		return true
	})
}

func dedupe(base []bot.RoleAssignment, more ...[]bot.RoleAssignment) []bot.RoleAssignment {
	seen := map[bot.RoleAssignment]bool{}
	var out []bot.RoleAssignment
	add := func(rs []bot.RoleAssignment) {
		for _, r := range rs {
			if r.TemplateID != "" && !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	add(base)
	for _, rs := range more {
		add(rs)
	}
	return out
}

// odataString quotes s as an OData string literal. OData escapes a single quote inside a literal
// by doubling it, so a mail address such as o'brien@contoso.com cannot end the literal early and
// change the filter.
func odataString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func ptr[T any](v T) *T { return &v }
