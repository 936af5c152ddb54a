package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/resetbot/resetbot/chat"
)

// Telling the user. After every reset or pass (one user or a list, by the bot or as the agent) the
// user gets a message in their own chat, out of band from the call: who did it, when, the request,
// and a "This wasn't me" button. It holds no password or pass. Their manager gets the same when
// RESETBOT_NOTIFY_MANAGER is on. Each notice is recorded before it is sent ("sending") and after
// ("sent" or "unreached"); a process stopped in between sends it again on any replica once it is
// old, so a user may be told twice but is never left untold. Notices of a list go out after its
// run, paced by Tick, so they never slow the resets.

// noticeStale is how long a notice may stay "sending" before another process sends it again.
const noticeStale = 5 * time.Minute

// noticesPerTick bounds the notices one Tick sends.
const noticesPerTick = 200

// notify tells the user of one target. It returns what the agent should hear of it: "" when it had
// been done already.
func (s *Service) notify(ctx context.Context, req *Request, t *Target) string {
	from := t.Notice.State
	if from != "" && from != NoticeSending {
		return ""
	}
	ok, err := s.store.SetNotice(ctx, req.ID, t.N, from, Notice{State: NoticeSending}, s.now())
	if err != nil || !ok {
		return ""
	}
	s.hook("before notice " + req.ID)
	u, err := s.dir.FindUser(ctx, t.ID)
	var (
		acct chat.Actor
		pc   chat.Chat
	)
	if err == nil {
		acct, pc, err = s.reach(ctx, req.Requester.Platform, u)
	}
	if err == nil {
		_, err = pc.DM(ctx, acct, s.noticeMessage(req, t, acct, true))
	}
	n := Notice{State: NoticeSent, To: acct.Key()}
	told := fmt.Sprintf("%s was told in %s, with a button to report it if they did not ask.", t.Name, platformName(acct.Platform))
	if err != nil {
		why := unreachableWords(User{DisplayName: t.Name, UPN: t.UPN}, err)
		if !errors.Is(err, chat.ErrUnreachable) {
			why = "the message could not be sent (" + err.Error() + ")"
		}
		n = Notice{State: NoticeUnreached, Why: why}
		told = fmt.Sprintf("I could not tell %s in chat (%s): tell them yourself, on a channel you trust.", t.Name, why)
	}
	if s.cfg.NotifyManager && u.ManagerID != "" {
		n.Manager = s.notifyManager(ctx, req, t, u)
	}
	s.hook("after notice " + req.ID)
	if _, err := s.store.SetNotice(ctx, req.ID, t.N, NoticeSending, n, s.now()); err != nil {
		s.log.Error("recording a notice failed; it may be sent again", "request", req.ID, "err", err)
	}
	t.Notice = n
	rec := about(req, t, EventNotice, n.State, "told in "+platformName(acct.Platform))
	if n.State == NoticeUnreached {
		rec.Detail = n.Why
	}
	if n.Manager != "" {
		rec.Detail += "; manager " + n.Manager
	}
	rec.Assurance = req.Caller.Assurance
	s.audit(ctx, rec)
	return told
}

// notifyManager tells the user's manager; it returns NoticeSent or NoticeUnreached.
func (s *Service) notifyManager(ctx context.Context, req *Request, t *Target, u User) string {
	mgr, err := s.dir.FindUser(ctx, u.ManagerID)
	if err != nil || !mgr.Enabled {
		return NoticeUnreached
	}
	acct, pc, err := s.reach(ctx, req.Requester.Platform, mgr)
	if err == nil {
		_, err = pc.DM(ctx, acct, s.noticeMessage(req, t, acct, false))
	}
	if err != nil {
		return NoticeUnreached
	}
	return NoticeSent
}

// noticeMessage is the notice as the user (toUser) or their manager reads it.
func (s *Service) noticeMessage(req *Request, t *Target, to chat.Actor, toUser bool) chat.Message {
	what, icon := "Your password was reset", "🔐"
	if req.Caller.Credential == CredentialAccessPass {
		what, icon = "A Temporary Access Pass was made for you", "🎫"
	}
	when := s.clockFor(to, s.now())
	m := chat.Message{
		Title: fmt.Sprintf("%s %s by the helpdesk", icon, what),
		Fields: []chat.Field{
			{Label: "By", Value: fmt.Sprintf("%s (%s)", req.RequesterName, req.RequesterUPN)},
			{Label: "When", Value: when},
			{Label: "Caller check", Value: req.Caller.Assurance.Words()},
		},
		Footer: "Request " + req.ID,
	}
	if toUser {
		m.Text = "If you asked the helpdesk for this, there is nothing to do. If you did not, press *This wasn't me*: security is told at once"
		if s.cfg.WasntMeRevokes {
			m.Text += " and you are signed out everywhere"
		}
		m.Text += "."
		m.Buttons = []chat.Button{{Label: "This wasn't me", Action: chat.ActionWasntMe, RequestID: req.ID, Danger: true}}
		return m
	}
	m.Title = fmt.Sprintf("%s %s's %s by the helpdesk", icon, t.Name, map[bool]string{true: "password was reset", false: "account got a Temporary Access Pass"}[req.Caller.Credential != CredentialAccessPass])
	m.Text = fmt.Sprintf("You get this because %s reports to you. If they did not ask for it, tell your security team (request %s).", t.Name, req.ID)
	return m
}

// sendNotices sends the notices still due (a list's, or any a stopped process left); safe on
// several replicas at once: each notice is taken by one.
func (s *Service) sendNotices(ctx context.Context) {
	due, err := s.store.NoticesDue(ctx, s.now().Add(-noticeStale), noticesPerTick)
	if err != nil {
		s.log.Error("listing notices failed", "err", err)
		return
	}
	reqs := map[string]*Request{}
	for _, d := range due {
		req, ok := reqs[d.RequestID]
		if !ok {
			if req, err = s.store.GetRequest(ctx, d.RequestID); err != nil {
				s.log.Error("reading a request to notify failed", "request", d.RequestID, "err", err)
				continue
			}
			reqs[d.RequestID] = req
		}
		if d.N < len(req.Targets) && ctx.Err() == nil {
			s.notify(ctx, req, &req.Targets[d.N])
		}
	}
}

// wasntMe handles a user saying they did not ask for the reset they were told of. Only the chat
// account the notice went to may say it: the chat account is not mapped to Entra first, so someone
// whose chat account is not linked can still raise the alarm.
func (s *Service) wasntMe(ctx context.Context, in chat.Incoming, cmd Command) error {
	req, err := s.store.GetRequest(ctx, cmd.RequestID)
	if errors.Is(err, ErrNoSuchRequest) {
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("🔎 There is no request %s.", cmd.RequestID)})
	}
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	var t *Target
	for i := range req.Targets {
		if n := req.Targets[i].Notice; n.State == NoticeSent && strings.EqualFold(n.To, in.Actor.Key()) {
			t = &req.Targets[i]
			break
		}
	}
	if t == nil {
		s.audit(ctx, by(in.Actor, "", req.ID, EventRefused, "not_permitted", "\"this wasn't me\" from someone no notice of this request went to"))
		return in.Reply.Reply(ctx, chat.Message{Title: "⛔ This button is for the person the notice was sent to.",
			Text: "If you think an account was reset without its owner asking, tell your security team."})
	}
	if !t.Notice.Disputed.IsZero() {
		return in.Reply.Reply(ctx, chat.Message{Title: "Security already knows: you told us at " + s.clockFor(in.Actor, t.Notice.Disputed) + "."})
	}
	n := t.Notice
	n.Disputed = s.now()
	if ok, err := s.store.SetNotice(ctx, req.ID, t.N, NoticeSent, n, s.now()); err != nil {
		return s.unavailable(ctx, in, err)
	} else if !ok {
		return in.Reply.Reply(ctx, chat.Message{Title: "Security already knows."})
	}
	what := "reset of their password"
	if req.Caller.Credential == CredentialAccessPass {
		what = "Temporary Access Pass made for them"
	}
	s.alert(ctx, req, fmt.Sprintf("🚨 %s says they did not ask for the %s (request %s, by %s, caller check: %s). Treat the account as at risk: check its sign-ins and methods.",
		t.UPN, what, req.ID, req.RequesterUPN, req.Caller.Assurance.Words()))
	rec := about(req, t, EventAlert, "wasnt_me", "the user says they did not ask for it")
	rec.ActorKey, rec.ActorUPN, rec.Platform = in.Actor.Key(), t.UPN, in.Actor.Platform
	rec.Assurance = req.Caller.Assurance
	s.audit(ctx, rec)
	signedOut := ""
	if s.cfg.WasntMeRevokes {
		res, err := s.dir.RevokeSessions(ctx, t.ID)
		if err != nil {
			de := asDirectoryError(err)
			s.audit(ctx, about(req, t, EventRevoke, "failed", "after \"this wasn't me\": "+failureWords(de)).graph(de.RequestID, 0))
		} else {
			signedOut = " You have been signed out everywhere."
			s.audit(ctx, about(req, t, EventRevoke, "done", "after \"this wasn't me\"").graph(res.GraphRequestID, 0))
		}
	}
	next := "Security will contact you. Meanwhile set a password only you know at " + SelfServiceResetURL + ", or call IT on a number you trust."
	if req.Caller.Credential == CredentialAccessPass {
		next = "Security will contact you; your password was not changed."
	}
	return in.Reply.Reply(ctx, chat.Message{Title: "🚨 Thank you: security has been told." + signedOut, Text: next, Footer: "Request " + req.ID})
}
