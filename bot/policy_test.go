package bot

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// whoCanResetTable is Microsoft's "Who can reset passwords" table, transcribed verbatim (✅ for
// :white_check_mark:) from
//
//	https://learn.microsoft.com/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-reset-passwords
//	source: MicrosoftDocs/entra-docs, docs/identity/role-based-access-control/privileged-roles-permissions.md
//	(the same table is at https://learn.microsoft.com/graph/api/resources/users#who-can-reset-passwords)
//
// "In the following table, the columns list the roles that can reset passwords and invalidate refresh
// tokens. The rows list the roles for which their password can be reset. … If a user is assigned any
// other role, the Password Administrator cannot reset their password. The following table is for
// roles assigned at the scope of a tenant. For roles assigned at the scope of an administrative unit,
// further restrictions apply."
//
// The exhaustive test below parses it and derives every expected answer from it, never from
// matrix.go.
const whoCanResetTable = `
| Role that password can be reset | Password Admin | Helpdesk Admin | Auth Admin | User Admin | Privileged Auth Admin | Global Admin |
|---|:-:|:-:|:-:|:-:|:-:|:-:|
| Auth Admin | | | ✅ | | ✅ | ✅ |
| Directory Readers | ✅ | ✅ | ✅ | ✅ | ✅ | ✅ |
| Global Admin | | | | | ✅ | ✅\* |
| Groups Admin | | | | ✅ | ✅ | ✅ |
| Guest Inviter | ✅ | ✅ | ✅ | ✅ | ✅ | ✅ |
| Helpdesk Admin | | ✅ | | ✅ | ✅ | ✅ |
| Message Center Reader | | ✅ | ✅ | ✅ | ✅ | ✅ |
| Password Admin | ✅ | ✅ | ✅ | ✅ | ✅ | ✅ |
| Privileged Auth Admin | | | | | ✅ | ✅ |
| Privileged Role Admin | | | | | ✅ | ✅ |
| Reports Reader | | ✅ | ✅ | ✅ | ✅ | ✅ |
| User (no admin role) | ✅ | ✅ | ✅ | ✅ | ✅ | ✅ |
| User (no admin role, but member or owner of a role-assignable group) | | | | | ✅ | ✅ |
| User with a role scoped to a restricted management administrative unit | | | | | ✅ | ✅ |
| User Admin | | | | ✅ | ✅ | ✅ |
| User Experience Success Manager | | ✅ | ✅ | ✅ | ✅ | ✅ |
| Usage Summary Reports Reader | | ✅ | ✅ | ✅ | ✅ | ✅ |
| All other built-in and custom roles | | | | | ✅ | ✅ |
`

// Role template IDs, transcribed from Microsoft's built-in roles reference (entra-docs
// docs/identity/role-based-access-control/permissions-reference.md),
// so that the test does not take them from roles.go.
const (
	tGlobalAdmin       = "62e90394-69f5-4237-9190-012177145e10"
	tPrivAuthAdmin     = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
	tPrivRoleAdmin     = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	tAuthAdmin         = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
	tUserAdmin         = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	tHelpdeskAdmin     = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	tPasswordAdmin     = "966707d0-3269-4727-9be2-8c3a10f19b9d"
	tGroupsAdmin       = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
	tDirectoryReaders  = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
	tGuestInviter      = "95e79109-95c0-4d8e-aee3-d01accf2d47b"
	tMessageCenter     = "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b"
	tReportsReader     = "4a5d8f65-41da-4de4-8968-e035b65339cf"
	tUXSuccessManager  = "27460883-1df1-4691-b032-3b79643e5e63"
	tUsageSummary      = "75934031-6c7e-415a-99d7-48dbd49e875e"
	tPartnerTier1      = "4ba39ca4-527c-499a-b93d-d9b492c50246"
	tPartnerTier2      = "e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8"
	tDirSyncAccounts   = "d29b2b05-8046-44ba-8758-1e26182fcf32"
	tHybridIdentity    = "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2"
	tSecurityAdmin     = "194ae4cb-b126-40b2-bd5b-6091b380977d"
	tApplicationAdmin  = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	tExchangeAdmin     = "29232cdf-9323-42fd-ade2-1d097af3e4de"
	tGlobalReader      = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
	tCustomRole        = "c0ffee00-1234-4abc-8def-0123456789ab" // a tenant's custom role
	tRestrictedAUScope = "/administrativeUnits/rmau-executives"
)

// The table's column headings → the resetting role.
var tableColumns = map[string]string{
	"Password Admin":        tPasswordAdmin,
	"Helpdesk Admin":        tHelpdeskAdmin,
	"Auth Admin":            tAuthAdmin,
	"User Admin":            tUserAdmin,
	"Privileged Auth Admin": tPrivAuthAdmin,
	"Global Admin":          tGlobalAdmin,
}

// notColumns are roles that are not columns of the table: as resetters they reset nobody. Partner
// Tier1/Tier2 Support can reset passwords according to the note under Microsoft's table, but "these
// roles should not be used because they are deprecated", so resetbot does not honour them.
var notColumns = []string{tGroupsAdmin, tSecurityAdmin, tPrivRoleAdmin, tDirectoryReaders,
	tHybridIdentity, tPartnerTier1, tPartnerTier2, tCustomRole}

// targetItem is one thing a target can hold, standing for one row of the table.
type targetItem struct {
	row   string
	label string
	apply func(u *User, eligible bool, scope string)
}

func holds(templateID string) func(u *User, eligible bool, scope string) {
	return func(u *User, eligible bool, scope string) {
		a := RoleAssignment{TemplateID: templateID, Scope: scope}
		if eligible {
			u.EligibleRoles = append(u.EligibleRoles, a)
		} else {
			u.Roles = append(u.Roles, a)
		}
	}
}

// tableItems maps each row of the table to the targets standing for it.
func tableItems() map[string][]targetItem {
	role := func(row, id string) []targetItem {
		return []targetItem{{row: row, label: row, apply: holds(id)}}
	}
	m := map[string][]targetItem{
		"Auth Admin":                      role("Auth Admin", tAuthAdmin),
		"Directory Readers":               role("Directory Readers", tDirectoryReaders),
		"Global Admin":                    role("Global Admin", tGlobalAdmin),
		"Groups Admin":                    role("Groups Admin", tGroupsAdmin),
		"Guest Inviter":                   role("Guest Inviter", tGuestInviter),
		"Helpdesk Admin":                  role("Helpdesk Admin", tHelpdeskAdmin),
		"Message Center Reader":           role("Message Center Reader", tMessageCenter),
		"Password Admin":                  role("Password Admin", tPasswordAdmin),
		"Privileged Auth Admin":           role("Privileged Auth Admin", tPrivAuthAdmin),
		"Privileged Role Admin":           role("Privileged Role Admin", tPrivRoleAdmin),
		"Reports Reader":                  role("Reports Reader", tReportsReader),
		"User Admin":                      role("User Admin", tUserAdmin),
		"User Experience Success Manager": role("User Experience Success Manager", tUXSuccessManager),
		"Usage Summary Reports Reader":    role("Usage Summary Reports Reader", tUsageSummary),
		"User (no admin role)": {{row: "User (no admin role)", label: "no role",
			apply: func(*User, bool, string) {}}},
		"User (no admin role, but member or owner of a role-assignable group)": {{
			row:   "User (no admin role, but member or owner of a role-assignable group)",
			label: "role-assignable group",
			apply: func(u *User, _ bool, _ string) { u.InRoleAssignableGroup = true }}},
		// A role scoped to a restricted management unit: Password Administrator, one of the roles that
		// can be assigned at unit scope, whose own row is ticked in every column, so the item adds no
		// restriction of its own (checked in TestWhoCanResetMatrix).
		"User with a role scoped to a restricted management administrative unit": {{
			row:   "User with a role scoped to a restricted management administrative unit",
			label: "Password Administrator scoped to a restricted unit",
			apply: func(u *User, eligible bool, _ string) { holds(tPasswordAdmin)(u, eligible, tRestrictedAUScope) }}},
	}
	const other = "All other built-in and custom roles"
	for _, id := range []string{tCustomRole, tSecurityAdmin, tHybridIdentity, tDirSyncAccounts, tPartnerTier1,
		tPartnerTier2, tApplicationAdmin, tExchangeAdmin, tGlobalReader} {
		m[other] = append(m[other], targetItem{row: other, label: "other role " + id, apply: holds(id)})
	}
	return m
}

type parsedTable struct {
	columns []string                   // headings, in order
	ticks   map[string]map[string]bool // row → column → ticked
	rows    []string
}

func parseWhoCanResetTable(t *testing.T) parsedTable {
	t.Helper()
	var p parsedTable
	p.ticks = map[string]map[string]bool{}
	sep := regexp.MustCompile(`^:?-+:?$`)
	for _, line := range strings.Split(strings.TrimSpace(whoCanResetTable), "\n") {
		cells := strings.Split(strings.TrimSpace(line), "|")
		if len(cells) < 3 || cells[0] != "" || cells[len(cells)-1] != "" {
			t.Fatalf("not a table line: %q", line)
		}
		cells = cells[1 : len(cells)-1]
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if p.columns == nil {
			p.columns = cells[1:]
			continue
		}
		if sep.MatchString(cells[0]) {
			continue
		}
		if len(cells) != len(p.columns)+1 {
			t.Fatalf("row %q has %d cells, want %d", cells[0], len(cells), len(p.columns)+1)
		}
		row := map[string]bool{}
		for i, c := range cells[1:] {
			switch c {
			case "":
			case "✅", `✅\*`:
				row[p.columns[i]] = true
			default:
				t.Fatalf("row %q: cell %q is neither blank nor ✅", cells[0], c)
			}
		}
		p.ticks[cells[0]] = row
		p.rows = append(p.rows, cells[0])
	}
	if len(p.columns) != 6 || len(p.rows) != 18 {
		t.Fatalf("parsed %d columns and %d rows, want 6 and 18", len(p.columns), len(p.rows))
	}
	return p
}

// expect is the table's answer for a resetting column and a set of target items: the column must
// tick every row the target stands in; a target holding nothing is the row "User (no admin role)".
func (p parsedTable) expect(column string, items []targetItem) bool {
	if len(items) == 0 {
		return p.ticks["User (no admin role)"][column]
	}
	for _, it := range items {
		if !p.ticks[it.row][column] {
			return false
		}
	}
	return true
}

type matrixTarget struct {
	label string
	items []targetItem
	user  User
}

// matrixTargets builds every target holding 0, 1 or 2 of the items, with the roles active at tenant
// scope "/", active with an empty scope (also tenant-wide), or PIM-eligible.
func matrixTargets(t *testing.T, p parsedTable) []matrixTarget {
	t.Helper()
	byRow := tableItems()
	var items []targetItem
	for _, row := range p.rows {
		its, ok := byRow[row]
		if !ok {
			t.Fatalf("the test has no target for the table's row %q", row)
		}
		items = append(items, its...)
		delete(byRow, row)
	}
	for row := range byRow {
		t.Fatalf("the test maps a row %q that the table does not have", row)
	}
	var sets [][]targetItem
	sets = append(sets, nil)
	for i := range items {
		sets = append(sets, []targetItem{items[i]})
		for j := i + 1; j < len(items); j++ {
			sets = append(sets, []targetItem{items[i], items[j]})
		}
	}
	var out []matrixTarget
	for _, v := range []struct {
		name     string
		eligible bool
		scope    string
	}{{"active /", false, "/"}, {"active ''", false, ""}, {"eligible", true, "/"}} {
		for n, set := range sets {
			u := User{ID: fmt.Sprintf("target-%d", n), UPN: fmt.Sprintf("target%d@contoso.com", n),
				DisplayName: fmt.Sprintf("Target %d", n), Enabled: true}
			var labels []string
			for _, it := range set {
				it.apply(&u, v.eligible, v.scope)
				labels = append(labels, it.label)
			}
			out = append(out, matrixTarget{label: v.name + ": [" + strings.Join(labels, ", ") + "]", items: set, user: u})
		}
	}
	return out
}

func TestWhoCanResetMatrix(t *testing.T) {
	p := parseWhoCanResetTable(t)
	for _, col := range p.columns {
		if _, ok := tableColumns[col]; !ok {
			t.Fatalf("the test has no role for the table's column %q", col)
		}
	}
	// The restricted-unit item holds Password Administrator, whose row must tick every column for
	// the item to stand for its row alone.
	for _, col := range p.columns {
		if !p.ticks["Password Admin"][col] {
			t.Fatalf("Password Admin row is not ticked for %s: pick another role for the restricted-unit item", col)
		}
	}
	targets := matrixTargets(t, p)

	type resetter struct {
		name   string
		id     string
		column string // "" for roles that are not columns
	}
	var resetters []resetter
	for _, col := range p.columns {
		resetters = append(resetters, resetter{col, tableColumns[col], col})
	}
	for _, id := range notColumns {
		resetters = append(resetters, resetter{"not a column: " + id, id, ""})
	}
	want := func(r resetter, mt matrixTarget) bool { return r.column != "" && p.expect(r.column, mt.items) }

	checks := 0
	for _, r := range resetters {
		actor := User{ID: "actor", UPN: "actor@contoso.com", DisplayName: "Actor", Enabled: true,
			Roles: []RoleAssignment{{TemplateID: r.id, Scope: "/"}}}
		eligibleOnly := User{ID: "actor", UPN: "actor@contoso.com", DisplayName: "Actor", Enabled: true,
			EligibleRoles: []RoleAssignment{{TemplateID: r.id, Scope: "/"}}}
		for _, mt := range targets {
			w := want(r, mt)
			if got := RoleCanReset(r.id, mt.user); got != w {
				t.Errorf("RoleCanReset(%s, %s) = %v, table says %v", r.name, mt.label, got, w)
			}
			got, why := CanReset(actor, mt.user)
			if got != w {
				t.Errorf("CanReset(%s, %s) = %v, table says %v (%s)", r.name, mt.label, got, w, why)
			}
			if !got && why == "" {
				t.Errorf("CanReset(%s, %s) refused without a reason", r.name, mt.label)
			}
			if got, _ := CanReset(eligibleOnly, mt.user); got {
				t.Errorf("CanReset(eligible-only %s, %s) = true: an eligible role must be activated first", r.name, mt.label)
			}
			checks += 3
		}
	}

	// Several roles: one of them must cover the whole target (see CanReset), so the answer for a
	// pair of roles is the OR of each role's column — never a pooled cover.
	for i, r1 := range resetters {
		for _, r2 := range resetters[i+1:] {
			actor := User{ID: "actor", Enabled: true, Roles: []RoleAssignment{{TemplateID: r1.id, Scope: "/"}, {TemplateID: r2.id}}}
			for _, mt := range targets[:len(targets)/3] { // the "active /" targets
				w := want(r1, mt) || want(r2, mt)
				if got, why := CanReset(actor, mt.user); got != w {
					t.Errorf("CanReset(%s + %s, %s) = %v, table says %v (%s)", r1.name, r2.name, mt.label, got, w, why)
				}
				checks++
			}
		}
	}
	t.Logf("%d matrix checks over %d targets", checks, len(targets))
}

// TestMatrixDecide runs Decide (entra mode) over the same targets: allowed exactly where the table
// allows, and a second person needed exactly where the target holds a role that is not one of the
// table's six reader rows, or is in a role-assignable group.
func TestMatrixDecide(t *testing.T) {
	p := parseWhoCanResetTable(t)
	targets := matrixTargets(t, p)
	readers := map[string]bool{"Directory Readers": true, "Guest Inviter": true, "Message Center Reader": true,
		"Reports Reader": true, "User Experience Success Manager": true, "Usage Summary Reports Reader": true,
		"User (no admin role)": true}
	for _, col := range p.columns {
		requester := User{ID: "requester", DisplayName: "Requester", Enabled: true,
			Roles: []RoleAssignment{{TemplateID: tableColumns[col], Scope: "/"}}}
		for _, mt := range targets[:len(targets)/3] {
			allowed := p.expect(col, mt.items)
			privileged := false
			for _, it := range mt.items {
				if !readers[it.row] {
					privileged = true
				}
			}
			want := Deny
			if allowed {
				want = Allow
			}
			if d := (Policy{}).Decide(requester, mt.user); d.Verdict != want {
				t.Errorf("%s → %s: %v (%s), want %v", col, mt.label, d.Verdict, d.Reason, want)
			}
			if allowed && privileged {
				want = NeedsApproval
			}
			if d := (Policy{PrivilegedNeedsApproval: true}).Decide(requester, mt.user); d.Verdict != want {
				t.Errorf("%s → %s with approvals: %v (%s), want %v", col, mt.label, d.Verdict, d.Reason, want)
			}
		}
	}
}

func TestRoleConstantsMatchMicrosoft(t *testing.T) {
	for _, c := range []struct{ got, want, name string }{
		{RoleGlobalAdmin, tGlobalAdmin, "Global Administrator"},
		{RolePrivilegedAuthAdmin, tPrivAuthAdmin, "Privileged Authentication Administrator"},
		{RolePrivilegedRoleAdmin, tPrivRoleAdmin, "Privileged Role Administrator"},
		{RoleAuthAdmin, tAuthAdmin, "Authentication Administrator"},
		{RoleUserAdmin, tUserAdmin, "User Administrator"},
		{RoleHelpdeskAdmin, tHelpdeskAdmin, "Helpdesk Administrator"},
		{RolePasswordAdmin, tPasswordAdmin, "Password Administrator"},
		{RoleGroupsAdmin, tGroupsAdmin, "Groups Administrator"},
		{RoleDirectoryReaders, tDirectoryReaders, "Directory Readers"},
		{RoleGuestInviter, tGuestInviter, "Guest Inviter"},
		{RoleMessageCenterReader, tMessageCenter, "Message Center Reader"},
		{RoleReportsReader, tReportsReader, "Reports Reader"},
		{RoleUserExperienceSuccessManager, tUXSuccessManager, "User Experience Success Manager"},
		{RoleUsageSummaryReportsReader, tUsageSummary, "Usage Summary Reports Reader"},
		{RolePartnerTier1Support, tPartnerTier1, "Partner Tier1 Support"},
		{RolePartnerTier2Support, tPartnerTier2, "Partner Tier2 Support"},
		{RoleDirectorySyncAccounts, tDirSyncAccounts, "Directory Synchronization Accounts"},
		{RoleHybridIdentityAdmin, tHybridIdentity, "Hybrid Identity Administrator"},
		{RoleSecurityAdmin, tSecurityAdmin, "Security Administrator"},
	} {
		if c.got != c.want {
			t.Errorf("%s: roles.go has %s, Microsoft %s", c.name, c.got, c.want)
		}
		if n := RoleName(c.want); n != c.name {
			t.Errorf("RoleName(%s) = %q, want %q", c.want, n, c.name)
		}
	}
}

// TestSeveralRolesDoNotPool pins the reading documented on CanReset.
func TestSeveralRolesDoNotPool(t *testing.T) {
	actor := User{ID: "a", Enabled: true, Roles: []RoleAssignment{{TemplateID: tHelpdeskAdmin, Scope: "/"}, {TemplateID: tAuthAdmin, Scope: "/"}}}
	both := User{ID: "t", DisplayName: "Tess Target", Enabled: true,
		Roles: []RoleAssignment{{TemplateID: tHelpdeskAdmin, Scope: "/"}, {TemplateID: tAuthAdmin, Scope: "/"}}}
	ok, why := CanReset(actor, both)
	if ok {
		t.Fatal("Helpdesk + Authentication Administrator pooled to cover a Helpdesk + Authentication Administrator")
	}
	for _, want := range []string{"Tess Target", "Helpdesk Administrator", "Authentication Administrator", "One of your roles must cover"} {
		if !strings.Contains(why, want) {
			t.Errorf("reason %q does not mention %q", why, want)
		}
	}
	// Each role alone still covers what its column ticks.
	for _, target := range []RoleAssignment{{TemplateID: tHelpdeskAdmin}, {TemplateID: tAuthAdmin}, {TemplateID: tReportsReader}} {
		if ok, why := CanReset(actor, User{ID: "t", Enabled: true, Roles: []RoleAssignment{target}}); !ok {
			t.Errorf("%s: %s", RoleName(target.TemplateID), why)
		}
	}
}

// TestUnitScopedRoles covers roles assigned at administrative unit scope (see unitRoleCanReset for
// Microsoft's words).
func TestUnitScopedRoles(t *testing.T) {
	paris := "/administrativeUnits/au-paris"
	actorWith := func(roles ...RoleAssignment) User { return User{ID: "actor", Enabled: true, Roles: roles} }
	target := func(f func(*User)) User {
		u := User{ID: "t", DisplayName: "Pierre Paris", Enabled: true, AdministrativeUnits: []string{"au-paris"}}
		if f != nil {
			f(&u)
		}
		return u
	}
	hdaParis := actorWith(RoleAssignment{TemplateID: tHelpdeskAdmin, Scope: paris})
	paaParis := actorWith(RoleAssignment{TemplateID: tPrivAuthAdmin, Scope: paris})
	for _, c := range []struct {
		name   string
		actor  User
		target User
		want   bool
		says   string
	}{
		{"member without roles", hdaParis, target(nil), true, ""},
		{"unit IDs compare case-insensitively", hdaParis, target(func(u *User) { u.AdministrativeUnits = []string{"AU-PARIS"} }), true, ""},
		{"not a member", hdaParis, target(func(u *User) { u.AdministrativeUnits = []string{"au-lyon"} }), false, "not a member of administrative unit au-paris"},
		{"in no unit", hdaParis, target(func(u *User) { u.AdministrativeUnits = nil }), false, "they are not a member of administrative unit au-paris"},
		{"member in a group of the unit only", hdaParis, target(func(u *User) { u.AdministrativeUnits = nil; u.Groups = []string{"au-paris"} }), false, "not a member of administrative unit au-paris"},
		{"member with a reader role", hdaParis, target(func(u *User) { u.Roles = []RoleAssignment{{TemplateID: tDirectoryReaders, Scope: "/"}} }), false, "Directory Readers"},
		{"member eligible for a reader role", hdaParis, target(func(u *User) { u.EligibleRoles = []RoleAssignment{{TemplateID: tDirectoryReaders, Scope: "/"}} }), false, "eligible for Directory Readers"},
		{"member in a role-assignable group", hdaParis, target(func(u *User) { u.InRoleAssignableGroup = true }), false, "role-assignable group"},
		{"member with a role scoped to the same unit", hdaParis, target(func(u *User) { u.Roles = []RoleAssignment{{TemplateID: tHelpdeskAdmin, Scope: paris}} }), false, "Helpdesk Administrator for administrative unit au-paris"},
		{"restricted unit that is the only unit", hdaParis, target(func(u *User) { u.InRestrictedAU = true }), true, ""},
		{"restricted unit member with a role", hdaParis, target(func(u *User) { u.InRestrictedAU = true; u.Roles = []RoleAssignment{{TemplateID: tReportsReader}} }), false, "Your role for that unit may reset only members who hold no Entra role, and they hold Reports Reader."},
		{"restricted unit among several", hdaParis, target(func(u *User) { u.InRestrictedAU = true; u.AdministrativeUnits = []string{"au-paris", "au-exec"} }), false, "more than one administrative unit"},
		{"unit PAA: member without roles", paaParis, target(nil), true, ""},
		{"unit PAA: member with a tenant-wide role", paaParis, target(func(u *User) { u.Roles = []RoleAssignment{{TemplateID: tGlobalAdmin, Scope: "/"}} }), false, "Global Administrator"},
		{"unit PAA: member with a unit role", paaParis, target(func(u *User) { u.Roles = []RoleAssignment{{TemplateID: tUserAdmin, Scope: paris}} }), false, "User Administrator"},
		{"unit Password Administrator", actorWith(RoleAssignment{TemplateID: tPasswordAdmin, Scope: paris}), target(nil), true, ""},
		{"unit Authentication Administrator", actorWith(RoleAssignment{TemplateID: tAuthAdmin, Scope: paris}), target(nil), true, ""},
		{"unit User Administrator", actorWith(RoleAssignment{TemplateID: tUserAdmin, Scope: paris}), target(nil), true, ""},
		{"unit User Administrator, target a Helpdesk Administrator", actorWith(RoleAssignment{TemplateID: tUserAdmin, Scope: paris}), target(func(u *User) { u.Roles = []RoleAssignment{{TemplateID: tHelpdeskAdmin, Scope: "/"}} }), false, ""},
		{"Global Administrator can't be unit-scoped", actorWith(RoleAssignment{TemplateID: tGlobalAdmin, Scope: paris}), target(nil), false, "no Entra role that can reset"},
		{"Groups Administrator at unit scope resets nobody", actorWith(RoleAssignment{TemplateID: tGroupsAdmin, Scope: paris}), target(nil), false, "no Entra role that can reset"},
		{"a role scoped to an app registration resets nobody", actorWith(RoleAssignment{TemplateID: tHelpdeskAdmin, Scope: "/0f0e0d0c-app"}), target(nil), false, "no Entra role that can reset"},
		{"eligible unit role does not count", User{ID: "actor", EligibleRoles: []RoleAssignment{{TemplateID: tHelpdeskAdmin, Scope: paris}}}, target(nil), false, "activate it in Privileged Identity Management"},
		{"tenant role covers what the unit role doesn't", actorWith(RoleAssignment{TemplateID: tHelpdeskAdmin, Scope: paris}, RoleAssignment{TemplateID: tPasswordAdmin, Scope: "/"}),
			target(func(u *User) {
				u.AdministrativeUnits = nil
				u.Roles = []RoleAssignment{{TemplateID: tGuestInviter, Scope: "/"}}
			}), true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, why := CanReset(c.actor, c.target)
			if got != c.want {
				t.Fatalf("CanReset = %v (%s), want %v", got, why, c.want)
			}
			d := Policy{}.Decide(c.actor, c.target)
			if c.says != "" && !strings.Contains(d.Reason+" "+d.Remedy, c.says) {
				t.Errorf("decision %q / %q does not say %q", d.Reason, d.Remedy, c.says)
			}
			if !got && (d.Verdict != Deny || d.Reason == "" || d.Remedy == "" || d.Reason != why) {
				t.Errorf("Decide = %+v, want a Deny with CanReset's reason and a remedy", d)
			}
		})
	}
}

// TestRestrictedUnitMembers: no tenant-scoped role, Global Administrator included, may change a
// member of a restricted management administrative unit (admin-units-restricted-management.md).
func TestRestrictedUnitMembers(t *testing.T) {
	member := User{ID: "exec", DisplayName: "Eve Exec", Enabled: true, InRestrictedAU: true, AdministrativeUnits: []string{"au-exec"}}
	for _, r := range ResetterRoles {
		if RoleCanReset(r, member) {
			t.Errorf("RoleCanReset(%s) = true for a restricted unit member", RoleName(r))
		}
		actor := User{ID: "a", Enabled: true, Roles: []RoleAssignment{{TemplateID: r, Scope: "/"}}}
		ok, why := CanReset(actor, member)
		if ok || !strings.Contains(why, "restricted management administrative unit") {
			t.Errorf("CanReset(%s) = %v, %q", RoleName(r), ok, why)
		}
	}
	// The unit's own administrator is entitled, but resetbot's tenant-wide role can't do it for them.
	execHelp := User{ID: "eh", DisplayName: "Exec Help", Enabled: true,
		Roles: []RoleAssignment{{TemplateID: tHelpdeskAdmin, Scope: "/administrativeUnits/au-exec"}}}
	if ok, why := CanReset(execHelp, member); !ok {
		t.Fatalf("the restricted unit's Helpdesk Administrator is refused: %s", why)
	}
	d := Policy{PrivilegedNeedsApproval: true}.Decide(execHelp, member)
	if d.Verdict != Deny || !strings.Contains(d.Reason, "resetbot's own Entra role") || !strings.Contains(d.Remedy, "Entra admin center") {
		t.Errorf("Decide = %+v, want a Deny explaining the bot's own role", d)
	}
}

// Personas for the Decide and MayApprove tables.
var (
	pHelen = User{ID: "u-helen", UPN: "helpdesk@contoso.com", DisplayName: "Helen Desk", Enabled: true,
		Roles: []RoleAssignment{{TemplateID: tHelpdeskAdmin, Scope: "/"}}}
	pPat = User{ID: "u-pat", UPN: "pat@contoso.com", DisplayName: "Pat Admin", Enabled: true,
		Roles: []RoleAssignment{{TemplateID: tPrivAuthAdmin, Scope: "/"}}}
	pSam = User{ID: "u-sam", UPN: "sam@contoso.com", DisplayName: "Sam Security", Enabled: true,
		Roles: []RoleAssignment{{TemplateID: tPrivAuthAdmin, Scope: "/"}}}
	pMegan = User{ID: "u-megan", UPN: "megan@contoso.com", DisplayName: "Megan Bowen", Enabled: true,
		Roles: []RoleAssignment{{TemplateID: tGlobalAdmin, Scope: "/"}}}
	pCeo = User{ID: "u-ceo", UPN: "ceo@contoso.com", DisplayName: "Ceo Person", Enabled: true,
		Roles: []RoleAssignment{{TemplateID: tGlobalAdmin, Scope: "/"}}}
	pAdele   = User{ID: "u-adele", UPN: "adele@contoso.com", DisplayName: "Adele Vance", Enabled: true}
	pAlex    = User{ID: "u-alex", UPN: "alex@contoso.com", DisplayName: "Alex Wilber", Enabled: true, Synced: true}
	pJohanna = User{ID: "u-johanna", UPN: "johanna@contoso.com", DisplayName: "Johanna Lorenz"}
	pGuest   = User{ID: "u-guest", UPN: "guest_fabrikam.com#EXT#@contoso.com", DisplayName: "Gus Guest", Enabled: true, Guest: true}
	pBreak   = User{ID: "u-break", UPN: "breakglass@contoso.com", DisplayName: "Break Glass", Enabled: true,
		Roles: []RoleAssignment{{TemplateID: tGlobalAdmin, Scope: "/"}}}
	pNora      = User{ID: "u-nora", UPN: "nora@contoso.com", DisplayName: "Nora Noroles", Enabled: true}
	pParisHelp = User{ID: "u-parishelp", UPN: "parishelp@contoso.com", DisplayName: "Paris Help", Enabled: true,
		Roles: []RoleAssignment{{TemplateID: tHelpdeskAdmin, Scope: "/administrativeUnits/au-paris"}}}
	pPierre = User{ID: "u-pierre", UPN: "pierre@paris.contoso.com", DisplayName: "Pierre Martin", Enabled: true,
		AdministrativeUnits: []string{"au-paris"}, Groups: []string{"g-sales"}}
)

func with(u User, f func(*User)) User { f(&u); return u }

type decideCase struct {
	name              string
	policy            Policy
	requester, target User
	verdict           Verdict
	reason, remedy    []string // substrings
	exactReason       string
	exactRemedy       string
}

func runDecideCases(t *testing.T, cases []decideCase) {
	t.Helper()
	gendered := regexp.MustCompile(`(?i)\b(she|he|her|hers|him|his|herself|himself)\b`)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := c.policy.Decide(c.requester, c.target)
			if d.Verdict != c.verdict {
				t.Fatalf("verdict %v (%q / %q), want %v", d.Verdict, d.Reason, d.Remedy, c.verdict)
			}
			checkDecisionText(t, d, c.reason, c.remedy, c.exactReason, c.exactRemedy)
			if d.Reason == "" {
				t.Error("no reason")
			}
			if d.Verdict == Deny && d.Remedy == "" {
				t.Error("a refusal without a remedy")
			}
			if gendered.MatchString(d.Reason + " " + d.Remedy) {
				t.Errorf("gendered pronoun in %q / %q", d.Reason, d.Remedy)
			}
		})
	}
}

func checkDecisionText(t *testing.T, d Decision, reason, remedy []string, exactReason, exactRemedy string) {
	t.Helper()
	for _, s := range reason {
		if !strings.Contains(d.Reason, s) {
			t.Errorf("reason %q does not contain %q", d.Reason, s)
		}
	}
	for _, s := range remedy {
		if !strings.Contains(d.Remedy, s) {
			t.Errorf("remedy %q does not contain %q", d.Remedy, s)
		}
	}
	if exactReason != "" && d.Reason != exactReason {
		t.Errorf("reason\n got %q\nwant %q", d.Reason, exactReason)
	}
	if exactRemedy != "" && d.Remedy != exactRemedy {
		t.Errorf("remedy\n got %q\nwant %q", d.Remedy, exactRemedy)
	}
}

func TestDecideEntraMode(t *testing.T) {
	pol := Policy{Protected: []string{" BreakGlass@Contoso.com ", "U-OBJECTID-PROTECTED", "vip-mail@contoso.com"}, PrivilegedNeedsApproval: true}
	ceoEligible := with(pAdele, func(u *User) {
		u.DisplayName = "Ela Eligible"
		u.EligibleRoles = []RoleAssignment{{TemplateID: tGlobalAdmin, Scope: "/"}}
	})
	rag := with(pAdele, func(u *User) { u.DisplayName = "Rita Group"; u.InRoleAssignableGroup = true })
	reader := with(pAdele, func(u *User) {
		u.DisplayName = "Rudi Reader"
		u.Roles = []RoleAssignment{{TemplateID: tDirectoryReaders, Scope: "/"}, {TemplateID: tReportsReader, Scope: "/"}}
	})
	otherHelpdesk := with(pHelen, func(u *User) { u.ID = "u-hd2"; u.UPN = "hd2@contoso.com"; u.DisplayName = "Hal Desk" })
	regional := with(pParisHelp, func(u *User) { u.ID = "u-regional"; u.UPN = "regional@contoso.com"; u.DisplayName = "Reg Ional" })
	execMember := User{ID: "u-eve", UPN: "eve@contoso.com", DisplayName: "Eve Exec", Enabled: true, InRestrictedAU: true, AdministrativeUnits: []string{"au-exec"}}
	botHelpdesk := pol
	botHelpdesk.BotRole = tHelpdeskAdmin
	noApproval := pol
	noApproval.PrivilegedNeedsApproval = false

	runDecideCases(t, []decideCase{
		// Always, in this order.
		{name: "self", policy: pol, requester: pMegan, target: pMegan, verdict: Deny,
			exactReason: "You can't reset your own password here.", remedy: []string{"self-service password reset", "https://aka.ms/sspr"}},
		{name: "self by UPN when IDs are missing", policy: pol, requester: User{UPN: "Adele@Contoso.com"}, target: with(pAdele, func(u *User) { u.ID = "" }),
			verdict: Deny, exactReason: "You can't reset your own password here."},
		{name: "self before protected", policy: pol, requester: pBreak, target: pBreak, verdict: Deny, exactReason: "You can't reset your own password here."},
		{name: "protected by UPN, any case", policy: pol, requester: pPat, target: pBreak, verdict: Deny,
			reason: []string{"Break Glass", "break-glass", "never resets"}, remedy: []string{"break-glass procedure", "security"}},
		{name: "protected by object ID", policy: pol, requester: pPat, target: with(pAdele, func(u *User) { u.ID = "u-objectid-protected" }), verdict: Deny, reason: []string{"break-glass"}},
		{name: "protected by mail", policy: pol, requester: pPat, target: with(pAdele, func(u *User) { u.Mail = "VIP-mail@contoso.com" }), verdict: Deny, reason: []string{"break-glass"}},
		{name: "protected before guest", policy: pol, requester: pPat, target: with(pGuest, func(u *User) { u.UPN = "breakglass@contoso.com" }), verdict: Deny, reason: []string{"break-glass"}},
		{name: "guest", policy: pol, requester: pPat, target: pGuest, verdict: Deny,
			reason: []string{"Gus Guest is a guest", "home organisation"}, remedy: []string{"home organisation"}},
		{name: "guest before disabled", policy: pol, requester: pPat, target: with(pGuest, func(u *User) { u.Enabled = false }), verdict: Deny, reason: []string{"home organisation"}},
		{name: "disabled", policy: pol, requester: pHelen, target: pJohanna, verdict: Deny,
			reason: []string{"Johanna Lorenz", "disabled"}, remedy: []string{"User Administrator must enable the account first"}},
		{name: "disabled before synced", policy: pol, requester: pHelen, target: with(pJohanna, func(u *User) { u.Synced = true }), verdict: Deny, reason: []string{"disabled"}},
		{name: "synced", policy: pol, requester: pHelen, target: pAlex, verdict: Deny,
			exactReason: "Alex Wilber is synchronised from on-premises Active Directory. A cloud reset would not reach AD because password writeback is not enabled for resetbot.",
			exactRemedy: "Reset their password in AD, or ask an admin to enable writeback (Entra Connect → Optional features → Password writeback) and sign in with /resetpw login."},
		// Someone who may reset nobody learns nothing about the target: not that it is synchronised,
		// nor that it is a break-glass account.
		{name: "no right, synced target: nothing about the target", policy: pol, requester: pNora, target: pAlex, verdict: Deny, reason: []string{"no Entra role that can reset passwords"}},
		{name: "no right, protected target: nothing about the target", policy: Policy{PrivilegedNeedsApproval: true, Protected: []string{"alex@contoso.com"}},
			requester: pNora, target: pAlex, verdict: Deny, reason: []string{"no Entra role that can reset passwords"}},
		// With writeback the reset runs as the agent: their entitlement decides, not the bot's role.
		{name: "synced with writeback", policy: Policy{PrivilegedNeedsApproval: true, Writeback: true, BotRole: RolePasswordAdmin},
			requester: pHelen, target: pAlex, verdict: Allow},
		{name: "synced with writeback, agent not entitled", policy: Policy{PrivilegedNeedsApproval: true, Writeback: true},
			requester: pNora, target: pAlex, verdict: Deny, reason: []string{"no Entra role"}},

		// Entitlement.
		{name: "Helpdesk Administrator can't reset a Global Administrator", policy: pol, requester: pHelen, target: pMegan, verdict: Deny,
			reason: []string{"You can't reset Megan Bowen: they hold Global Administrator.",
				"Your role (Helpdesk Administrator) may reset users without admin roles", "Microsoft's rule"},
			exactRemedy: "Ask a Privileged Authentication Administrator, or see /resetpw whoami."},
		{name: "remedy names the least role that would do", policy: pol, requester: pHelen,
			target: with(pAdele, func(u *User) { u.Roles = []RoleAssignment{{TemplateID: tGroupsAdmin, Scope: "/"}} }), verdict: Deny,
			reason: []string{"Groups Administrator"}, exactRemedy: "Ask a User Administrator, or see /resetpw whoami."},
		{name: "no reset role at all", policy: pol, requester: pNora, target: pAdele, verdict: Deny,
			reason: []string{"You hold no Entra role that can reset passwords", "Adele Vance"}, remedy: []string{"Helpdesk Administrator or Password Administrator"}},
		{name: "no reset role, names the roles held", policy: pol, requester: with(pNora, func(u *User) { u.Roles = []RoleAssignment{{TemplateID: tSecurityAdmin, Scope: "/"}} }),
			target: pAdele, verdict: Deny, reason: []string{"You hold no Entra role that can reset passwords (your roles: Security Administrator)"}},
		{name: "eligible for a role that would do", policy: pol, requester: with(pNora, func(u *User) { u.EligibleRoles = []RoleAssignment{{TemplateID: tHelpdeskAdmin, Scope: "/"}} }),
			target: pAdele, verdict: Deny, remedy: []string{"You are eligible for Helpdesk Administrator", "activate it in Privileged Identity Management"}},
		{name: "eligible target role counts as held", policy: pol, requester: pHelen, target: ceoEligible, verdict: Deny,
			reason: []string{"they are eligible for Global Administrator"}},
		{name: "role-assignable group needs PAA", policy: pol, requester: pHelen, target: rag, verdict: Deny, reason: []string{"role-assignable group"}},
		{name: "a unit-scoped role on the target counts as restricted", policy: pol, requester: pHelen, target: regional, verdict: Deny,
			reason: []string{"Helpdesk Administrator for administrative unit au-paris", "restricted management unit"}},
		{name: "allowed", policy: pol, requester: pHelen, target: pAdele, verdict: Allow, reason: []string{"Helpdesk Administrator", "Adele Vance"}},
		{name: "reader roles are not privileged", policy: pol, requester: pHelen, target: reader, verdict: Allow},
		{name: "unit-scoped Helpdesk Administrator, member", policy: pol, requester: pParisHelp, target: pPierre, verdict: Allow,
			reason: []string{"Helpdesk Administrator for administrative unit au-paris"}},
		{name: "unit-scoped Helpdesk Administrator, not a member", policy: pol, requester: pParisHelp, target: pAdele, verdict: Deny,
			reason: []string{"Adele Vance: they are not a member of administrative unit au-paris"}},
		{name: "restricted unit member", policy: pol, requester: pPat, target: execMember, verdict: Deny,
			reason: []string{"Eve Exec", "restricted management administrative unit", "not even Global Administrator"}, remedy: []string{"assigned to that restricted administrative unit"}},

		// A second person.
		{name: "privileged target needs approval", policy: pol, requester: pPat, target: pCeo, verdict: NeedsApproval,
			exactReason: "Ceo Person holds Global Administrator, so this needs a second person."},
		{name: "eligible privileged target needs approval", policy: pol, requester: pPat, target: ceoEligible, verdict: NeedsApproval,
			exactReason: "Ela Eligible is eligible for Global Administrator, so this needs a second person."},
		{name: "role-assignable group needs approval", policy: pol, requester: pPat, target: rag, verdict: NeedsApproval,
			exactReason: "Rita Group is a member or owner of a role-assignable group, so this needs a second person."},
		{name: "another helpdesk admin needs approval", policy: pol, requester: pHelen, target: otherHelpdesk, verdict: NeedsApproval,
			reason: []string{"Hal Desk holds Helpdesk Administrator"}},
		{name: "everything privileged at once", policy: pol, requester: pPat,
			target: with(pCeo, func(u *User) {
				u.Roles = append(u.Roles, RoleAssignment{TemplateID: tDirectoryReaders}, RoleAssignment{TemplateID: tCustomRole})
				u.EligibleRoles = []RoleAssignment{{TemplateID: tPrivRoleAdmin}}
				u.InRoleAssignableGroup = true
			}), verdict: NeedsApproval,
			exactReason: "Ceo Person holds Global Administrator and custom or other role " + tCustomRole + ", is eligible for Privileged Role Administrator and is a member or owner of a role-assignable group, so this needs a second person."},
		{name: "approvals switched off", policy: noApproval, requester: pPat, target: pCeo, verdict: Allow},

		// The bot's own role.
		{name: "bot role narrower than the person's", policy: botHelpdesk, requester: pPat, target: pCeo, verdict: Deny,
			reason: []string{"resetbot's own Entra role (Helpdesk Administrator) may not reset Ceo Person", "Global Administrator"},
			remedy: []string{"Ask a Privileged Authentication Administrator"}},
		{name: "bot role covers", policy: botHelpdesk, requester: pHelen, target: pAdele, verdict: Allow},

		// Modes.
		{name: "mode spelled in capitals", policy: Policy{Mode: " ENTRA "}, requester: pHelen, target: pAdele, verdict: Allow},
		{name: "unknown mode", policy: Policy{Mode: "rule"}, requester: pPat, target: pAdele, verdict: Deny,
			reason: []string{`"rule"`, "not one it knows"}, remedy: []string{`"entra" or "rules"`}},
	})
}

func TestDecideRulesMode(t *testing.T) {
	rules := []Rule{
		{Name: "Paris helpdesk", Agents: []string{"g-paris-agents"}, Targets: Selector{AdministrativeUnits: []string{"au-paris"}}},
		{Name: "Fabrikam", Agents: []string{"g-fab-agents"}, Targets: Selector{Domains: []string{"@Fabrikam.com"}}},
		{Name: "Sales", Agents: []string{"G-SALES-AGENTS"}, Targets: Selector{Groups: []string{"g-sales"}}},
		{Name: "Half-written", Agents: []string{"g-empty"}, Targets: Selector{}},
		{Name: "No agents", Targets: Selector{Domains: []string{"contoso.com"}}},
		{Agents: []string{"g-blank"}, Targets: Selector{Groups: []string{""}, AdministrativeUnits: []string{" "}, Domains: []string{""}}},
	}
	pol := Policy{Mode: ModeRules, Rules: rules, PrivilegedNeedsApproval: true, Protected: []string{"breakglass@contoso.com"}}
	agent := func(name string, groups ...string) User {
		return User{ID: "u-" + name, UPN: name + "@contoso.com", DisplayName: name, Enabled: true, Groups: groups}
	}
	parisAgent := agent("Paula", "g-paris-agents")
	fabAgent := agent("Fabian", "g-fab-agents")
	salesAgent := agent("Sally", "g-sales-agents")
	fab := func(upn string) User { return User{ID: "u-" + upn, UPN: upn, DisplayName: "Fab User", Enabled: true} }
	fabGA := with(fab("boss@fabrikam.com"), func(u *User) {
		u.DisplayName = "Fab Boss"
		u.Roles = []RoleAssignment{{TemplateID: tGlobalAdmin, Scope: "/"}}
	})
	botHelpdesk := pol
	botHelpdesk.BotRole = tHelpdeskAdmin

	runDecideCases(t, []decideCase{
		{name: "unit rule", policy: pol, requester: parisAgent, target: pPierre, verdict: Allow, exactReason: `Rule "Paris helpdesk" lets you reset Pierre Martin.`},
		{name: "unit rule, target outside", policy: pol, requester: parisAgent, target: pAdele, verdict: Deny,
			exactReason: `No rule you are an agent in ("Paris helpdesk") covers Adele Vance.`, remedy: []string{"widen a rule"}},
		{name: "not an agent", policy: pol, requester: agent("Olga", "g-other"), target: pPierre, verdict: Deny,
			reason: []string{"not an agent in any resetbot rule", "Pierre Martin"}, remedy: []string{"resetbot admin"}},
		{name: "Entra roles do not count in rules mode", policy: pol, requester: pPat, target: pAdele, verdict: Deny, reason: []string{"not an agent"}},
		{name: "domain rule", policy: pol, requester: fabAgent, target: fab("ann@fabrikam.com"), verdict: Allow},
		{name: "domain rule, any case", policy: pol, requester: fabAgent, target: fab("ANN@FABRIKAM.COM"), verdict: Allow},
		{name: "domain rule, subdomain", policy: pol, requester: fabAgent, target: fab("ann@eu.fabrikam.com"), verdict: Allow},
		{name: "domain rule, lookalike domain", policy: pol, requester: fabAgent, target: fab("ann@evilfabrikam.com"), verdict: Deny},
		{name: "domain rule, domain only in the local part", policy: pol, requester: fabAgent, target: fab("fabrikam.com@contoso.com"), verdict: Deny},
		{name: "group rule, agent group in another case", policy: pol, requester: salesAgent, target: pPierre, verdict: Allow, reason: []string{`"Sales"`}},
		{name: "empty selector matches nobody", policy: pol, requester: agent("Emma", "g-empty"), target: pAdele, verdict: Deny, reason: []string{`"Half-written"`}},
		{name: "blank selector entries match nobody", policy: pol, requester: agent("Bea", "g-blank"), target: User{ID: "u-x", DisplayName: "X", Enabled: true, Groups: []string{""}}, verdict: Deny, reason: []string{"#6"}},
		{name: "a rule without agents covers nobody", policy: pol, requester: agent("Nina"), target: pAdele, verdict: Deny, reason: []string{"not an agent"}},
		{name: "first matching rule wins", policy: pol, requester: agent("Multi", "g-paris-agents", "g-sales-agents"), target: pPierre, verdict: Allow, reason: []string{`"Paris helpdesk"`}},
		{name: "privileged target needs approval", policy: pol, requester: fabAgent, target: fabGA, verdict: NeedsApproval,
			exactReason: "Fab Boss holds Global Administrator, so this needs a second person."},
		{name: "the bot's role is the ceiling", policy: botHelpdesk, requester: fabAgent, target: fabGA, verdict: Deny,
			reason: []string{"resetbot's own Entra role (Helpdesk Administrator) may not reset Fab Boss"}, remedy: []string{"Privileged Authentication Administrator"}},
		{name: "the bot's role can't reach restricted units", policy: pol, requester: parisAgent,
			target: with(pPierre, func(u *User) { u.InRestrictedAU = true }), verdict: Deny, reason: []string{"restricted management administrative unit"}},
		{name: "self still refused", policy: pol, requester: with(pPierre, func(u *User) { u.Groups = []string{"g-paris-agents"} }), target: pPierre, verdict: Deny,
			exactReason: "You can't reset your own password here."},
		{name: "protected still refused", policy: pol, requester: fabAgent, target: with(fab("x@fabrikam.com"), func(u *User) { u.Mail = "breakglass@contoso.com" }), verdict: Deny, reason: []string{"break-glass"}},
		{name: "synced still refused", policy: pol, requester: parisAgent, target: with(pPierre, func(u *User) { u.Synced = true }), verdict: Deny, reason: []string{"writeback"}},
	})
}

func TestMayApprove(t *testing.T) {
	entra := Policy{PrivilegedNeedsApproval: true, Protected: []string{"breakglass@contoso.com"}}
	rules := Policy{Mode: ModeRules, PrivilegedNeedsApproval: true,
		Rules: []Rule{{Name: "Paris helpdesk", Agents: []string{"g-paris-agents"}, Targets: Selector{AdministrativeUnits: []string{"au-paris"}}}}}
	for _, c := range []struct {
		name                        string
		policy                      Policy
		approver, requester, target User
		want                        Verdict
		reason                      []string
		exactReason                 string
	}{
		{"own request", entra, pPat, pPat, pCeo, Deny, nil, "You can't approve your own request."},
		{"own request, even as a Global Administrator", entra, pMegan, pMegan, pCeo, Deny, nil, "You can't approve your own request."},
		{"the target", entra, pCeo, pPat, pCeo, Deny, nil, "You can't approve a reset of your own password."},
		{"not entitled", entra, pHelen, pPat, pCeo, Deny, []string{"You can't approve this", "Ceo Person", "Global Administrator", "Helpdesk Administrator"}, ""},
		{"no role", entra, pNora, pPat, pCeo, Deny, []string{"no Entra role that can reset"}, ""},
		{"eligible only", entra, with(pNora, func(u *User) { u.EligibleRoles = pSam.Roles }), pPat, pCeo, Deny, nil, ""},
		{"entitled", entra, pSam, pPat, pCeo, Allow, []string{"Sam Security may reset Ceo Person", "Privileged Authentication Administrator"}, ""},
		{"Global Administrator", entra, pMegan, pPat, pCeo, Allow, nil, ""},
		{"a protected approver may approve", entra, pBreak, pPat, pCeo, Allow, nil, ""},
		{"no approval requirement for the approver", entra, pHelen, pPat, with(pAdele, func(u *User) { u.InRoleAssignableGroup = false }), Allow, nil, ""},
		{"rules mode: agent", rules, with(pNora, func(u *User) { u.Groups = []string{"g-paris-agents"} }), pParisHelp, pPierre, Allow, []string{`rule "Paris helpdesk"`}, ""},
		{"rules mode: not an agent", rules, pSam, pParisHelp, pPierre, Deny, []string{"You can't approve this", "not an agent"}, ""},
		{"unknown mode", Policy{Mode: "nope"}, pSam, pPat, pCeo, Deny, []string{"not one it knows"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := c.policy.MayApprove(c.approver, c.requester, c.target)
			if d.Verdict != c.want {
				t.Fatalf("verdict %v (%q), want %v", d.Verdict, d.Reason, c.want)
			}
			checkDecisionText(t, d, c.reason, nil, c.exactReason, "")
			if d.Verdict == Deny && (d.Reason == "" || d.Remedy == "") {
				t.Errorf("a refusal without reason or remedy: %+v", d)
			}
		})
	}
}

func TestIsPrivileged(t *testing.T) {
	for _, id := range []string{tGlobalAdmin, tPrivAuthAdmin, tPrivRoleAdmin, tAuthAdmin, tUserAdmin, tHelpdeskAdmin,
		tPasswordAdmin, tGroupsAdmin, tSecurityAdmin, tHybridIdentity, tPartnerTier1, tPartnerTier2, tDirSyncAccounts,
		tApplicationAdmin, tExchangeAdmin, tGlobalReader, tCustomRole, "", "not-a-guid"} {
		if !IsPrivileged(id) {
			t.Errorf("IsPrivileged(%s %q) = false", RoleName(id), id)
		}
	}
	for _, id := range []string{tDirectoryReaders, tGuestInviter, tMessageCenter, tReportsReader, tUXSuccessManager,
		tUsageSummary, strings.ToUpper(tDirectoryReaders)} {
		if IsPrivileged(id) {
			t.Errorf("IsPrivileged(%s) = true", RoleName(id))
		}
	}
}

func TestResettableSummary(t *testing.T) {
	p := parseWhoCanResetTable(t)
	display := map[string]string{
		"Auth Admin": "Authentication Administrator", "Directory Readers": "Directory Readers",
		"Global Admin": "Global Administrator", "Groups Admin": "Groups Administrator", "Guest Inviter": "Guest Inviter",
		"Helpdesk Admin": "Helpdesk Administrator", "Message Center Reader": "Message Center Reader",
		"Password Admin": "Password Administrator", "Privileged Auth Admin": "Privileged Authentication Administrator",
		"Privileged Role Admin": "Privileged Role Administrator", "Reports Reader": "Reports Reader",
		"User Admin": "User Administrator", "User Experience Success Manager": "User Experience Success Manager",
		"Usage Summary Reports Reader": "Usage Summary Reports Reader",
	}
	// For each limited column, the sentence lists exactly the named rows the table ticks.
	for _, col := range []string{"Password Admin", "Helpdesk Admin", "Auth Admin", "User Admin"} {
		actor := User{ID: "a", DisplayName: "A", Roles: []RoleAssignment{{TemplateID: tableColumns[col], Scope: "/"}}}
		s := Policy{}.ResettableSummary(actor)
		first := strings.SplitN(s, "\n", 2)[0]
		prefix := "As " + display[col] + " you may reset users without admin roles and: "
		if !strings.HasPrefix(first, prefix) {
			t.Fatalf("%s: summary starts %q, want %q", col, first, prefix)
		}
		listed := strings.Split(strings.SplitN(strings.TrimPrefix(first, prefix), " — ", 2)[0], ", ")
		var want []string
		for _, row := range p.rows {
			if name, ok := display[row]; ok && p.ticks[row][col] {
				want = append(want, name)
			}
		}
		if strings.Join(listed, "|") != strings.Join(want, "|") {
			t.Errorf("%s: lists %q, the table ticks %q", col, listed, want)
		}
	}
	for _, c := range []struct {
		name  string
		actor User
		says  []string
	}{
		{"Privileged Authentication Administrator", pPat, []string{"As Privileged Authentication Administrator you may reset anyone", "restricted management"}},
		{"Global Administrator", pMegan, []string{"As Global Administrator you may reset anyone"}},
		{"no role", pNora, []string{"You can reset nobody", "you hold no Entra role that can reset passwords", "Helpdesk Administrator or Password Administrator"}},
		{"unit-scoped", pParisHelp, []string{"As Helpdesk Administrator for administrative unit au-paris you may reset members of that unit who hold no Entra role at all"}},
		{"eligible", with(pNora, func(u *User) { u.EligibleRoles = pPat.Roles }), []string{"You hold no Entra role", "eligible for Privileged Authentication Administrator"}},
		{"several roles", with(pHelen, func(u *User) { u.Roles = append(u.Roles, RoleAssignment{TemplateID: tAuthAdmin}) }),
			[]string{"As Helpdesk Administrator", "As Authentication Administrator", "one of your roles must cover"}},
		{"the limits", pHelen, []string{"https://aka.ms/sspr", "guests", "disabled", "synchronised", "protected"}},
	} {
		s := Policy{}.ResettableSummary(c.actor)
		for _, want := range c.says {
			if !strings.Contains(s, want) {
				t.Errorf("%s: summary %q does not say %q", c.name, s, want)
			}
		}
	}
}

func TestSelectorMatches(t *testing.T) {
	u := User{UPN: "ann@Paris.Contoso.com", Groups: []string{"g-1", "G-2"}, AdministrativeUnits: []string{"au-1"}}
	for _, c := range []struct {
		s    Selector
		want bool
	}{
		{Selector{}, false},
		{Selector{Groups: []string{"g-2"}}, true},
		{Selector{Groups: []string{"g-3"}, AdministrativeUnits: []string{"AU-1"}}, true},
		{Selector{Domains: []string{"contoso.com"}}, true},
		{Selector{Domains: []string{".contoso.com."}}, true},
		{Selector{Domains: []string{"paris.contoso.com"}}, true},
		{Selector{Domains: []string{"ris.contoso.com"}}, false},
		{Selector{Domains: []string{"com.contoso"}}, false},
		{Selector{Groups: []string{""}, AdministrativeUnits: []string{""}, Domains: []string{"", "@"}}, false},
	} {
		if got := c.s.Matches(u); got != c.want {
			t.Errorf("%+v.Matches = %v, want %v", c.s, got, c.want)
		}
	}
	if (Selector{Groups: []string{""}}).Matches(User{Groups: []string{""}}) {
		t.Error("a blank group entry matched a blank group")
	}
}

func TestVerdict(t *testing.T) {
	var d Decision
	if d.Verdict != Deny {
		t.Error("the zero Decision must refuse")
	}
	for v, s := range map[Verdict]string{Allow: "allow", NeedsApproval: "needs_approval", Deny: "deny", Verdict(42): "deny"} {
		if v.String() != s {
			t.Errorf("%d.String() = %q, want %q", int(v), v.String(), s)
		}
	}
}

// The messages of shared/UX.md, as the policy words them.
func ExamplePolicy_Decide() {
	pol := Policy{PrivilegedNeedsApproval: true, Protected: []string{"breakglass@contoso.com"}}
	for _, c := range []struct{ requester, target User }{
		{pHelen, pAdele}, {pHelen, pMegan}, {pHelen, pAlex}, {pPat, pCeo}, {pMegan, pMegan},
		{pParisHelp, pAdele}, {pNora, pAdele},
	} {
		d := pol.Decide(c.requester, c.target)
		fmt.Printf("%s → %s: %v\n  %s\n", c.requester.Name(), c.target.Name(), d.Verdict, d.Reason)
		if d.Remedy != "" {
			fmt.Printf("  %s\n", d.Remedy)
		}
	}
	fmt.Println(pol.MayApprove(pHelen, pPat, pCeo).Reason)
	// Output:
	// Helen Desk → Adele Vance: allow
	//   Your role (Helpdesk Administrator) lets you reset Adele Vance.
	// Helen Desk → Megan Bowen: deny
	//   You can't reset Megan Bowen: they hold Global Administrator. Your role (Helpdesk Administrator) may reset users without admin roles, a few reader roles, and Helpdesk and Password Administrators — Microsoft's rule.
	//   Ask a Privileged Authentication Administrator, or see /resetpw whoami.
	// Helen Desk → Alex Wilber: deny
	//   Alex Wilber is synchronised from on-premises Active Directory. A cloud reset would not reach AD because password writeback is not enabled for resetbot.
	//   Reset their password in AD, or ask an admin to enable writeback (Entra Connect → Optional features → Password writeback) and sign in with /resetpw login.
	// Pat Admin → Ceo Person: needs_approval
	//   Ceo Person holds Global Administrator, so this needs a second person.
	//   Someone else who may reset Ceo Person themselves must approve it.
	// Megan Bowen → Megan Bowen: deny
	//   You can't reset your own password here.
	//   Use self-service password reset at https://aka.ms/sspr.
	// Paris Help → Adele Vance: deny
	//   You can't reset Adele Vance: they are not a member of administrative unit au-paris. Your role (Helpdesk Administrator for administrative unit au-paris) may reset members of that administrative unit who hold no Entra role — Microsoft's rule.
	//   Ask a Password Administrator, or see /resetpw whoami.
	// Nora Noroles → Adele Vance: deny
	//   You hold no Entra role that can reset passwords, so you can't reset Adele Vance.
	//   Ask a Helpdesk Administrator or Password Administrator to reset their password, or ask for one of those roles (or see /resetpw whoami).
	// You can't approve this: only someone who may reset Ceo Person themselves can. You can't reset Ceo Person: they hold Global Administrator. Your role (Helpdesk Administrator) may reset users without admin roles, a few reader roles, and Helpdesk and Password Administrators — Microsoft's rule.
}

func ExamplePolicy_ResettableSummary() {
	fmt.Println(Policy{}.ResettableSummary(pHelen))
	// Output:
	// As Helpdesk Administrator you may reset users without admin roles and: Directory Readers, Guest Inviter, Helpdesk Administrator, Message Center Reader, Password Administrator, Reports Reader, User Experience Success Manager, Usage Summary Reports Reader — only if every role they hold or are eligible for is on that list (Microsoft's rule), they are not in a role-assignable group, and none of their roles is scoped to an administrative unit.
	// Never through resetbot: your own password (use https://aka.ms/sspr), guests, disabled accounts, accounts synchronised from on-premises AD, and protected accounts.
}

// whoami tells the truth about synced users: refused without writeback, reset as the agent with it.
func TestResettableSummaryWriteback(t *testing.T) {
	helpdesk := User{ID: "h", DisplayName: "H", Roles: []RoleAssignment{{TemplateID: RoleHelpdeskAdmin, Scope: "/"}}}
	off := Policy{}.ResettableSummary(helpdesk)
	on := Policy{Writeback: true}.ResettableSummary(helpdesk)
	if !strings.Contains(off, "accounts synchronised from on-premises AD, and protected accounts") {
		t.Errorf("without writeback, synced accounts must be listed as never reset:\n%s", off)
	}
	if strings.Contains(on, "Never through resetbot: your own password (use "+SelfServiceResetURL+"), guests, disabled accounts, accounts synchronised") ||
		!strings.Contains(on, "reset with your own sign-in (/resetpw login)") {
		t.Errorf("with writeback, synced accounts are reset with the agent's sign-in:\n%s", on)
	}
}

// A refusal's remedy says whose password is reset, not "reset it" of a person.
func TestRemediesSayWhatIsReset(t *testing.T) {
	tw := func(role string) []RoleAssignment { return []RoleAssignment{{TemplateID: role, Scope: "/"}} }
	helpdesk := User{ID: "h", DisplayName: "Helen Desk", Enabled: true, Roles: tw(tHelpdeskAdmin)}
	person := func(f func(*User)) User {
		u := User{ID: "t", DisplayName: "Pierre Paris", Enabled: true}
		f(&u)
		return u
	}
	for name, d := range map[string]Decision{
		"guest":              Policy{}.Decide(helpdesk, person(func(u *User) { u.Guest = true })),
		"agent without role": Policy{}.Decide(User{ID: "a", DisplayName: "Adele", Enabled: true}, person(func(*User) {})),
		"restricted unit":    Policy{}.Decide(helpdesk, person(func(u *User) { u.InRestrictedAU = true; u.AdministrativeUnits = []string{"au-x"} })),
		"beyond the bot":     Policy{BotRole: tHelpdeskAdmin}.Decide(User{ID: "p", Enabled: true, Roles: tw(tPrivAuthAdmin)}, person(func(u *User) { u.Roles = tw(tSecurityAdmin) })),
	} {
		if d.Verdict != Deny || d.Remedy == "" {
			t.Errorf("%s: %v with remedy %q, want a refusal with a remedy", name, d.Verdict, d.Remedy)
			continue
		}
		if strings.Contains(d.Remedy, "reset it") || !strings.Contains(d.Remedy, "password") {
			t.Errorf("%s: the remedy does not say what is reset: %q", name, d.Remedy)
		}
	}
}
