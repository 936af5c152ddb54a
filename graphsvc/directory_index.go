package graphsvc

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/resetbot/resetbot/bot"
)

// The tenant's privileged set, read from the group side once and shared by every lookup.
//
// Who may reset a user depends on a few things that are small for the whole tenant and expensive
// per user: the directory role assignments (active and PIM-eligible), the role-assignable groups
// (at most 500) with their members, owners and PIM for Groups eligible members and owners, and the
// administrative units that matter to the policy with their members. Reading them once and joining
// locally costs a handful of requests per Config.DirectoryCacheTTL, where reading them per user cost
// five or more requests per user. It is also the only app-only way to learn who owns a
// role-assignable group: /users/{id}/ownedObjects is documented as not supported for applications.
//
// What the index does not hold is read per user: the user object itself (FindUser, FindUsers) and,
// only when no groups of interest are configured, the user's own transitive groups.

// Defaults for the index.
const (
	// DefaultDirectoryCacheTTL is how long one read of the privileged set serves lookups.
	DefaultDirectoryCacheTTL = 30 * time.Second
	// indexReadTimeout bounds one read of the index. The read is shared by every caller waiting
	// for it, so it runs on its own context: a caller giving up does not fail the others. Each
	// caller still stops waiting when its own context ends.
	indexReadTimeout = 2 * time.Minute
	// memberPage is the page size asked for when listing members (Graph's maximum).
	memberPage = "999"
)

// directoryIndex is one read of the privileged set. Maps are keyed by lower-case object ID; it is
// never changed once built, so lookups read it without a lock.
type directoryIndex struct {
	active, eligible map[string][]bot.RoleAssignment // principal (user or group) → its assignments

	assignable []string // role-assignable group IDs, as Graph listed them
	// user → role-assignable groups it is a member of, owns, or is PIM-eligible to join or own
	memberOf, ownerOf, eligibleMemberOf, eligibleOwnerOf map[string][]string

	units      []string            // the administrative units that matter, as Graph listed them
	restricted map[string]bool     // unit → restricted management
	unitNames  map[string]string   // unit → its display name, for messages
	unitsOf    map[string][]string // user → units that matter it is a direct member of

	interest   []string            // Config.GroupsOfInterest, in order
	interestOf map[string][]string // user → groups of interest it is a transitive member of
}

// complete fills in what decides who may reset u. ownGroups are u's own transitive groups, read
// per user when no groups of interest are configured (perUser); otherwise Groups lists the
// role-assignable groups u is a member of and the groups of interest u is in.
func (x *directoryIndex) complete(u *bot.User, ownGroups []string, perUser bool) {
	id := strings.ToLower(u.ID)
	member := x.memberOf[id]

	var viaGroups, viaGroupsEligible []bot.RoleAssignment
	for _, g := range member {
		viaGroups = append(viaGroups, x.active[strings.ToLower(g)]...)
		viaGroupsEligible = append(viaGroupsEligible, x.eligible[strings.ToLower(g)]...)
	}
	// A PIM-eligible member can activate the membership, and with it the group's roles.
	for _, g := range x.eligibleMemberOf[id] {
		viaGroupsEligible = append(viaGroupsEligible, x.active[strings.ToLower(g)]...)
		viaGroupsEligible = append(viaGroupsEligible, x.eligible[strings.ToLower(g)]...)
	}
	u.Roles = x.named(dedupe(x.active[id], viaGroups))
	u.EligibleRoles = x.named(dedupe(x.eligible[id], viaGroupsEligible))

	owner := len(x.ownerOf[id]) > 0 || len(x.eligibleOwnerOf[id]) > 0
	u.RoleAssignableGroupOwner = owner
	u.InRoleAssignableGroup = owner || len(member) > 0 || len(x.eligibleMemberOf[id]) > 0

	if perUser {
		u.Groups = slices.Clone(ownGroups)
	} else {
		u.Groups = nil
		for _, g := range append(slices.Clone(member), x.interestOf[id]...) {
			if !containsFold(u.Groups, g) {
				u.Groups = append(u.Groups, g)
			}
		}
	}

	u.AdministrativeUnits = slices.Clone(x.unitsOf[id])
	u.InRestrictedAU = false
	for _, a := range u.AdministrativeUnits {
		if x.restricted[strings.ToLower(a)] {
			u.InRestrictedAU = true
		}
	}
}

// named gives AU-scoped assignments their unit's display name, so messages say "Paris office" and
// not an object ID. Every unit a role is scoped to is one the index reads.
func (x *directoryIndex) named(ras []bot.RoleAssignment) []bot.RoleAssignment {
	for i := range ras {
		if u := ras[i].AdministrativeUnit(); u != "" {
			ras[i].UnitName = x.unitNames[strings.ToLower(u)]
		}
	}
	return ras
}

// indexCache keeps the latest index for Config.DirectoryCacheTTL and makes concurrent callers share
// one read (a single flight). It is safe for concurrent use.
type indexCache struct {
	ttl time.Duration // <= 0: every lookup reads afresh (concurrent ones still share a read)

	mu     sync.Mutex
	idx    *directoryIndex
	readAt time.Time // when the read that built idx started: its data is at least that fresh
	flight *indexRead
}

type indexRead struct {
	done    chan struct{}
	started time.Time // its data is at least this fresh
	idx     *directoryIndex
	err     error
}

func newIndexCache(ttl time.Duration) *indexCache {
	switch {
	case ttl == 0:
		ttl = DefaultDirectoryCacheTTL
	case ttl < 0:
		ttl = 0
	}
	return &indexCache{ttl: ttl}
}

// directoryIndex returns an index no older than the TTL — and, when the caller asked for fresh data
// (bot.FreshAfter), read no earlier than the time it named: the cached one, the one being read, or a
// new read. A failed read is not kept; its callers get its error, and the next caller reads again.
func (c *Client) directoryIndex(ctx context.Context) (*directoryIndex, error) {
	ic := c.index
	notBefore := bot.FreshnessOf(ctx)
	for {
		ic.mu.Lock()
		if ic.idx != nil && ic.ttl > 0 && time.Since(ic.readAt) < ic.ttl && !ic.readAt.Before(notBefore) {
			idx := ic.idx
			ic.mu.Unlock()
			return idx, nil
		}
		f := ic.flight
		if f != nil && f.started.Before(notBefore) {
			// A read under way began before the moment the caller needs: wait for it to end, then
			// read again (callers waiting alike share that next read).
			ic.mu.Unlock()
			select {
			case <-f.done:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if f == nil {
			if err := ctx.Err(); err != nil {
				ic.mu.Unlock()
				return nil, err
			}
			f = &indexRead{done: make(chan struct{}), started: time.Now()}
			ic.flight = f
			go func() {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), indexReadTimeout)
				idx, err := c.readIndex(rctx)
				cancel()
				ic.mu.Lock()
				f.idx, f.err = idx, err
				if err == nil {
					ic.idx, ic.readAt = idx, f.started
				}
				ic.flight = nil
				ic.mu.Unlock()
				close(f.done)
			}()
		}
		ic.mu.Unlock()
		select {
		case <-f.done:
			return f.idx, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// indexLater starts getting the index (directoryIndex) and returns a function that waits for it, so
// a lookup reads its user while the privileged set is read or found.
func (c *Client) indexLater(ctx context.Context) func() (*directoryIndex, error) {
	var (
		idx  *directoryIndex
		err  error
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		idx, err = c.directoryIndex(ctx)
	}()
	return func() (*directoryIndex, error) {
		<-done
		return idx, err
	}
}

// readIndex reads the privileged set in two rounds of $batch: first the lists (role assignments,
// eligibilities, role-assignable groups, administrative units, members of the groups of interest),
// then, for each role-assignable group, its members, owners and PIM for Groups eligibilities, and
// for each unit that matters, its members. Later pages are read with calls of their own. Any read
// that fails fails the index (a user whose roles could not be read must never look like one
// without); a group or unit deleted between the two rounds, or a configured group of interest that
// does not exist, counts as empty.
func (c *Client) readIndex(ctx context.Context) (*directoryIndex, error) {
	x := &directoryIndex{
		active: map[string][]bot.RoleAssignment{}, eligible: map[string][]bot.RoleAssignment{},
		memberOf: map[string][]string{}, ownerOf: map[string][]string{},
		eligibleMemberOf: map[string][]string{}, eligibleOwnerOf: map[string][]string{},
		restricted: map[string]bool{}, unitNames: map[string]string{}, unitsOf: map[string][]string{},
		interest: slices.Clone(c.groupsOfInterest), interestOf: map[string][]string{},
	}

	// Round 1: the lists.
	var (
		round                              reads
		active, eligible, groups, allUnits listing
	)
	assignmentFields := url.Values{"$select": {"principalId,roleDefinitionId,directoryScopeId"}}
	round.addURL(c, "/roleManagement/directory/roleAssignments", assignmentFields, active.keep)
	round.addURL(c, "/roleManagement/directory/roleEligibilitySchedules", assignmentFields, eligible.keep)
	round.addURL(c, "/groups", url.Values{"$filter": {"isAssignableToRole eq true"}, "$select": {"id"}, "$top": {memberPage}}, groups.keep)
	round.addURL(c, "/directory/administrativeUnits", url.Values{"$select": {"id,displayName,isMemberManagementRestricted"}, "$top": {memberPage}}, allUnits.keep)
	interest := make([]listing, len(x.interest))
	for i, g := range x.interest {
		round.addURL(c, "/groups/"+url.PathEscape(g)+"/transitiveMembers/microsoft.graph.user",
			url.Values{"$select": {"id"}, "$top": {memberPage}}, interest[i].keep)
	}
	round.run(ctx, c)

	addRole := func(to map[string][]bot.RoleAssignment, principal, role, scope string) {
		k := strings.ToLower(principal)
		to[k] = append(to[k], bot.RoleAssignment{TemplateID: role, Scope: scope})
	}
	if err := eachListed(ctx, c, &active, false, models.CreateUnifiedRoleAssignmentCollectionResponseFromDiscriminatorValue,
		func(a models.UnifiedRoleAssignmentable) {
			addRole(x.active, deref(a.GetPrincipalId()), deref(a.GetRoleDefinitionId()), deref(a.GetDirectoryScopeId()))
		}); err != nil {
		return nil, lacking(err, permRoles, "role assignments")
	}
	if err := eachListed(ctx, c, &eligible, false, models.CreateUnifiedRoleEligibilityScheduleCollectionResponseFromDiscriminatorValue,
		func(s models.UnifiedRoleEligibilityScheduleable) {
			addRole(x.eligible, deref(s.GetPrincipalId()), deref(s.GetRoleDefinitionId()), deref(s.GetDirectoryScopeId()))
		}); err != nil {
		return nil, lacking(err, permRoles, "role eligibilities")
	}
	if err := eachListed(ctx, c, &groups, false, models.CreateGroupCollectionResponseFromDiscriminatorValue,
		func(g models.Groupable) { x.assignable = append(x.assignable, deref(g.GetId())) }); err != nil {
		return nil, lacking(err, permGroups, "groups")
	}
	// The units that matter: restricted management units (only their own administrators may
	// change their members), the units a role is scoped to (their administrators may reset their
	// members), and the units of interest (rules mode's selectors).
	matter := map[string]bool{}
	for _, m := range []map[string][]bot.RoleAssignment{x.active, x.eligible} {
		for _, ras := range m {
			for _, ra := range ras {
				if unit := ra.AdministrativeUnit(); unit != "" {
					matter[strings.ToLower(unit)] = true
				}
			}
		}
	}
	for _, a := range c.unitsOfInterest {
		matter[strings.ToLower(a)] = true
	}
	if err := eachListed(ctx, c, &allUnits, false, models.CreateAdministrativeUnitCollectionResponseFromDiscriminatorValue,
		func(au models.AdministrativeUnitable) {
			id := deref(au.GetId())
			restricted := au.GetIsMemberManagementRestricted() != nil && *au.GetIsMemberManagementRestricted()
			if restricted || matter[strings.ToLower(id)] {
				x.units = append(x.units, id)
				x.restricted[strings.ToLower(id)] = restricted
				x.unitNames[strings.ToLower(id)] = deref(au.GetDisplayName())
			}
		}); err != nil {
		return nil, lacking(err, permUnits, "administrative units")
	}
	for i, g := range x.interest {
		if err := eachListed(ctx, c, &interest[i], true, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue,
			func(o models.DirectoryObjectable) { addMember(x.interestOf, deref(o.GetId()), g) }); err != nil {
			return nil, lacking(err, permGroups, "group members")
		}
	}

	// Round 2: each role-assignable group's people, and each unit's members.
	round = reads{}
	type groupPeople struct{ members, owners, eligible listing }
	people := make([]groupPeople, len(x.assignable))
	for i, g := range x.assignable {
		path := "/groups/" + url.PathEscape(g)
		round.addURL(c, path+"/members", url.Values{"$select": {"id"}, "$top": {memberPage}}, people[i].members.keep)
		round.addURL(c, path+"/owners", url.Values{"$select": {"id"}}, people[i].owners.keep)
		round.addURL(c, "/identityGovernance/privilegedAccess/group/eligibilitySchedules",
			url.Values{"$filter": {"groupId eq " + odataString(g)}}, people[i].eligible.keep)
	}
	unitMembers := make([]listing, len(x.units))
	for i, a := range x.units {
		round.addURL(c, "/directory/administrativeUnits/"+url.PathEscape(a)+"/members",
			url.Values{"$select": {"id"}, "$top": {memberPage}}, unitMembers[i].keep)
	}
	round.run(ctx, c)

	for i, g := range x.assignable {
		for _, l := range []struct {
			listing *listing
			into    map[string][]string
		}{{&people[i].members, x.memberOf}, {&people[i].owners, x.ownerOf}} {
			if err := eachListed(ctx, c, l.listing, true, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue,
				func(o models.DirectoryObjectable) { addMember(l.into, deref(o.GetId()), g) }); err != nil {
				return nil, lacking(err, permGroups, "group members and owners")
			}
		}
		if err := eachListed(ctx, c, &people[i].eligible, true, models.CreatePrivilegedAccessGroupEligibilityScheduleCollectionResponseFromDiscriminatorValue,
			func(s models.PrivilegedAccessGroupEligibilityScheduleable) {
				if !strings.EqualFold(deref(s.GetGroupId()), g) || s.GetAccessId() == nil {
					return
				}
				switch *s.GetAccessId() {
				case models.MEMBER_PRIVILEGEDACCESSGROUPRELATIONSHIPS:
					addMember(x.eligibleMemberOf, deref(s.GetPrincipalId()), g)
				case models.OWNER_PRIVILEGEDACCESSGROUPRELATIONSHIPS:
					addMember(x.eligibleOwnerOf, deref(s.GetPrincipalId()), g)
				}
			}); err != nil {
			return nil, lacking(err, permGroupEligibility, "PIM for Groups eligibilities")
		}
	}
	for i, a := range x.units {
		if err := eachListed(ctx, c, &unitMembers[i], true, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue,
			func(o models.DirectoryObjectable) { addMember(x.unitsOf, deref(o.GetId()), a) }); err != nil {
			return nil, lacking(err, permUnits, "administrative unit members")
		}
	}
	return x, nil
}

// The application permissions the privileged set is read with (least privileged for each read).
const (
	permRoles            = "RoleManagement.Read.Directory"
	permGroups           = "GroupMember.Read.All"
	permGroupEligibility = "PrivilegedEligibilitySchedule.Read.AzureADGroup"
	permUnits            = "AdministrativeUnit.Read.All"
)

// lacking gives a refused read of the privileged set a remedy that names the permission it needs.
func lacking(err error, permission, what string) error {
	var de *bot.DirectoryError
	if !errors.As(err, &de) || de.Kind != bot.ErrInsufficientPrivileges {
		return err
	}
	cp := *de
	cp.Remedy = fmt.Sprintf("resetbot's app may not read %s, which every lookup needs: grant it the application permission %s "+
		"(with admin consent), then run `resetbot check` again.", what, permission)
	return &cp
}

// addMember records that principal belongs to container (a group or unit), once.
func addMember(m map[string][]string, principal, container string) {
	if principal == "" {
		return
	}
	k := strings.ToLower(principal)
	if !containsFold(m[k], container) {
		m[k] = append(m[k], container)
	}
}

// eachListed calls fn for every item of a listing a batch answered, and of its later pages. With
// goneIsEmpty, a 404 (the group or unit no longer exists) is an empty listing.
func eachListed[T any](ctx context.Context, c *Client, l *listing, goneIsEmpty bool, ctor absser.ParsableFactory, fn func(T)) error {
	if err := l.failure(ctx); err != nil {
		if goneIsEmpty && l.got && l.res.err != nil && l.res.err.Kind == bot.ErrNotFound {
			return nil
		}
		return err
	}
	return eachInBody(ctx, c, l.res.body, ctor, fn)
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
