package bot

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/resetbot/resetbot/chat"
)

// The words people read: cards, previews, progress and outcomes. Nothing here decides anything.

// approvalCard is the approval request as approvers see it, in every state of its life: with
// Approve/Deny buttons while pending, and with the decision and outcome afterwards.
func (s *Service) approvalCard(req *Request) chat.Message {
	requester := req.RequesterName
	if len(req.RequesterRoles) > 0 {
		requester += " (" + roleList(req.RequesterRoles) + ")"
	}
	v := s.words(req.Requester.Platform)
	m := chat.Message{Title: "🔐 Password reset needs approval — " + req.ID}
	if t := single(req); t != nil {
		target := t.Name + " · " + t.UPN
		if len(t.Roles) > 0 {
			target += " · " + roleList(t.Roles)
		}
		m.Fields = []chat.Field{{Label: "Requested by", Value: requester}, {Label: "Target", Value: target}}
	} else {
		m.Title = "📋 Password reset list needs approval — " + req.ID
		var names []string
		for _, t := range req.Targets {
			if t.Step == StepRefused {
				continue
			}
			if len(names) == 10 {
				names = append(names, fmt.Sprintf("… and %d more", req.Runnable()-10))
				break
			}
			names = append(names, t.UPN)
		}
		m.Fields = []chat.Field{{Label: "Requested by", Value: requester},
			{Label: "List", Value: fmt.Sprintf("%s · %s without admin roles", listName(req), count(req.Runnable(), "user"))},
			{Label: "Users", Value: strings.Join(names, ", ")}}
	}
	reason := req.Reason
	if reason == "" {
		reason = "(none given)"
	}
	m.Fields = append(m.Fields, chat.Field{Label: "Why approval", Value: req.ApprovalReason}, chat.Field{Label: "Reason", Value: reason})
	if req.Caller.Credential == CredentialAccessPass {
		m.Title = strings.Replace(m.Title, "Password reset", "Temporary Access Pass", 1)
		m.Fields = append(m.Fields, chat.Field{Label: "Gives", Value: "a Temporary Access Pass (the password is not changed)"})
	}
	if req.Caller.Assurance != "" && req.Caller.Assurance != AssuranceNone {
		check := req.Caller.Assurance.Words()
		if req.Caller.Assurance == AssuranceAgent {
			check += ": “" + req.Caller.Detail + "”"
		}
		m.Fields = append(m.Fields, chat.Field{Label: "Caller check", Value: check})
	}
	noun := "Password reset"
	if single(req) == nil {
		noun = "Password reset list"
	}
	if req.Caller.Credential == CredentialAccessPass {
		noun = strings.Replace(noun, "Password reset", "Temporary Access Pass", 1)
	}
	if req.State == StatePending {
		m.Fields = append(m.Fields, chat.Field{Label: "Expires", Value: s.clock(req.ExpiresAt)})
		confirm := fmt.Sprintf("Reset %s now? The temporary passwords go to %s %s.", count(req.Runnable(), "password"), req.RequesterName, v.TheirDM)
		if t := single(req); t != nil {
			confirm = fmt.Sprintf("Reset the password of %s (%s) now? The temporary password goes to %s %s.", t.Name, t.UPN, req.RequesterName, v.TheirDM)
		}
		m.Buttons = []chat.Button{
			{Label: "Approve", Action: chat.ActionApprove, RequestID: req.ID, Primary: true, Confirm: confirm},
			{Label: "Deny", Action: chat.ActionDeny, RequestID: req.ID, Danger: true, Input: &chat.Input{
				Label: "Reason to deny (optional; the requester reads it)", Placeholder: "e.g. not verified, call back on the number on file",
				MaxLength: MaxReasonLength, Option: "--reason"}},
		}
		m.Footer = "Approvers must be entitled to reset every target themselves, and may not be the requester or a target."
		if req.ApproverRole == approverAuditReader {
			m.Footer += " The tenant-wide brake is on: the approver must also be one who may read the audit trail."
		}
		return m
	}
	// Once decided the card is a record: a short title, and what happened, who decided and when as
	// rows of their own above what was asked.
	icon, status, decided := "", "", s.decision(req)
	switch req.State {
	case StateApproved, StateResetting:
		icon, status = "⏳", "approved"
		decided = append(decided, chat.Field{Label: "Approved at", Value: s.clock(req.UpdatedAt)}, chat.Field{Label: "Outcome", Value: "resetting …"})
	case StateDone:
		icon, status = "✅", "approved"
		decided = append(decided, chat.Field{Label: "Finished at", Value: s.clock(req.UpdatedAt)}, chat.Field{Label: "Outcome", Value: capitalize(req.Outcome)})
	case StateFailed:
		icon, status = "⚠️", "failed"
		decided = append(decided, chat.Field{Label: "Failed at", Value: s.clock(req.UpdatedAt)}, chat.Field{Label: "Outcome", Value: capitalize(req.Outcome)})
	case StateDenied:
		icon, status = "⛔", "denied"
		if strings.HasPrefix(req.Outcome, "withdrawn by ") {
			icon, status = "↩️", "withdrawn"
		}
		decided = append(decided, chat.Field{Label: capitalize(status) + " at", Value: s.clock(req.UpdatedAt)})
		if why := denialReason(req); why != "" {
			decided = append(decided, chat.Field{Label: "Why " + status, Value: why})
		}
	case StateExpired:
		icon, status = "⌛", "expired"
		decided = append(decided, chat.Field{Label: "Expired at", Value: s.clock(req.ExpiresAt)})
	}
	m.Title = fmt.Sprintf("%s %s %s — %s", icon, noun, status, req.ID)
	m.Fields = append(decided, m.Fields...)
	return m
}

// decision is who decided a request, as the first row of its decided card.
func (s *Service) decision(req *Request) []chat.Field {
	switch {
	case req.State == StateExpired:
		return []chat.Field{{Label: "Decision", Value: "Nobody approved it in time"}}
	case req.State == StateDenied && strings.HasPrefix(req.Outcome, "withdrawn by "):
		return []chat.Field{{Label: "Decision", Value: "Withdrawn by " + req.ApproverName + " (the requester)"}}
	case req.State == StateDenied && strings.HasPrefix(req.Outcome, "no longer allowed"):
		// Someone went to approve it, and found the requester may no longer ask for it.
		return []chat.Field{{Label: "Decision", Value: capitalize(req.Outcome)}}
	case req.State == StateDenied:
		return []chat.Field{{Label: "Decision", Value: "Denied by " + req.ApproverName}}
	case req.ApproverName != "":
		return []chat.Field{{Label: "Decision", Value: "Approved by " + req.ApproverName}}
	}
	return nil
}

// denialReason is the reason a denied request's outcome carries after its "denied by …: ".
func denialReason(req *Request) string {
	for _, lead := range []string{"denied by " + req.ApproverName, "withdrawn by " + req.ApproverName} {
		if rest, ok := strings.CutPrefix(req.Outcome, lead+": "); ok {
			return rest
		}
	}
	return ""
}

// askedApprovalMessage tells the requester their request waits for a second person.
func (s *Service) askedApprovalMessage(req *Request) chat.Message {
	v := s.words(req.Requester.Platform)
	if t := single(req); t != nil {
		return chat.Message{Title: "🕐 " + req.ApprovalReason,
			Text: fmt.Sprintf("I asked %s (request %s, expires %s). I'll tell you %s when it is decided.", v.Approvals, req.ID, s.clockFor(req.Requester, req.ExpiresAt), v.ByDM)}
	}
	return chat.Message{
		Title: fmt.Sprintf("🕐 This list needs a second person (%s). I asked %s (list %s, expires %s).",
			req.ApprovalReason, v.Approvals, req.ID, s.clockFor(req.Requester, req.ExpiresAt)),
		Text: fmt.Sprintf("You'll get the progress and the results %s once it is approved.", v.ByDM)}
}

// previewMessage shows a checked list before anything is reset.
func (s *Service) previewMessage(req *Request, use QuotaUse) chat.Message {
	v := s.words(req.Requester.Platform)
	n, refused := req.Runnable(), len(req.Targets)-req.Runnable()
	var approval, other []string
	for _, t := range req.Targets {
		if t.Step != StepRefused {
			continue
		}
		line := whereNamed(t)
		if t.Line > 0 && t.Ref != "" {
			line += " " + t.Ref
		}
		if strings.HasPrefix(t.Outcome, "needs approval of its own") {
			approval = append(approval, line+": "+strings.TrimPrefix(t.Outcome, "needs approval of its own: "))
			continue
		}
		other = append(other, line+": "+t.Outcome)
	}
	refused -= len(approval)
	m := chat.Message{
		Title: fmt.Sprintf("📋 %s: %s → %d can be reset, %d need approval, %d refused", listName(req),
			count(len(req.Targets), "row"), n, len(approval), refused),
		Footer: fmt.Sprintf("List %s · the offer stands until %s", req.ID, s.clockFor(req.Requester, req.ExpiresAt)),
	}
	var body []string
	if len(approval) > 0 {
		body = append(body, "*Need approval* (not part of this run; ask for each with "+v.Reset+" so a second person can approve):\n"+listSome(approval))
	}
	if len(other) > 0 {
		body = append(body, "*Refused:*\n"+listSome(other))
	}
	if n > 0 {
		run := chat.Button{Label: fmt.Sprintf("Reset the %d", n), Action: chat.ActionRun, RequestID: req.ID, Primary: true,
			Confirm: fmt.Sprintf("Reset %s now? The temporary passwords come to you %s.", count(n, "password"), v.ByDM)}
		if s.cfg.ListApprovalAbove > 0 && use.Actor+n > s.cfg.ListApprovalAbove {
			run.Label, run.Confirm = fmt.Sprintf("Ask approval for the %d", n), ""
			body = append(body, fmt.Sprintf("Needs a second person's approval: %s.", listApprovalReason(use.Actor, n, s.cfg.ListApprovalAbove, s.cfg.RateWindow)))
		}
		m.Buttons = []chat.Button{run, {Label: "Cancel", Action: chat.ActionCancel, RequestID: req.ID}}
	} else {
		body = append(body, "Nothing on this list can be reset, so nothing was kept.")
	}
	m.Text = strings.Join(body, "\n\n")
	return m
}

// progressMessage is a list's run as it goes.
func (s *Service) progressMessage(req *Request) chat.Message {
	c := req.Count()
	done := c[StepDelivered] + c[StepUndelivered] + c[StepSet] + c[StepRevoked]
	failed := c[StepFailed] + c[StepUnknown]
	return chat.Message{Title: fmt.Sprintf("⏳ Resetting %s … %s / %s done, %d failed", listName(req),
		thousands(done), thousands(req.Runnable()), failed), Footer: "List " + req.ID}
}

// listDoneMessage is a list's summary when its run ends.
func (s *Service) listDoneMessage(req *Request) chat.Message {
	c := req.Count()
	m := chat.Message{Title: fmt.Sprintf("✅ %s: %d reset, %d failed.", listName(req), c[StepDelivered]+c[StepUndelivered], c[StepFailed]+c[StepUnknown]),
		Footer: fmt.Sprintf("List %s · the results, line by line: %s", req.ID, command(s.words(req.Requester.Platform), "status "+req.ID))}
	var text []string
	if c[StepDelivered] > 0 {
		text = append(text, fmt.Sprintf("The temporary passwords are in the results messages, which are removed after %s.", humanDuration(s.cfg.DMTTL)))
	}
	var failed, unknown, undelivered, refused, revokeFailed []string
	for _, t := range req.Targets {
		switch {
		case t.Step == StepFailed:
			failed = append(failed, t.UPN+": "+t.Outcome)
		case t.Step == StepUnknown:
			unknown = append(unknown, t.UPN+": "+t.Outcome)
		case t.Step == StepUndelivered:
			undelivered = append(undelivered, t.UPN)
		case t.Step == StepRefused && strings.HasPrefix(t.Outcome, refusedAtWrite):
			refused = append(refused, t.UPN+": "+strings.TrimPrefix(t.Outcome, refusedAtWrite))
		}
		if strings.HasPrefix(t.Revoke, "failed") {
			revokeFailed = append(revokeFailed, t.UPN)
		}
	}
	if len(failed) > 0 {
		text = append(text, "*Failed* (nothing changed):\n"+listSome(failed))
	}
	if len(unknown) > 0 {
		text = append(text, "*Not known whether reset* — check these users' sign-ins in the Entra admin center before asking again:\n"+listSome(unknown))
	}
	if len(undelivered) > 0 {
		text = append(text, fmt.Sprintf("*Reset, but the password could not reach you* (%d), so it was erased: reset them again: %s", len(undelivered), strings.Join(undelivered, ", ")))
	}
	if len(refused) > 0 {
		text = append(text, "*Not reset* — refused when decided again just before the reset:\n"+listSome(refused))
	}
	if len(revokeFailed) > 0 {
		text = append(text, fmt.Sprintf("*Sessions not revoked* for %s (they were reset): %s", count(len(revokeFailed), "user"), strings.Join(revokeFailed, ", ")))
	}
	m.Text = strings.Join(text, "\n\n")
	return m
}

// singleOutcome is what the requester of one reset reads when it ends.
func (r *run) singleOutcome() chat.Message {
	s, req := r.s, r.req
	v := s.words(req.Requester.Platform)
	t := req.Targets[0]
	footer := "Request " + req.ID
	switch t.Step {
	case StepFailed:
		return chat.Message{Title: fmt.Sprintf("⚠️ I could not reset %s: %s", t.Name, t.Outcome), Text: r.remedies[t.N], Footer: footer}
	case StepRefused:
		return chat.Message{Title: fmt.Sprintf("⛔ I did not reset %s: %s", t.Name, t.Outcome), Text: "Nothing was changed.", Footer: footer}
	case StepUnknown:
		return chat.Message{Title: fmt.Sprintf("⚠️ I can't tell whether %s's password was reset: %s.", t.Name, t.Outcome),
			Text: "Check their sign-ins and audit log in the Entra admin center before asking again.", Footer: footer}
	case StepUndelivered:
		return chat.Message{Title: fmt.Sprintf("⚠️ I reset %s, but the temporary password could not reach you: %s", t.Name, t.Outcome), Footer: footer}
	}
	if req.Caller.Credential == CredentialAccessPass {
		return chat.Message{
			Title: fmt.Sprintf("✅ Made a Temporary Access Pass for %s (%s).", t.Name, t.UPN),
			Text: fmt.Sprintf("Their password is unchanged. The pass is in %s until %s; they sign in with it and set up a new sign-in method.",
				v.YourDM, s.clockFor(req.Requester, s.now().Add(s.cfg.DMTTL))),
			Footer: footer,
		}
	}
	sessions := "Their sign-in sessions were revoked."
	switch {
	case t.Revoke == "off":
		sessions = "Their sign-in sessions were not revoked (turned off for resetbot)."
	case strings.HasPrefix(t.Revoke, "failed"):
		sessions = "Their sign-in sessions could not be revoked (" + strings.TrimPrefix(t.Revoke, "failed: ") + "): revoke them in the Entra admin center."
	}
	if u, ok := r.fresh.get(t.ID, s.now()); ok && u.Synced {
		sessions = "The new password was written back to on-premises AD. " + sessions
	}
	return chat.Message{
		Title: fmt.Sprintf("✅ Reset %s (%s).", t.Name, t.UPN),
		Text: fmt.Sprintf("They must choose a new password at next sign-in. %s The temporary password is in %s and disappears at %s.",
			sessions, v.YourDM, s.clockFor(req.Requester, s.now().Add(s.cfg.DMTTL))),
		Footer: footer,
	}
}

// outcomeWords is how a finished request ended, in a few words, for its card and status.
func (r *run) outcomeWords() string {
	c := r.req.Count()
	if t := single(r.req); t != nil && r.req.Source == "" {
		switch t.Step {
		case StepDelivered:
			if t.Revoke == "done" {
				return "reset done, sessions revoked"
			}
			return "reset done"
		case StepFailed:
			return "reset failed: " + t.Outcome
		case StepUnknown:
			return "not known whether reset: " + t.Outcome
		case StepRefused:
			return "not reset: " + t.Outcome
		case StepUndelivered:
			return "reset done; the password could not be delivered"
		}
	}
	return fmt.Sprintf("%d reset, %d failed, %d not known", c[StepDelivered]+c[StepUndelivered], c[StepFailed], c[StepUnknown])
}

func (s *Service) alreadyDecided(req *Request) string {
	switch req.State {
	case StateExpired:
		return fmt.Sprintf("Request %s expired at %s; ask for a new one.", req.ID, s.clock(req.ExpiresAt))
	case StatePending:
		return fmt.Sprintf("Request %s is still waiting for approval.", req.ID)
	case StatePreview:
		return fmt.Sprintf("List %s is still waiting for its requester's go-ahead.", req.ID)
	case StateVerifying:
		return fmt.Sprintf("Request %s is waiting for its caller to be verified; it can be decided once that is done.", req.ID)
	}
	if req.State == StateDenied && strings.HasPrefix(req.Outcome, "withdrawn by ") {
		return fmt.Sprintf("Request %s was already withdrawn by %s, who asked for it; nothing was reset.", req.ID, req.ApproverName)
	}
	if req.ApproverName != "" {
		detail := req.Outcome
		if detail == "" {
			detail = stateWords(req.State)
		}
		return fmt.Sprintf("Request %s was already decided by %s: it is %s (%s).", req.ID, req.ApproverName, stateWords(req.State), detail)
	}
	return fmt.Sprintf("Request %s needs no approval: it is %s.", req.ID, stateWords(req.State))
}

func stateWords(s State) string {
	switch s {
	case StatePreview:
		return "waiting for its requester's go-ahead"
	case StatePending:
		return "waiting for approval"
	case StateVerifying:
		return "waiting for the caller to be verified"
	case StateApproved:
		return "approved, about to reset"
	case StateResetting:
		return "resetting"
	case StateDone:
		return "done"
	case StateFailed:
		return "failed"
	case StateDenied:
		return "denied"
	case StateExpired:
		return "expired"
	case StateCancelled:
		return "cancelled"
	}
	return string(s)
}

// targetsWords names a request's targets: "Adele Vance", or "the 962 users of users.csv".
func targetsWords(req *Request) string {
	if t := single(req); t != nil {
		return firstNonEmpty(t.Name, t.Ref)
	}
	return fmt.Sprintf("the %s of %s", count(req.Runnable(), "user"), listName(req))
}

// listName is how a list is called: its file's name, or "your list" for typed names.
func listName(req *Request) string {
	if req.Source != "" {
		return req.Source
	}
	if len(req.Targets) == 1 {
		return "request " + req.ID
	}
	return "list " + req.ID
}

// Count is count for the command line: "1 row", "2 rows".
func Count(n int, noun string) string { return count(n, noun) }

// count says "1 user", "2 users", "1,000 users".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return thousands(n) + " " + noun + "s"
}

// thousands writes 1000 as 1,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return s
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func listSome(lines []string) string {
	const most = 15
	if len(lines) <= most {
		return "• " + strings.Join(lines, "\n• ")
	}
	return "• " + strings.Join(lines[:most], "\n• ") + fmt.Sprintf("\n… and %d more", len(lines)-most)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

// listFormatHelp says what a list file must look like.
const listFormatHelp = "A list is a CSV file with a UserPrincipalName column (or UPN, or an object ID column named Id), one user per line; a Reason column is used. Commas, semicolons and tabs all work, as do Excel's UTF-8 and Unicode text exports and PowerShell's Export-Csv."

// helpMessage lists the commands, as they are typed on the platform.
func helpMessage(v chat.Vocabulary) chat.Message {
	w, c := v.Reset, func(rest string) string { return command(v, rest) }
	fields := []chat.Field{
		{Label: w + " user@contoso.com [more…] [--reason TEXT]", Value: "Reset one user, or up to 20 (you see a preview first). They must choose a new password at next sign-in; the temporary password comes to you " + v.ByDM + "."},
		{Label: c("whoami"), Value: "Who you are in Entra, and whom you may reset."},
		{Label: c("status R-7F3K9Q"), Value: "Where a request or list stands."},
		{Label: c("approve R-7F3K9Q · deny R-7F3K9Q [--reason TEXT]"), Value: "Decide an approval by typing, where buttons are not available. Deny your own request to withdraw it."},
		{Label: c("audit [user@contoso.com] [--since 7d]"), Value: "For approvers and security: what the audit trail holds (counts and the latest entries), for everyone or one person as agent or target, over up to 90 days. Only you see the answer."},
		{Label: c("bulk") + " (with a CSV file, sent " + v.ByDM + ")", Value: "Reset a list. " + listFormatHelp + " You see a preview first."},
		{Label: c("login · logout"), Value: "Sign in with your own Entra account (needed for users synchronised from on-premises AD, where enabled), or forget that sign-in."},
		{Label: w + " user@contoso.com --tap", Value: "Give a Temporary Access Pass instead of a password (the password is not changed): they sign in with it once and set up a new method."},
		{Label: w + " user@contoso.com --verify chat · --verify manager · --verified TEXT", Value: "Check the caller first: three numbers in the user's own chat (you read them the right one), or their manager confirms; or record how you checked them yourself."},
		{Label: c("methods user@contoso.com"), Value: "The user's registered sign-in methods, and which caller checks can work for them."},
	}
	return chat.Message{Title: v.App + " resets Entra ID passwords for the helpdesk", Fields: fields,
		Footer: "Admin targets need a second person. Your own password: " + SelfServiceResetURL}
}

// bulkHowTo answers "bulk" sent without a file.
func bulkHowTo(v chat.Vocabulary) chat.Message {
	return chat.Message{Title: "📎 Send the list as a file with the command.", Text: v.SendFile + "\n\n" + listFormatHelp}
}

// whoami says who the person is in Entra and whom they may reset.
func (s *Service) whoami(me User) chat.Message {
	var roles []string
	for _, r := range me.Roles {
		name := RoleName(r.TemplateID)
		if u := r.UnitWords(); u != "" {
			name += " for " + u
		}
		roles = append(roles, name)
	}
	held := "no Entra admin roles"
	if len(roles) > 0 {
		held = strings.Join(roles, ", ")
	}
	m := chat.Message{Title: fmt.Sprintf("You are %s (%s): %s.", me.Name(), me.UPN, held), Text: s.cfg.Policy.ResettableSummary(me),
		Footer: "Targets with admin roles need a second person's approval. You can never reset yourself: use " + SelfServiceResetURL + "."}
	if s.cfg.Policy.mayResetNobody(me) {
		m.Footer = "" // approvals and self-resets are no concern of someone who may reset nobody
	}
	return m
}
