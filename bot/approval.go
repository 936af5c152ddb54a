package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/resetbot/resetbot/chat"
)

// Approvals. A request that needs a second person is persisted pending with a short opaque ID; the
// card carries only that ID. On a click the clicker is resolved and authorised from scratch, the
// requester and every target are looked up again, and the state change is a compare-and-swap, so two
// clicks or two replicas act once. Lists are approved exactly as single resets are: one card, one
// decision for the whole request.

// askApproval posts the approval card and tells the requester where it went.
func (s *Service) askApproval(ctx context.Context, reply chat.Replier, req *Request) error {
	pc, err := s.chat(req.Requester.Platform)
	if err == nil {
		var ref chat.MessageRef
		ref, err = pc.PostApproval(ctx, s.approvalCard(req))
		if err == nil {
			if _, err2 := s.store.Transition(ctx, req.ID, StatePending, StatePending, Change{Card: &ref}, s.now()); err2 != nil {
				s.log.Error("remembering the approval card failed", "request", req.ID, "err", err2)
			}
		}
	}
	if err != nil {
		s.log.Error("posting the approval card failed", "request", req.ID, "err", err)
		_, _ = s.store.Transition(ctx, req.ID, StatePending, StateFailed, Change{Outcome: "the approval card could not be posted"}, s.now())
		s.audit(ctx, about(req, single(req), EventApproval, "failed", "the approval card could not be posted; nothing was reset"))
		return reply.Reply(ctx, chat.Message{Title: "⚠️ I could not post the approval request, so nothing was reset.",
			Text: "Check that the bot is in the approvals channel, then try again."})
	}
	s.audit(ctx, about(req, single(req), EventApproval, "asked", req.ApprovalReason))
	return reply.Reply(ctx, s.askedApprovalMessage(req))
}

// decide handles an approve or deny, typed or clicked, for one target or a list.
func (s *Service) decide(ctx context.Context, in chat.Incoming, me User, cmd Command) error {
	deny := cmd.Kind == CmdDeny
	verb := "approve"
	if deny {
		verb = "deny"
	}
	if deny && cmd.Reason == "" && in.Input != "" {
		// The reason typed in the card's box, held to the rules of a typed --reason. Typed in the
		// box and then Approve pressed, it is not a deny's and is left unread.
		reason, err := checkReason(in.Input)
		if err != nil {
			var ue *UsageError
			errors.As(err, &ue)
			return in.Reply.Reply(ctx, chat.Message{Title: "🤔 " + ue.Msg, Text: "Nothing was decided."})
		}
		cmd.Reason = reason
	}
	req, err := s.store.GetRequest(ctx, cmd.RequestID)
	if errors.Is(err, ErrNoSuchRequest) {
		s.audit(ctx, by(in.Actor, me.UPN, cmd.RequestID, EventRefused, "no_such_request", verb+" of an unknown request"))
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("🔎 There is no request %s.", cmd.RequestID)})
	}
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	refuse := func(why string) error {
		s.audit(ctx, by(in.Actor, me.UPN, req.ID, EventApproval, "refused", why).on(single(req)))
		return in.Reply.Reply(ctx, chat.Message{Title: "⛔ " + why})
	}
	if req.State == StatePending && !s.now().Before(req.ExpiresAt) {
		s.expire(ctx, req)
		return refuse(fmt.Sprintf("Request %s expired at %s; ask for a new one.", req.ID, s.clockFor(in.Actor, req.ExpiresAt)))
	}
	if req.State != StatePending {
		return refuse(s.alreadyDecided(req))
	}
	mine := strings.EqualFold(req.RequesterID, me.ID)
	if mine && deny {
		// The requester may withdraw their own request: that needs no entitlement.
		return s.deny(ctx, in, req, me, cmd.Reason, withdrawn)
	}
	if mine {
		return refuse("You can't approve your own request. Someone else who may reset " + targetsWords(req) + " must approve it.")
	}
	requester, err := s.dir.FindUser(ctx, req.RequesterID)
	if err != nil {
		s.lookupFailed(ctx, by(in.Actor, me.UPN, req.ID, EventRefused, "", ""), "look up the requester", err)
		return s.directoryTrouble(ctx, in, "look up the requester", err)
	}
	targets, why, err := s.lookupTargets(ctx, req)
	if err != nil {
		s.lookupFailed(ctx, by(in.Actor, me.UPN, req.ID, EventRefused, "", ""), "look up "+targetsWords(req), err)
		return s.directoryTrouble(ctx, in, "look up "+targetsWords(req), err)
	}
	if why != "" {
		return refuse(why)
	}
	for _, t := range targets {
		if d := s.cfg.Policy.MayDecide(me, requester, t, verb); d.Verdict != Allow {
			return refuse(strings.TrimSpace(d.Reason + " " + d.Remedy))
		}
	}
	if req.ApproverRole == approverAuditReader && s.cfg.Policy.MayReadAudit(me).Verdict != Allow {
		return refuse("Resets are held by the tenant-wide brake: only someone who may read the audit trail can " + verb + " them.")
	}
	if deny {
		return s.deny(ctx, in, req, me, cmd.Reason, denied)
	}
	// The requester is checked again too: their account or roles may have changed while the card
	// waited. A requester who may no longer reset a target ends the request.
	if !requester.Enabled {
		return s.deny(ctx, in, req, me, "the requester's account is disabled", noLongerAllowed)
	}
	for _, t := range targets {
		if d := s.cfg.Policy.Decide(requester, t); d.Verdict == Deny {
			return s.deny(ctx, in, req, me, "the requester may no longer reset "+t.Name()+": "+d.Reason, noLongerAllowed)
		}
	}
	ch := Change{ApproverKey: in.Actor.Key(), ApproverID: me.ID, ApproverUPN: me.UPN, ApproverName: me.Name(),
		ApprovalSeal: s.goAheadSeal(req, in.Actor, me.ID, "approved")}
	ok, err := s.store.Transition(ctx, req.ID, StatePending, StateApproved, ch, s.now())
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	if !ok {
		return refuse(s.alreadyDecided(s.reload(ctx, req)))
	}
	s.audit(ctx, by(in.Actor, me.UPN, req.ID, EventApproval, "approved", "").on(single(req)))
	req = s.reload(ctx, req)
	s.updateCard(ctx, req)
	_ = in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("👍 Approved %s; resetting %s now.", req.ID, targetsWords(req))})
	// The outcome goes to the requester by DM: they asked, and the password is theirs to pass on.
	fresh := freshUsers(s.now(), append(targets, requester, me)...)
	return s.runRequest(ctx, req.ID, fresh, nil)
}

// denial is why a pending request ends without a reset.
type denial int

const (
	denied          denial = iota // an approver said no
	withdrawn                     // its requester took it back
	noLongerAllowed               // approved, but the requester may no longer ask for it
)

// deny moves a pending request to denied, records it, updates the card and tells the requester.
func (s *Service) deny(ctx context.Context, in chat.Incoming, req *Request, me User, reason string, why denial) error {
	outcome := "denied by " + me.Name()
	switch why {
	case withdrawn:
		outcome = "withdrawn by " + me.Name()
	case noLongerAllowed:
		outcome = "no longer allowed"
	}
	if reason != "" {
		outcome += ": " + reason
	}
	ch := Change{ApproverKey: in.Actor.Key(), ApproverID: me.ID, ApproverUPN: me.UPN, ApproverName: me.Name(), Outcome: outcome}
	ok, err := s.store.Transition(ctx, req.ID, StatePending, StateDenied, ch, s.now())
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	if !ok {
		s.audit(ctx, by(in.Actor, me.UPN, req.ID, EventApproval, "refused", "already decided").on(single(req)))
		return in.Reply.Reply(ctx, chat.Message{Title: "⛔ " + s.alreadyDecided(s.reload(ctx, req))})
	}
	what := "denied"
	if why == withdrawn {
		what = "withdrawn"
	}
	s.audit(ctx, by(in.Actor, me.UPN, req.ID, EventApproval, what, reason).on(single(req)))
	req = s.reload(ctx, req)
	s.updateCard(ctx, req)
	switch why {
	case withdrawn:
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("You withdrew request %s; nothing was reset.", req.ID)})
	case noLongerAllowed:
		s.tellRequester(ctx, req, chat.Message{Title: fmt.Sprintf("⛔ Your request %s to reset %s was approved, but %s, so nothing was reset.", req.ID, targetsWords(req), reason)})
		return in.Reply.Reply(ctx, chat.Message{Title: "⛔ This reset is no longer allowed: " + reason + ".",
			Text: fmt.Sprintf("Request %s is now denied, and %s has been told.", req.ID, req.RequesterName)})
	}
	told := chat.Message{Title: fmt.Sprintf("⛔ %s denied your request %s to reset %s; nothing was reset.", me.Name(), req.ID, targetsWords(req)),
		Text: "They gave no reason; ask them if you need one."}
	if reason != "" {
		told.Text = "Their reason: " + reason
	}
	s.tellRequester(ctx, req, told)
	return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("Denied %s. %s has been told.", req.ID, req.RequesterName)})
}

// lookupTargets looks up again every target that takes part in a request. why is set when one no
// longer exists or is no longer the same person.
func (s *Service) lookupTargets(ctx context.Context, req *Request) (users []User, why string, err error) {
	var refs []string
	var ts []Target
	for _, t := range req.Targets {
		if t.Step != StepRefused {
			refs, ts = append(refs, t.ID), append(ts, t)
		}
	}
	found, errs, checked := s.lookupMany(ctx, refs, nil)
	if checked < len(refs) {
		return nil, "", ctx.Err()
	}
	for i, err := range errs {
		switch {
		case KindOf(err) == ErrNotFound:
			return nil, ts[i].UPN + " no longer exists in Entra.", nil
		case err != nil:
			return nil, "", err
		case !strings.EqualFold(found[i].ID, ts[i].ID):
			return nil, ts[i].UPN + " is no longer the same user.", nil
		}
	}
	return found, "", nil
}

// expireWaiting ends previews and approvals past their deadline; safe on several replicas at once.
func (s *Service) expireWaiting(ctx context.Context) {
	expired, err := s.store.ExpiredWaiting(ctx, s.now())
	if err != nil {
		s.log.Error("listing expired requests failed", "err", err)
		return
	}
	for _, req := range expired {
		s.expire(ctx, req)
	}
}

func (s *Service) expire(ctx context.Context, req *Request) {
	from := req.State
	ok, err := s.store.Transition(ctx, req.ID, from, StateExpired, Change{Outcome: "nobody went ahead in time"}, s.now())
	if err != nil || !ok {
		return
	}
	s.audit(ctx, about(req, single(req), EventExpired, "expired", ""))
	if from == StatePreview {
		return // the requester saw the preview's deadline; nothing was asked of anyone
	}
	if from == StateVerifying {
		s.verificationExpired(ctx, req)
		return
	}
	req = s.reload(ctx, req)
	s.updateCard(ctx, req)
	if single(req) == nil || req.Source != "" {
		s.tellRequester(ctx, req, chat.Message{Title: fmt.Sprintf("⌛ Nobody approved list %s (%s) in time, so nothing was reset.", req.ID, targetsWords(req)),
			Text: "Send the list again if it is still needed."})
		return
	}
	s.tellRequester(ctx, req, chat.Message{Title: fmt.Sprintf("⌛ Nobody approved request %s (reset %s) in time, so nothing was reset.", req.ID, targetsWords(req)),
		Text: "Ask again if it is still needed."})
}

func (s *Service) reload(ctx context.Context, req *Request) *Request {
	if r, err := s.store.GetRequest(ctx, req.ID); err == nil {
		return r
	}
	return req
}

// updateCard rewrites the approval card in place with the request's current state.
func (s *Service) updateCard(ctx context.Context, req *Request) {
	if req == nil || req.Card.IsZero() {
		return
	}
	pc, err := s.chat(req.Card.Platform)
	if err != nil {
		return
	}
	if err := pc.Update(ctx, req.Card, s.approvalCard(req)); err != nil {
		s.log.Error("updating the approval card failed", "request", req.ID, "err", err)
	}
}

func (s *Service) tellRequester(ctx context.Context, req *Request, m chat.Message) {
	pc, err := s.chat(req.Requester.Platform)
	if err != nil {
		return
	}
	if _, err := pc.DM(ctx, req.Requester, m); err != nil {
		s.log.Error("telling the requester failed", "request", req.ID, "err", err)
	}
}

// single is a request's one target, for records about a single reset; nil for a list.
func single(req *Request) *Target {
	if len(req.Targets) == 1 {
		return &req.Targets[0]
	}
	return nil
}
