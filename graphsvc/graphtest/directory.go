package graphtest

import (
	"slices"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// directory is the tenant's state. Every method expects Server.mu to be held.
type directory struct {
	tenant     Tenant // identity only, set by NewServer and never changed (read without the lock)
	users      map[string]*User
	byUPN      map[string]string // lower-case UPN → ID
	userOrder  []string          // IDs in the order added: list order
	groups     map[string]*Group
	groupOrder []string
	aus        map[string]*AdministrativeUnit
	auOrder    []string
	audits     []DirectoryAudit // sorted by ActivityDateTime, oldest first
	resets     map[string][]PasswordSet
	revoked    map[string]int
	ops        map[string]*operation
	tapPolicy  AccessPassPolicy
	passes     map[string][]IssuedAccessPass // user ID → Temporary Access Passes created, oldest first
}

// PasswordSet is a password the server actually set on a user.
type PasswordSet struct {
	UserID             string
	Password           string
	ForceChange        bool // forceChangePasswordNextSignIn
	ForceChangeWithMFA bool // forceChangePasswordNextSignInWithMfa
	At                 time.Time
	Via                string // "patch" (PATCH passwordProfile) or "resetPassword" (the authentication method action)
	RequestID          string // the Graph request-id of the call that set it
	By                 string // object ID of the signed-in user whose delegated token set it; "" for the app
}

func newDirectory(t *Tenant) directory {
	d := directory{
		tenant: Tenant{TenantID: t.TenantID, Domain: t.Domain, AppID: t.AppID,
			AppDisplayName: t.AppDisplayName, ServicePrincipalID: t.ServicePrincipalID, AppRoles: slices.Clone(t.AppRoles)},
		users: map[string]*User{}, byUPN: map[string]string{},
		groups: map[string]*Group{}, aus: map[string]*AdministrativeUnit{},
		resets: map[string][]PasswordSet{}, revoked: map[string]int{}, ops: map[string]*operation{},
		tapPolicy: DefaultAccessPassPolicy(), passes: map[string][]IssuedAccessPass{},
	}
	if d.tenant.TenantID == "" {
		d.tenant.TenantID = newGUID()
	}
	if d.tenant.AppID == "" {
		d.tenant.AppID = newGUID()
	}
	if d.tenant.ServicePrincipalID == "" {
		d.tenant.ServicePrincipalID = newGUID()
	}
	if d.tenant.AppDisplayName == "" {
		d.tenant.AppDisplayName = "resetbot"
	}
	for _, g := range t.Groups {
		d.putGroup(g)
	}
	for _, a := range t.AdministrativeUnits {
		d.putAU(a)
	}
	for _, u := range t.Users {
		d.putUser(u)
	}
	d.addAudits(time.Now(), t.Audits)
	return d
}

// lookup finds a user by object ID or UPN (case-insensitive), as /users/{id-or-upn} does.
func (d *directory) lookup(ref string) *User {
	if u, ok := d.users[ref]; ok {
		return u
	}
	if id, ok := d.byUPN[lower(ref)]; ok {
		return d.users[id]
	}
	return nil
}

func (d *directory) putUser(u User) User {
	u = u.clone()
	if u.ID == "" {
		u.ID = newGUID()
	}
	if u.UserType == "" {
		u.UserType = "Member"
	}
	for i, m := range u.AuthMethods {
		if m.ID == "" {
			u.AuthMethods[i].ID = methodID(m)
		}
	}
	if old, ok := d.users[u.ID]; ok {
		delete(d.byUPN, lower(old.UPN))
	} else {
		d.userOrder = append(d.userOrder, u.ID)
	}
	d.users[u.ID] = &u
	d.byUPN[lower(u.UPN)] = u.ID
	return u.clone()
}

func (d *directory) putGroup(g Group) {
	g = g.clone()
	if g.ID == "" {
		g.ID = newGUID()
	}
	if _, ok := d.groups[g.ID]; !ok {
		d.groupOrder = append(d.groupOrder, g.ID)
	}
	d.groups[g.ID] = &g
}

func (d *directory) putAU(a AdministrativeUnit) {
	if a.ID == "" {
		a.ID = newGUID()
	}
	if _, ok := d.aus[a.ID]; !ok {
		d.auOrder = append(d.auOrder, a.ID)
	}
	d.aus[a.ID] = &a
}

// addAudits keeps the log sorted oldest first, so a reader pages by position and entries appended
// while it pages do not shift what it has not read yet.
func (d *directory) addAudits(now time.Time, entries []DirectoryAudit) {
	sorted := true
	for _, a := range entries {
		a = a.clone()
		if a.ID == "" {
			a.ID = newGUID()
		}
		if a.ActivityDateTime.IsZero() {
			a.ActivityDateTime = now
		}
		a.ActivityDateTime = a.ActivityDateTime.UTC()
		if n := len(d.audits); n > 0 && a.ActivityDateTime.Before(d.audits[n-1].ActivityDateTime) {
			sorted = false
		}
		d.audits = append(d.audits, a)
	}
	if !sorted {
		slices.SortStableFunc(d.audits, func(a, b DirectoryAudit) int {
			return a.ActivityDateTime.Compare(b.ActivityDateTime)
		})
	}
}

// botUser is the whole truth about u as Graph would judge it: every group and administrative unit
// u is a member of, roles held directly and through role-assignable groups (active and PIM-eligible
// membership), and the matrix flags. What a client builds is narrower (seen).
func (d *directory) botUser(u *User) bot.User {
	bu := bot.User{
		ID: u.ID, UPN: u.UPN, Mail: u.Mail, DisplayName: u.DisplayName, Enabled: u.AccountEnabled,
		Synced: u.Synced(), Guest: u.UserType == "Guest", ManagerID: u.ManagerID,
		Roles: normalizeScope(u.Roles), EligibleRoles: normalizeScope(u.EligibleRoles),
	}
	for _, gid := range u.Groups {
		g, ok := d.groups[gid]
		if !ok {
			continue
		}
		bu.Groups = append(bu.Groups, gid)
		if g.IsAssignableToRole {
			bu.InRoleAssignableGroup = true
			bu.Roles = append(bu.Roles, normalizeScope(g.Roles)...)
			bu.EligibleRoles = append(bu.EligibleRoles, normalizeScope(g.EligibleRoles)...)
		}
	}
	for _, gid := range d.groupOrder {
		g := d.groups[gid]
		if !g.IsAssignableToRole {
			continue
		}
		if slices.Contains(g.EligibleMembers, u.ID) {
			// Activating the membership brings the group's roles: they count as eligible.
			bu.InRoleAssignableGroup = true
			bu.EligibleRoles = append(bu.EligibleRoles, normalizeScope(g.Roles)...)
			bu.EligibleRoles = append(bu.EligibleRoles, normalizeScope(g.EligibleRoles)...)
		}
		if slices.Contains(g.Owners, u.ID) || slices.Contains(g.EligibleOwners, u.ID) {
			bu.InRoleAssignableGroup, bu.RoleAssignableGroupOwner = true, true
		}
	}
	for _, aid := range u.AdministrativeUnits {
		a, ok := d.aus[aid]
		if !ok {
			continue
		}
		bu.AdministrativeUnits = append(bu.AdministrativeUnits, aid)
		if a.IsMemberManagementRestricted {
			bu.InRestrictedAU = true
		}
	}
	return bu
}

// Interest is what a client reads beyond the tenant's privileged set (graphsvc.Config's
// GroupsOfInterest and UnitsOfInterest). Groups nil means every group of the user.
type Interest struct {
	Groups []string
	Units  []string
}

// seen narrows botUser to what a client that reads the privileged set and the groups and units
// of interest builds: Groups only the groups of interest and the role-assignable groups u is a
// member of; AdministrativeUnits only restricted management units, units some role assignment
// (active or eligible) is scoped to, and the units of interest.
func (d *directory) seen(u *User, in Interest) bot.User {
	bu := d.botUser(u)
	if in.Groups != nil {
		bu.Groups = slices.DeleteFunc(bu.Groups, func(gid string) bool {
			return !d.groups[gid].IsAssignableToRole && !slices.Contains(in.Groups, gid)
		})
	}
	scoped := map[string]bool{}
	for _, eligible := range []bool{false, true} {
		for _, a := range d.assignments(eligible) {
			if unit := a.ra.AdministrativeUnit(); unit != "" {
				scoped[unit] = true
			}
		}
	}
	bu.AdministrativeUnits = slices.DeleteFunc(bu.AdministrativeUnits, func(aid string) bool {
		return !d.aus[aid].IsMemberManagementRestricted && !scoped[aid] && !slices.Contains(in.Units, aid)
	})
	return bu
}

// AddUser adds a user, or replaces the one with the same ID, and returns it as stored (with its
// generated ID when u.ID was empty).
func (s *Server) AddUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.putUser(u)
}

// AddGroup adds a group, or replaces the one with the same ID. Members are set on User.Groups.
func (s *Server) AddGroup(g Group) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putGroup(g)
}

// AddAdministrativeUnit adds an administrative unit, or replaces the one with the same ID.
func (s *Server) AddAdministrativeUnit(a AdministrativeUnit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putAU(a)
}

// SetAccountEnabled enables or disables a user's account, as an admin would in the Entra admin
// center while resetbot works: what Graph serves changes at once, and nothing is recorded as a
// request to the server. It reports whether there is such a user.
func (s *Server) SetAccountEnabled(upnOrID string, enabled bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookup(upnOrID)
	if u == nil {
		return false
	}
	u.AccountEnabled = enabled
	return true
}

// User returns a copy of the user with that object ID or UPN.
func (s *Server) User(upnOrID string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookup(upnOrID)
	if u == nil {
		return User{}, false
	}
	return u.clone(), true
}

// BotUser returns what Graph knows of that user, in the bot's terms: active roles direct and
// through role-assignable groups, eligible roles (direct, the groups' own, and through PIM-eligible
// membership), every group and unit, and the matrix flags. Compare lists as sets.
func (s *Server) BotUser(upnOrID string) (bot.User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookup(upnOrID)
	if u == nil {
		return bot.User{}, false
	}
	return s.botUser(u), true
}

// BotUserSeen is BotUser as a correct graphsvc client reading the privileged set plus the given
// groups and units of interest builds it: groups narrowed to those of interest and the
// role-assignable ones, units to those that matter to policy (see Interest).
func (s *Server) BotUserSeen(upnOrID string, in Interest) (bot.User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookup(upnOrID)
	if u == nil {
		return bot.User{}, false
	}
	return s.seen(u, in), true
}

// Resets returns the passwords set on the user, oldest first.
func (s *Server) Resets(upnOrID string) []PasswordSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookup(upnOrID)
	if u == nil {
		return nil
	}
	return slices.Clone(s.resets[u.ID])
}

// SessionsRevoked returns how many times the user's sign-in sessions were revoked.
func (s *Server) SessionsRevoked(upnOrID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookup(upnOrID)
	if u == nil {
		return 0
	}
	return s.revoked[u.ID]
}

// AddAudit appends entries to auditLogs/directoryAudits, e.g. resets done in the admin center. An
// entry without ID gets one; an entry without ActivityDateTime gets the server's now.
func (s *Server) AddAudit(entries ...DirectoryAudit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addAudits(s.now(), entries)
}

// Audits returns the directory audit log, oldest first: seeded entries and the ones the server wrote.
func (s *Server) Audits() []DirectoryAudit {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]DirectoryAudit, len(s.audits))
	for i, a := range s.audits {
		out[i] = a.clone()
	}
	return out
}

// Tenant returns the tenant's identity: TenantID, Domain, AppID, AppDisplayName, ServicePrincipalID.
func (s *Server) Tenant() Tenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tenant
}

// methodID is a method's ID: phones have fixed ones by type (Learn, phoneAuthenticationMethod);
// others a new GUID.
func methodID(m AuthMethod) string {
	if m.Type == "phoneAuthenticationMethod" {
		switch m.PhoneType {
		case "alternateMobile":
			return "b6332ec1-7057-4abe-9331-3d72feddfe41"
		case "office":
			return "e37fc753-ff3b-4958-9484-eaa9425c82bc"
		default:
			return "3179e48a-750b-4051-897c-87b9720928f7"
		}
	}
	return newGUID()
}
