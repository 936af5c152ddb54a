package bot

// The policy: who may reset whom, and when a second person must agree. Everything here is a pure
// function of the users and the configuration, so it is table-tested (policy_test.go) and the same
// answer comes out for a slash command, a button click, a CSV row and the terminal.
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

import (
	"fmt"
	"strings"
)

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
			return Decision{Verdict: Allow, Reason: "You hold " + RoleName(r.TemplateID) + ", one of the roles that may read the audit trail."}
		}
	}
	if intersectsFold(readers, u.Groups) {
		return Decision{Verdict: Allow, Reason: "You are in a group that may read the audit trail."}
	}
	switch p.mode() {
	case ModeEntra:
		for _, a := range resettingAssignments(u.Roles) {
			if a.TenantWide() {
				return Decision{Verdict: Allow, Reason: "Your role (" + RoleName(a.TemplateID) + ") may approve resets."}
			}
		}
	case ModeRules:
		for i, r := range p.Rules {
			if intersectsFold(r.Agents, u.Groups) {
				return Decision{Verdict: Allow, Reason: "Rule " + ruleLabel(r, i) + " lets you reset, so you may approve resets."}
			}
		}
	}
	return Decision{Verdict: Deny,
		Reason: "The audit trail is for approvers and security.",
		Remedy: "Ask your security team, or read the digest in the audit channel."}
}

// SelfServiceResetURL is where people reset their own password.
const SelfServiceResetURL = "https://aka.ms/sspr"

// Decide says whether requester may reset target's password. The checks run in this order and the
// first that applies wins: self, protected account, guest, disabled, synchronised from on-premises,
// entitlement (the mode's rule, then the bot's own role), and finally whether a second person must
// approve.
func (p Policy) Decide(requester, target User) Decision {
	name := target.Name()
	if sameUser(requester, target) {
		return Decision{Verdict: Deny,
			Reason: "You can't reset your own password here.",
			Remedy: "Use self-service password reset at " + SelfServiceResetURL + "."}
	}
	// Someone who may reset nobody learns nothing about the target: not that it is a break-glass
	// account, synchronised, disabled or a guest.
	if d, none := p.resetsNobody(requester, target); none {
		return d
	}
	switch {
	case p.isProtected(target):
		return Decision{Verdict: Deny,
			Reason: name + " is a protected (break-glass) account: resetbot never resets it.",
			Remedy: "Follow the break-glass procedure and talk to the security team."}
	case target.Guest:
		return Decision{Verdict: Deny,
			Reason: name + " is a guest: guests sign in with their home organisation, so their password is reset there, not here.",
			Remedy: "Ask them to reset it with their home organisation's self-service reset or helpdesk."}
	case !target.Enabled:
		return Decision{Verdict: Deny,
			Reason: name + "'s account is disabled, so a new password would not let them sign in.",
			Remedy: "A User Administrator must enable the account first (Entra admin center → Users → " + name + " → Edit properties → Account enabled); then ask again."}
	case target.Synced && !p.Writeback:
		return Decision{Verdict: Deny,
			Reason: name + " is synchronised from on-premises Active Directory. A cloud reset would not reach AD because password writeback is not enabled for resetbot.",
			Remedy: "Reset it in AD, or ask an admin to enable writeback (Entra Connect → Optional features → Password writeback) and sign in with /resetpw login."}
	}

	var allowed string
	switch p.mode() {
	case ModeEntra:
		e := entitled(requester, target)
		if !e.ok {
			return Decision{Verdict: Deny, Reason: e.reason, Remedy: e.remedy}
		}
		allowed = "Your role (" + describeAssignment(e.via) + ") lets you reset " + name + "."
	case ModeRules:
		rule, d, ok := p.ruleFor(requester, target)
		if !ok {
			return d
		}
		allowed = "Rule " + rule + " lets you reset " + name + "."
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
			return Decision{Verdict: NeedsApproval,
				Reason: name + " " + why + ", so this needs a second person.",
				Remedy: "Someone else who may reset " + name + " themselves must approve it."}
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
		return Decision{Verdict: Deny,
			Reason: "You can't " + verb + " your own request.",
			Remedy: "Someone else who may reset " + name + " must decide it."}
	case sameUser(approver, target):
		return Decision{Verdict: Deny,
			Reason: "You can't " + verb + " a reset of your own password.",
			Remedy: "Someone else who may reset " + name + " must decide it."}
	}
	switch p.mode() {
	case ModeEntra:
		e := entitled(approver, target)
		if !e.ok {
			return Decision{Verdict: Deny,
				Reason: "You can't " + verb + " this: only someone who may reset " + name + " themselves can. " + e.reason,
				Remedy: e.remedy}
		}
		return Decision{Verdict: Allow,
			Reason: approver.Name() + " may reset " + name + " (" + describeAssignment(e.via) + ")."}
	case ModeRules:
		rule, d, ok := p.ruleFor(approver, target)
		if !ok {
			return Decision{Verdict: Deny,
				Reason: "You can't " + verb + " this: only someone who may reset " + name + " themselves can. " + d.Reason,
				Remedy: d.Remedy}
		}
		if why := privilegedFacts(target); why != "" {
			if e := entitled(approver, target); !e.ok {
				return Decision{Verdict: Deny,
					Reason: "You can't " + verb + " this: " + name + " " + why + ", so the approver's own Entra roles must let them reset " + name + ", and yours do not. " + e.reason,
					Remedy: e.remedy}
			}
		}
		return Decision{Verdict: Allow, Reason: approver.Name() + " may reset " + name + " (rule " + rule + ")."}
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
	name := target.Name()
	resetters := resettingAssignments(actor.Roles)
	for _, a := range resetters {
		if assignmentCanReset(a, target) {
			return entitlement{ok: true, via: a}
		}
	}

	// Refused: say why, and what to do instead.
	var remedy []string
	if eligible := coveringAssignments(actor.EligibleRoles, target); len(eligible) > 0 {
		remedy = append(remedy, "You are eligible for "+describeAssignment(eligible[0])+
			": activate it in Privileged Identity Management, then try again.")
	}
	if len(resetters) == 0 {
		reason := "You hold no Entra role that can reset passwords, so you can't reset " + name + "."
		if other := heldRoleNames(actor.Roles); other != "" {
			reason = "You hold no Entra role that can reset passwords (your roles: " + other + "), so you can't reset " + name + "."
		}
		remedy = append(remedy, "Ask a Helpdesk Administrator or Password Administrator to reset it, or ask for one of those roles (or see /resetpw whoami).")
		return entitlement{reason: reason, remedy: strings.Join(remedy, " ")}
	}

	if target.InRestrictedAU {
		reason := "You can't reset " + name + ": they are in a restricted management administrative unit, and Entra lets only administrators assigned to that unit change them — no tenant-wide role can, not even Global Administrator."
		if holdsUnitRoleOver(resetters, target) {
			if len(target.AdministrativeUnits) > 1 {
				reason += " They are in more than one administrative unit, so your role for one of them doesn't show that you are assigned to the restricted one."
			} else {
				reason += " Your role for that unit may reset only members who hold no Entra role, and " + targetFacts(target, nil) + "."
			}
		}
		remedy = append(remedy, "Ask an administrator assigned to that restricted administrative unit to reset it in the Entra admin center.")
		return entitlement{reason: reason, remedy: strings.Join(remedy, " ")}
	}

	reason := "You can't reset " + name + ": " + targetFacts(target, resetters) + ". " + rolesCover(resetters) + " — Microsoft's rule."
	if holdsUnitScopedRole(target) {
		reason += " A role scoped to an administrative unit counts as one in a restricted management unit, which only a Privileged Authentication Administrator or Global Administrator may reset."
	}
	if len(resetters) > 1 {
		reason += " One of your roles must cover every role they hold."
	}
	who := ""
	for _, r := range ResetterRoles {
		if RoleCanReset(r, target) {
			who = r
			break
		}
	}
	if who != "" {
		remedy = append(remedy, "Ask "+withArticle(RoleName(who))+", or see /resetpw whoami.")
	} else {
		remedy = append(remedy, "See /resetpw whoami.")
	}
	return entitlement{reason: reason, remedy: strings.Join(remedy, " ")}
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

func holdsUnitRoleOver(roles []RoleAssignment, target User) bool {
	for _, a := range roles {
		if u := a.AdministrativeUnit(); u != "" && containsFold(target.AdministrativeUnits, u) {
			return true
		}
	}
	return false
}

// botCeiling refuses what the bot's own Entra role could not do: Graph checks the bot's role, so the
// bot must never be the way around it (no confused deputy), and a reset Graph would refuse is better
// refused here, with the reason.
func (p Policy) botCeiling(target User) (Decision, bool) {
	role := p.botRole()
	if RoleCanReset(role, target) {
		return Decision{}, true
	}
	name := target.Name()
	if target.InRestrictedAU {
		return Decision{Verdict: Deny,
			Reason: name + " is in a restricted management administrative unit: Entra lets only administrators assigned to that unit change them, and resetbot's own Entra role (" + RoleName(role) + ") is tenant-wide.",
			Remedy: "Ask an administrator assigned to that restricted administrative unit to reset it in the Entra admin center."}, false
	}
	d := Decision{Verdict: Deny,
		Reason: "resetbot's own Entra role (" + RoleName(role) + ") may not reset " + name + ": " + targetFacts(target, nil) + " — Microsoft's rule, and resetbot never goes beyond its own role."}
	for _, r := range ResetterRoles {
		if RoleCanReset(r, target) {
			d.Remedy = "Ask " + withArticle(RoleName(r)) + " to reset it in the Entra admin center."
			break
		}
	}
	return d, false
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

func (p Policy) unknownMode() Decision {
	return Decision{Verdict: Deny,
		Reason: fmt.Sprintf("resetbot's policy mode %q is not one it knows, so it resets nobody.", string(p.Mode)),
		Remedy: `Ask the resetbot admin to set the policy mode to "entra" or "rules".`}
}

// ruleFor finds the first rule that covers both person and target; the string names it for messages.
func (p Policy) ruleFor(person, target User) (string, Decision, bool) {
	name := target.Name()
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
		return "", Decision{Verdict: Deny,
			Reason: "You are not an agent in any resetbot rule, so you can't reset " + name + " through resetbot.",
			Remedy: "Ask the resetbot admin to add you to a rule's agent group, or ask a colleague who is in one."}, false
	}
	return "", Decision{Verdict: Deny,
		Reason: "No rule you are an agent in (" + joinList(theirs) + ") covers " + name + ".",
		Remedy: "Ask an agent whose rule covers " + name + ", or ask the resetbot admin to widen a rule."}, false
}

func ruleLabel(r Rule, i int) string {
	if n := strings.TrimSpace(r.Name); n != "" {
		return fmt.Sprintf("%q", n)
	}
	return fmt.Sprintf("#%d", i+1)
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

// privilegedFacts says what makes the target privileged ("holds Global Administrator"), or "".
func privilegedFacts(target User) string {
	var held, eligible []string
	for _, r := range target.Roles {
		if IsPrivileged(r.TemplateID) {
			held = appendUnique(held, RoleName(r.TemplateID))
		}
	}
	for _, r := range target.EligibleRoles {
		if IsPrivileged(r.TemplateID) {
			eligible = appendUnique(eligible, RoleName(r.TemplateID))
		}
	}
	var facts []string
	if len(held) > 0 {
		facts = append(facts, "holds "+joinList(held))
	}
	if len(eligible) > 0 {
		facts = append(facts, "is eligible for "+joinList(eligible))
	}
	if target.InRoleAssignableGroup {
		facts = append(facts, "is a member or owner of a role-assignable group")
	}
	return joinList(facts)
}

// targetFacts says, addressed about the target as "they", what keeps the actor's roles from
// covering them.
func targetFacts(target User, actorRoles []RoleAssignment) string {
	var facts []string
	var held, eligible []string
	for _, r := range target.Roles {
		held = appendUnique(held, describeHeld(r))
	}
	for _, r := range target.EligibleRoles {
		eligible = appendUnique(eligible, describeHeld(r))
	}
	if len(held) > 0 {
		facts = append(facts, "they hold "+joinList(held))
	}
	if len(eligible) > 0 {
		facts = append(facts, "they are eligible for "+joinList(eligible))
	}
	if target.InRoleAssignableGroup {
		facts = append(facts, "they are a member or owner of a role-assignable group")
	}
	// Units of the actor's AU-scoped roles that the target is not in.
	var outside []string
	for _, a := range actorRoles {
		if u := a.AdministrativeUnit(); u != "" && !containsFold(target.AdministrativeUnits, u) {
			outside = appendUnique(outside, u)
		}
	}
	switch {
	case len(outside) == 1:
		facts = append(facts, "they are not a member of administrative unit "+outside[0])
	case len(outside) > 1:
		facts = append(facts, "they are not a member of administrative units "+joinList(outside))
	case len(facts) == 0:
		facts = append(facts, "your roles don't cover them")
	}
	return joinList(facts)
}

func describeHeld(r RoleAssignment) string {
	if u := r.AdministrativeUnit(); u != "" {
		return RoleName(r.TemplateID) + " for administrative unit " + u
	}
	return RoleName(r.TemplateID)
}

// describeAssignment names a role the actor holds, with its unit when AU-scoped.
func describeAssignment(a RoleAssignment) string { return describeHeld(a) }

// rolesCover says in one sentence what the actor's resetting roles cover.
func rolesCover(roles []RoleAssignment) string {
	if len(roles) == 1 {
		return "Your role (" + describeAssignment(roles[0]) + ") may reset " + roleReach(roles[0])
	}
	parts := make([]string, len(roles))
	for i, a := range roles {
		parts[i] = describeAssignment(a) + " may reset " + roleReach(a)
	}
	return "Your roles: " + strings.Join(parts, "; ")
}

// roleReach is what one resetting assignment may reset, briefly.
func roleReach(a RoleAssignment) string {
	if a.AdministrativeUnit() != "" {
		return "members of that administrative unit who hold no Entra role"
	}
	switch a.TemplateID {
	case RolePasswordAdmin:
		return "users without admin roles, Directory Readers, Guest Inviters and Password Administrators"
	case RoleHelpdeskAdmin:
		return "users without admin roles, a few reader roles, and Helpdesk and Password Administrators"
	case RoleAuthAdmin:
		return "users without admin roles, a few reader roles, and Authentication and Password Administrators"
	case RoleUserAdmin:
		return "users without admin roles, a few reader roles, and Groups, Helpdesk, Password and User Administrators"
	case RolePrivilegedAuthAdmin, RoleGlobalAdmin:
		return "anyone outside restricted management administrative units"
	}
	return "nobody"
}

// ResettableSummary says, for `whoami`, in plain words what the person may reset through the bot in
// entra mode, and why; with writeback on, synced users are reset with the agent's own sign-in.
func (p Policy) ResettableSummary(actor User) string {
	var lines []string
	resetters := resettingAssignments(actor.Roles)
	for _, a := range resetters {
		lines = append(lines, reachSentence(a))
	}
	if len(resetters) == 0 {
		line := "You hold no Entra role that can reset passwords, so resetbot won't reset anyone for you. Helpdesk Administrator or Password Administrator is the usual role for this."
		if other := heldRoleNames(actor.Roles); other != "" {
			line = "You hold no Entra role that can reset passwords (your roles: " + other + "), so resetbot won't reset anyone for you. Helpdesk Administrator or Password Administrator is the usual role for this."
		}
		lines = append(lines, line)
	}
	if len(resetters) > 1 {
		lines = append(lines, "For someone with several roles, one of your roles must cover all of them.")
	}
	for _, a := range resettingAssignments(actor.EligibleRoles) {
		lines = append(lines, "You are also eligible for "+describeAssignment(a)+": activate it in Privileged Identity Management to use it.")
	}
	if p.Writeback {
		lines = append(lines, "Accounts synchronised from on-premises AD are reset with your own sign-in (/resetpw login), and the password is written back to AD.")
		lines = append(lines, "Never through resetbot: your own password (use "+SelfServiceResetURL+"), guests, disabled accounts and protected accounts.")
	} else {
		lines = append(lines, "Never through resetbot: your own password (use "+SelfServiceResetURL+"), guests, disabled accounts, accounts synchronised from on-premises AD, and protected accounts.")
	}
	return strings.Join(lines, "\n")
}

func reachSentence(a RoleAssignment) string {
	role := RoleName(a.TemplateID)
	if u := a.AdministrativeUnit(); u != "" {
		return "As " + role + " for administrative unit " + u + " you may reset members of that unit who hold no Entra role at all (Microsoft's rule for roles scoped to an administrative unit)."
	}
	if resetsEveryone[a.TemplateID] {
		return "As " + role + " you may reset anyone, including other administrators, except members of restricted management administrative units."
	}
	var names []string
	for _, r := range tableRows {
		if resettableBy[a.TemplateID][r] {
			names = append(names, RoleName(r))
		}
	}
	return "As " + role + " you may reset users without admin roles and: " + strings.Join(names, ", ") +
		" — only if every role they hold or are eligible for is on that list (Microsoft's rule), they are not in a role-assignable group, and none of their roles is scoped to an administrative unit."
}

// heldRoleNames lists the display names of assignments, without duplicates, or "".
func heldRoleNames(roles []RoleAssignment) string {
	var names []string
	for _, r := range roles {
		names = appendUnique(names, describeHeld(r))
	}
	return joinList(names)
}

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

func appendUnique(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

// joinList joins words as in a sentence: "a", "a and b", "a, b and c".
func joinList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func withArticle(s string) string {
	// "an Authentication Administrator", but "a User Administrator": U is said "you".
	if s != "" && strings.ContainsRune("AEIOaeio", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}
