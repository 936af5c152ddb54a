package bot

// Microsoft's "Who can reset passwords" table (Microsoft Entra privileged roles and permissions,
// learn.microsoft.com/entra/identity/role-based-access-control/privileged-roles-permissions
// #who-can-reset-passwords). Columns are the roles that can reset; rows the roles whose holders can be
// reset. A target with several roles can be reset only if the resetter's role ticks every one.
// Privileged Authentication Administrator and Global Administrator can reset everyone, including
// members of role-assignable groups and users with roles in restricted management units.

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
func RoleCanReset(resetterRole string, target User) bool {
	if resetsEveryone[resetterRole] {
		return true
	}
	covered, ok := resettableBy[resetterRole]
	if !ok {
		return false
	}
	if target.InRoleAssignableGroup || hasRestrictedUnitRole(target) {
		return false
	}
	for _, r := range append(append([]RoleAssignment(nil), target.Roles...), target.EligibleRoles...) {
		if !covered[r.TemplateID] {
			return false
		}
	}
	return covered[noRole]
}

// hasRestrictedUnitRole approximates the row "user with a role scoped to a restricted management
// administrative unit": we know the target is in a restricted unit and holds an AU-scoped role.
func hasRestrictedUnitRole(target User) bool {
	if !target.InRestrictedAU {
		return false
	}
	for _, r := range target.Roles {
		if r.AdministrativeUnit() != "" {
			return true
		}
	}
	return false
}
