package bot

import (
	"fmt"

	"github.com/resetbot/resetbot/chat"
)

// approvalCard is the approval request as approvers see it, in every state of its life: with
// Approve/Deny buttons while pending, and with the decision and outcome afterwards.
func (s *Service) approvalCard(req *Request) chat.Message {
	requester := req.RequesterName
	if len(req.RequesterRoles) > 0 {
		requester += " (" + roleList(req.RequesterRoles) + ")"
	}
	target := req.TargetName + " · " + req.TargetUPN
	if len(req.TargetRoles) > 0 {
		target += " · " + roleList(req.TargetRoles)
	}
	reason := req.Reason
	if reason == "" {
		reason = "(none given)"
	}
	m := chat.Message{
		Title: "🔐 Password reset needs approval — " + req.ID,
		Fields: []chat.Field{
			{Label: "Requested by", Value: requester},
			{Label: "Target", Value: target},
			{Label: "Why approval", Value: req.ApprovalReason},
			{Label: "Reason", Value: reason},
			{Label: "Expires", Value: s.clock(req.ExpiresAt)},
		},
	}
	switch req.State {
	case StatePending:
		m.Buttons = []chat.Button{
			{Label: "Approve", Action: chat.ActionApprove, RequestID: req.ID, Primary: true,
				Confirm: fmt.Sprintf("Reset the password of %s (%s) now? The temporary password goes to %s by DM.",
					req.TargetName, req.TargetUPN, req.RequesterName)},
			{Label: "Deny", Action: chat.ActionDeny, RequestID: req.ID, Danger: true},
		}
		m.Footer = "Approvers must be entitled to reset the target themselves, and may not be the requester or the target."
	case StateApproved, StateResetting:
		m.Title = fmt.Sprintf("✅ Approved by %s at %s · resetting … · %s", req.ApproverName, s.clock(req.UpdatedAt), req.ID)
	case StateDone:
		m.Title = fmt.Sprintf("✅ Approved by %s at %s · %s · %s", req.ApproverName, s.clock(req.UpdatedAt), req.Outcome, req.ID)
	case StateFailed:
		m.Title = fmt.Sprintf("⚠️ Approved by %s · reset failed: %s · %s", req.ApproverName, req.Outcome, req.ID)
		if req.ApproverName == "" {
			m.Title = fmt.Sprintf("⚠️ Failed: %s · %s", req.Outcome, req.ID)
		}
	case StateDenied:
		m.Title = fmt.Sprintf("⛔ %s at %s · %s", capitalize(req.Outcome), s.clock(req.UpdatedAt), req.ID)
	case StateExpired:
		m.Title = fmt.Sprintf("⌛ Expired at %s: nobody approved it in time · %s", s.clock(req.ExpiresAt), req.ID)
	}
	return m
}

func helpMessage() chat.Message {
	return chat.Message{
		Title: "resetbot resets Entra ID passwords for the helpdesk",
		Fields: []chat.Field{
			{Label: "/resetpw user@contoso.com [more…] [--reason TEXT]", Value: "Reset one or more users (up to 20). They must choose a new password at next sign-in; the temporary password comes to you by DM."},
			{Label: "/resetpw whoami", Value: "Who you are in Entra, and whom you may reset."},
			{Label: "/resetpw status R-7F3K9Q", Value: "Where a request stands."},
			{Label: "/resetpw approve R-7F3K9Q · deny R-7F3K9Q [--reason TEXT]", Value: "Decide an approval by typing, where buttons are not available."},
			{Label: "/resetpw audit [user@contoso.com] [--since 7d]", Value: "For approvers and security: what the audit trail holds (counts and the latest entries), for everyone or one person as agent or target, over up to 90 days. Only you see the answer."},
			{Label: "resetpw bulk (with a CSV file, in a DM to the bot)", Value: "Reset a list: a UserPrincipalName column, one user per line (a Reason column is used). You see a preview first."},
			{Label: "/resetpw login · logout", Value: "Sign in with your own Entra account (needed for users synchronised from on-premises AD, where enabled), or forget that sign-in."},
		},
		Footer: "Admin targets need a second person. Your own password: https://aka.ms/sspr",
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	if r[0] >= 'a' && r[0] <= 'z' {
		r[0] -= 'a' - 'A'
	}
	return string(r)
}
