package graphsvc

import (
	"context"
	"fmt"
	"strings"
	"sync"

	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/resetbot/resetbot/bot"
)

// userFields are the user properties the policy needs. onPremisesSyncEnabled is only returned when
// selected; without it every synced user would look cloud-only and get PATCHed.
var userFields = []string{"id", "userPrincipalName", "mail", "displayName", "accountEnabled", "onPremisesSyncEnabled", "userType"}

// managerExpand brings the manager's ID in the same request (for delivery to the manager).
var managerExpand = []string{"manager($select=id)"}

// lookupConcurrency bounds the parallel membership reads of one FindUser: enough to overlap the
// round trips, few enough not to spend the tenant's request budget in bursts.
const lookupConcurrency = 4

// FindUser looks a user up by object ID, UPN or mail address and reads what decides who may reset
// them: active and eligible role assignments (direct and through role-assignable groups), group
// memberships and administrative units. Any failed read fails the lookup: a user whose roles
// could not be read must never look like a user without roles.
func (c *Client) FindUser(ctx context.Context, ref string) (bot.User, error) {
	ref = strings.TrimSpace(ref)
	u, err := c.lookupUser(ctx, ref)
	if err != nil {
		return bot.User{}, err
	}
	if err := c.readMemberships(ctx, &u); err != nil {
		return bot.User{}, c.fail(ctx, err)
	}
	return u, nil
}

// lookupUser resolves ref to the user itself. A GUID is an object ID; anything with "@" is tried
// as a UPN and then as a mail address (guests and users whose UPN differs from their mail).
func (c *Client) lookupUser(ctx context.Context, ref string) (bot.User, error) {
	if !bot.IsGUID(ref) && !strings.Contains(ref, "@") {
		return bot.User{}, &bot.DirectoryError{Kind: bot.ErrNotFound,
			Message: fmt.Sprintf("%q is not a UPN, mail address or object ID", ref), Remedy: RemedyNotFound}
	}
	gu, err := c.users().ByUserId(ref).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: userFields, Expand: managerExpand},
	})
	if err == nil && gu != nil {
		return toBotUser(gu), nil
	}
	notFound := c.fail(ctx, err)
	if err == nil { // 204 or empty body: Graph never does this for a user
		notFound = &bot.DirectoryError{Kind: bot.ErrNotFound, Remedy: RemedyNotFound}
	}
	if bot.KindOf(notFound) != bot.ErrNotFound || bot.IsGUID(ref) {
		return bot.User{}, notFound
	}

	list, err := c.users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
			Filter: ptr("mail eq " + odataString(ref)),
			Select: userFields,
			Expand: managerExpand,
		},
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
		de := *notFound.(*bot.DirectoryError)
		de.Message = fmt.Sprintf("no user has the UPN or mail address %s", ref)
		return bot.User{}, &de
	case 1:
		return toBotUser(found[0]), nil
	default:
		return bot.User{}, &bot.DirectoryError{Kind: bot.ErrOther,
			Message: fmt.Sprintf("%d users have the mail address %s", len(found), ref),
			Remedy:  "Give the user's UPN or object ID instead of the mail address."}
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
	return u
}

// readMemberships fills in roles, groups and units. Role assignments name their principal, so the
// roles a user holds through a role-assignable group are read with the group as principal once
// the groups are known. Only role-assignable groups can hold roles, which keeps that to a few calls.
func (c *Client) readMemberships(ctx context.Context, u *bot.User) error {
	var (
		mu            sync.Mutex
		direct, elig  []bot.RoleAssignment
		assignableIDs []string
	)
	err := together(ctx, lookupConcurrency,
		func(ctx context.Context) error {
			r, err := c.activeRoles(ctx, u.ID)
			mu.Lock()
			direct = r
			mu.Unlock()
			return err
		},
		func(ctx context.Context) error {
			r, err := c.eligibleRoles(ctx, u.ID)
			mu.Lock()
			elig = r
			mu.Unlock()
			return err
		},
		func(ctx context.Context) error {
			groups, assignable, err := c.memberGroups(ctx, u.ID)
			mu.Lock()
			u.Groups, assignableIDs = groups, assignable
			mu.Unlock()
			return err
		},
		func(ctx context.Context) error {
			units, restricted, err := c.administrativeUnits(ctx, u.ID)
			mu.Lock()
			u.AdministrativeUnits, u.InRestrictedAU = units, restricted
			mu.Unlock()
			return err
		},
	)
	if err != nil {
		return err
	}
	// TODO: Microsoft's table treats owners of a role-assignable group like members. Reading them
	// is one more call (/users/{id}/ownedObjects/microsoft.graph.group?$select=id,isAssignableToRole),
	// to add once graphtest serves ownedObjects.
	u.InRoleAssignableGroup = len(assignableIDs) > 0

	var viaGroups []func(context.Context) error
	groupRoles := make([][]bot.RoleAssignment, len(assignableIDs))
	groupElig := make([][]bot.RoleAssignment, len(assignableIDs))
	for i, gid := range assignableIDs {
		viaGroups = append(viaGroups,
			func(ctx context.Context) (err error) { groupRoles[i], err = c.activeRoles(ctx, gid); return err },
			func(ctx context.Context) (err error) { groupElig[i], err = c.eligibleRoles(ctx, gid); return err },
		)
	}
	if err := together(ctx, lookupConcurrency, viaGroups...); err != nil {
		return err
	}
	u.Roles = dedupe(direct, groupRoles...)
	u.EligibleRoles = dedupe(elig, groupElig...)
	return nil
}

// activeRoles lists the active role assignments whose principal is principalID. roleDefinitionId
// is the role's template ID for built-in roles; directoryScopeId is "/" or
// "/administrativeUnits/{id}".
func (c *Client) activeRoles(ctx context.Context, principalID string) ([]bot.RoleAssignment, error) {
	resp, err := c.roleManagement().Directory().RoleAssignments().Get(ctx, &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetRequestConfiguration{
		QueryParameters: &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetQueryParameters{
			Filter: ptr("principalId eq " + odataString(principalID)),
		},
	})
	if err != nil || resp == nil {
		return nil, err
	}
	var out []bot.RoleAssignment
	err = eachItem(ctx, c, resp, models.CreateUnifiedRoleAssignmentCollectionResponseFromDiscriminatorValue,
		func(a models.UnifiedRoleAssignmentable) {
			out = append(out, bot.RoleAssignment{TemplateID: deref(a.GetRoleDefinitionId()), Scope: deref(a.GetDirectoryScopeId())})
		})
	return out, err
}

// eligibleRoles lists PIM eligibility schedules: roles the principal is not holding now but may
// activate. Neither roleAssignments nor memberOf shows them.
func (c *Client) eligibleRoles(ctx context.Context, principalID string) ([]bot.RoleAssignment, error) {
	resp, err := c.roleManagement().Directory().RoleEligibilitySchedules().Get(ctx, &rolemanagement.DirectoryRoleEligibilitySchedulesRequestBuilderGetRequestConfiguration{
		QueryParameters: &rolemanagement.DirectoryRoleEligibilitySchedulesRequestBuilderGetQueryParameters{
			Filter: ptr("principalId eq " + odataString(principalID)),
		},
	})
	if err != nil || resp == nil {
		return nil, err
	}
	var out []bot.RoleAssignment
	err = eachItem(ctx, c, resp, models.CreateUnifiedRoleEligibilityScheduleCollectionResponseFromDiscriminatorValue,
		func(s models.UnifiedRoleEligibilityScheduleable) {
			out = append(out, bot.RoleAssignment{TemplateID: deref(s.GetRoleDefinitionId()), Scope: deref(s.GetDirectoryScopeId())})
		})
	return out, err
}

// memberGroups lists the groups the user is a transitive member of, and which of them are
// role-assignable. Role-assignable groups cannot contain groups, so their members are direct.
func (c *Client) memberGroups(ctx context.Context, userID string) (all, assignable []string, err error) {
	info, err := c.users().ByUserId(userID).TransitiveMemberOf().GraphGroup().ToGetRequestInformation(ctx, &users.ItemTransitiveMemberOfGraphGroupRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemTransitiveMemberOfGraphGroupRequestBuilderGetQueryParameters{Select: []string{"id", "isAssignableToRole"}},
	})
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.sendCast(ctx, info, models.CreateGroupCollectionResponseFromDiscriminatorValue)
	if err != nil || resp == nil {
		return nil, nil, err
	}
	err = eachItem(ctx, c, resp, models.CreateGroupCollectionResponseFromDiscriminatorValue, func(g models.Groupable) {
		id := deref(g.GetId())
		all = append(all, id)
		if g.GetIsAssignableToRole() != nil && *g.GetIsAssignableToRole() {
			assignable = append(assignable, id)
		}
	})
	return all, assignable, err
}

// administrativeUnits lists the units the user is a direct member of (AU-scoped roles apply to
// direct members only) and whether any is a restricted management unit.
func (c *Client) administrativeUnits(ctx context.Context, userID string) (ids []string, restricted bool, err error) {
	info, err := c.users().ByUserId(userID).MemberOf().GraphAdministrativeUnit().ToGetRequestInformation(ctx, &users.ItemMemberOfGraphAdministrativeUnitRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMemberOfGraphAdministrativeUnitRequestBuilderGetQueryParameters{Select: []string{"id", "isMemberManagementRestricted"}},
	})
	if err != nil {
		return nil, false, err
	}
	resp, err := c.sendCast(ctx, info, models.CreateAdministrativeUnitCollectionResponseFromDiscriminatorValue)
	if err != nil || resp == nil {
		return nil, false, err
	}
	err = eachItem(ctx, c, resp, models.CreateAdministrativeUnitCollectionResponseFromDiscriminatorValue, func(au models.AdministrativeUnitable) {
		ids = append(ids, deref(au.GetId()))
		if au.GetIsMemberManagementRestricted() != nil && *au.GetIsMemberManagementRestricted() {
			restricted = true
		}
	})
	return ids, restricted, err
}

// sendCast sends a type-cast collection request with the cast segment as Microsoft documents it
// (/memberOf/microsoft.graph.administrativeUnit). The SDK generates the short alias
// (/memberOf/graph.administrativeUnit), which Graph accepts but not every Graph look-alike does.
func (c *Client) sendCast(ctx context.Context, info *abs.RequestInformation, ctor absser.ParsableFactory) (absser.Parsable, error) {
	info.UrlTemplate = strings.Replace(info.UrlTemplate, "/graph.", "/microsoft.graph.", 1)
	return c.adapter.Send(ctx, info, ctor, abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue})
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

// together runs fns with at most limit at a time and returns the first error, cancelling the rest.
func together(ctx context.Context, limit int, fns ...func(context.Context) error) error {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, limit)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				return
			}
			if ctx.Err() != nil {
				return
			}
			if err := fn(ctx); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if first == nil {
		// A task skipped because the caller gave up must not read as success.
		return parent.Err()
	}
	return first
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
