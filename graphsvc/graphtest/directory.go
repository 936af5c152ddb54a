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
			AppDisplayName: t.AppDisplayName, ServicePrincipalID: t.ServicePrincipalID},
		users: map[string]*User{}, byUPN: map[string]string{},
		groups: map[string]*Group{}, aus: map[string]*AdministrativeUnit{},
		resets: map[string][]PasswordSet{}, revoked: map[string]int{}, ops: map[string]*operation{},
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
	g.Roles = slices.Clone(g.Roles)
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

// botUser is what a correct directory client builds from what the server serves about u.
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

// BotUser returns the bot.User a correct graphsvc client builds for that user from what this server
// serves: active roles direct and through role-assignable groups (direct first, in seed order),
// eligible roles, groups, units, and the matrix flags. Compare role lists as sets.
func (s *Server) BotUser(upnOrID string) (bot.User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookup(upnOrID)
	if u == nil {
		return bot.User{}, false
	}
	return s.botUser(u), true
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
