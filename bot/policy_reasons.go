package bot

// The policy's wording: every reason and remedy a Decision carries, and the summary whoami shows. The
// rule that chooses among them is in policy.go; nothing here decides anything. A reason names the
// target and the roles involved; a remedy says what to do instead, or who must approve.

import (
	"fmt"
	"strings"
)

// SelfServiceResetURL is where people reset their own password.
const SelfServiceResetURL = "https://aka.ms/sspr"

func ownPassword() Decision {
	return Decision{Verdict: Deny,
		Reason: "You can't reset your own password here.",
		Remedy: "Use self-service password reset at " + SelfServiceResetURL + "."}
}

func protectedAccount(name string) Decision {
	return Decision{Verdict: Deny,
		Reason: name + " is a protected (break-glass) account: resetbot never resets it.",
		Remedy: "Follow the break-glass procedure and talk to the security team."}
}

func guestAccount(name string) Decision {
	return Decision{Verdict: Deny,
		Reason: name + " is a guest: guests sign in with their home organisation, so their password is reset there, not here.",
		Remedy: "Ask them to reset their password with their home organisation's self-service reset or helpdesk."}
}

func disabledAccount(name string) Decision {
	return Decision{Verdict: Deny,
		Reason: name + "'s account is disabled, so a new password would not let them sign in.",
		Remedy: "A User Administrator must enable the account first (Entra admin center → Users → " + name + " → Edit properties → Account enabled); then ask again."}
}

func syncedWithoutWriteback(name string) Decision {
	return Decision{Verdict: Deny,
		Reason: name + " is synchronised from on-premises Active Directory. A cloud reset would not reach AD because password writeback is not enabled for resetbot.",
		Remedy: "Reset their password in AD, or ask an admin to enable writeback (Entra Connect → Optional features → Password writeback) and sign in with /resetpw login."}
}

func allowedByRole(via RoleAssignment, name string) string {
	return "Your role (" + describeAssignment(via) + ") lets you reset " + name + "."
}

func allowedByRule(rule, name string) string {
	return "Rule " + rule + " lets you reset " + name + "."
}

// needsSecondPerson says why a reset waits for an approver: why is what makes the target privileged.
func needsSecondPerson(name, why string) Decision {
	return Decision{Verdict: NeedsApproval,
		Reason: name + " " + why + ", so this needs a second person.",
		Remedy: "Someone else who may reset " + name + " themselves must approve it."}
}

// Approvers, for verb "approve" or "deny".

func decidingOwnRequest(verb, name string) Decision {
	return Decision{Verdict: Deny,
		Reason: "You can't " + verb + " your own request.",
		Remedy: "Someone else who may reset " + name + " must decide it."}
}

func decidingOwnReset(verb, name string) Decision {
	return Decision{Verdict: Deny,
		Reason: "You can't " + verb + " a reset of your own password.",
		Remedy: "Someone else who may reset " + name + " must decide it."}
}

// notEntitledToDecide refuses an approver who may not reset the target themselves, with the reason
// and remedy of that refusal.
func notEntitledToDecide(verb, name, reason, remedy string) Decision {
	return Decision{Verdict: Deny,
		Reason: "You can't " + verb + " this: only someone who may reset " + name + " themselves can. " + reason,
		Remedy: remedy}
}

func privilegedNeedsApproverRole(verb, name, why string, e entitlement) Decision {
	return Decision{Verdict: Deny,
		Reason: "You can't " + verb + " this: " + name + " " + why + ", so the approver's own Entra roles must let them reset " + name + ", and yours do not. " + e.reason,
		Remedy: e.remedy}
}

func approverByRole(approver User, name string, via RoleAssignment) Decision {
	return Decision{Verdict: Allow,
		Reason: approver.Name() + " may reset " + name + " (" + describeAssignment(via) + ")."}
}

func approverByRule(approver User, name, rule string) Decision {
	return Decision{Verdict: Allow, Reason: approver.Name() + " may reset " + name + " (rule " + rule + ")."}
}

// Readers of the audit trail.

func readsAuditByRole(templateID string) Decision {
	return Decision{Verdict: Allow, Reason: "You hold " + RoleName(templateID) + ", one of the roles that may read the audit trail."}
}

func readsAuditByGroup() Decision {
	return Decision{Verdict: Allow, Reason: "You are in a group that may read the audit trail."}
}

func readsAuditAsApprover(templateID string) Decision {
	return Decision{Verdict: Allow, Reason: "Your role (" + RoleName(templateID) + ") may approve resets."}
}

func readsAuditByRule(rule string) Decision {
	return Decision{Verdict: Allow, Reason: "Rule " + rule + " lets you reset, so you may approve resets."}
}

func auditNotForYou() Decision {
	return Decision{Verdict: Deny,
		Reason: "The audit trail is for approvers and security.",
		Remedy: "Ask your security team, or read the digest in the audit channel."}
}

// Rules mode.

func notAnAgent(name string) Decision {
	return Decision{Verdict: Deny,
		Reason: "You are not an agent in any resetbot rule, so you can't reset " + name + " through resetbot.",
		Remedy: "Ask the resetbot admin to add you to a rule's agent group, or ask a colleague who is in one."}
}

func noRuleCovers(name string, theirs []string) Decision {
	return Decision{Verdict: Deny,
		Reason: "No rule you are an agent in (" + joinList(theirs) + ") covers " + name + ".",
		Remedy: "Ask an agent whose rule covers " + name + ", or ask the resetbot admin to widen a rule."}
}

func ruleLabel(r Rule, i int) string {
	if n := strings.TrimSpace(r.Name); n != "" {
		return fmt.Sprintf("%q", n)
	}
	return fmt.Sprintf("#%d", i+1)
}

func (p Policy) unknownMode() Decision {
	return Decision{Verdict: Deny,
		Reason: fmt.Sprintf("resetbot's policy mode %q is not one it knows, so it resets nobody.", string(p.Mode)),
		Remedy: `Ask the resetbot admin to set the policy mode to "entra" or "rules".`}
}

// The bot's own role as the ceiling.

func restrictedBeyondBot(name, role string) Decision {
	return Decision{Verdict: Deny,
		Reason: name + " is in a restricted management administrative unit: Entra lets only administrators assigned to that unit change them, and resetbot's own Entra role (" + RoleName(role) + ") is tenant-wide.",
		Remedy: "Ask an administrator assigned to that restricted administrative unit to reset their password in the Entra admin center."}
}

func beyondBotRole(target User, role string) Decision {
	d := Decision{Verdict: Deny,
		Reason: "resetbot's own Entra role (" + RoleName(role) + ") may not reset " + target.Name() + ": " + targetFacts(target, nil) + " — Microsoft's rule, and resetbot never goes beyond its own role."}
	for _, r := range ResetterRoles {
		if RoleCanReset(r, target) {
			d.Remedy = "Ask " + withArticle(RoleName(r)) + " to reset their password in the Entra admin center."
			break
		}
	}
	return d
}

// refusal says, when none of the actor's roles covers the target, why and what to do instead.
func refusal(actor, target User, resetters []RoleAssignment) entitlement {
	name := target.Name()
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
		remedy = append(remedy, "Ask a Helpdesk Administrator or Password Administrator to reset their password, or ask for one of those roles (or see /resetpw whoami).")
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
		remedy = append(remedy, "Ask an administrator assigned to that restricted administrative unit to reset their password in the Entra admin center.")
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

func holdsUnitRoleOver(roles []RoleAssignment, target User) bool {
	for _, a := range roles {
		if u := a.AdministrativeUnit(); u != "" && containsFold(target.AdministrativeUnits, u) {
			return true
		}
	}
	return false
}

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
			outside = appendUnique(outside, a.UnitWords())
		}
	}
	switch {
	case len(outside) > 0:
		facts = append(facts, "they are not a member of "+joinList(outside))
	case len(facts) == 0:
		facts = append(facts, "your roles don't cover them")
	}
	return joinList(facts)
}

func describeHeld(r RoleAssignment) string {
	if u := r.UnitWords(); u != "" {
		return RoleName(r.TemplateID) + " for " + u
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
	if p.mayResetNobody(actor) {
		// Only what applies to them: the rules of whom one may reset are no business of someone
		// who may reset nobody.
		held := ""
		if other := heldRoleNames(actor.Roles); other != "" {
			held = " (your roles: " + other + ")"
		}
		return "You can reset nobody through resetbot: you hold no Entra role that can reset passwords" + held + ".\n" +
			"To reset other people's passwords, ask your Entra administrator for the Helpdesk Administrator or Password Administrator role. " +
			"For your own password use " + SelfServiceResetURL + "; for someone else's, ask your helpdesk."
	}
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

// mayResetNobody reports whether, in entra mode, the person holds and is eligible for no role that
// resets passwords: nothing about whom one may reset applies to them.
func (p Policy) mayResetNobody(actor User) bool {
	return p.mode() == ModeEntra && len(resettingAssignments(actor.Roles)) == 0 && len(resettingAssignments(actor.EligibleRoles)) == 0
}

func reachSentence(a RoleAssignment) string {
	role := RoleName(a.TemplateID)
	if u := a.UnitWords(); u != "" {
		return "As " + role + " for " + u + " you may reset members of that unit who hold no Entra role at all (Microsoft's rule for roles scoped to an administrative unit)."
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
