package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/resetbot/resetbot/chat"
)

// Asking: a typed command or a file becomes a request. Every target is looked up and decided on
// before anything is persisted. One target named in a command goes straight to its reset or its
// approval; a list (several names, or a file) is persisted as a preview and waits for its requester's
// go-ahead, so nothing is reset that the requester did not see first.

// previewTTL is how long a list's preview waits for its go-ahead.
const previewTTL = 15 * time.Minute

// previewProgressAfter is how long a list's check may take before its requester is shown progress.
const previewProgressAfter = 3 * time.Second

// lookupChunk is how many users one batched lookup asks for, so a long list's check shows progress.
const lookupChunk = 500

// lookupConcurrency bounds the single lookups made at once where the directory has no batches.
const lookupConcurrency = 8

// askTyped handles /resetpw with names: one name is a single request; several are a list.
func (s *Service) askTyped(ctx context.Context, in chat.Incoming, me User, cmd Command) error {
	if len(cmd.Targets) == 1 {
		return s.askOne(ctx, in, me, cmd)
	}
	rows := make([]UserRow, len(cmd.Targets))
	for i, t := range cmd.Targets {
		rows[i] = UserRow{UPN: t}
	}
	return s.askList(ctx, in, me, "", cmd.Reason, s.credential(cmd), rows, nil)
}

// credential is what a command's reset gives: what it says, else the configured default.
func (s *Service) credential(cmd Command) Credential {
	if cmd.Credential != "" {
		return cmd.Credential
	}
	return s.cfg.Credential
}

// askOne takes one target from lookup to either its reset, an approval card, a caller verification
// or a refusal.
func (s *Service) askOne(ctx context.Context, in chat.Incoming, me User, cmd Command) error {
	ref, reason := cmd.Targets[0], cmd.Reason
	// The request's ID is chosen now, so every record of this request carries it, from the ask to
	// the outcome, also when nothing is persisted because the answer is no.
	req := s.newRequest(newID("R-"), in.Actor, me, "", reason)
	req.Caller.Credential = s.credential(cmd)
	req.Targets = []Target{{Ref: ref, Reason: reason, Step: StepQueued}}
	t := &req.Targets[0]
	s.audit(ctx, about(req, t, EventRequested, "asked", reason))
	target, err := s.dir.FindUser(ctx, ref)
	if KindOf(err) == ErrNotFound {
		rec := about(req, t, EventRefused, "not_found", "no such user in Entra")
		rec.GraphRequestID = asDirectoryError(err).RequestID
		s.audit(ctx, rec)
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("🔎 There is no user %s in Entra.", ref),
			Text: "Check the spelling of the UPN (it may differ from the email address). Guests are named like name_domain#EXT#@…; their passwords are reset in their home organisation."})
	}
	if err != nil {
		s.lookupFailed(ctx, about(req, t, EventRefused, "", ""), "look up the target", err)
		return s.directoryTrouble(ctx, in, "look up "+ref, err)
	}
	t.ID, t.UPN, t.Name = target.ID, target.UPN, target.Name()
	t.Roles = append(roleIDs(target.Roles), roleIDs(target.EligibleRoles)...)

	busy, err := s.store.Busy(ctx, []string{target.ID}, req.ID, in.Actor.Key())
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	if other := busy[target.ID]; other != "" {
		s.audit(ctx, about(req, t, EventDecision, "deny", "already being reset in "+other))
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("⏳ %s is already being reset in %s, so I did not start another.", t.Name, other),
			Text: "See where it stands: " + command(s.words(in.Actor.Platform), "status "+other)})
	}

	d := s.cfg.Policy.DecideFor(req.Caller.Credential, me, target)
	plan, refusal := callerPlan{}, (*chat.Message)(nil)
	if d.Verdict != Deny {
		// Decided before the quota is counted: a command refused for how it asks to verify counts
		// for nothing.
		if plan, refusal = s.planCaller(cmd, target, in.Actor.Platform); refusal != nil {
			s.audit(ctx, about(req, t, EventRefused, "bad_input", refusal.Title))
			return in.Reply.Reply(ctx, *refusal)
		}
	}
	var brake bool
	if d.Verdict != Deny {
		use, err := s.reserve(ctx, in.Actor, req.ID, 1)
		if err != nil {
			return s.unavailable(ctx, in, err)
		}
		d, brake = s.applyLimits(ctx, req, use, 1, d)
	}
	s.obs.Decided(d.Verdict)
	s.audit(ctx, about(req, t, EventDecision, d.Verdict.String(), d.Reason))
	if d.Verdict == Deny {
		return in.Reply.Reply(ctx, chat.Message{Title: "⛔ " + d.Reason, Text: d.Remedy})
	}
	if s.cfg.Policy.ResetsAsAgent(target) {
		// Checked before anything is persisted or asked of approvers: without the agent's sign-in
		// the reset could not run.
		if m, ok := s.needsSignIn(ctx, in.Actor, me, target); !ok {
			s.audit(ctx, about(req, t, EventRefused, "not_signed_in", "this reset runs as the agent, who has not signed in to resetbot"))
			return in.Reply.Reply(ctx, m)
		}
	}
	if d.Verdict == NeedsApproval {
		req.ApprovalReason = d.Reason
		if brake {
			req.ApproverRole = approverAuditReader
		}
	}
	if plan.method != "" || plan.choose {
		// The approval, where one is needed, is asked once the caller is verified.
		return s.waitForVerification(ctx, in, req, plan, target)
	}
	req.Caller.Assurance, req.Caller.Detail = plan.assurance, plan.detail
	req.Caller.Seal = s.callerSeal(req.ID, req.Caller)
	if plan.assurance == AssuranceAgent {
		// The agent's own words; a skip shows on the reset's record.
		s.audit(ctx, s.verifyRecord(req, string(plan.assurance), plan.detail))
	}
	if d.Verdict == NeedsApproval {
		req.State, req.ExpiresAt = StatePending, s.now().Add(s.cfg.ApprovalTTL)
	} else {
		req.State = StateApproved
		req.ApprovalSeal = s.goAheadSeal(req, in.Actor, me.ID, "go")
	}
	req.Seal = s.requestSeal(req)
	if err := s.createRequest(ctx, req); err != nil {
		return s.unavailable(ctx, in, err)
	}
	if req.State == StatePending {
		return s.askApproval(ctx, in.Reply, req)
	}
	// The "⏳ Resetting …" answer becomes the outcome in place where the platform can revise it.
	reply := chat.InPlace(in.Reply)
	_ = reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("⏳ %s %s (%s) … request %s", capitalize(credentialGerund(req.Caller.Credential)), t.Name, t.UPN, req.ID)})
	return s.runRequest(ctx, req.ID, freshUsers(s.now(), me, target), reply)
}

// askList checks a list in full and shows its requester a preview with a button to go ahead.
// problems are rows the parser already refused; they are reported with the rest.
func (s *Service) askList(ctx context.Context, in chat.Incoming, me User, source, reason string, cred Credential, rows []UserRow, problems []RowProblem) error {
	req := s.newRequest(newID("B-"), in.Actor, me, source, reason)
	// A list has no caller on the phone to verify.
	req.Caller = Caller{Credential: cred, Assurance: AssuranceNone}
	req.Caller.Seal = s.callerSeal(req.ID, req.Caller)
	refs := make([]string, len(rows))
	for i, r := range rows {
		refs[i] = r.UPN
	}
	users, errs, checked := s.lookupMany(ctx, refs, s.previewProgress(ctx, in, req, len(rows)))
	if checked < len(rows) || ctx.Err() != nil {
		s.audit(ctx, about(req, nil, EventRefused, "lookup_failed",
			fmt.Sprintf("%s: the check of %s did not finish in time (%d checked); nothing was kept", listName(req), count(len(rows), "user"), checked)))
		return in.Reply.Reply(ctx, chat.Message{
			Title: fmt.Sprintf("⚠️ I could not check all %s of %s in time (%s checked), so nothing was kept and nothing was reset.",
				count(len(rows), "user"), listName(req), thousands(checked)),
			Text: "Send the list again in a few minutes, or split it into smaller files."})
	}
	var unanswered int
	for _, err := range errs {
		if err != nil && KindOf(err) != ErrNotFound {
			unanswered++
		}
	}
	if unanswered > 0 {
		first := ""
		for _, err := range errs {
			if err != nil && KindOf(err) != ErrNotFound {
				first = failureWords(asDirectoryError(err))
				break
			}
		}
		s.audit(ctx, about(req, nil, EventRefused, "lookup_failed",
			fmt.Sprintf("%s: %d of %s could not be looked up (%s); nothing was kept", listName(req), unanswered, count(len(rows), "user"), first)))
		return in.Reply.Reply(ctx, chat.Message{
			Title: fmt.Sprintf("⚠️ I could not look up %s of %s (%s), so nothing was kept and nothing was reset.", count(unanswered, "user"), listName(req), first),
			Text:  "Send the list again in a few minutes."})
	}

	var found []string
	for i := range rows {
		if errs[i] == nil {
			found = append(found, users[i].ID)
		}
	}
	busy, err := s.store.Busy(ctx, found, req.ID, in.Actor.Key())
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	byID := map[string]int{} // object ID → index of the first target naming that person
	for i, row := range rows {
		t := Target{Line: row.Line, Ref: row.UPN, Reason: firstNonEmpty(row.Reason, reason), Step: StepQueued}
		switch err := errs[i]; {
		case err != nil:
			t.Step, t.Outcome = StepRefused, "no such user in Entra"
		default:
			u := users[i]
			t.ID, t.UPN, t.Name = u.ID, u.UPN, u.Name()
			t.Roles = append(roleIDs(u.Roles), roleIDs(u.EligibleRoles)...)
			if first, dup := byID[strings.ToLower(u.ID)]; dup {
				t.Step, t.Outcome = StepRefused, "the same person as "+whereNamed(req.Targets[first])+" (reset once)"
				break
			}
			byID[strings.ToLower(u.ID)] = len(req.Targets)
			if other := busy[u.ID]; other != "" {
				t.Step, t.Outcome = StepRefused, "already being reset in "+other
				break
			}
			switch d := s.listDecision(req.Caller.Credential, me, u); d.Verdict {
			case Allow:
			case NeedsApproval:
				t.Step, t.Outcome = StepRefused, "needs approval of its own: "+d.Reason+" Ask for it alone: /resetpw "+u.UPN
			default:
				t.Step, t.Outcome = StepRefused, d.Reason
			}
		}
		req.Targets = append(req.Targets, t)
	}
	for _, p := range problems {
		req.Targets = append(req.Targets, Target{Line: p.Line, Ref: p.Value, Reason: reason, Step: StepRefused, Outcome: p.Problem})
	}
	if source != "" { // a file's lines are the order people know; a typed list keeps its order
		slices.SortStableFunc(req.Targets, func(a, b Target) int { return a.Line - b.Line })
	}
	for i := range req.Targets {
		req.Targets[i].N = i
	}

	var recs []*AuditRecord
	for i := range req.Targets {
		t := &req.Targets[i]
		recs = append(recs, about(req, t, EventRequested, "asked", t.Reason))
		if t.Step == StepRefused {
			recs = append(recs, about(req, t, EventDecision, "deny", t.Outcome))
		} else {
			recs = append(recs, about(req, t, EventDecision, "allow", "on "+listName(req)))
		}
	}
	s.audit(ctx, recs...)

	use, err := s.reserve(ctx, in.Actor, req.ID, 0) // only to say whether it will need approval
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	req.State, req.ExpiresAt = StatePreview, s.now().Add(previewTTL)
	req.Seal = s.requestSeal(req)
	if err := s.createRequest(ctx, req); err != nil {
		return s.unavailable(ctx, in, err)
	}
	return in.Reply.Reply(ctx, s.previewMessage(req, use))
}

// goAhead starts or cancels a previewed list for the person who sent it.
func (s *Service) goAhead(ctx context.Context, in chat.Incoming, me User, cmd Command) error {
	req, err := s.store.GetRequest(ctx, cmd.RequestID)
	if errors.Is(err, ErrNoSuchRequest) {
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("🔎 There is no list %s.", cmd.RequestID)})
	}
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	if req.Requester.Key() != in.Actor.Key() || !strings.EqualFold(req.RequesterID, me.ID) {
		s.audit(ctx, by(in.Actor, me.UPN, req.ID, EventRefused, "not_permitted", "only the person who sent the list can start or cancel it"))
		return in.Reply.Reply(ctx, chat.Message{Title: "⛔ Only the person who sent the list can start or cancel it."})
	}
	if req.State != StatePreview || !s.now().Before(req.ExpiresAt) {
		if req.State == StatePreview {
			s.expire(ctx, req)
		}
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("List %s is no longer waiting (%s). Send it again if it is still needed.",
			req.ID, stateWords(s.reload(ctx, req).State))})
	}
	if cmd.Kind == CmdBulkCancel {
		ok, err := s.store.Transition(ctx, req.ID, StatePreview, StateCancelled, Change{Outcome: "cancelled by " + me.Name()}, s.now())
		if err != nil {
			return s.unavailable(ctx, in, err)
		}
		if !ok {
			return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("List %s is no longer waiting.", req.ID)})
		}
		s.audit(ctx, about(req, nil, EventRefused, "bulk_cancelled", listName(req)+": cancelled by its requester; nothing was reset"))
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("Cancelled list %s; nothing was reset.", req.ID)})
	}
	n := req.Runnable()
	use, err := s.reserve(ctx, in.Actor, req.ID, n)
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	d, brake := s.applyLimits(ctx, req, use, n, Decision{Verdict: Allow})
	if d.Verdict == Deny {
		s.audit(ctx, about(req, nil, EventDecision, "deny", d.Reason))
		return in.Reply.Reply(ctx, chat.Message{Title: "⛔ " + d.Reason, Text: d.Remedy})
	}
	if d.Verdict != NeedsApproval && s.cfg.ListApprovalAbove > 0 && use.Actor+n > s.cfg.ListApprovalAbove {
		d = Decision{Verdict: NeedsApproval, Reason: listApprovalReason(use.Actor, n, s.cfg.ListApprovalAbove, s.cfg.RateWindow)}
	}
	if d.Verdict != NeedsApproval && s.cfg.Verify == VerifyRequire {
		d = Decision{Verdict: NeedsApproval, Reason: "Callers must be verified here, and a list has no caller on the phone, so a second person approves it instead."}
	}
	if d.Verdict == NeedsApproval {
		req.ApprovalReason, req.ExpiresAt = d.Reason, s.now().Add(s.cfg.ApprovalTTL)
		if brake {
			req.ApproverRole = approverAuditReader
		}
		ch := Change{ExpiresAt: req.ExpiresAt, ApprovalReason: req.ApprovalReason, ApproverRole: req.ApproverRole}
		ok, err := s.store.Transition(ctx, req.ID, StatePreview, StatePending, ch, s.now())
		if err != nil {
			return s.unavailable(ctx, in, err)
		}
		if !ok {
			return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("List %s is no longer waiting.", req.ID)})
		}
		req.State = StatePending
		s.audit(ctx, about(req, nil, EventDecision, "needs_approval", d.Reason))
		return s.askApproval(ctx, in.Reply, req)
	}
	ok, err := s.store.Transition(ctx, req.ID, StatePreview, StateApproved,
		Change{ApprovalSeal: s.goAheadSeal(req, in.Actor, me.ID, "go")}, s.now())
	if err != nil {
		return s.unavailable(ctx, in, err)
	}
	if !ok {
		return in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("List %s is no longer waiting.", req.ID)})
	}
	s.audit(ctx, about(req, nil, EventRequested, "bulk_started", fmt.Sprintf("%s: %s", listName(req), count(n, "user"))))
	_ = in.Reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("⏳ Resetting %s from %s; progress and results come %s.", count(n, "user"), listName(req), s.words(in.Actor.Platform).ByDM)})
	return s.runRequest(ctx, req.ID, nil, nil)
}

// newRequest starts a request asked by me.
func (s *Service) newRequest(id string, actor chat.Actor, me User, source, reason string) *Request {
	now := s.now()
	return &Request{ID: id, Source: source, Requester: actor, RequesterID: me.ID, RequesterUPN: me.UPN, RequesterName: me.Name(),
		RequesterRoles: roleIDs(me.Roles), Reason: reason, CreatedAt: now, UpdatedAt: now}
}

// createRequest persists a new request under req.ID, or a new ID of the same kind if that one is
// taken (a 6-character ID collides about once in a billion).
func (s *Service) createRequest(ctx context.Context, req *Request) error {
	var err error
	for range 4 {
		if err = s.store.CreateRequest(ctx, req); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		req.ID = newID(req.ID[:2])
		req.Seal = s.requestSeal(req)
		if req.ApprovalSeal != "" {
			req.ApprovalSeal = s.goAheadSeal(req, req.Requester, req.RequesterID, "go")
		}
	}
	return err
}

// lookupMany looks many users up, in batches where the directory has them, calling progress with
// how many are done. checked is how many were answered before ctx ended.
func (s *Service) lookupMany(ctx context.Context, refs []string, progress func(done int)) (users []User, errs []error, checked int) {
	users, errs = make([]User, len(refs)), make([]error, len(refs))
	if bd, ok := s.dir.(BatchDirectory); ok && len(refs) > 1 {
		for start := 0; start < len(refs); start += lookupChunk {
			end := min(start+lookupChunk, len(refs))
			u, e := bd.FindUsers(ctx, refs[start:end])
			if ctx.Err() != nil {
				return users, errs, start
			}
			copy(users[start:end], u)
			copy(errs[start:end], e)
			if progress != nil {
				progress(end)
			}
		}
		return users, errs, len(refs)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
		sem  = make(chan struct{}, lookupConcurrency)
	)
	for i, ref := range refs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			users[i], errs[i] = s.dir.FindUser(ctx, ref)
			mu.Lock()
			done++
			n := done
			mu.Unlock()
			if progress != nil && n%lookupChunk == 0 {
				progress(n)
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return users, errs, 0
	}
	return users, errs, len(refs)
}

// previewProgress shows a long list's check as it goes, in one DM updated in place, once it has
// taken longer than previewProgressAfter.
func (s *Service) previewProgress(ctx context.Context, in chat.Incoming, req *Request, total int) func(int) {
	start := time.Now() // real time: how long the person has been waiting
	var ref chat.MessageRef
	return func(done int) {
		if done >= total || time.Since(start) < previewProgressAfter {
			return
		}
		pc, err := s.chat(in.Actor.Platform)
		if err != nil {
			return
		}
		m := chat.Message{Title: fmt.Sprintf("🔎 Checking %s … %s of %s", listName(req), thousands(done), thousands(total))}
		if ref.IsZero() {
			ref, _ = pc.DM(ctx, in.Actor, m)
			return
		}
		_ = pc.Update(ctx, ref, m)
	}
}

// freshUsers are directory answers this process just had: a reset that follows its decision within
// freshFor needs no second lookup. They are kept in memory only, never in the store.
type freshLookups struct {
	at    time.Time
	users map[string]User // by lowercase object ID
}

// freshFor is how long a lookup stands as "fresh directory data" for the write that follows it.
const freshFor = 30 * time.Second

func freshUsers(at time.Time, users ...User) *freshLookups {
	f := &freshLookups{at: at, users: map[string]User{}}
	for _, u := range users {
		f.users[strings.ToLower(u.ID)] = u
	}
	return f
}

func (f *freshLookups) get(id string, now time.Time) (User, bool) {
	if f == nil || now.Sub(f.at) > freshFor {
		return User{}, false
	}
	u, ok := f.users[strings.ToLower(id)]
	return u, ok
}

func whereNamed(t Target) string {
	if t.Line > 0 {
		return fmt.Sprintf("line %d", t.Line)
	}
	return t.Ref
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
