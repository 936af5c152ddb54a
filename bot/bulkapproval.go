package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/resetbot/resetbot/chat"
)

// A list with more users than Config.ListApprovalAbove needs a second person, as one decision for
// the whole list: its requests are persisted pending under the list's ID, one card goes to the
// approvals channel, and approving moves every request pending → approved (compare-and-swap each) and
// runs the list. The approver must be entitled to reset every user on it.

// askListApproval persists the list as pending requests and posts one approval card for it.
func (s *Service) askListApproval(ctx context.Context, in chat.Incoming, me User, p *bulkPreview) error {
	now := s.now()
	expires := now.Add(s.cfg.ApprovalTTL)
	var reqs []*Request
	for _, t := range p.allowed {
		if d := s.listDecision(me, t.user); d.Verdict != Allow {
			continue // roles changed since the preview
		}
		req := &Request{State: StatePending, BatchID: p.id, Requester: in.Actor, RequesterID: me.ID, RequesterUPN: me.UPN,
			RequesterName: me.Name(), RequesterRoles: roleIDs(me.Roles), TargetID: t.user.ID, TargetUPN: t.user.UPN,
			TargetName: t.user.Name(), TargetRoles: roleIDs(t.user.Roles), Reason: t.reason,
			ApprovalReason: fmt.Sprintf("a list of %d users is more than %d", len(p.allowed), s.cfg.ListApprovalAbove),
			CreatedAt:      now, UpdatedAt: now, ExpiresAt: expires}
		if err := s.createRequest(ctx, req); err != nil {
			return s.unavailable(ctx, in, err)
		}
		reqs = append(reqs, req)
	}
	if len(reqs) == 0 {
		return in.Reply.Reply(ctx, chat.Message{Title: "Nothing left to reset on list " + p.id + "."})
	}
	pc, err := s.chat(in.Actor.Platform)
	var ref chat.MessageRef
	if err == nil {
		ref, err = pc.PostApproval(ctx, s.listCard(p.id, p.filename, reqs))
	}
	if err != nil {
		for _, r := range reqs {
			_, _ = s.store.Transition(ctx, r.ID, StatePending, StateFailed, Change{Outcome: "the approval card could not be posted"}, s.now())
		}
		return in.Reply.Reply(ctx, chat.Message{Title: "⚠️ I could not post the approval request, so nothing was reset.",
			Text: "Check that the bot is in the approvals channel, then send the list again."})
	}
	for _, r := range reqs {
		_, _ = s.store.Transition(ctx, r.ID, StatePending, StatePending, Change{Card: &ref}, s.now())
	}
	s.audit(ctx, &AuditRecord{RequestID: p.id, Event: EventApproval, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(),
		ActorUPN: me.UPN, Outcome: "asked", Detail: fmt.Sprintf("%s: %d users", p.filename, len(reqs))})
	return in.Reply.Reply(ctx, chat.Message{
		Title: fmt.Sprintf("🕐 A list of %d users needs a second person. I asked %s (list %s, expires %s).",
			len(reqs), s.cfg.ApprovalsChannel, p.id, s.clock(expires)),
		Text: "You'll get the progress and the results by DM once it is approved.",
	})
}

// listCard is a list's approval card in each state of its life.
func (s *Service) listCard(id, filename string, reqs []*Request) chat.Message {
	first := reqs[0]
	requester := first.RequesterName
	if len(first.RequesterRoles) > 0 {
		requester += " (" + roleList(first.RequesterRoles) + ")"
	}
	var names []string
	for i, r := range reqs {
		if i == 10 {
			names = append(names, fmt.Sprintf("… and %d more", len(reqs)-10))
			break
		}
		names = append(names, r.TargetUPN)
	}
	m := chat.Message{
		Title: fmt.Sprintf("📋 Password reset list needs approval — %s", id),
		Fields: []chat.Field{
			{Label: "Requested by", Value: requester},
			{Label: "List", Value: fmt.Sprintf("%s · %d users without admin roles", strings.TrimPrefix(filename, "the list "), len(reqs))},
			{Label: "Users", Value: strings.Join(names, ", ")},
			{Label: "Why approval", Value: first.ApprovalReason},
			{Label: "Expires", Value: s.clock(first.ExpiresAt)},
		},
	}
	switch first.State {
	case StatePending:
		m.Buttons = []chat.Button{
			{Label: "Approve", Action: chat.ActionApprove, RequestID: id, Primary: true,
				Confirm: fmt.Sprintf("Reset %d passwords now? The temporary passwords go to %s by DM.", len(reqs), first.RequesterName)},
			{Label: "Deny", Action: chat.ActionDeny, RequestID: id, Danger: true},
		}
		m.Footer = "Approvers must be entitled to reset every user on the list, and may not be the requester."
	case StateExpired:
		m.Title = fmt.Sprintf("⌛ Expired at %s: nobody approved list %s in time", s.clock(first.ExpiresAt), id)
	case StateDenied:
		m.Title = fmt.Sprintf("⛔ %s · list %s", capitalize(first.Outcome), id)
	default:
		m.Title = fmt.Sprintf("✅ Approved by %s at %s · list %s", first.ApproverName, s.clock(first.UpdatedAt), id)
	}
	return m
}

// decideList approves or denies a whole list.
func (s *Service) decideList(ctx context.Context, in chat.Incoming, me User, cmd Command) error {
	reqs, err := s.store.BatchRequests(ctx, cmd.RequestID)
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	var pending []*Request
	for _, r := range reqs {
		if r.State == StatePending {
			pending = append(pending, r)
		}
	}
	if len(reqs) == 0 {
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("🔎 There is no list %s.", cmd.RequestID)})
	}
	first := reqs[0]
	if len(pending) == 0 {
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("⛔ List %s was already decided: %s.", cmd.RequestID, stateWords(first.State))})
	}
	if !s.now().Before(first.ExpiresAt) {
		s.expireList(ctx, cmd.RequestID, pending)
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("⛔ List %s expired at %s; ask for a new one.", cmd.RequestID, s.clock(first.ExpiresAt))})
	}
	if me.ID == first.RequesterID {
		return in.Reply.Reply(ctx, chat.Message{Title: "⛔ You can't approve your own request.", Text: "Someone else who may reset these users must approve it."})
	}
	if cmd.Kind == CmdApprove {
		if why := s.mayApproveAll(ctx, me, first.RequesterID, pending); why != "" {
			s.audit(ctx, &AuditRecord{RequestID: cmd.RequestID, Event: EventApproval, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(),
				ActorUPN: me.UPN, Outcome: "refused", Detail: why})
			return in.Reply.Reply(ctx, chat.Message{Title: "⛔ " + why})
		}
	}
	to, outcome := StateApproved, "approved by "+me.Name()
	if cmd.Kind == CmdDeny {
		to, outcome = StateDenied, "denied by "+me.Name()
		if cmd.Reason != "" {
			outcome += ": " + cmd.Reason
		}
	}
	ch := Change{ApproverKey: in.Actor.Key(), ApproverUPN: me.UPN, ApproverName: me.Name(), Outcome: outcome}
	var moved []*batchItem
	for _, r := range pending {
		if ok, err := s.store.Transition(ctx, r.ID, StatePending, to, ch, s.now()); err == nil && ok {
			moved = append(moved, &batchItem{req: r})
		}
	}
	if len(moved) == 0 {
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("⛔ List %s was already decided.", cmd.RequestID)})
	}
	s.audit(ctx, &AuditRecord{RequestID: cmd.RequestID, Event: EventApproval, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(),
		ActorUPN: me.UPN, Outcome: string(to), Detail: fmt.Sprintf("%d users", len(moved))})
	s.updateListCard(ctx, cmd.RequestID)
	if to == StateDenied {
		s.tellRequester(ctx, first, chat.Message{Title: fmt.Sprintf("⛔ %s denied your list %s; nothing was reset.", me.Name(), cmd.RequestID), Text: cmd.Reason})
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("Denied list %s. %s has been told.", cmd.RequestID, first.RequesterName)})
	}
	_ = in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("👍 Approved list %s; resetting %d users now.", cmd.RequestID, len(moved))})
	s.runBatch(ctx, first.Requester, cmd.RequestID, "list "+cmd.RequestID, moved, nil)
	return nil
}

// mayApproveAll re-reads the requester and every target and checks the approver may reset each.
func (s *Service) mayApproveAll(ctx context.Context, approver User, requesterID string, reqs []*Request) string {
	requester, err := s.dir.FindUser(ctx, requesterID)
	if err != nil {
		return "I could not look up the requester: " + resetFailureWords(asDirectoryError(err))
	}
	var (
		mu  sync.Mutex
		why string
		wg  sync.WaitGroup
		sem = make(chan struct{}, bulkConcurrency)
	)
	for _, r := range reqs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			target, err := s.dir.FindUser(ctx, r.TargetID)
			var problem string
			if err != nil {
				problem = fmt.Sprintf("I could not look up %s: %s", r.TargetUPN, resetFailureWords(asDirectoryError(err)))
			} else if d := s.cfg.Policy.MayApprove(approver, requester, target); d.Verdict != Allow {
				problem = d.Reason
			}
			if problem != "" {
				mu.Lock()
				if why == "" {
					why = problem
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return why
}

func (s *Service) updateListCard(ctx context.Context, id string) {
	reqs, err := s.store.BatchRequests(ctx, id)
	if err != nil || len(reqs) == 0 || reqs[0].Card.IsZero() {
		return
	}
	pc, err := s.chat(reqs[0].Card.Platform)
	if err != nil {
		return
	}
	if err := pc.Update(ctx, reqs[0].Card, s.listCard(id, "list "+id, reqs)); err != nil {
		s.log.Error("updating the list's approval card failed", "list", id, "err", err)
	}
}

// expireList expires a list's pending requests together: one card update, one message.
func (s *Service) expireList(ctx context.Context, id string, pending []*Request) {
	n := 0
	for _, r := range pending {
		if ok, _ := s.store.Transition(ctx, r.ID, StatePending, StateExpired, Change{Outcome: "nobody approved it in time"}, s.now()); ok {
			n++
		}
	}
	if n == 0 {
		return
	}
	first := pending[0]
	s.audit(ctx, &AuditRecord{RequestID: id, Event: EventExpired, Platform: first.Requester.Platform, ActorKey: first.Requester.Key(),
		ActorUPN: first.RequesterUPN, Outcome: "expired", Detail: fmt.Sprintf("%d users", n)})
	s.updateListCard(ctx, id)
	s.tellRequester(ctx, first, chat.Message{Title: fmt.Sprintf("⌛ Nobody approved list %s in time, so nothing was reset.", id),
		Text: "Send the list again if it is still needed."})
}
