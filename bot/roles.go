package bot

import "regexp"

// Directory role template IDs, from Microsoft's "Microsoft Entra built-in roles" reference. Roles are
// matched by template ID, never by display name: names are localised and can be reused by custom roles.
const (
	RoleGlobalAdmin                  = "62e90394-69f5-4237-9190-012177145e10"
	RolePrivilegedAuthAdmin          = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
	RolePrivilegedRoleAdmin          = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	RoleAuthAdmin                    = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
	RoleUserAdmin                    = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	RoleHelpdeskAdmin                = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	RolePasswordAdmin                = "966707d0-3269-4727-9be2-8c3a10f19b9d"
	RoleGroupsAdmin                  = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
	RoleDirectoryReaders             = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
	RoleGuestInviter                 = "95e79109-95c0-4d8e-aee3-d01accf2d47b"
	RoleMessageCenterReader          = "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b"
	RoleReportsReader                = "4a5d8f65-41da-4de4-8968-e035b65339cf"
	RoleUserExperienceSuccessManager = "27460883-1df1-4691-b032-3b79643e5e63"
	RoleUsageSummaryReportsReader    = "75934031-6c7e-415a-99d7-48dbd49e875e"
	RolePartnerTier1Support          = "4ba39ca4-527c-499a-b93d-d9b492c50246"
	RolePartnerTier2Support          = "e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8"
	RoleDirectorySyncAccounts        = "d29b2b05-8046-44ba-8758-1e26182fcf32"
	RoleHybridIdentityAdmin          = "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2"
	// RoleSecurityAdmin is not in the who-can-reset table's rows; it falls under "all other roles".
	RoleSecurityAdmin = "194ae4cb-b126-40b2-bd5b-6091b380977d"
	// RoleSecurityReader and RoleGlobalReader read security information and audit logs; they reset
	// nobody. They are the default audience of /resetpw audit.
	RoleSecurityReader = "5d6b6bb7-de71-4623-b4af-96380a352509"
	RoleGlobalReader   = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
)

var roleNames = map[string]string{
	RoleGlobalAdmin:                  "Global Administrator",
	RolePrivilegedAuthAdmin:          "Privileged Authentication Administrator",
	RolePrivilegedRoleAdmin:          "Privileged Role Administrator",
	RoleAuthAdmin:                    "Authentication Administrator",
	RoleUserAdmin:                    "User Administrator",
	RoleHelpdeskAdmin:                "Helpdesk Administrator",
	RolePasswordAdmin:                "Password Administrator",
	RoleGroupsAdmin:                  "Groups Administrator",
	RoleDirectoryReaders:             "Directory Readers",
	RoleGuestInviter:                 "Guest Inviter",
	RoleMessageCenterReader:          "Message Center Reader",
	RoleReportsReader:                "Reports Reader",
	RoleUserExperienceSuccessManager: "User Experience Success Manager",
	RoleUsageSummaryReportsReader:    "Usage Summary Reports Reader",
	RolePartnerTier1Support:          "Partner Tier1 Support",
	RolePartnerTier2Support:          "Partner Tier2 Support",
	RoleDirectorySyncAccounts:        "Directory Synchronization Accounts",
	RoleHybridIdentityAdmin:          "Hybrid Identity Administrator",
	RoleSecurityAdmin:                "Security Administrator",
	RoleSecurityReader:               "Security Reader",
	RoleGlobalReader:                 "Global Reader",
}

// RoleName is the display name of a built-in role, or "a custom role (ID)" for one we do not know.
func RoleName(templateID string) string {
	if n, ok := roleNames[templateID]; ok {
		return n
	}
	return "custom or other role " + templateID
}

// RoleByName finds a built-in role's template ID by its English display name (for configuration and
// the simulator's seed); ok is false for unknown names.
func RoleByName(name string) (templateID string, ok bool) {
	for id, n := range roleNames {
		if n == name {
			return id, true
		}
	}
	return "", false
}

// guidRe matches an Entra GUID.
var guidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsGUID reports whether s is an Entra GUID (an object, tenant, app or role ID): 8-4-4-4-12 hex
// digits.
func IsGUID(s string) bool { return guidRe.MatchString(s) }
