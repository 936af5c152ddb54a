package bot

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/resetbot/resetbot/chat"
)

// Config is how the service behaves; Defaults gives what a new install gets.
type Config struct {
	Policy         Policy
	Password       PasswordSpec
	ApprovalTTL    time.Duration // how long an approval stays open
	DMTTL          time.Duration // how long the temporary password DM stays before it is withdrawn
	RevokeSessions bool          // revoke the target's sign-in sessions after a reset
	RequireMFA     bool          // forceChangePasswordNextSignInWithMfa
	RateLimit      int           // resets one person may ask for per RateWindow; 0 = no limit
	// ListApprovalAbove is the size above which a list needs a second person's approval.
	ListApprovalAbove int
	// MaxListRows is the most users one list may name.
	MaxListRows int
	RateWindow  time.Duration
	Location    *time.Location // how times are shown to people
	// ApprovalsChannel names the channel approval cards go to, as people know it ("#approvals").
	ApprovalsChannel string
	// CallTimeout bounds the work done for one command or click, Graph calls included.
	CallTimeout time.Duration
}

// Defaults are the settings of a new install: entra mode, approval for privileged targets, 30
// minutes to approve, 15 minutes before the password DM goes, sessions revoked.
func Defaults() Config {
	return Config{
		Policy:            Policy{Mode: ModeEntra, PrivilegedNeedsApproval: true},
		Password:          PasswordSpec{Length: 16},
		ApprovalTTL:       30 * time.Minute,
		DMTTL:             15 * time.Minute,
		RevokeSessions:    true,
		RateLimit:         30,
		ListApprovalAbove: 50,
		MaxListRows:       MaxBulkRows,
		RateWindow:        time.Hour,
		Location:          time.Local,
		ApprovalsChannel:  "#approvals",
		CallTimeout:       2 * time.Minute,
	}
}

// Service is the one path every request takes: parse → resolve → policy → (approval) → reset →
// deliver → audit. Adapters turn what arrives into an Incoming and call Handle; they hold no policy.
type Service struct {
	dir   Directory
	store Store
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	obs   Observer

	mu    sync.RWMutex
	chats map[chat.Platform]chat.Chat
	bulk  bulkPreviews

	// signIn and agentDir are set by EnableAgentSignIn: resets of synced users (writeback) and, in
	// delegated-only mode, all resets run as the signed-in agent through them.
	signIn   AgentSignIn
	agentDir AgentDirectory
}

// NewService wires the service. log may be nil.
func NewService(dir Directory, store Store, cfg Config, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = 2 * time.Minute
	}
	if cfg.MaxListRows == 0 {
		cfg.MaxListRows = MaxBulkRows
	}
	return &Service{dir: dir, store: store, cfg: cfg, log: log, now: time.Now, obs: noObserver{}, chats: map[chat.Platform]chat.Chat{}}
}

// SetObserver sends counts of what the service does to o (metrics).
func (s *Service) SetObserver(o Observer) { s.obs = o }

// SetClock replaces the clock, for tests and the demo.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Attach registers the chat platform an adapter serves.
func (s *Service) Attach(p chat.Platform, c chat.Chat) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chats[p] = c
}

func (s *Service) chat(p chat.Platform) (chat.Chat, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.chats[p]
	if !ok {
		return nil, fmt.Errorf("no chat adapter attached for %s", p)
	}
	return c, nil
}

// Handle runs one command to its end. It answers the person through in.Reply and never returns
// their mistakes as errors; the error is for failures the adapter should log.
func (s *Service) Handle(ctx context.Context, in chat.Incoming) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	s.obs.Command(in.Actor.Platform)
	if in.IdempotencyKey != "" {
		fresh, err := s.store.Claim(ctx, in.IdempotencyKey, s.now())
		if err != nil {
			return s.unavailable(ctx, in, err)
		}
		if !fresh {
			s.log.Info("duplicate delivery ignored", "key", in.IdempotencyKey, "actor", in.Actor.Key())
			return nil
		}
	}
	cmd, err := ParseCommand(in.Text)
	if err != nil {
		var ue *UsageError
		if errors.As(err, &ue) {
			// The text is not kept: a password pasted by mistake must not reach the trail.
			s.audit(ctx, &AuditRecord{Event: EventRefused, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(),
				Outcome: "bad_input", Detail: "the command was not understood; nothing was done"})
			return in.Reply.Reply(ctx, chat.Message{Title: "🤔 " + ue.Msg, Footer: "Type /resetpw help for the commands."})
		}
		return err
	}
	if cmd.Kind == CmdHelp {
		return in.Reply.Reply(ctx, helpMessage())
	}
	me, err := s.resolveActor(ctx, in)
	if err != nil || me == nil {
		return err
	}
	switch cmd.Kind {
	case CmdWhoami:
		return in.Reply.Reply(ctx, s.whoami(*me))
	case CmdLogin:
		return s.login(ctx, in, *me)
	case CmdLogout:
		return s.logout(ctx, in, *me)
	case CmdStatus:
		return s.status(ctx, in, *me, cmd.RequestID)
	case CmdApprove, CmdDeny:
		return s.decide(ctx, in, *me, cmd)
	case CmdBulkRun, CmdBulkCancel:
		return s.runBulk(ctx, in, *me, cmd)
	case CmdAudit:
		return s.auditSummary(ctx, in, *me, cmd)
	case CmdReset:
		for _, t := range cmd.Targets {
			if err := s.resetOne(ctx, in, *me, t, cmd.Reason); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolveActor maps the chat identity to an Entra user. A nil user with a nil error means the person
// was told why not.
func (s *Service) resolveActor(ctx context.Context, in chat.Incoming) (*User, error) {
	ref := in.Actor.DirectoryRef()
	refused := func(outcome string, graphRequestID string) {
		s.audit(ctx, &AuditRecord{Event: EventRefused, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(), ActorUPN: ref,
			Outcome: outcome, Detail: "the requester could not be matched to an enabled Entra user", GraphRequestID: graphRequestID})
	}
	if ref == "" {
		refused("unknown_actor", "")
		return nil, in.Reply.Reply(ctx, chat.Message{Title: "⛔ I can't tell who you are in Entra.",
			Text: "Your chat profile has no email address I can match to a directory user. Ask your chat admin to show email addresses to apps, or use Teams."})
	}
	u, err := s.dir.FindUser(ctx, ref)
	if KindOf(err) == ErrNotFound {
		refused("unknown_actor", asDirectoryError(err).RequestID)
		return nil, in.Reply.Reply(ctx, chat.Message{Title: "⛔ I can't find you in Entra.",
			Text: fmt.Sprintf("No directory user matches %s, the address your chat profile gives. Ask an admin to make your chat email match your UPN.", ref)})
	}
	if err != nil {
		s.lookupFailed(ctx, in, AuditRecord{ActorUPN: ref}, "look up the requester", err)
		return nil, s.directoryTrouble(ctx, in, "look you up", err)
	}
	if !u.Enabled {
		refused("actor_disabled", "")
		return nil, in.Reply.Reply(ctx, chat.Message{Title: "⛔ Your own account is disabled in Entra, so I won't act for it."})
	}
	return &u, nil
}

// resetOne takes one target from lookup to either a reset, an approval card or a refusal.
func (s *Service) resetOne(ctx context.Context, in chat.Incoming, me User, ref, reason string) error {
	// The request's ID is chosen now, so every record of this request carries it, from the ask to
	// the outcome, also when nothing is persisted because the answer is no.
	id := newID("R-")
	s.audit(ctx, &AuditRecord{RequestID: id, Event: EventRequested, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(),
		ActorUPN: me.UPN, TargetUPN: ref, Outcome: "asked", Detail: reason})
	target, err := s.dir.FindUser(ctx, ref)
	if KindOf(err) == ErrNotFound {
		s.audit(ctx, &AuditRecord{RequestID: id, Event: EventRefused, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(),
			ActorUPN: me.UPN, TargetUPN: ref, Outcome: "not_found", Detail: "no such user in Entra",
			GraphRequestID: asDirectoryError(err).RequestID})
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("🔎 There is no user %s in Entra.", ref),
			Text: "Check the spelling of the UPN (it may differ from the email address). Guests are named like name_domain#EXT#@…; their passwords are reset in their home organisation."})
	}
	if err != nil {
		s.lookupFailed(ctx, in, AuditRecord{RequestID: id, ActorUPN: me.UPN, TargetUPN: ref}, "look up the target", err)
		return s.directoryTrouble(ctx, in, "look up "+ref, err)
	}
	d := s.cfg.Policy.Decide(me, target)
	if d.Verdict != Deny && s.cfg.RateLimit > 0 {
		n, err := s.store.CountRequests(ctx, in.Actor.Key(), s.now().Add(-s.cfg.RateWindow))
		if err != nil {
			return s.unavailable(ctx, in, err)
		}
		if n >= s.cfg.RateLimit {
			d = Decision{Verdict: Deny,
				Reason: fmt.Sprintf("You have asked for %d resets in the last %s; the limit is %d.", n, humanDuration(s.cfg.RateWindow), s.cfg.RateLimit),
				Remedy: "Wait a while, or ask a colleague. A burst like this is reported to security."}
		}
	}
	s.obs.Decided(d.Verdict)
	s.audit(ctx, &AuditRecord{RequestID: id, Event: EventDecision, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(),
		ActorUPN: me.UPN, TargetID: target.ID, TargetUPN: target.UPN, Outcome: d.Verdict.String(), Detail: d.Reason})
	if d.Verdict == Deny {
		return in.Reply.Reply(ctx, chat.Message{Title: "⛔ " + d.Reason, Text: d.Remedy})
	}
	if s.cfg.Policy.ResetsAsAgent(target) {
		// Checked before anything is persisted or asked of approvers: without the agent's sign-in
		// the reset could not run.
		if m, ok := s.needsSignIn(ctx, in.Actor, me, target); !ok {
			s.audit(ctx, &AuditRecord{RequestID: id, Event: EventRefused, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(),
				ActorUPN: me.UPN, TargetID: target.ID, TargetUPN: target.UPN, Outcome: "not_signed_in",
				Detail: "this reset runs as the agent, who has not signed in to resetbot"})
			return in.Reply.Reply(ctx, m)
		}
	}

	now := s.now()
	req := &Request{
		ID: id, Requester: in.Actor, RequesterID: me.ID, RequesterUPN: me.UPN, RequesterName: me.Name(),
		RequesterRoles: roleIDs(me.Roles), TargetID: target.ID, TargetUPN: target.UPN, TargetName: target.Name(),
		TargetRoles: append(roleIDs(target.Roles), roleIDs(target.EligibleRoles)...), Reason: reason,
		CreatedAt: now, UpdatedAt: now, State: StateApproved,
	}
	if d.Verdict == NeedsApproval {
		req.State, req.ApprovalReason, req.ExpiresAt = StatePending, d.Reason, now.Add(s.cfg.ApprovalTTL)
	}
	if err := s.createRequest(ctx, req); err != nil {
		return s.unavailable(ctx, in, err)
	}
	if req.State == StateApproved {
		_ = in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("⏳ Resetting %s (%s) … request %s", req.TargetName, req.TargetUPN, req.ID)})
		return s.execute(ctx, req, target, in.Reply)
	}
	return s.askApproval(ctx, in, req)
}

// createRequest persists a new request under req.ID when set (the ID its first audit records
// carry), or a new ID.
func (s *Service) createRequest(ctx context.Context, req *Request) error {
	var err error
	for range 4 { // a 6-character ID collides about once in a billion; try again if it does
		if req.ID == "" {
			req.ID = newID("R-")
		}
		if err = s.store.CreateRequest(ctx, req); err == nil {
			return nil
		}
		req.ID = ""
	}
	return err
}

// askApproval posts the approval card and tells the requester where it went.
func (s *Service) askApproval(ctx context.Context, in chat.Incoming, req *Request) error {
	pc, err := s.chat(in.Actor.Platform)
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
		s.audit(ctx, &AuditRecord{RequestID: req.ID, Event: EventApproval, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(),
			ActorUPN: req.RequesterUPN, TargetID: req.TargetID, TargetUPN: req.TargetUPN, Outcome: "failed",
			Detail: "the approval card could not be posted; nothing was reset"})
		return in.Reply.Reply(ctx, chat.Message{Title: "⚠️ I could not post the approval request, so nothing was reset.",
			Text: "Check that the bot is in the approvals channel, then try again."})
	}
	s.audit(ctx, &AuditRecord{RequestID: req.ID, Event: EventApproval, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(),
		ActorUPN: req.RequesterUPN, TargetID: req.TargetID, TargetUPN: req.TargetUPN, Outcome: "asked", Detail: req.ApprovalReason})
	return in.Reply.Reply(ctx, chat.Message{
		Title: "🕐 " + req.ApprovalReason,
		Text: fmt.Sprintf("I asked %s (request %s, expires %s). You'll get a DM when it is decided.",
			s.cfg.ApprovalsChannel, req.ID, s.clock(req.ExpiresAt)),
	})
}

// decide handles an approve or deny, typed or clicked: the clicker is re-resolved and re-authorised
// from scratch, and the state change is a compare-and-swap so two clicks or two replicas act once.
func (s *Service) decide(ctx context.Context, in chat.Incoming, me User, cmd Command) error {
	if strings.HasPrefix(cmd.RequestID, "B-") {
		return s.decideList(ctx, in, me, cmd)
	}
	req, err := s.store.GetRequest(ctx, cmd.RequestID)
	if errors.Is(err, ErrNoSuchRequest) {
		s.audit(ctx, &AuditRecord{RequestID: cmd.RequestID, Event: EventRefused, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(),
			ActorUPN: me.UPN, Outcome: "no_such_request", Detail: cmdVerb(cmd.Kind) + " of an unknown request"})
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("🔎 There is no request %s.", cmd.RequestID)})
	}
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	refuse := func(why string) error {
		s.audit(ctx, &AuditRecord{RequestID: req.ID, Event: EventApproval, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(),
			ActorUPN: me.UPN, TargetID: req.TargetID, TargetUPN: req.TargetUPN, Outcome: "refused", Detail: why})
		return in.Reply.Reply(ctx, chat.Message{Title: "⛔ " + why})
	}
	if req.State == StatePending && !req.ExpiresAt.IsZero() && !s.now().Before(req.ExpiresAt) {
		s.expire(ctx, req)
		return refuse(fmt.Sprintf("Request %s expired at %s; ask for a new one.", req.ID, s.clock(req.ExpiresAt)))
	}
	if req.State != StatePending {
		return refuse(s.alreadyDecided(req))
	}
	requester, err := s.dir.FindUser(ctx, req.RequesterID)
	if err != nil {
		s.lookupFailed(ctx, in, AuditRecord{RequestID: req.ID, ActorUPN: me.UPN, TargetID: req.TargetID, TargetUPN: req.TargetUPN},
			"look up the requester", err)
		return s.directoryTrouble(ctx, in, "look up the requester", err)
	}
	target, err := s.dir.FindUser(ctx, req.TargetID)
	if err != nil {
		s.lookupFailed(ctx, in, AuditRecord{RequestID: req.ID, ActorUPN: me.UPN, TargetID: req.TargetID, TargetUPN: req.TargetUPN},
			"look up the target", err)
		return s.directoryTrouble(ctx, in, "look up "+req.TargetUPN, err)
	}
	if d := s.cfg.Policy.MayApprove(me, requester, target); d.Verdict != Allow {
		return refuse(strings.TrimSpace(d.Reason + " " + d.Remedy))
	}
	ch := Change{ApproverKey: in.Actor.Key(), ApproverUPN: me.UPN, ApproverName: me.Name()}
	if cmd.Kind == CmdDeny {
		ch.Outcome = "denied by " + me.Name()
		if cmd.Reason != "" {
			ch.Outcome += ": " + cmd.Reason
		}
		req, err := s.deny(ctx, in, req, me, ch, cmd.Reason, refuse)
		if req == nil {
			return err
		}
		s.tellRequester(ctx, req, chat.Message{Title: fmt.Sprintf("⛔ %s denied your request %s to reset %s.", me.Name(), req.ID, req.TargetName),
			Text: cmd.Reason})
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("Denied %s. %s has been told.", req.ID, req.RequesterName)})
	}
	// The requester's own entitlement is checked again too: roles can change while a card waits.
	if d := s.cfg.Policy.Decide(requester, target); d.Verdict == Deny {
		ch.Outcome = "no longer allowed: " + d.Reason
		// One record: the click ended the request, denied because the requester lost the right.
		if denied, err := s.deny(ctx, in, req, me, ch, "the requester may no longer reset the target: "+d.Reason, refuse); denied == nil {
			return err
		}
		return in.Reply.Reply(ctx, chat.Message{Title: "⛔ This reset is no longer allowed: " + d.Reason, Text: "The request is now denied."})
	}
	ok, err := s.store.Transition(ctx, req.ID, StatePending, StateApproved, ch, s.now())
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	if !ok {
		return s.refuseStale(ctx, in, req.ID, refuse)
	}
	s.audit(ctx, &AuditRecord{RequestID: req.ID, Event: EventApproval, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(),
		ActorUPN: me.UPN, TargetID: req.TargetID, TargetUPN: req.TargetUPN, Outcome: "approved"})
	req, err = s.store.GetRequest(ctx, req.ID)
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	s.updateCard(ctx, req)
	_ = in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("👍 Approved %s; resetting %s now.", req.ID, req.TargetName)})
	// The outcome goes to the requester by DM: they asked, and the password is theirs to pass on.
	return s.execute(ctx, req, target, nil)
}

func (s *Service) refuseStale(ctx context.Context, in chat.Incoming, id string, refuse func(string) error) error {
	req, err := s.store.GetRequest(ctx, id)
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	return refuse(s.alreadyDecided(req))
}

func (s *Service) alreadyDecided(req *Request) string {
	switch req.State {
	case StateExpired:
		return fmt.Sprintf("Request %s expired at %s; ask for a new one.", req.ID, s.clock(req.ExpiresAt))
	case StatePending:
		return fmt.Sprintf("Request %s is still waiting for approval.", req.ID)
	}
	if req.ApproverName != "" {
		return fmt.Sprintf("Request %s was already decided: %s (%s).", req.ID, stateWords(req.State), req.Outcome)
	}
	return fmt.Sprintf("Request %s needs no approval: it is %s.", req.ID, stateWords(req.State))
}

// execute resets an approved request and tells the requester. reply is their live reply channel, or
// nil to tell them by DM.
func (s *Service) execute(ctx context.Context, req *Request, target User, reply chat.Replier) error {
	tell := func(m chat.Message) {
		if reply != nil {
			if err := reply.Reply(ctx, m); err == nil {
				return
			}
		}
		s.tellRequester(ctx, req, m)
	}
	pw, revoked, de, err := s.performReset(ctx, req, target)
	if err != nil || (de == nil && pw.IsZero()) {
		if err != nil {
			tell(chat.Message{Title: "⚠️ Nothing was reset: I could not generate a password. Ask an admin to check the logs."})
		}
		return err // or another replica or click is already on it
	}
	s.updateCard(ctx, s.reload(ctx, req))
	if de != nil {
		tell(chat.Message{Title: fmt.Sprintf("⚠️ I could not reset %s: %s", req.TargetName, resetFailureWords(de)), Text: de.Remedy,
			Footer: "Request " + req.ID})
		return nil
	}
	deleteAt := s.now().Add(s.cfg.DMTTL)
	delivered := s.deliver(ctx, req, pw, deleteAt)
	sessions := "Their sign-in sessions were not revoked."
	if revoked {
		sessions = "Their sign-in sessions were revoked."
	}
	if target.Synced {
		sessions = "The new password was written back to on-premises AD. " + sessions
	}
	msg := chat.Message{
		Title: fmt.Sprintf("✅ Reset %s (%s).", req.TargetName, req.TargetUPN),
		Text: fmt.Sprintf("They must choose a new password at next sign-in. %s The temporary password is in your DMs and disappears at %s.",
			sessions, s.clock(deleteAt)),
		Footer: "Request " + req.ID,
	}
	if !delivered {
		msg.Text = fmt.Sprintf("They must choose a new password at next sign-in. %s But I could not DM you the temporary password, so nobody knows it: run the reset again once I can message you.", sessions)
	}
	tell(msg)
	return nil
}

// performReset moves an approved request through resetting to done or failed: it generates the
// password, sets it through the directory, revokes sessions and audits each step. It returns the
// password only on success; de is the classified failure. A zero password with nil de and err means
// another click or replica had already taken the request.
//
// A synced target is reset as the requesting agent through resetPassword (it writes back to AD); in
// delegated-only mode a cloud target is too, through passwordProfile. Otherwise the bot's own
// permission makes the change.
func (s *Service) performReset(ctx context.Context, req *Request, target User) (pw TempPassword, revoked bool, de *DirectoryError, err error) {
	ok, err := s.store.Transition(ctx, req.ID, StateApproved, StateResetting, Change{}, s.now())
	if err != nil || !ok {
		return TempPassword{}, false, nil, err
	}
	pw, err = GeneratePassword(s.cfg.Password)
	if err != nil {
		s.fail(ctx, req, "the password generator failed", 0)
		return TempPassword{}, false, nil, err
	}
	started := s.now()
	asAgent := s.cfg.Policy.ResetsAsAgent(target)
	var (
		agent TokenSource
		res   ResetResult
	)
	if asAgent {
		agent, err = s.agentSession(ctx, req.Requester, req.RequesterID)
	}
	opts := ResetOptions{RequireMFA: s.cfg.RequireMFA}
	switch {
	case err != nil:
	case target.Synced:
		res, err = s.agentDir.ResetPasswordWriteback(ctx, agent, req.TargetID, pw)
	case asAgent:
		res, err = s.agentDir.ResetPasswordAs(ctx, agent, req.TargetID, pw, opts)
	default:
		res, err = s.dir.ResetPassword(ctx, req.TargetID, pw, opts)
	}
	took := s.now().Sub(started).Milliseconds()
	if err != nil {
		de := asDirectoryError(err)
		s.obs.ResetFinished(string(de.Kind))
		s.fail(ctx, req, resetFailureWords(de), took, de.RequestID)
		return TempPassword{}, false, de, nil
	}
	s.audit(ctx, &AuditRecord{RequestID: req.ID, Event: EventReset, Platform: req.Requester.Platform, ActorKey: req.Requester.Key(),
		ActorUPN: req.RequesterUPN, TargetID: req.TargetID, TargetUPN: req.TargetUPN, Outcome: "done", Detail: req.Reason,
		GraphRequestID: res.GraphRequestID, DurationMS: took})
	s.obs.ResetFinished("done")
	if s.cfg.RevokeSessions {
		revokeStarted := s.now()
		var rev RevokeResult
		var err error
		// Only delegated-only mode revokes as the agent; otherwise the bot's own permission does, as
		// for any reset (the agent's sign-in carries no session-revocation permission then).
		if s.cfg.Policy.AsAgent {
			rev, err = s.agentDir.RevokeSessionsAs(ctx, agent, req.TargetID)
		} else {
			rev, err = s.dir.RevokeSessions(ctx, req.TargetID)
		}
		revoked = err == nil
		rec := &AuditRecord{RequestID: req.ID, Event: EventRevoke, Platform: req.Requester.Platform, ActorKey: req.Requester.Key(),
			ActorUPN: req.RequesterUPN, TargetID: req.TargetID, TargetUPN: req.TargetUPN, Outcome: "done",
			GraphRequestID: rev.GraphRequestID, DurationMS: s.now().Sub(revokeStarted).Milliseconds()}
		if err != nil {
			de := asDirectoryError(err)
			rec.Outcome, rec.Detail = "failed", resetFailureWords(de)
			if de.RequestID != "" {
				rec.GraphRequestID = de.RequestID
			}
		}
		s.audit(ctx, rec)
	}
	outcome := "reset done"
	if revoked {
		outcome = "reset done, sessions revoked"
	}
	if _, err := s.store.Transition(ctx, req.ID, StateResetting, StateDone, Change{Outcome: outcome}, s.now()); err != nil {
		s.log.Error("recording a finished reset failed", "request", req.ID, "err", err)
	}
	return pw, revoked, nil, nil
}

// deliver DMs the temporary password to the requester and schedules its withdrawal. This is the
// only place a password leaves the bot.
func (s *Service) deliver(ctx context.Context, req *Request, pw TempPassword, deleteAt time.Time) bool {
	rec := &AuditRecord{RequestID: req.ID, Event: EventDelivery, Platform: req.Requester.Platform, ActorKey: req.Requester.Key(),
		ActorUPN: req.RequesterUPN, TargetID: req.TargetID, TargetUPN: req.TargetUPN, Outcome: "sent"}
	defer s.audit(ctx, rec)
	pc, err := s.chat(req.Requester.Platform)
	if err != nil {
		rec.Outcome, rec.Detail = "failed", err.Error()
		return false
	}
	ref, err := pc.DM(ctx, req.Requester, chat.Message{
		Title:  "🔐 Temporary password for " + req.TargetUPN,
		Secret: chat.NewSecret(pw.Reveal()),
		Text: fmt.Sprintf("Copy it and give it to %s over a channel you have verified. They must change it at next sign-in.",
			req.TargetName),
		Footer: fmt.Sprintf("This message deletes itself at %s · request %s", s.clock(deleteAt), req.ID),
	})
	if err != nil {
		s.log.Error("sending the password DM failed", "request", req.ID, "err", err)
		rec.Outcome, rec.Detail = "failed", "the DM could not be sent"
		return false
	}
	if err := s.store.AddDelivery(ctx, Delivery{RequestID: req.ID, Ref: ref, DueAt: deleteAt}); err != nil {
		// The DM stays until someone deletes it by hand; say so loudly.
		s.log.Error("scheduling the password DM's withdrawal failed; delete it by hand", "request", req.ID, "err", err)
	}
	return true
}

func (s *Service) fail(ctx context.Context, req *Request, why string, took int64, graphRequestID ...string) {
	if _, err := s.store.Transition(ctx, req.ID, StateResetting, StateFailed, Change{Outcome: why}, s.now()); err != nil {
		s.log.Error("recording a failed reset failed", "request", req.ID, "err", err)
	}
	rec := &AuditRecord{RequestID: req.ID, Event: EventReset, Platform: req.Requester.Platform, ActorKey: req.Requester.Key(),
		ActorUPN: req.RequesterUPN, TargetID: req.TargetID, TargetUPN: req.TargetUPN, Outcome: "failed", Detail: why, DurationMS: took}
	if len(graphRequestID) > 0 {
		rec.GraphRequestID = graphRequestID[0]
	}
	s.audit(ctx, rec)
}

// Tick does the timed work: it expires approvals past their deadline and withdraws password DMs
// that are due. Run it every few seconds; it is safe on several replicas at once.
func (s *Service) Tick(ctx context.Context) {
	now := s.now()
	if expired, err := s.store.ExpiredPending(ctx, now); err != nil {
		s.log.Error("listing expired approvals failed", "err", err)
	} else {
		lists := map[string][]*Request{}
		for _, req := range expired {
			if req.BatchID != "" {
				lists[req.BatchID] = append(lists[req.BatchID], req)
				continue
			}
			s.expire(ctx, req)
		}
		for id, reqs := range lists {
			s.expireList(ctx, id, reqs)
		}
	}
	due, err := s.store.DueDeliveries(ctx, now)
	if err != nil {
		s.log.Error("listing due DMs failed", "err", err)
		return
	}
	for _, d := range due {
		pc, err := s.chat(d.Ref.Platform)
		if err != nil {
			continue // that platform is not served by this process
		}
		// Take the DM first, so of several replicas one withdraws it; if this one dies, the DM is
		// due again when the lease ends.
		if ok, err := s.store.LeaseDelivery(ctx, d.ID, now, now.Add(deliveryLease)); err != nil || !ok {
			continue
		}
		if err := pc.Withdraw(ctx, d.Ref); err != nil {
			s.log.Error("withdrawing a password DM failed; will retry", "request", d.RequestID, "err", err)
			continue
		}
		if ok, err := s.store.RemoveDelivery(ctx, d.ID); err == nil && ok {
			rec := &AuditRecord{RequestID: d.RequestID, Event: EventDelivery, Platform: d.Ref.Platform, Outcome: "withdrawn"}
			if req, err := s.store.GetRequest(ctx, d.RequestID); err == nil { // a list's results DM has no request of its own
				rec.ActorKey, rec.ActorUPN, rec.TargetID, rec.TargetUPN = req.Requester.Key(), req.RequesterUPN, req.TargetID, req.TargetUPN
			}
			s.audit(ctx, rec)
		}
	}
}

// deliveryLease is how long a replica holds a due DM while withdrawing it.
const deliveryLease = time.Minute

// Run calls Tick every interval until ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s.Tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) expire(ctx context.Context, req *Request) {
	ok, err := s.store.Transition(ctx, req.ID, StatePending, StateExpired, Change{Outcome: "nobody approved it in time"}, s.now())
	if err != nil || !ok {
		return
	}
	s.audit(ctx, &AuditRecord{RequestID: req.ID, Event: EventExpired, Platform: req.Requester.Platform, ActorKey: req.Requester.Key(),
		ActorUPN: req.RequesterUPN, TargetID: req.TargetID, TargetUPN: req.TargetUPN, Outcome: "expired"})
	req = s.reload(ctx, req)
	s.updateCard(ctx, req)
	s.tellRequester(ctx, req, chat.Message{Title: fmt.Sprintf("⌛ Nobody approved request %s (reset %s) in time, so nothing was reset.", req.ID, req.TargetName),
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

// status shows a request to its requester or to someone entitled to reset its target.
func (s *Service) status(ctx context.Context, in chat.Incoming, me User, id string) error {
	req, err := s.store.GetRequest(ctx, id)
	if errors.Is(err, ErrNoSuchRequest) {
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("🔎 There is no request %s.", id)})
	}
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	if req.RequesterID != me.ID {
		target, err := s.dir.FindUser(ctx, req.TargetID)
		if err != nil {
			return s.directoryTrouble(ctx, in, "look up "+req.TargetUPN, err)
		}
		if ok, _ := CanReset(me, target); !ok {
			return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("⛔ Request %s is not yours, and you may not reset its target.", id)})
		}
	}
	m := chat.Message{Title: fmt.Sprintf("Request %s: %s", req.ID, stateWords(req.State)), Fields: []chat.Field{
		{Label: "Target", Value: req.TargetName + " · " + req.TargetUPN},
		{Label: "Requested by", Value: req.RequesterName + " at " + s.clock(req.CreatedAt)},
	}}
	if req.ApprovalReason != "" {
		m.Fields = append(m.Fields, chat.Field{Label: "Why approval", Value: req.ApprovalReason})
	}
	if req.ApproverName != "" {
		m.Fields = append(m.Fields, chat.Field{Label: "Decided by", Value: req.ApproverName})
	}
	if req.Outcome != "" {
		m.Fields = append(m.Fields, chat.Field{Label: "Outcome", Value: req.Outcome})
	}
	return in.Reply.Reply(ctx, m)
}

func (s *Service) whoami(me User) chat.Message {
	var roles []string
	for _, r := range me.Roles {
		name := RoleName(r.TemplateID)
		if !r.TenantWide() {
			name += " (administrative unit " + r.AdministrativeUnit() + ")"
		}
		roles = append(roles, name)
	}
	held := "no Entra admin roles"
	if len(roles) > 0 {
		held = strings.Join(roles, ", ")
	}
	return chat.Message{Title: fmt.Sprintf("You are %s (%s): %s.", me.Name(), me.UPN, held), Text: s.cfg.Policy.ResettableSummary(me),
		Footer: "Targets with admin roles need a second person's approval. You can never reset yourself: use https://aka.ms/sspr."}
}

// deny moves a pending request to denied on a click, records it, and updates the card. When it
// cannot (the store failed, or someone moved the request first) it answers the clicker itself and
// returns a nil request with that answer's error.
func (s *Service) deny(ctx context.Context, in chat.Incoming, req *Request, me User, ch Change, detail string, refuse func(string) error) (*Request, error) {
	ok, err := s.store.Transition(ctx, req.ID, StatePending, StateDenied, ch, s.now())
	if err != nil {
		return nil, s.unavailable(ctx, in, err)
	}
	if !ok {
		return nil, s.refuseStale(ctx, in, req.ID, refuse)
	}
	s.audit(ctx, &AuditRecord{RequestID: req.ID, Event: EventApproval, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(),
		ActorUPN: me.UPN, TargetID: req.TargetID, TargetUPN: req.TargetUPN, Outcome: "denied", Detail: detail})
	req = s.reload(ctx, req)
	s.updateCard(ctx, req)
	return req, nil
}

// directoryTrouble tells the person Graph failed, with the classified remedy.
func (s *Service) directoryTrouble(ctx context.Context, in chat.Incoming, doing string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	de := asDirectoryError(err)
	s.log.Error("directory call failed", "doing", doing, "kind", de.Kind, "code", de.Code, "graph_request_id", de.RequestID)
	return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("⚠️ I could not %s: %s", doing, resetFailureWords(de)), Text: de.Remedy})
}

// unavailable answers when the store fails: nothing half-done, try again later.
func (s *Service) unavailable(ctx context.Context, in chat.Incoming, err error) error {
	s.log.Error("store unavailable", "err", err)
	_ = in.Reply.Reply(ctx, chat.Message{Title: "⚠️ resetbot is temporarily unavailable; nothing was changed. Try again in a minute."})
	return err
}

// lookupFailed records a directory lookup that failed (Graph down, throttled, refused): the
// command stops there, and the trail says so with Graph's request-id.
func (s *Service) lookupFailed(ctx context.Context, in chat.Incoming, rec AuditRecord, doing string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	de := asDirectoryError(err)
	rec.Event, rec.Platform, rec.ActorKey = EventRefused, in.Actor.Platform, in.Actor.Key()
	rec.Outcome, rec.Detail, rec.GraphRequestID = "lookup_failed", "could not "+doing+": "+resetFailureWords(de), de.RequestID
	s.audit(ctx, &rec)
}

func cmdVerb(k CommandKind) string {
	if k == CmdDeny {
		return "deny"
	}
	return "approve"
}

// audit appends a record; the trail failing is logged loudly but does not undo a reset already done.
func (s *Service) audit(ctx context.Context, rec *AuditRecord) {
	if rec.At.IsZero() {
		rec.At = s.now()
	}
	if err := s.store.AppendAudit(context.WithoutCancel(ctx), rec); err != nil {
		s.log.Error("appending to the audit trail failed", "event", rec.Event, "request", rec.RequestID, "err", err)
	}
}

func (s *Service) clock(t time.Time) string { return t.In(s.cfg.Location).Format("15:04 MST") }

func asDirectoryError(err error) *DirectoryError {
	var de *DirectoryError
	if errors.As(err, &de) {
		return de
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &DirectoryError{Kind: ErrTransient, Message: "Graph did not answer in time",
			Remedy: "Nothing is known to have changed. Check /resetpw status, then try again."}
	}
	return &DirectoryError{Kind: ErrOther, Message: err.Error()}
}

func resetFailureWords(de *DirectoryError) string {
	switch de.Kind {
	case ErrNotFound:
		return "the user no longer exists"
	case ErrInsufficientPrivileges:
		return "Entra refused: not enough privileges"
	case ErrPasswordPolicy:
		return "the tenant's password policy rejected the temporary password"
	case ErrSyncedObject:
		return "the account is synchronised from on-premises AD"
	case ErrThrottled:
		return "Graph is throttling resetbot"
	case ErrTransient:
		return "Graph did not answer"
	case ErrWritebackUnavailable:
		return "the new password could not be written back to on-premises AD"
	case ErrOnPremisesPolicy:
		return "on-premises AD refused the new password"
	case ErrSignInNeeded:
		return "this reset needs your own sign-in to resetbot"
	}
	if de.Message != "" {
		return de.Message
	}
	return "Graph returned an error"
}

func stateWords(s State) string {
	switch s {
	case StatePending:
		return "waiting for approval"
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
	}
	return string(s)
}

func roleIDs(rs []RoleAssignment) []string {
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.TemplateID)
	}
	return ids
}

func roleList(ids []string) string {
	seen := map[string]bool{}
	var names []string
	for _, id := range ids {
		if n := RoleName(id); !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "no admin roles"
	}
	return strings.Join(names, ", ")
}

func humanDuration(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	default:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
}

// newID makes a short opaque ID from crypto/rand in an alphabet with no look-alikes.
func newID(prefix string) string {
	b := make([]byte, 6)
	max := big.NewInt(int64(len(requestIDAlphabet)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("crypto/rand failed: " + err.Error()) // the platform's CSPRNG is gone; nothing is safe
		}
		b[i] = requestIDAlphabet[n.Int64()]
	}
	return prefix + string(b)
}
