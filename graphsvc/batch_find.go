package graphsvc

import (
	"context"
	"fmt"
	"slices"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/resetbot/resetbot/bot"
)

// FindUsers looks many users up; users[i] and errs[i] answer refs[i] exactly as FindUser(refs[i])
// would, with the same reads batched 20 to a $batch (at most Config.BatchConcurrency in flight):
//
//  1. the user by object ID or UPN, with $select and the manager's ID, for every ref;
//  2. for a ref with "@" that no user has as UPN, the user by mail address;
//  3. for every user found, the four membership reads: active role assignments, PIM eligibilities,
//     transitive groups and administrative units (a user found through two refs is read once);
//  4. for every role-assignable group among those, its active and eligible roles (a group shared by
//     many users is read once).
//
// A later page of a listing (more than 100 groups, say) is read with a call of its own, as FindUser
// reads it. Reads throttled or answered 5xx are retried like single calls. When ctx ends, refs not
// fully looked up get ctx's error, as FindUser would return.
func (c *Client) FindUsers(ctx context.Context, refs []string) ([]bot.User, []error) {
	type lookup struct {
		ref      string
		user     bot.User
		found    bool
		err      error
		notFound *bot.DirectoryError // the answer to the GET by UPN, kept for the mail fallback
	}
	var (
		byRef   = map[string]*lookup{}
		lookups []*lookup
		at      = make([]*lookup, len(refs))
	)
	for i, raw := range refs {
		ref := strings.TrimSpace(raw)
		l := byRef[ref]
		if l == nil {
			l = &lookup{ref: ref}
			byRef[ref] = l
			lookups = append(lookups, l)
		}
		at[i] = l
	}
	// fail is c.fail for an item's error: the caller's context error once it has ended.
	fail := func(err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return Classify(err)
	}

	// 1. The users by object ID or UPN.
	var byID reads
	for _, l := range lookups {
		if !bot.IsGUID(l.ref) && !strings.Contains(l.ref, "@") {
			l.err = &bot.DirectoryError{Kind: bot.ErrNotFound,
				Message: fmt.Sprintf("%q is not a UPN, mail address or object ID", l.ref), Remedy: RemedyNotFound}
			continue
		}
		info, err := c.users().ByUserId(l.ref).ToGetRequestInformation(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: userFields, Expand: managerExpand},
		})
		byID.add(c, info, err, func(res itemResult) {
			if res.err == nil {
				gu, err := parseBody[models.Userable](res.body, models.CreateUserFromDiscriminatorValue)
				switch {
				case err != nil:
					l.err = fail(err)
				case gu != nil:
					l.user, l.found = toBotUser(gu), true
				default: // 204 or empty body: Graph never does this for a user
					l.notFound = &bot.DirectoryError{Kind: bot.ErrNotFound, Remedy: RemedyNotFound}
				}
			} else if ctx.Err() != nil || res.err.Kind != bot.ErrNotFound || bot.IsGUID(l.ref) {
				l.err = fail(res.err)
			} else {
				l.notFound = res.err
			}
		})
	}
	byID.run(ctx, c)

	// 2. Refs with "@" that are nobody's UPN: by mail address.
	var byMail reads
	for _, l := range lookups {
		if l.found || l.err != nil || l.notFound == nil {
			continue
		}
		if ctx.Err() != nil {
			l.err = ctx.Err()
			continue
		}
		info, err := c.users().ToGetRequestInformation(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
				Filter: ptr("mail eq " + odataString(l.ref)),
				Select: userFields,
				Expand: managerExpand,
			},
		})
		byMail.add(c, info, err, func(res itemResult) {
			if res.err != nil {
				l.err = fail(res.err)
				return
			}
			list, err := parseBody[models.UserCollectionResponseable](res.body, models.CreateUserCollectionResponseFromDiscriminatorValue)
			if err != nil {
				l.err = fail(err)
				return
			}
			var found []models.Userable
			if list != nil {
				found = list.GetValue()
			}
			switch len(found) {
			case 0:
				de := *l.notFound
				de.Message = fmt.Sprintf("no user has the UPN or mail address %s", l.ref)
				l.err = &de
			case 1:
				l.user, l.found = toBotUser(found[0]), true
			default:
				l.err = &bot.DirectoryError{Kind: bot.ErrOther,
					Message: fmt.Sprintf("%d users have the mail address %s", len(found), l.ref),
					Remedy:  "Give the user's UPN or object ID instead of the mail address."}
			}
		})
	}
	byMail.run(ctx, c)

	// 3. Memberships of every user found, once per user.
	members := map[string]*membership{}
	var memberReads reads
	for _, l := range lookups {
		if !l.found || members[l.user.ID] != nil {
			continue
		}
		m := &membership{}
		members[l.user.ID] = m
		c.addMembershipReads(ctx, &memberReads, l.user.ID, m)
	}
	memberReads.run(ctx, c)
	for _, m := range members {
		m.parse(ctx, c)
	}

	// 4. Roles held through role-assignable groups, once per group.
	groups := map[string]*groupRoles{}
	var groupReads reads
	for _, m := range members {
		for _, gid := range m.assignable {
			if groups[gid] == nil {
				g := &groupRoles{}
				groups[gid] = g
				c.addRoleReads(ctx, &groupReads, gid, &g.active, &g.eligible)
			}
		}
	}
	groupReads.run(ctx, c)
	for _, g := range groups {
		g.active.parse(ctx, c)
		g.eligible.parse(ctx, c)
	}

	// Put each user together as FindUser does.
	for _, l := range lookups {
		if !l.found || l.err != nil {
			continue
		}
		m := members[l.user.ID]
		if err := m.firstErr(); err != nil {
			l.err = fail(err)
			continue
		}
		u := l.user
		u.Groups = slices.Clone(m.groups)
		u.AdministrativeUnits, u.InRestrictedAU = slices.Clone(m.units), m.restricted
		u.InRoleAssignableGroup = len(m.assignable) > 0
		viaGroups := make([][]bot.RoleAssignment, len(m.assignable))
		viaGroupsElig := make([][]bot.RoleAssignment, len(m.assignable))
		for i, gid := range m.assignable {
			g := groups[gid]
			if err := firstError(g.active.err, g.eligible.err); err != nil {
				l.err = fail(err)
				break
			}
			viaGroups[i], viaGroupsElig[i] = g.active.roles, g.eligible.roles
		}
		if l.err != nil {
			continue
		}
		u.Roles = dedupe(m.direct.roles, viaGroups...)
		u.EligibleRoles = dedupe(m.eligible.roles, viaGroupsElig...)
		l.user = u
	}

	out := make([]bot.User, len(refs))
	errs := make([]error, len(refs))
	for i, l := range at {
		switch {
		case l.err != nil:
			errs[i] = l.err
		case l.found:
			out[i] = l.user
		case ctx.Err() != nil: // never sent: the caller gave up first
			errs[i] = ctx.Err()
		default: // cannot happen: every read settles
			errs[i] = &bot.DirectoryError{Kind: bot.ErrOther, Message: "the lookup did not complete", Remedy: RemedyOther}
		}
	}
	return out, errs
}

// reads is a list of GETs for runBatch, each with what to do with its answer.
type reads struct {
	reqs []batchReq
	done []func(itemResult)
}

// add queues the request the SDK built (or settles it at once with the error building it).
func (r *reads) add(c *Client, info *abs.RequestInformation, err error, done func(itemResult)) {
	var u string
	if err == nil {
		u, err = c.itemURL(info)
	}
	if err != nil {
		done(itemResult{err: Classify(err)})
		return
	}
	r.reqs = append(r.reqs, batchReq{method: "GET", url: u})
	r.done = append(r.done, done)
}

func (r *reads) run(ctx context.Context, c *Client) {
	c.runBatch(ctx, r.reqs, false, func(i int, res itemResult) { r.done[i](res) })
}

// listing is the first page of a collection a batch item answered, read later (a later page is a
// call of its own, which must not happen inside runBatch's callback).
type listing struct {
	res itemResult
	got bool
}

func (l *listing) keep(res itemResult) { l.res, l.got = res, true }

// roleListing is a listing of role assignments or eligibilities, once parsed.
type roleListing struct {
	listing
	eligible bool
	roles    []bot.RoleAssignment
	err      error
}

func (r *roleListing) parse(ctx context.Context, c *Client) {
	if r.err = r.listing.failure(ctx); r.err != nil {
		return
	}
	if r.eligible {
		r.err = eachInBody(ctx, c, r.res.body, models.CreateUnifiedRoleEligibilityScheduleCollectionResponseFromDiscriminatorValue,
			func(s models.UnifiedRoleEligibilityScheduleable) {
				r.roles = append(r.roles, bot.RoleAssignment{TemplateID: deref(s.GetRoleDefinitionId()), Scope: deref(s.GetDirectoryScopeId())})
			})
		return
	}
	r.err = eachInBody(ctx, c, r.res.body, models.CreateUnifiedRoleAssignmentCollectionResponseFromDiscriminatorValue,
		func(a models.UnifiedRoleAssignmentable) {
			r.roles = append(r.roles, bot.RoleAssignment{TemplateID: deref(a.GetRoleDefinitionId()), Scope: deref(a.GetDirectoryScopeId())})
		})
}

// failure is the listing's failure: the item's, or the caller's context error when it was never read.
func (l *listing) failure(ctx context.Context) error {
	if !l.got {
		if err := ctx.Err(); err != nil {
			return err
		}
		return &bot.DirectoryError{Kind: bot.ErrTransient, Message: msgNotAttempted, Remedy: RemedyTransient}
	}
	if l.res.err != nil {
		return l.res.err
	}
	return nil
}

// membership is what FindUser's readMemberships reads for one user.
type membership struct {
	direct, eligible roleListing
	groupList        listing
	unitList         listing

	groups, assignable []string
	groupsErr          error
	units              []string
	restricted         bool
	unitsErr           error
}

type groupRoles struct {
	active, eligible roleListing
}

// addRoleReads queues the active and eligible role reads for a principal (user or group), as
// activeRoles and eligibleRoles send them.
func (c *Client) addRoleReads(ctx context.Context, r *reads, principalID string, active, eligible *roleListing) {
	eligible.eligible = true
	info, err := c.roleManagement().Directory().RoleAssignments().ToGetRequestInformation(ctx, &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetRequestConfiguration{
		QueryParameters: &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetQueryParameters{
			Filter: ptr("principalId eq " + odataString(principalID)),
		},
	})
	r.add(c, info, err, active.keep)
	info, err = c.roleManagement().Directory().RoleEligibilitySchedules().ToGetRequestInformation(ctx, &rolemanagement.DirectoryRoleEligibilitySchedulesRequestBuilderGetRequestConfiguration{
		QueryParameters: &rolemanagement.DirectoryRoleEligibilitySchedulesRequestBuilderGetQueryParameters{
			Filter: ptr("principalId eq " + odataString(principalID)),
		},
	})
	r.add(c, info, err, eligible.keep)
}

// addMembershipReads queues the four reads of readMemberships for a user.
func (c *Client) addMembershipReads(ctx context.Context, r *reads, userID string, m *membership) {
	c.addRoleReads(ctx, r, userID, &m.direct, &m.eligible)
	info, err := c.users().ByUserId(userID).TransitiveMemberOf().GraphGroup().ToGetRequestInformation(ctx, &users.ItemTransitiveMemberOfGraphGroupRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemTransitiveMemberOfGraphGroupRequestBuilderGetQueryParameters{Select: []string{"id", "isAssignableToRole"}},
	})
	if info != nil { // the cast as Microsoft documents it; see sendCast
		info.UrlTemplate = strings.Replace(info.UrlTemplate, "/graph.", "/microsoft.graph.", 1)
	}
	r.add(c, info, err, m.groupList.keep)
	info, err = c.users().ByUserId(userID).MemberOf().GraphAdministrativeUnit().ToGetRequestInformation(ctx, &users.ItemMemberOfGraphAdministrativeUnitRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMemberOfGraphAdministrativeUnitRequestBuilderGetQueryParameters{Select: []string{"id", "isMemberManagementRestricted"}},
	})
	if info != nil {
		info.UrlTemplate = strings.Replace(info.UrlTemplate, "/graph.", "/microsoft.graph.", 1)
	}
	r.add(c, info, err, m.unitList.keep)
}

// parse reads the four listings as memberGroups and administrativeUnits do.
func (m *membership) parse(ctx context.Context, c *Client) {
	m.direct.parse(ctx, c)
	m.eligible.parse(ctx, c)
	if m.groupsErr = m.groupList.failure(ctx); m.groupsErr == nil {
		m.groupsErr = eachInBody(ctx, c, m.groupList.res.body, models.CreateGroupCollectionResponseFromDiscriminatorValue, func(g models.Groupable) {
			id := deref(g.GetId())
			m.groups = append(m.groups, id)
			if g.GetIsAssignableToRole() != nil && *g.GetIsAssignableToRole() {
				m.assignable = append(m.assignable, id)
			}
		})
	}
	if m.unitsErr = m.unitList.failure(ctx); m.unitsErr == nil {
		m.unitsErr = eachInBody(ctx, c, m.unitList.res.body, models.CreateAdministrativeUnitCollectionResponseFromDiscriminatorValue, func(au models.AdministrativeUnitable) {
			m.units = append(m.units, deref(au.GetId()))
			if au.GetIsMemberManagementRestricted() != nil && *au.GetIsMemberManagementRestricted() {
				m.restricted = true
			}
		})
	}
	if m.firstErr() != nil {
		m.assignable = nil // no group roles are read for a user whose lookup failed anyway
	}
}

func (m *membership) firstErr() error {
	return firstError(m.direct.err, m.eligible.err, m.groupsErr, m.unitsErr)
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// parseBody parses a batch item's JSON body as the request adapter parses a response; nil for an
// empty body.
func parseBody[T any](body []byte, ctor absser.ParsableFactory) (T, error) {
	var zero T
	if len(body) == 0 {
		return zero, nil
	}
	node, err := jsonser.NewJsonParseNode(body)
	if err != nil {
		return zero, err
	}
	v, err := node.GetObjectValue(ctor)
	if err != nil || v == nil {
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("graph answered with %T where %T was expected", v, zero)
	}
	return t, nil
}

// eachInBody calls fn for every item of the collection page in body and of the pages its
// @odata.nextLink leads to (read with calls of their own, as eachItem does).
func eachInBody[T any](ctx context.Context, c *Client, body []byte, ctor absser.ParsableFactory, fn func(T)) error {
	first, err := parseBody[absser.Parsable](body, ctor)
	if err != nil || first == nil {
		return err
	}
	return eachItem(ctx, c, first, ctor, fn)
}
