package bot

// Microsoft's "Who can reset passwords" table (Microsoft Entra privileged roles and permissions,
// learn.microsoft.com/entra/identity/role-based-access-control/privileged-roles-permissions
// #who-can-reset-passwords; entra-docs docs/identity/role-based-access-control/
// privileged-roles-permissions.md). Columns are the roles that can reset; rows the roles whose holders
// can be reset. A target with several roles can be reset only if the resetter's role ticks every one.
// Privileged Authentication Administrator and Global Administrator can reset everyone, including
// members of role-assignable groups and users with roles in restricted management units.
//
// The table is for roles assigned at tenant scope. Administrative-unit-scoped resetters, which have
// further restrictions, are handled in policy.go (unitRoleCanReset).

// resettableBy maps a resetting role to the target roles it may reset. noRole stands for "a user
// with no administrator role".
const noRole = ""

var resettableBy = map[string]map[string]bool{
	RolePasswordAdmin: set(noRole, RoleDirectoryReaders, RoleGuestInviter, RolePasswordAdmin),
	RoleHelpdeskAdmin: set(noRole, RoleDirectoryReaders, RoleGuestInviter, RoleHelpdeskAdmin,
		RoleMessageCenterReader, RolePasswordAdmin, RoleReportsReader, RoleUserExperienceSuccessManager,
		RoleUsageSummaryReportsReader),
	RoleAuthAdmin: set(noRole, RoleAuthAdmin, RoleDirectoryReaders, RoleGuestInviter,
		RoleMessageCenterReader, RolePasswordAdmin, RoleReportsReader, RoleUserExperienceSuccessManager,
		RoleUsageSummaryReportsReader),
	RoleUserAdmin: set(noRole, RoleDirectoryReaders, RoleGroupsAdmin, RoleGuestInviter, RoleHelpdeskAdmin,
		RoleMessageCenterReader, RolePasswordAdmin, RoleReportsReader, RoleUserAdmin,
		RoleUserExperienceSuccessManager, RoleUsageSummaryReportsReader),
}

// resetsEveryone are the roles whose column is ticked on every row.
var resetsEveryone = set(RolePrivilegedAuthAdmin, RoleGlobalAdmin)

// tableRows are the roles named in the table's rows, in the table's (alphabetical) order; whoami
// lists from it what a role may reset.
var tableRows = []string{RoleAuthAdmin, RoleDirectoryReaders, RoleGlobalAdmin, RoleGroupsAdmin,
	RoleGuestInviter, RoleHelpdeskAdmin, RoleMessageCenterReader, RolePasswordAdmin,
	RolePrivilegedAuthAdmin, RolePrivilegedRoleAdmin, RoleReportsReader, RoleUserAdmin,
	RoleUserExperienceSuccessManager, RoleUsageSummaryReportsReader}

func set(ids ...string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// ResetterRoles are the roles that appear as columns of the table, in the table's order.
var ResetterRoles = []string{RolePasswordAdmin, RoleHelpdeskAdmin, RoleAuthAdmin, RoleUserAdmin,
	RolePrivilegedAuthAdmin, RoleGlobalAdmin}

// RoleCanReset reports whether one resetting role, held tenant-wide, lets its holder reset the target
// according to the table: every role the target holds must be ticked, and targets in role-assignable
// groups or with restricted-unit roles need Privileged Authentication Administrator or Global
// Administrator. Eligible (PIM) roles count as held: the target can activate them at any moment.
//
// Two rules beyond the table's cells, both from Microsoft's restricted management administrative unit
// page (entra-docs docs/identity/role-based-access-control/admin-units-restricted-management.md):
//   - A member of a restricted management administrative unit can't be reset by any tenant-scoped
//     role, Global Administrator included ("Update password for a user" is blocked for
//     administrators not explicitly assigned at the unit's scope). So RoleCanReset is false for
//     every role when target.InRestrictedAU.
//   - The row "User with a role scoped to a restricted management administrative unit": User does
//     not say whether the unit behind an AU-scoped role is a restricted one, so every AU-scoped role
//     the target holds is treated as if it were (only Privileged Authentication Administrator and
//     Global Administrator may reset). This is stricter than Microsoft for roles scoped to ordinary
//     units, never looser: an admin of a restricted unit is usually not a member of it, so keying the
//     row on target.InRestrictedAU would let a tenant Helpdesk Administrator take over the very
//     account that guards the restricted unit.
func RoleCanReset(resetterRole string, target User) bool {
	if target.InRestrictedAU {
		return false
	}
	if resetsEveryone[resetterRole] {
		return true
	}
	covered, ok := resettableBy[resetterRole]
	if !ok {
		return false
	}
	if target.InRoleAssignableGroup || holdsUnitScopedRole(target) {
		return false
	}
	for _, r := range heldRoles(target) {
		if !covered[r.TemplateID] {
			return false
		}
	}
	return covered[noRole]
}

// heldRoles are the target's active and eligible assignments: for who may reset them, an eligible
// role counts as held.
func heldRoles(u User) []RoleAssignment {
	out := make([]RoleAssignment, 0, len(u.Roles)+len(u.EligibleRoles))
	out = append(out, u.Roles...)
	return append(out, u.EligibleRoles...)
}

// holdsUnitScopedRole reports whether the target holds (or is eligible for) any role scoped to an
// administrative unit: treated as the row "user with a role scoped to a restricted management
// administrative unit" (see RoleCanReset).
func holdsUnitScopedRole(target User) bool {
	for _, r := range heldRoles(target) {
		if r.AdministrativeUnit() != "" {
			return true
		}
	}
	return false
}
