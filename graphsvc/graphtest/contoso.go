package graphtest

import (
	"time"

	"github.com/resetbot/resetbot/bot"
)

// Identifiers of the seeded contoso.com tenant. They are stable, so tests can name users by ID as well
// as by UPN ("adele@contoso.com"); the number at the end of a user ID is the persona's seed order.
const (
	ContosoDomain   = "contoso.com"
	ContosoTenantID = "c0a7e5e0-0000-4000-8000-000000000000"
	// ResetbotAppID is the bot's app registration (client) ID in the seeded tenant.
	ResetbotAppID = "4e5e7b07-0000-4000-8000-000000000001"
	// ResetbotServicePrincipalID is the bot's service principal object ID.
	ResetbotServicePrincipalID = "4e5e7b07-0000-4000-8000-000000000002"

	AdeleID       = "10000000-0000-4000-8000-000000000001" // adele@: no role, manager megan
	HelpdeskID    = "10000000-0000-4000-8000-000000000002" // helpdesk@: Helpdesk Administrator
	MeganID       = "10000000-0000-4000-8000-000000000003" // megan@: Global Administrator
	CeoID         = "10000000-0000-4000-8000-000000000004" // ceo@: Global Administrator
	PatID         = "10000000-0000-4000-8000-000000000005" // pat@: Privileged Authentication Administrator
	SamID         = "10000000-0000-4000-8000-000000000006" // sam@: Privileged Authentication Administrator
	PwAdminID     = "10000000-0000-4000-8000-000000000007" // pwadmin@: Password Administrator
	AuthAdminID   = "10000000-0000-4000-8000-000000000008" // authadmin@: Authentication Administrator
	UserAdminID   = "10000000-0000-4000-8000-000000000009" // useradmin@: User Administrator
	GroupsAdminID = "10000000-0000-4000-8000-000000000010" // groupsadmin@: Groups Administrator
	ReaderID      = "10000000-0000-4000-8000-000000000011" // reader@: Directory Readers
	ReportsID     = "10000000-0000-4000-8000-000000000012" // reports@: Reports Reader
	PraID         = "10000000-0000-4000-8000-000000000013" // pra@: Privileged Role Administrator
	LeeID         = "10000000-0000-4000-8000-000000000014" // lee@: no role, member of Tier0 Operators
	ParisHelpID   = "10000000-0000-4000-8000-000000000015" // parishelp@: Helpdesk Administrator over Paris office
	NestorID      = "10000000-0000-4000-8000-000000000016" // nestor@: no role, member of Paris office
	LynneID       = "10000000-0000-4000-8000-000000000017" // lynne@: no role, onPremisesSyncEnabled false
	AlexID        = "10000000-0000-4000-8000-000000000018" // alex@: synced from AD
	DiegoID       = "10000000-0000-4000-8000-000000000019" // diego@: synced from AD
	JohannaID     = "10000000-0000-4000-8000-000000000020" // johanna@: disabled
	GuestID       = "10000000-0000-4000-8000-000000000021" // GuestUPN: B2B guest from fabrikam.com
	BreakGlassID  = "10000000-0000-4000-8000-000000000022" // breakglass@: Global Administrator
	IsaiahID      = "10000000-0000-4000-8000-000000000023" // isaiah@: PIM-eligible Global Administrator
	MiriamID      = "10000000-0000-4000-8000-000000000024" // miriam@: no role, owner of Tier0 Operators
	HenriettaID   = "10000000-0000-4000-8000-000000000025" // henrietta@: no role, PIM-eligible member of Tier0 Operators

	// GuestUPN is the guest's UPN; '#' must be escaped (%23) in a URL path.
	GuestUPN = "guest_fabrikam.com#EXT#@contoso.com"

	Tier0OperatorsID = "20000000-0000-4000-8000-000000000001" // role-assignable group; lee@, owner miriam@, eligible henrietta@
	HelpdeskTeamID   = "20000000-0000-4000-8000-000000000002" // ordinary group; helpdesk@, parishelp@
	ParisOfficeID    = "30000000-0000-4000-8000-000000000001" // administrative unit; nestor@
)

// Contoso returns the seeded tenant: 25 personas covering every column and most rows of the
// who-can-reset matrix, plus synced, disabled, guest, break-glass and PIM-eligible users, and the
// owner and a PIM-eligible member of a role-assignable group. Adele, Nestor, Alex and Henrietta have
// managers. Adele (phone, Authenticator, email), Megan (security key, Windows Hello) and Pat
// (Authenticator) have registered authentication methods; the others only a password. The
// Temporary Access Pass policy is Entra's default, enabled for all users. Each call returns a fresh
// value.
func Contoso() *Tenant {
	tenantWide := func(roles ...string) []bot.RoleAssignment {
		out := make([]bot.RoleAssignment, len(roles))
		for i, r := range roles {
			out[i] = bot.RoleAssignment{TemplateID: r, Scope: "/"}
		}
		return out
	}
	user := func(id, local, name string) User {
		upn := local + "@" + ContosoDomain
		return User{ID: id, UPN: upn, Mail: upn, DisplayName: name, AccountEnabled: true, UserType: "Member"}
	}
	with := func(u User, f func(*User)) User { f(&u); return u }
	seeded := time.Date(2025, 3, 4, 9, 30, 0, 0, time.UTC)

	return &Tenant{
		TenantID:           ContosoTenantID,
		Domain:             ContosoDomain,
		AppID:              ResetbotAppID,
		AppDisplayName:     "resetbot",
		ServicePrincipalID: ResetbotServicePrincipalID,
		Groups: []Group{
			// Tier0 Operators holds no role itself: membership alone puts lee@ in the matrix row
			// "member or owner of a role-assignable group", and so does owning it (miriam@) or being
			// PIM-eligible to join it (henrietta@). Tests can give it roles with AddGroup.
			{ID: Tier0OperatorsID, DisplayName: "Tier0 Operators", IsAssignableToRole: true,
				Owners: []string{MiriamID}, EligibleMembers: []string{HenriettaID}},
			{ID: HelpdeskTeamID, DisplayName: "Helpdesk Team"},
		},
		AdministrativeUnits: []AdministrativeUnit{
			{ID: ParisOfficeID, DisplayName: "Paris office"},
		},
		Users: []User{
			with(user(AdeleID, "adele", "Adele Vance"), func(u *User) {
				u.ManagerID = MeganID
				u.AuthMethods = []AuthMethod{
					{Type: "phoneAuthenticationMethod", PhoneNumber: "+1 4255550134", PhoneType: "mobile"},
					{Type: "microsoftAuthenticatorAuthenticationMethod", DisplayName: "Adele's iPhone", Created: seeded},
					{Type: "emailAuthenticationMethod", Email: "adele.vance@outlook.com"},
				}
			}),
			with(user(HelpdeskID, "helpdesk", "Helen Desk"), func(u *User) {
				u.Roles = tenantWide(bot.RoleHelpdeskAdmin)
				u.Groups = []string{HelpdeskTeamID}
			}),
			with(user(MeganID, "megan", "Megan Bowen"), func(u *User) {
				u.Roles = tenantWide(bot.RoleGlobalAdmin)
				u.AuthMethods = []AuthMethod{
					{Type: "fido2AuthenticationMethod", DisplayName: "Megan's key", Model: "YubiKey 5 NFC", Created: seeded},
					{Type: "windowsHelloForBusinessAuthenticationMethod", DisplayName: "MEGAN-LAPTOP", Created: seeded},
				}
			}),
			with(user(CeoID, "ceo", "Ceo Person"), func(u *User) { u.Roles = tenantWide(bot.RoleGlobalAdmin) }),
			with(user(PatID, "pat", "Pat Admin"), func(u *User) {
				u.Roles = tenantWide(bot.RolePrivilegedAuthAdmin)
				u.AuthMethods = []AuthMethod{{Type: "microsoftAuthenticatorAuthenticationMethod", DisplayName: "Pat's Pixel", Created: seeded}}
			}),
			with(user(SamID, "sam", "Sam Security"), func(u *User) { u.Roles = tenantWide(bot.RolePrivilegedAuthAdmin) }),
			with(user(PwAdminID, "pwadmin", "Pia Password"), func(u *User) { u.Roles = tenantWide(bot.RolePasswordAdmin) }),
			with(user(AuthAdminID, "authadmin", "Aurora Auth"), func(u *User) { u.Roles = tenantWide(bot.RoleAuthAdmin) }),
			with(user(UserAdminID, "useradmin", "Uma User"), func(u *User) { u.Roles = tenantWide(bot.RoleUserAdmin) }),
			with(user(GroupsAdminID, "groupsadmin", "Greg Groups"), func(u *User) { u.Roles = tenantWide(bot.RoleGroupsAdmin) }),
			with(user(ReaderID, "reader", "Rita Reader"), func(u *User) { u.Roles = tenantWide(bot.RoleDirectoryReaders) }),
			with(user(ReportsID, "reports", "Remy Reports"), func(u *User) { u.Roles = tenantWide(bot.RoleReportsReader) }),
			with(user(PraID, "pra", "Priya Roles"), func(u *User) { u.Roles = tenantWide(bot.RolePrivilegedRoleAdmin) }),
			with(user(LeeID, "lee", "Lee Gu"), func(u *User) { u.Groups = []string{Tier0OperatorsID} }),
			with(user(ParisHelpID, "parishelp", "Paul Paris"), func(u *User) {
				u.Roles = []bot.RoleAssignment{{TemplateID: bot.RoleHelpdeskAdmin, Scope: "/administrativeUnits/" + ParisOfficeID}}
				u.Groups = []string{HelpdeskTeamID}
			}),
			with(user(NestorID, "nestor", "Nestor Wilke"), func(u *User) {
				u.AdministrativeUnits = []string{ParisOfficeID}
				u.ManagerID = ParisHelpID
			}),
			// lynne@ was synced once and is now cloud-mastered: onPremisesSyncEnabled false, not null.
			with(user(LynneID, "lynne", "Lynne Robbins"), func(u *User) { u.OnPremisesSyncEnabled = Bool(false) }),
			with(user(AlexID, "alex", "Alex Wilber"), func(u *User) {
				u.OnPremisesSyncEnabled = Bool(true)
				u.ManagerID = MeganID
			}),
			with(user(DiegoID, "diego", "Diego Siciliani"), func(u *User) { u.OnPremisesSyncEnabled = Bool(true) }),
			with(user(JohannaID, "johanna", "Johanna Lorenz"), func(u *User) { u.AccountEnabled = false }),
			{ID: GuestID, UPN: GuestUPN, Mail: "guest@fabrikam.com", DisplayName: "Guest Fabrikam",
				AccountEnabled: true, UserType: "Guest"},
			with(user(BreakGlassID, "breakglass", "Break Glass"), func(u *User) {
				u.Roles = tenantWide(bot.RoleGlobalAdmin)
				u.PasswordPolicies = "DisablePasswordExpiration"
			}),
			with(user(IsaiahID, "isaiah", "Isaiah Langer"), func(u *User) { u.EligibleRoles = tenantWide(bot.RoleGlobalAdmin) }),
			user(MiriamID, "miriam", "Miriam Graham"),
			with(user(HenriettaID, "henrietta", "Henrietta Mueller"), func(u *User) { u.ManagerID = MiriamID }),
		},
	}
}
