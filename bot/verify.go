package bot

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/resetbot/resetbot/chat"
)

// Verifying the caller before the write. The agent is on the phone with someone who says they are
// the user; before Graph is called, the bot can check it two ways:
//
//   - chat: the user gets three two-digit numbers in their own chat; the agent reads the right one
//     to the caller, and the caller taps it. It proves the caller holds the user's chat account
//     (often still signed in on a phone when the laptop is locked out).
//   - manager: the user's manager gets a card in their chat asking whether the caller is the user.
//
// The agent may instead say how they verified the caller (--verified TEXT: recorded as the agent's
// word, not the bot's), or skip it where RESETBOT_VERIFY=offer. Under require no reset happens until
// the bot itself verified the caller. A request waiting for its verification is "verifying"; the
// answer is accepted only from the chat account it was sent to (the numbers) or from the manager
// (the card), once, before the deadline, and the outcome is sealed into the request so that a row
// written into the store verifies nobody.

// verifyModeFor is how much verification is asked for before resetting target.
func (s *Service) verifyModeFor(target User) VerifyMode {
	if s.cfg.VerifyPrivileged != "" && privilegedFacts(target) != "" {
		return s.cfg.VerifyPrivileged
	}
	return s.cfg.Verify
}

// callerSeal authenticates a request's caller verification.
func (s *Service) callerSeal(id string, c Caller) string {
	return s.approvMAC.Sum(id, "caller", string(c.Credential), string(c.Assurance), c.Detail)
}

// verifiedEnough is checked at the moment of the write: where the bot must verify the caller, the
// request's assurance must be the bot's own, and sealed by resetbot. "" means go ahead.
func (s *Service) verifiedEnough(req *Request, target User) string {
	c := req.Caller
	if c.Assurance != "" && (c.Seal == "" || !s.approvMAC.Verify(c.Seal, req.ID, "caller", string(c.Credential), string(c.Assurance), c.Detail)) {
		return "its caller verification in the store was not written by resetbot"
	}
	if s.verifyModeFor(target) != VerifyRequire {
		return ""
	}
	if !req.Single() {
		if req.ApproverID == "" {
			return "caller verification is required for " + target.Name() + ", and a list has no caller: it needs a second person's approval"
		}
		return ""
	}
	if !c.Assurance.ByTheBot() {
		return "caller verification is required, and the bot did not verify the caller"
	}
	return ""
}

// callerPlan is how the caller of a new single request is to be verified.
type callerPlan struct {
	assurance Assurance // known now: the agent's word, a skip, none
	detail    string
	method    string // to start now: chat or manager
	choose    bool   // the agent must still choose (require, and no --verify given)
}

// planCaller reads the command against the deployment's verification mode. A refusal comes back as
// a message: nothing is persisted.
func (s *Service) planCaller(cmd Command, target User, platform chat.Platform) (callerPlan, *chat.Message) {
	mode := s.verifyModeFor(target)
	word := s.words(platform).Reset
	switch {
	case cmd.Verified != "" && mode == VerifyRequire:
		return callerPlan{}, &chat.Message{Title: "⛔ Here the bot itself must verify the caller before a reset of " + target.Name() + ": your own check is not enough.",
			Text: fmt.Sprintf("Ask again with `--verify chat` (numbers in their chat) or `--verify manager` (their manager confirms): %s %s --verify chat", word, target.UPN)}
	case cmd.Verified != "":
		return callerPlan{assurance: AssuranceAgent, detail: cmd.Verified}, nil
	case cmd.Choice == VerifySkip && mode == VerifyRequire:
		return callerPlan{}, &chat.Message{Title: "⛔ Caller verification can't be skipped here for " + target.Name() + ".",
			Text: fmt.Sprintf("Ask again with `--verify chat` or `--verify manager`: %s %s --verify chat", word, target.UPN)}
	case cmd.Choice == VerifySkip:
		return callerPlan{assurance: AssuranceSkipped}, nil
	case cmd.Choice != "" && mode == VerifyOff:
		return callerPlan{}, &chat.Message{Title: "⛔ Caller verification is turned off here (RESETBOT_VERIFY=off), so I can't check the caller for you.",
			Text: "Verify them by your usual procedure and ask again with `--verified \"how\"`, or ask the resetbot admin to turn verification on."}
	case cmd.Choice != "":
		return callerPlan{method: cmd.Choice}, nil
	case mode == VerifyRequire:
		return callerPlan{choose: true}, nil
	case mode == VerifyOffer:
		return callerPlan{assurance: AssuranceSkipped}, nil
	}
	return callerPlan{assurance: AssuranceNone}, nil
}

// waitForVerification persists a request that waits for its caller's verification and starts it,
// or asks the agent to choose how.
func (s *Service) waitForVerification(ctx context.Context, in chat.Incoming, req *Request, plan callerPlan, target User) error {
	req.State, req.ExpiresAt = StateVerifying, s.now().Add(s.cfg.VerifyTTL)
	req.Seal = s.requestSeal(req)
	if err := s.createRequest(ctx, req); err != nil {
		return s.unavailable(ctx, in, err)
	}
	if plan.choose {
		return in.Reply.Reply(ctx, s.verifyChoice(ctx, req, target, ""))
	}
	return s.startVerification(ctx, in.Reply, req, plan.method, target)
}

// verifyChoice asks the agent how to verify the caller, saying which ways can work for this user.
func (s *Service) verifyChoice(ctx context.Context, req *Request, target User, why string) chat.Message {
	m := chat.Message{
		Title:  fmt.Sprintf("📞 Verify the caller before I %s %s.", credentialVerb(req.Caller.Credential), target.Name()),
		Footer: fmt.Sprintf("Request %s · waits until %s", req.ID, s.clockFor(req.Requester, req.ExpiresAt)),
	}
	if why != "" {
		m.Title = "⚠️ " + why
	}
	var lines []string
	if acct, _, err := s.reach(ctx, req.Requester.Platform, target); err != nil {
		lines = append(lines, "Chat: "+unreachableWords(target, err)+".")
	} else if !s.vouched(ctx, acct, target.ID) {
		lines = append(lines, "Chat: "+target.Name()+"'s "+platformName(acct.Platform)+" account is not linked to their Entra account, so a tap there would prove nothing.")
	} else {
		lines = append(lines, "Chat: I send "+target.Name()+" three numbers in "+platformName(acct.Platform)+"; you read them the right one.")
		m.Buttons = append(m.Buttons, chat.Button{Label: "📱 Numbers in their chat", Action: chat.ActionVerify, RequestID: req.ID + ":" + VerifyByChat, Primary: true})
	}
	if mgr, err := s.managerOf(ctx, req, target); err != nil {
		lines = append(lines, "Manager: "+err.Error()+".")
	} else {
		lines = append(lines, "Manager: I ask "+mgr.Name()+" to confirm it is "+target.Name()+".")
		m.Buttons = append(m.Buttons, chat.Button{Label: "👤 Ask their manager", Action: chat.ActionVerify, RequestID: req.ID + ":" + VerifyByManager})
	}
	if s.verifyModeFor(target) != VerifyRequire {
		m.Buttons = append(m.Buttons, chat.Button{Label: "Skip", Action: chat.ActionVerify, RequestID: req.ID + ":" + VerifySkip})
	}
	if len(m.Buttons) == 0 {
		lines = append(lines, "Neither works for "+target.Name()+", and verification is required: nothing will be reset. Follow your organisation's procedure for users who can't be verified here.")
	}
	lines = append(lines, fmt.Sprintf("Typed: %s %s chat · manager%s", "verify", req.ID, map[bool]string{true: "", false: " · skip"}[s.verifyModeFor(target) == VerifyRequire]))
	m.Text = strings.Join(lines, "\n\n")
	return m
}

// startVerification sends the numbers or the manager's card, records where they went, and tells the
// agent what to do. A way that cannot work leaves the request waiting, with the choice shown again.
func (s *Service) startVerification(ctx context.Context, reply chat.Replier, req *Request, method string, target User) error {
	switch method {
	case VerifyByChat:
		return s.startChatVerification(ctx, reply, req, target)
	case VerifyByManager:
		return s.startManagerVerification(ctx, reply, req, target)
	}
	return fmt.Errorf("unknown verification %q", method)
}

func (s *Service) startChatVerification(ctx context.Context, reply chat.Replier, req *Request, target User) error {
	acct, pc, err := s.reach(ctx, req.Requester.Platform, target)
	if err == nil && !s.vouched(ctx, acct, target.ID) {
		err = fmt.Errorf("%w: %s's %s account is not linked to their Entra account, so a tap there would prove nothing", chat.ErrUnreachable, target.Name(), platformName(acct.Platform))
	}
	if err != nil {
		s.audit(ctx, s.verifyRecord(req, "unavailable", "chat: "+unreachableWords(target, err)))
		return reply.Reply(ctx, s.verifyChoice(ctx, req, target, "I can't verify "+target.Name()+" in chat: "+unreachableWords(target, err)+"."))
	}
	numbers, right := threeNumbers()
	m := chat.Message{
		Title: "📞 Are you on the phone with the helpdesk?",
		Text: fmt.Sprintf("%s at the helpdesk is asking to %s for you. If you are talking to them now, tap the number they read you.\n\nIf you are not, tap *I'm not on a call*: security will be told.",
			req.RequesterName, credentialPhrase(req.Caller.Credential)),
		Footer: fmt.Sprintf("Request %s · until %s", req.ID, s.clockFor(acct, req.ExpiresAt)),
	}
	for _, n := range numbers {
		m.Buttons = append(m.Buttons, chat.Button{Label: n, Action: chat.ActionPick, RequestID: req.ID + ":" + n})
	}
	m.Buttons = append(m.Buttons, chat.Button{Label: "I'm not on a call", Action: chat.ActionPick, RequestID: req.ID + ":" + pickNone, Danger: true})
	ref, err := pc.DM(ctx, acct, m)
	if err != nil {
		s.audit(ctx, s.verifyRecord(req, "unavailable", "chat: the numbers could not be sent: "+err.Error()))
		return reply.Reply(ctx, s.verifyChoice(ctx, req, target, "I could not send "+target.Name()+" the numbers in "+platformName(acct.Platform)+"."))
	}
	c := req.Caller
	c.Method, c.Answer, c.Asked, c.AskedID, c.Card = VerifyByChat, s.answerMAC(req.ID, right), acct.Key(), target.ID, ref
	if ok, err := s.store.Transition(ctx, req.ID, StateVerifying, StateVerifying, Change{Caller: &c}, s.now()); err != nil || !ok {
		_ = pc.Update(ctx, ref, chat.Message{Title: "This check was cancelled.", Footer: "Request " + req.ID})
		if err != nil {
			return s.unavailable(ctx, chat.Incoming{Reply: reply}, err)
		}
		return reply.Reply(ctx, chat.Message{Title: "⛔ " + s.alreadyDecided(s.reload(ctx, req))})
	}
	s.audit(ctx, s.verifyRecord(req, "asked", "chat: three numbers sent to the user in "+platformName(acct.Platform)))
	return reply.Reply(ctx, chat.Message{
		Title: fmt.Sprintf("📞 Read %s this number: %s", target.Name(), right),
		Text: fmt.Sprintf("I sent %s three numbers in %s. When they tap %s, I %s %s and the %s comes to you. If they can't, nothing happens.",
			target.Name(), platformName(acct.Platform), right, credentialVerb(req.Caller.Credential), firstName(target), req.Caller.Credential.Words()),
		Footer: fmt.Sprintf("Request %s · until %s", req.ID, s.clockFor(req.Requester, req.ExpiresAt)),
	})
}

func (s *Service) startManagerVerification(ctx context.Context, reply chat.Replier, req *Request, target User) error {
	mgr, err := s.managerOf(ctx, req, target)
	if err != nil {
		s.audit(ctx, s.verifyRecord(req, "unavailable", "manager: "+err.Error()))
		return reply.Reply(ctx, s.verifyChoice(ctx, req, target, "I can't ask "+target.Name()+"'s manager: "+err.Error()+"."))
	}
	acct, pc, err := s.reach(ctx, req.Requester.Platform, mgr)
	if err == nil {
		var ref chat.MessageRef
		ref, err = pc.DM(ctx, acct, chat.Message{
			Title: fmt.Sprintf("👤 Is this %s asking?", target.Name()),
			Text: fmt.Sprintf("%s at the helpdesk is on a call with someone who says they are %s (%s), who reports to you, and asks to %s for them.\n\nConfirm only if you know it is them: you can see or hear them, or they came to you.",
				req.RequesterName, target.Name(), target.UPN, credentialPhrase(req.Caller.Credential)),
			Buttons: []chat.Button{
				{Label: "Yes, it is " + firstName(target), Action: chat.ActionConfirm, RequestID: req.ID, Primary: true},
				{Label: "No, or I can't tell", Action: chat.ActionDispute, RequestID: req.ID, Danger: true},
			},
			Footer: fmt.Sprintf("Request %s · until %s", req.ID, s.clockFor(acct, req.ExpiresAt)),
		})
		if err == nil {
			c := req.Caller
			c.Method, c.Answer, c.Asked, c.AskedID, c.Card = VerifyByManager, "", acct.Key(), mgr.ID, ref
			ok, terr := s.store.Transition(ctx, req.ID, StateVerifying, StateVerifying, Change{Caller: &c}, s.now())
			if terr != nil {
				return s.unavailable(ctx, chat.Incoming{Reply: reply}, terr)
			}
			if !ok {
				_ = pc.Update(ctx, ref, chat.Message{Title: "This question was cancelled.", Footer: "Request " + req.ID})
				return reply.Reply(ctx, chat.Message{Title: "⛔ " + s.alreadyDecided(s.reload(ctx, req))})
			}
		}
	}
	if err != nil {
		s.audit(ctx, s.verifyRecord(req, "unavailable", "manager: "+unreachableWords(mgr, err)))
		return reply.Reply(ctx, s.verifyChoice(ctx, req, target, "I can't reach "+target.Name()+"'s manager, "+mgr.Name()+", in chat."))
	}
	s.audit(ctx, s.verifyRecord(req, "asked", "manager: "+mgr.UPN+" asked in "+platformName(acct.Platform)))
	return reply.Reply(ctx, chat.Message{
		Title: fmt.Sprintf("👤 I asked %s, %s's manager, to confirm it is them.", mgr.Name(), target.Name()),
		Text: fmt.Sprintf("When %s confirms, I %s %s and the %s comes to you. Until %s; if they say no, nothing happens.",
			firstName(mgr), credentialVerb(req.Caller.Credential), target.Name(), req.Caller.Credential.Words(), s.clockFor(req.Requester, req.ExpiresAt)),
		Footer: "Request " + req.ID,
	})
}

// managerOf is the target's manager as Entra says now, if they can vouch: enabled, and not the
// agent asking.
func (s *Service) managerOf(ctx context.Context, req *Request, target User) (User, error) {
	if target.ManagerID == "" {
		return User{}, errors.New(target.Name() + " has no manager in Entra")
	}
	mgr, err := s.dir.FindUser(ctx, target.ManagerID)
	switch {
	case err != nil:
		return User{}, fmt.Errorf("their manager could not be looked up (%s)", failureWords(asDirectoryError(err)))
	case strings.EqualFold(mgr.ID, req.RequesterID):
		return User{}, errors.New("you are their manager, and the one asking can't also vouch")
	case !mgr.Enabled:
		return User{}, errors.New("their manager's account is disabled")
	}
	return mgr, nil
}

// verify handles the agent's choice of how to verify (typed or clicked).
func (s *Service) verify(ctx context.Context, in chat.Incoming, me User, cmd Command) error {
	req, err := s.waiting(ctx, in, me, cmd.RequestID, "verify")
	if err != nil || req == nil {
		return err
	}
	if !strings.EqualFold(req.RequesterID, me.ID) {
		s.audit(ctx, by(in.Actor, me.UPN, req.ID, EventVerify, "refused", "only the requester chooses how to verify the caller").on(single(req)))
		return in.Reply.Reply(ctx, chat.Message{Title: "⛔ Only " + req.RequesterName + ", who asked, chooses how the caller is verified."})
	}
	if req.Caller.Method != "" {
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("⏳ The %s check of request %s is under way; it ends at %s.", req.Caller.Method, req.ID, s.clockFor(in.Actor, req.ExpiresAt))})
	}
	target, err := s.dir.FindUser(ctx, req.Targets[0].ID)
	if err != nil {
		return s.directoryTrouble(ctx, in, "look up "+req.Targets[0].UPN, err)
	}
	if cmd.Choice == VerifySkip {
		if s.verifyModeFor(target) == VerifyRequire {
			return in.Reply.Reply(ctx, s.verifyChoice(ctx, req, target, "Caller verification can't be skipped for "+target.Name()+"."))
		}
		return s.verified(ctx, req, AssuranceSkipped, "")
	}
	return s.startVerification(ctx, in.Reply, req, cmd.Choice, target)
}

// pick handles the user tapping (or typing) a number. It is answered without mapping the chat
// account to Entra: the numbers went to one chat account, and only that account may answer.
func (s *Service) pick(ctx context.Context, in chat.Incoming, cmd Command) error {
	req, err := s.pickFor(ctx, in.Actor, cmd.RequestID)
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	if req == nil {
		s.audit(ctx, by(in.Actor, "", cmd.RequestID, EventVerify, "refused", "a number picked with no check waiting for this chat account"))
		return in.Reply.Reply(ctx, chat.Message{Title: "🤔 There is no check waiting for you. If someone asked you to pick a number, it may have expired or been answered."})
	}
	c := req.Caller
	if c.Method != VerifyByChat || !strings.EqualFold(c.Asked, in.Actor.Key()) {
		s.audit(ctx, by(in.Actor, "", req.ID, EventVerify, "refused", "a number picked by someone the numbers were not sent to").on(single(req)))
		return in.Reply.Reply(ctx, chat.Message{Title: "⛔ These numbers were not sent to you, so your answer does not count."})
	}
	if req.State != StateVerifying {
		return in.Reply.Reply(ctx, chat.Message{Title: "This check is over: " + stateWords(req.State) + "."})
	}
	if !s.now().Before(req.ExpiresAt) {
		s.expire(ctx, req)
		return in.Reply.Reply(ctx, chat.Message{Title: "⌛ This check expired at " + s.clockFor(in.Actor, req.ExpiresAt) + "; nothing was changed."})
	}
	pc, _ := s.chat(in.Actor.Platform)
	answered := func(m chat.Message) {
		if pc != nil && !c.Card.IsZero() {
			m.Footer = "Request " + req.ID
			_ = pc.Update(ctx, c.Card, m)
		}
	}
	switch {
	case cmd.Choice == pickNone:
		answered(chat.Message{Title: "🚨 You said you are not on a call with the helpdesk. Nothing was changed, and security has been told."})
		return s.notVerified(ctx, in, req, "the user said they are not on a call with the helpdesk", true)
	case !s.approvMAC.Verify(c.Answer, req.ID, "number", cmd.Choice):
		answered(chat.Message{Title: "❌ That is not the number the helpdesk has, so nothing was changed."})
		return s.notVerified(ctx, in, req, "the user picked "+cmd.Choice+", not the number the agent read", false)
	}
	answered(chat.Message{Title: "✅ Thank you: that is the number. The helpdesk can go ahead."})
	if err := in.Reply.Reply(ctx, chat.Message{Title: "✅ Thanks, that is right."}); err != nil {
		s.log.Info("answering a pick failed", "err", err)
	}
	return s.verified(ctx, req, AssuranceChat, "the user picked the right number in "+platformName(in.Actor.Platform))
}

// pickNone is the choice of the "I'm not on a call" button.
const pickNone = "no"

// pickFor finds the chat verification an answer is for: the one named, or the one waiting for this
// chat account.
func (s *Service) pickFor(ctx context.Context, actor chat.Actor, id string) (*Request, error) {
	if id != "" {
		req, err := s.store.GetRequest(ctx, id)
		if errors.Is(err, ErrNoSuchRequest) {
			return nil, nil
		}
		return req, err
	}
	waiting, err := s.store.InState(ctx, StateVerifying, 500)
	if err != nil {
		return nil, err
	}
	for _, r := range waiting {
		if r.Caller.Method == VerifyByChat && strings.EqualFold(r.Caller.Asked, actor.Key()) {
			return r, nil
		}
	}
	return nil, nil
}

// vouch handles the manager's answer.
func (s *Service) vouch(ctx context.Context, in chat.Incoming, me User, cmd Command) error {
	yes := cmd.Kind == CmdConfirm
	req, err := s.waiting(ctx, in, me, cmd.RequestID, "answer")
	if err != nil || req == nil {
		return err
	}
	c := req.Caller
	if c.Method != VerifyByManager || !strings.EqualFold(c.AskedID, me.ID) {
		s.audit(ctx, by(in.Actor, me.UPN, req.ID, EventVerify, "refused", "an answer from someone the question was not put to").on(single(req)))
		return in.Reply.Reply(ctx, chat.Message{Title: "⛔ This question was put to someone else; your answer does not count."})
	}
	if strings.EqualFold(me.ID, req.RequesterID) {
		return in.Reply.Reply(ctx, chat.Message{Title: "⛔ You asked for this reset, so you can't also vouch for the caller."})
	}
	pc, _ := s.chat(in.Actor.Platform)
	if pc != nil && !c.Card.IsZero() {
		title := "✅ You confirmed it is " + req.Targets[0].Name + ". Thank you."
		if !yes {
			title = "🚨 You said it is not " + req.Targets[0].Name + ", or you can't tell. Nothing was changed, and security has been told."
		}
		_ = pc.Update(ctx, c.Card, chat.Message{Title: title, Footer: "Request " + req.ID})
	}
	if !yes {
		return s.notVerified(ctx, in, req, "the manager, "+me.UPN+", did not confirm the caller is the user", true)
	}
	_ = in.Reply.Reply(ctx, chat.Message{Title: "✅ Thank you: the helpdesk can go ahead."})
	return s.verified(ctx, req, AssuranceManager, "confirmed by the manager, "+me.UPN)
}

// waiting loads a request that should be waiting for its verification, answering the person when
// it is not. A nil request with a nil error means they were answered.
func (s *Service) waiting(ctx context.Context, in chat.Incoming, me User, id, verb string) (*Request, error) {
	req, err := s.store.GetRequest(ctx, id)
	if errors.Is(err, ErrNoSuchRequest) {
		s.audit(ctx, by(in.Actor, me.UPN, id, EventRefused, "no_such_request", verb+" of an unknown request"))
		return nil, in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("🔎 There is no request %s.", id)})
	}
	if err != nil {
		return nil, s.unavailable(ctx, in, err)
	}
	if req.State != StateVerifying {
		return nil, in.Reply.Reply(ctx, chat.Message{Title: "This check is over: " + s.alreadyDecided(req)})
	}
	if !s.now().Before(req.ExpiresAt) {
		s.expire(ctx, req)
		return nil, in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("⌛ Request %s expired at %s; nothing was changed.", req.ID, s.clockFor(in.Actor, req.ExpiresAt))})
	}
	return req, nil
}

// verified records how the caller was verified and lets the request go on: to its approval where
// one is needed, else to its reset, run now.
func (s *Service) verified(ctx context.Context, req *Request, a Assurance, detail string) error {
	c := req.Caller
	c.Assurance, c.Detail, c.Answer = a, detail, ""
	c.Seal = s.callerSeal(req.ID, c)
	req.Caller = c
	if req.ApprovalReason != "" {
		ok, err := s.store.Transition(ctx, req.ID, StateVerifying, StatePending, Change{Caller: &c, ExpiresAt: s.now().Add(s.cfg.ApprovalTTL)}, s.now())
		if err != nil || !ok {
			return err
		}
		s.audit(ctx, s.verifyRecord(req, string(a), detail))
		req = s.reload(ctx, req)
		return s.askApproval(ctx, s.requesterReplier(req), req)
	}
	ok, err := s.store.Transition(ctx, req.ID, StateVerifying, StateApproved,
		Change{Caller: &c, ApprovalSeal: s.goAheadSeal(req, req.Requester, req.RequesterID, "go")}, s.now())
	if err != nil || !ok {
		return err
	}
	s.audit(ctx, s.verifyRecord(req, string(a), detail))
	if a.ByTheBot() {
		s.tellRequester(ctx, req, chat.Message{Title: fmt.Sprintf("✅ %s: %s %s now.", capitalize(a.Words()), credentialGerund(c.Credential), req.Targets[0].Name),
			Footer: "Request " + req.ID})
	}
	return s.runRequest(ctx, req.ID, nil, nil)
}

// notVerified ends a request whose caller was not verified; alarm tells security too.
func (s *Service) notVerified(ctx context.Context, in chat.Incoming, req *Request, why string, alarm bool) error {
	ok, err := s.store.Transition(ctx, req.ID, StateVerifying, StateDenied, Change{Outcome: "the caller was not verified: " + why}, s.now())
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	if !ok {
		return in.Reply.Reply(ctx, chat.Message{Title: "This check is over: " + s.alreadyDecided(s.reload(ctx, req))})
	}
	s.audit(ctx, s.verifyRecord(req, "failed", why))
	if alarm {
		s.alert(ctx, req, fmt.Sprintf("🚨 Caller verification failed for request %s: %s asked to %s for %s, and %s. Nothing was changed.",
			req.ID, req.RequesterUPN, credentialPhrase(req.Caller.Credential), req.Targets[0].UPN, why))
	}
	s.tellRequester(ctx, req, chat.Message{Title: fmt.Sprintf("⛔ The caller was not verified (%s), so I did not %s %s.", why, credentialVerb(req.Caller.Credential), req.Targets[0].Name),
		Text: "If the caller is who they say, verify them another way and ask again.", Footer: "Request " + req.ID})
	return nil
}

// verificationExpired tells the agent, and whoever was asked, that a check ran out of time.
func (s *Service) verificationExpired(ctx context.Context, req *Request) {
	c := req.Caller
	if !c.Card.IsZero() {
		if pc, err := s.chat(c.Card.Platform); err == nil {
			_ = pc.Update(ctx, c.Card, chat.Message{Title: "⌛ This check has expired; nothing was changed.", Footer: "Request " + req.ID})
		}
	}
	s.tellRequester(ctx, req, chat.Message{
		Title: fmt.Sprintf("⌛ The caller was not verified in time, so I did not %s %s.", credentialVerb(req.Caller.Credential), targetsWords(req)),
		Text:  "Ask again if it is still needed.", Footer: "Request " + req.ID})
}

// verifyRecord is the trail's record of a verification step.
func (s *Service) verifyRecord(req *Request, outcome, detail string) *AuditRecord {
	rec := about(req, single(req), EventVerify, outcome, detail)
	if a := Assurance(outcome); a == AssuranceChat || a == AssuranceManager || a == AssuranceAgent || a == AssuranceSkipped {
		rec.Assurance = a
	}
	return rec
}

// requesterReplier answers the requester by DM: for steps that happen after they stopped waiting.
func (s *Service) requesterReplier(req *Request) chat.Replier {
	return chat.ReplierFunc(func(ctx context.Context, m chat.Message) error {
		pc, err := s.chat(req.Requester.Platform)
		if err != nil {
			return err
		}
		_, err = pc.DM(ctx, req.Requester, m)
		return err
	})
}

// answerMAC authenticates the right number without keeping it.
func (s *Service) answerMAC(id, n string) string { return s.approvMAC.Sum(id, "number", n) }

// threeNumbers are three different two-digit numbers in random order, and the one the agent reads.
func threeNumbers() (numbers []string, right string) {
	seen := map[int64]bool{}
	for len(numbers) < 3 {
		n, err := rand.Int(rand.Reader, big.NewInt(90))
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		if v := n.Int64() + 10; !seen[v] {
			seen[v] = true
			numbers = append(numbers, fmt.Sprint(v))
		}
	}
	i, _ := rand.Int(rand.Reader, big.NewInt(3))
	return numbers, numbers[i.Int64()]
}

// reach finds the person's own chat account, on the requester's platform first, then on the others.
func (s *Service) reach(ctx context.Context, first chat.Platform, u User) (chat.Actor, chat.Chat, error) {
	s.mu.RLock()
	order := []chat.Platform{first}
	for p := range s.chats {
		if p != first {
			order = append(order, p)
		}
	}
	s.mu.RUnlock()
	err := chat.ErrUnreachable
	for _, p := range order {
		pc, perr := s.chat(p)
		if perr != nil {
			continue
		}
		r, ok := pc.(chat.Reacher)
		if !ok {
			continue
		}
		acct, rerr := r.Reach(ctx, chat.Person{ObjectID: u.ID, UPN: u.UPN, Mail: u.Mail})
		if rerr == nil {
			return acct, pc, nil
		}
		err = rerr
	}
	return chat.Actor{}, nil, err
}

// vouched reports whether a chat account is known to belong to the Entra user: the platform signs
// the object ID (Teams), the platform's emails are trusted (not a linked-identity platform), or the
// account was linked to that user by a sign-in that still stands.
func (s *Service) vouched(ctx context.Context, acct chat.Actor, objectID string) bool {
	if acct.ObjectID != "" {
		return strings.EqualFold(acct.ObjectID, objectID)
	}
	if !containsPlatform(s.cfg.LinkedIdentity, acct.Platform) {
		return true
	}
	l, found, err := s.store.GetLink(ctx, acct.Key())
	return err == nil && found && strings.EqualFold(l.ObjectID, objectID) && s.now().Sub(l.VerifiedAt) <= s.cfg.LinkLifetime
}

func containsPlatform(ps []chat.Platform, p chat.Platform) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// unreachableWords says why someone can't be reached in chat.
func unreachableWords(u User, err error) string {
	if errors.Is(err, chat.ErrUnreachable) {
		if _, why, ok := strings.Cut(err.Error(), chat.ErrUnreachable.Error()+": "); ok {
			return why
		}
		return u.Name() + " has no chat account I can write to"
	}
	return "their chat account could not be looked up (" + err.Error() + ")"
}

// platformName is how people call a platform.
func platformName(p chat.Platform) string {
	switch p {
	case chat.PlatformSlack:
		return "Slack"
	case chat.PlatformTeams:
		return "Teams"
	}
	return "the terminal chat"
}

func credentialVerb(c Credential) string {
	if c == CredentialAccessPass {
		return "give a Temporary Access Pass to"
	}
	return "reset"
}

func credentialGerund(c Credential) string {
	if c == CredentialAccessPass {
		return "giving a Temporary Access Pass to"
	}
	return "resetting"
}

func credentialPhrase(c Credential) string {
	if c == CredentialAccessPass {
		return "give a Temporary Access Pass (to sign in and set up new sign-in methods)"
	}
	return "reset the password"
}

func firstName(u User) string {
	if f, _, ok := strings.Cut(u.Name(), " "); ok && !strings.Contains(f, "@") {
		return f
	}
	return u.Name()
}
