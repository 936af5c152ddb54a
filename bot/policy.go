package bot

// The policy: who may reset whom, and when a second person must agree. Everything here is a pure
// function of the users and the configuration, so it is table-tested (policy_test.go) and the same
// answer comes out for a slash command, a button click, a CSV row and the terminal. This file holds
// the rule; how each answer is worded for the person who asked is in policy_reasons.go.
//
// Sources (quoted where a rule is implemented):
//   - Who can reset passwords (tenant-scoped roles): matrix.go, from entra-docs
//     docs/identity/role-based-access-control/privileged-roles-permissions.md.
//   - Roles with administrative unit scope: entra-docs
//     docs/identity/role-based-access-control/manage-roles-portal.md ("Roles that can be assigned
//     with administrative unit scope"; earlier admin-units-assign-roles.md), administrative-units.md
//     ("Groups") and admin-units-faq-troubleshoot.yml.
//   - Restricted management administrative units: entra-docs
//     docs/identity/role-based-access-control/admin-units-restricted-management.md.
//   - Privileged roles: entra-docs docs/identity/role-based-access-control/permissions-reference.md
//     (the PRIVILEGED label).

import "strings"

// Verdict is what the policy says about a reset. The zero value is Deny, so a Decision nobody filled
// in refuses.
type Verdict int

const (
	Deny          Verdict = iota // refused; Decision.Remedy says what to do instead
	NeedsApproval                // allowed once a second entitled person approves
	Allow                        // go ahead
)

func (v Verdict) String() string {
	switch v {
	case Allow:
		return "allow"
	case NeedsApproval:
		return "needs_approval"
	default:
		return "deny"
	}
}

// Decision is the policy's answer, in words a helpdesk agent can act on.
type Decision struct {
	Verdict Verdict
	// Reason says why, in plain words: it names the target by name and the roles involved.
	Reason string
	// Remedy says what to do instead (for Deny), or who must approve (for NeedsApproval).
	Remedy string
}

// Mode says where the entitlement to reset comes from.
type Mode string

const (
	// ModeEntra (the default): a person may reset exactly whom their own active Entra roles let them.
	ModeEntra Mode = "entra"
	// ModeRules: configured groups of agents may reset the targets their rules select, never beyond
	// what the bot's own Entra role may reset.
	ModeRules Mode = "rules"
)

// Rule lets the members of some groups (the agents) reset the targets a selector matches.
type Rule struct {
	Name string
	// Agents are Entra group object IDs; a requester who is a transitive member of any is covered.
	Agents  []string
	Targets Selector
}

// Selector picks targets. It matches when any listed criterion matches; an empty selector matches
// nobody, so a half-written rule lets nobody reset anyone.
type Selector struct {
	Groups              []string // the target is a transitive member of one of these groups
	AdministrativeUnits []string // the target is a member of one of these administrative units
	Domains             []string // the target's UPN domain is one of these or a subdomain (case-insensitive)
}

// Matches reports whether the selector picks the user.
func (s Selector) Matches(u User) bool {
	for _, g := range s.Groups {
		if containsFold(u.Groups, g) {
			return true
		}
	}
	for _, a := range s.AdministrativeUnits {
		if containsFold(u.AdministrativeUnits, a) {
			return true
		}
	}
	for _, d := range s.Domains {
		if upnInDomain(u.UPN, d) {
			return true
		}
	}
	return false
}

// Policy is the configured policy.
type Policy struct {
	Mode  Mode   // "" means ModeEntra
	Rules []Rule // ModeRules only
	// BotRole is the template ID of the Entra role on the bot's service principal (tenant-wide). Graph
	// checks that role, not the person's, so the bot never resets beyond it: in rules mode it is the
	// ceiling of every rule, and in entra mode a reset the person may do but the bot may not is
	// refused up front instead of failing at Graph. Empty means RolePrivilegedAuthAdmin.
	BotRole string
	// Protected are UPNs, mail addresses or object IDs never reset through the bot (break-glass
	// accounts); matched case-insensitively.
	Protected []string
	// PrivilegedNeedsApproval (callers set it true by default): targets who hold or are eligible for
	// a privileged role, or are in a role-assignable group, need a second person.
	PrivilegedNeedsApproval bool
	// Writeback says password writeback is enabled in Entra Connect: synced users may then be reset,
	// as the signed-in agent through resetPassword. Off, they are refused with the reason.
	Writeback bool
	// AsAgent is delegated-only mode: every reset runs as the signed-in agent, and the bot's own
	// application permission is used for reads only.
	AsAgent bool
	// AuditReaders are the security audience of /resetpw audit besides approvers: Entra role
	// template IDs (held tenant-wide and active) or group object IDs. Empty means
	// DefaultAuditReaderRoles.
	AuditReaders []string
}

// DefaultAuditReaderRoles may read the audit trail in chat when no audience is configured: the
// roles whose holders already read Entra's own audit logs.
var DefaultAuditReaderRoles = []string{RoleGlobalAdmin, RoleSecurityAdmin, RoleSecurityReader, RoleGlobalReader}

// MayReadAudit says whether a person may read the audit trail in chat (/resetpw audit). The trail
// covers the whole tenant, so it is for approvers whose reach is tenant-wide (entra mode: an active
// tenant-wide role that can reset passwords; rules mode: a member of a rule's agent groups) and for
// the security audience (AuditReaders). Administrative-unit-scoped roles do not count: their holders
// would see resets outside their unit. The verdict is Allow or Deny.
func (p Policy) MayReadAudit(u User) Decision {
	readers := p.AuditReaders
	if len(readers) == 0 {
		readers = DefaultAuditReaderRoles
	}
	for _, r := range u.Roles {
		if r.TenantWide() && containsFold(readers, r.TemplateID) {
			return readsAuditByRole(r.TemplateID)
		}
	}
	if intersectsFold(readers, u.Groups) {
		return readsAuditByGroup()
	}
	switch p.mode() {
	case ModeEntra:
		for _, a := range resettingAssignments(u.Roles) {
			if a.TenantWide() {
				return readsAuditAsApprover(a.TemplateID)
			}
		}
	case ModeRules:
		for i, r := range p.Rules {
			if intersectsFold(r.Agents, u.Groups) {
				return readsAuditByRule(ruleLabel(r, i))
			}
		}
	}
	return auditNotForYou()
}

// Decide says whether requester may reset target's password. The checks run in this order and the
// first that applies wins: self, protected account, guest, disabled, synchronised from on-premises,
// entitlement (the mode's rule, then the bot's own role), and finally whether a second person must
// approve.
func (p Policy) Decide(requester, target User) Decision {
	name := target.Name()
	if sameUser(requester, target) {
		return ownPassword()
	}
	// Someone who may reset nobody learns nothing about the target: not that it is a break-glass
	// account, synchronised, disabled or a guest.
	if d, none := p.resetsNobody(requester, target); none {
		return d
	}
	switch {
	case p.isProtected(target):
		return protectedAccount(name)
	case target.Guest:
		return guestAccount(name)
	case !target.Enabled:
		return disabledAccount(name)
	case target.Synced && !p.Writeback:
		return syncedWithoutWriteback(name)
	}

	var allowed string
	switch p.mode() {
	case ModeEntra:
		e := entitled(requester, target)
		if !e.ok {
			return Decision{Verdict: Deny, Reason: e.reason, Remedy: e.remedy}
		}
		allowed = allowedByRole(e.via, name)
	case ModeRules:
		rule, d, ok := p.ruleFor(requester, target)
		if !ok {
			return d
		}
		allowed = allowedByRule(rule, name)
	default:
		return p.unknownMode()
	}
	// The bot's own role is the ceiling only for resets the bot makes; a reset made as the agent is
	// checked by Entra against the agent's own roles.
	if !p.ResetsAsAgent(target) {
		if d, ok := p.botCeiling(target); !ok {
			return d
		}
	}

	if p.PrivilegedNeedsApproval {
		if why := privilegedFacts(target); why != "" {
			return needsSecondPerson(name, why)
		}
	}
	return Decision{Verdict: Allow, Reason: allowed}
}

// resetsNobody refuses, with the entitlement's own words, a requester who may reset nobody at all:
// in entra mode no role that can reset passwords, in rules mode no rule that makes them an agent.
func (p Policy) resetsNobody(requester, target User) (Decision, bool) {
	switch p.mode() {
	case ModeEntra:
		if len(resettingAssignments(requester.Roles)) == 0 {
			e := entitled(requester, target)
			return Decision{Verdict: Deny, Reason: e.reason, Remedy: e.remedy}, true
		}
	case ModeRules:
		for _, r := range p.Rules {
			if intersectsFold(r.Agents, requester.Groups) {
				return Decision{}, false
			}
		}
		_, d, _ := p.ruleFor(requester, target)
		return d, true
	}
	return Decision{}, false
}

// MayApprove says whether approver may approve requester's pending reset of target: not the
// requester, not the target, and entitled to reset the target themselves under the same mode's rule
// (but without the approval requirement). Protected-account checks do not apply to approvers. The
// verdict is Allow or Deny.
func (p Policy) MayApprove(approver, requester, target User) Decision {
	return p.MayDecide(approver, requester, target, "approve")
}

// MayDecide is MayApprove for either decision, worded for verb ("approve" or "deny"). In rules mode a
// rule makes an approver only for targets without privilege: for a privileged target (an admin, or
// in a role-assignable group) the approver's own Entra roles must also let them reset it, so two
// members of an agent group who hold no role can never reset an administrator between them.
func (p Policy) MayDecide(approver, requester, target User, verb string) Decision {
	name := target.Name()
	switch {
	case sameUser(approver, requester):
		return decidingOwnRequest(verb, name)
	case sameUser(approver, target):
		return decidingOwnReset(verb, name)
	}
	switch p.mode() {
	case ModeEntra:
		e := entitled(approver, target)
		if !e.ok {
			return notEntitledToDecide(verb, name, e.reason, e.remedy)
		}
		return approverByRole(approver, name, e.via)
	case ModeRules:
		rule, d, ok := p.ruleFor(approver, target)
		if !ok {
			return notEntitledToDecide(verb, name, d.Reason, d.Remedy)
		}
		if why := privilegedFacts(target); why != "" {
			if e := entitled(approver, target); !e.ok {
				return privilegedNeedsApproverRole(verb, name, why, e)
			}
		}
		return approverByRule(approver, name, rule)
	default:
		return p.unknownMode()
	}
}

// CanReset is the entra-mode entitlement: whether any one of actor's active roles covers target.
// Tenant-wide roles follow Microsoft's table (RoleCanReset); administrative-unit-scoped roles cover
// only members of their unit, with Microsoft's further restrictions (unitRoleCanReset). Eligible
// (PIM) roles of the actor do not count until activated. When it is false, the string says why in
// plain words, addressed to the actor. It checks entitlement only: self, guests, disabled and synced
// accounts are Decide's business.
//
// Several roles are not pooled: ONE of the actor's roles must cover every role the target holds.
// Microsoft's table is per column ("If a user is assigned any other role, the Password Administrator
// cannot reset their password") and says nothing of two columns jointly covering a target, so a
// Helpdesk Administrator who is also an Authentication Administrator may not reset someone holding
// both Helpdesk Administrator and Authentication Administrator. That is the safe reading; Graph
// would be the final judge if it were looser.
func CanReset(actor, target User) (bool, string) {
	e := entitled(actor, target)
	return e.ok, e.reason
}

// entitlement is CanReset's answer with what Decide needs besides: the role that covers the target,
// and what to do instead when none does.
type entitlement struct {
	ok     bool
	via    RoleAssignment
	reason string
	remedy string
}

func entitled(actor, target User) entitlement {
	resetters := resettingAssignments(actor.Roles)
	for _, a := range resetters {
		if assignmentCanReset(a, target) {
			return entitlement{ok: true, via: a}
		}
	}
	return refusal(actor, target, resetters)
}

// unitScopedResetters are the resetting roles Microsoft lets be assigned with administrative unit
// scope (manage-roles-portal.md, "Roles that can be assigned with administrative unit scope").
// Global Administrator and Privileged Role Administrator can't be ("neither of which can be assigned
// at administrative unit scope", admin-units-restricted-management.md), so an AU-scoped assignment of
// them, should one ever be reported, counts for nothing.
var unitScopedResetters = set(RolePasswordAdmin, RoleHelpdeskAdmin, RoleAuthAdmin, RoleUserAdmin,
	RolePrivilegedAuthAdmin)

// unitRoleCanReset applies Microsoft's rules for a resetting role assigned at the scope of one
// administrative unit:
//
//  1. It covers members of that unit only: "role permissions apply only when managing members of the
//     administrative unit itself" (manage-roles-portal.md); a group in the unit does not bring its
//     members ("Reset the passwords of individual members of the group ❌", administrative-units.md),
//     and "you can reset passwords only for users who are assigned to your administrative unit"
//     (admin-units-faq-troubleshoot.yml).
//  2. Only targets with no role at all: "administrative unit scoped Helpdesk Administrators can reset
//     passwords for users in the administrative unit only if those users don't have administrator
//     roles. The following permissions are restricted when the target of an action is a user with
//     another role or an administrator: … Reset user passwords" (manage-roles-portal.md); and "to
//     prevent an elevation of privilege, an administrative unit-scoped administrator can't reset the
//     password of a user who's assigned to a role with an organization-wide scope" (FAQ). We apply
//     this to every AU-scoped resetter, Privileged Authentication Administrator included (whose
//     description says "any user (admin or non-admin)"), and count eligible roles and
//     role-assignable-group membership as roles: whatever the target holds at another scope could be
//     a restricted unit's role (see RoleCanReset), and we can't tell.
//  3. A member of a restricted management administrative unit can be changed only by a role scoped to
//     that restricted unit; one scoped to "another regular administrative unit of which the object is
//     a member" is blocked (admin-units-restricted-management.md, "Who can modify objects?"). User
//     says only that some unit of the target is restricted, so the AU-scoped role counts only when the
//     target is in exactly one unit — then that unit is the restricted one.
func unitRoleCanReset(role, unit string, target User) bool {
	if !unitScopedResetters[role] || !containsFold(target.AdministrativeUnits, unit) {
		return false
	}
	if target.InRestrictedAU && len(target.AdministrativeUnits) != 1 {
		return false
	}
	return len(target.Roles) == 0 && len(target.EligibleRoles) == 0 && !target.InRoleAssignableGroup
}

// assignmentCanReset applies the table to a tenant-wide assignment and the unit rules to an
// AU-scoped one. Assignments at other scopes (an app registration, say) reset nobody.
func assignmentCanReset(a RoleAssignment, target User) bool {
	if a.TenantWide() {
		return RoleCanReset(a.TemplateID, target)
	}
	if unit := a.AdministrativeUnit(); unit != "" {
		return unitRoleCanReset(a.TemplateID, unit, target)
	}
	return false
}

// resettingAssignments keeps the assignments that can reset anyone at all, without duplicates.
func resettingAssignments(roles []RoleAssignment) []RoleAssignment {
	var out []RoleAssignment
	seen := map[string]bool{}
	for _, a := range roles {
		ok := false
		if a.TenantWide() {
			ok = resetsEveryone[a.TemplateID] || resettableBy[a.TemplateID] != nil
			a.Scope = "/"
		} else if a.AdministrativeUnit() != "" {
			ok = unitScopedResetters[a.TemplateID]
		}
		key := a.TemplateID + "|" + strings.ToLower(a.Scope)
		if ok && !seen[key] {
			seen[key] = true
			out = append(out, a)
		}
	}
	return out
}

func coveringAssignments(roles []RoleAssignment, target User) []RoleAssignment {
	var out []RoleAssignment
	for _, a := range resettingAssignments(roles) {
		if assignmentCanReset(a, target) {
			out = append(out, a)
		}
	}
	return out
}

// botCeiling refuses what the bot's own Entra role could not do: Graph checks the bot's role, so the
// bot must never be the way around it (no confused deputy), and a reset Graph would refuse is better
// refused here, with the reason.
func (p Policy) botCeiling(target User) (Decision, bool) {
	role := p.botRole()
	if RoleCanReset(role, target) {
		return Decision{}, true
	}
	if target.InRestrictedAU {
		return restrictedBeyondBot(target.Name(), role), false
	}
	return beyondBotRole(target, role), false
}

func (p Policy) botRole() string {
	if r := strings.TrimSpace(p.BotRole); r != "" {
		return strings.ToLower(r)
	}
	return RolePrivilegedAuthAdmin
}

func (p Policy) mode() Mode {
	m := Mode(strings.ToLower(strings.TrimSpace(string(p.Mode))))
	if m == "" {
		return ModeEntra
	}
	return m
}

// ruleFor finds the first rule that covers both person and target; the string names it for messages.
func (p Policy) ruleFor(person, target User) (string, Decision, bool) {
	var theirs []string
	for i, r := range p.Rules {
		if !intersectsFold(r.Agents, person.Groups) {
			continue
		}
		label := ruleLabel(r, i)
		if r.Targets.Matches(target) {
			return label, Decision{}, true
		}
		theirs = append(theirs, label)
	}
	if len(theirs) == 0 {
		return "", notAnAgent(target.Name()), false
	}
	return "", noRuleCovers(target.Name(), theirs), false
}

func (p Policy) isProtected(u User) bool {
	for _, ref := range p.Protected {
		ref = strings.TrimSpace(ref)
		if ref == "" {
			continue
		}
		for _, v := range []string{u.ID, u.UPN, u.Mail} {
			if v != "" && strings.EqualFold(ref, strings.TrimSpace(v)) {
				return true
			}
		}
	}
	return false
}

// IsPrivileged reports whether holding (or being eligible for) a role makes a reset sensitive enough
// for a second person. Microsoft labels roles PRIVILEGED in its built-in roles reference
// (permissions-reference.md): among them Global Administrator, Privileged Authentication
// Administrator, Privileged Role Administrator, Authentication Administrator, User Administrator,
// Helpdesk Administrator, Password Administrator, Security Administrator, Hybrid Identity
// Administrator and Partner Tier1/Tier2 Support. We go further and treat every role as privileged
// except the six reader-type roles that the who-can-reset table lets even a Password or Helpdesk
// Administrator reset: so Groups Administrator and Directory Synchronization Accounts (not labelled
// by Microsoft, but able to reach many accounts), service administrator roles, and every unknown
// template ID — a custom role could hold anything — need a second person.
func IsPrivileged(templateID string) bool {
	return !nonPrivilegedRoles[strings.ToLower(strings.TrimSpace(templateID))]
}

var nonPrivilegedRoles = set(RoleDirectoryReaders, RoleGuestInviter, RoleMessageCenterReader,
	RoleReportsReader, RoleUserExperienceSuccessManager, RoleUsageSummaryReportsReader)

// sameUser reports whether two users are the same person: the same object ID or the same UPN.
func sameUser(a, b User) bool {
	if a.ID != "" && b.ID != "" && strings.EqualFold(a.ID, b.ID) {
		return true
	}
	return a.UPN != "" && b.UPN != "" && strings.EqualFold(a.UPN, b.UPN)
}

func containsFold(list []string, v string) bool {
	v = strings.TrimSpace(v)
	if v == "" {
		return false
	}
	for _, x := range list {
		if strings.EqualFold(strings.TrimSpace(x), v) {
			return true
		}
	}
	return false
}

func intersectsFold(a, b []string) bool {
	for _, x := range a {
		if containsFold(b, x) {
			return true
		}
	}
	return false
}

// upnInDomain reports whether the UPN's domain is domain or a subdomain of it; "contoso.com" matches
// "paris.contoso.com" but not "evilcontoso.com".
func upnInDomain(upn, domain string) bool {
	domain = strings.ToLower(strings.Trim(strings.TrimSpace(domain), "@."))
	at := strings.LastIndexByte(upn, '@')
	if domain == "" || at < 0 {
		return false
	}
	host := strings.ToLower(strings.TrimSpace(upn[at+1:]))
	return host == domain || strings.HasSuffix(host, "."+domain)
}
