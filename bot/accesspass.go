package bot

import "strings"

// Who may give whom a Temporary Access Pass. A pass signs its holder in as the user, so it is as
// strong as a password reset and reaches further: it is how a user registers new methods, passkeys
// included. Entra lets an Authentication Administrator create one for members and the few roles its
// column of the "who can reset passwords" table ticks, and a Privileged Authentication
// Administrator (or Global Administrator) for anyone; Helpdesk, Password and User Administrators
// may reset passwords but not manage authentication methods. App-only Graph calls have no such role
// gate (UserAuthMethod-TAP.ReadWrite.All reaches every user, break-glass accounts included), so the
// bot applies it: to the requester, to an approver, and to its own role.

// accessPassRoles are the roles that may manage other users' authentication methods.
var accessPassRoles = set(RoleAuthAdmin, RolePrivilegedAuthAdmin, RoleGlobalAdmin)

// onlyAccessPassRoles keeps the assignments of roles that may create a pass.
func onlyAccessPassRoles(roles []RoleAssignment) []RoleAssignment {
	var out []RoleAssignment
	for _, r := range roles {
		if accessPassRoles[strings.ToLower(r.TemplateID)] {
			out = append(out, r)
		}
	}
	return out
}

// asPassIssuer is the person as far as passes go: only their roles that may create one.
func asPassIssuer(u User) User {
	u.Roles, u.EligibleRoles = onlyAccessPassRoles(u.Roles), onlyAccessPassRoles(u.EligibleRoles)
	return u
}

// DecideFor is Decide for what the request gives: a password, or a Temporary Access Pass.
func (p Policy) DecideFor(c Credential, requester, target User) Decision {
	if c != CredentialAccessPass {
		return p.Decide(requester, target)
	}
	return p.DecideAccessPass(requester, target)
}

// MayDecideFor is MayDecide for what the request gives.
func (p Policy) MayDecideFor(c Credential, approver, requester, target User, verb string) Decision {
	if c != CredentialAccessPass {
		return p.MayDecide(approver, requester, target, verb)
	}
	return p.MayDecide(asPassIssuer(approver), requester, target, verb)
}

// DecideAccessPass says whether requester may have the bot give target a Temporary Access Pass. The
// password is not changed, so an account synchronised from AD may have one (cloud sign-in only);
// the rest is Decide's order with the pass's own rules: a role that manages authentication methods,
// no external guest, and the bot's own role able to do it (the bot always creates the pass itself).
func (p Policy) DecideAccessPass(requester, target User) Decision {
	if p.AsAgent {
		return Decision{Verdict: Deny,
			Reason: "resetbot runs every change as the signed-in agent here (delegated-only mode), and gives no Temporary Access Pass that way.",
			Remedy: "Create the pass in the Entra admin center (Users → " + target.Name() + " → Authentication methods → Add method), or reset the password instead."}
	}
	if p.mode() == ModeEntra && len(resettingAssignments(requester.Roles)) > 0 && len(onlyAccessPassRoles(requester.Roles)) == 0 && !sameUser(requester, target) {
		return Decision{Verdict: Deny,
			Reason: "Your roles (" + heldRoleNames(requester.Roles) + ") may reset passwords but not manage authentication methods, so you can't give " + target.Name() + " a Temporary Access Pass.",
			Remedy: "Reset the password instead (leave out --tap), or ask an Authentication Administrator."}
	}
	// Synchronised accounts are Decide's concern for passwords only; the ceiling below is the bot's.
	q := p
	q.Writeback, q.AsAgent = true, false
	d := q.Decide(asPassIssuer(requester), target)
	if d.Verdict == Deny {
		return d
	}
	if target.Guest {
		return Decision{Verdict: Deny, Reason: target.Name() + " is a guest: Entra gives no Temporary Access Pass to an external guest."}
	}
	if c, ok := p.passCeiling(target); !ok {
		return c
	}
	if d.Verdict == Allow {
		d.Reason = strings.Replace(d.Reason, "lets you reset", "lets you give a Temporary Access Pass to", 1)
	}
	return d
}

// passCeiling refuses a pass the bot's own role could not create. Decide checks the reset ceiling
// for users the bot resets itself; for a pass the bot's role must also manage authentication
// methods.
func (p Policy) passCeiling(target User) (Decision, bool) {
	role := p.botRole()
	if !accessPassRoles[role] {
		return Decision{Verdict: Deny,
			Reason: "resetbot's own Entra role (" + RoleName(role) + ") may reset passwords but not manage authentication methods, so it gives no Temporary Access Pass.",
			Remedy: "Reset the password instead, or ask the resetbot admin to give the bot Authentication Administrator (or Privileged Authentication Administrator, for admins) and set RESETBOT_BOT_ROLE."}, false
	}
	return p.botCeiling(target)
}
