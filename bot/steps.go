package bot

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The steps with a side effect in Entra: setting the password (write), finding out what became of a
// write nobody answered (settle), and revoking the sessions (revoke). Each is recorded in the store
// before its call and after it.

// write decides again, on fresh directory data, for every target of the chunk, then sets the
// passwords of those still allowed. It returns how many targets moved.
func (r *run) write(ctx context.Context, ts []*Target) int {
	s := r.s
	ctx = FreshAfter(ctx, time.Now()) // the moment of the write decides, not a cache from before it
	requester, err := r.user(ctx, r.req.RequesterID)
	if err != nil {
		if KindOf(err) != ErrNotFound {
			s.log.Error("looking up the requester before a reset failed; it stays for the next try", "request", r.req.ID, "err", err)
			return 0
		}
		requester = User{ID: r.req.RequesterID, UPN: r.req.RequesterUPN} // gone: Enabled is false
	}
	var approver *User
	if r.req.ApproverID != "" {
		a, err := r.user(ctx, r.req.ApproverID)
		if err != nil && KindOf(err) != ErrNotFound {
			s.log.Error("looking up the approver before a reset failed; it stays for the next try", "request", r.req.ID, "err", err)
			return 0
		}
		if err == nil {
			approver = &a
		}
	}
	found, failed := r.users(ctx, ts)
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	// Someone else's run already writing one of them: that one waits its turn here, refused.
	elsewhere, err := s.store.Busy(ctx, ids, r.req.ID, r.req.Requester.Key(), StepSetting, StepSet, StepRevoked)
	if err != nil {
		s.log.Error("checking who is being reset failed; it stays for the next try", "request", r.req.ID, "err", err)
		return 0
	}
	var (
		moves   []TargetMove
		recs    []*AuditRecord
		sends   []*Target
		pws     = map[int]TempPassword{}
		targets = map[int]User{}
	)
	seen := map[string]bool{}
	for _, t := range r.req.Targets { // the people already on their way in this request
		if t.Step != StepQueued && t.Step != StepRefused {
			seen[strings.ToLower(t.ID)] = true
		}
	}
	refuse := func(t *Target, why string) {
		moves = append(moves, TargetMove{N: t.N, From: StepQueued, To: StepRefused, Change: TargetChange{Outcome: refusedAtWrite + why}})
		recs = append(recs, about(r.req, t, EventDecision, "deny", "decided again before the reset: "+why))
	}
	for _, t := range ts {
		key := strings.ToLower(t.ID)
		if err := failed[key]; err != nil {
			if KindOf(err) == ErrNotFound {
				refuse(t, t.UPN+" no longer exists in Entra")
			}
			continue // a lookup that failed leaves the target for the next try
		}
		u := found[key]
		if seen[key] {
			refuse(t, "the same person is already being reset in this request")
			continue
		}
		if other := elsewhere[t.ID]; other != "" {
			refuse(t, "the same person is being reset right now in "+other)
			continue
		}
		if why := r.mayWrite(requester, approver, u); why != "" {
			refuse(t, why)
			continue
		}
		seen[key] = true
		if r.req.Caller.Credential == CredentialAccessPass {
			// Entra makes the pass and shows it once, in its answer: it is sealed when it arrives.
			moves = append(moves, TargetMove{N: t.N, From: StepQueued, To: StepSetting, Change: TargetChange{
				AttemptAt: s.now(), PasswordChangedBefore: u.PasswordChangedAt, Attempts: 1}})
			targets[t.N] = u
			continue
		}
		pw, err := GeneratePassword(s.cfg.Password)
		if err != nil {
			s.log.Error("the password generator failed", "err", err)
			continue
		}
		sealed, err := s.seal.Seal([]byte(pw.Reveal()), sealAD(r.req, t)...)
		if err != nil {
			s.log.Error("sealing a password failed", "err", err)
			continue
		}
		moves = append(moves, TargetMove{N: t.N, From: StepQueued, To: StepSetting, Change: TargetChange{Sealed: sealed,
			AttemptAt: s.now(), PasswordChangedBefore: u.PasswordChangedAt, Attempts: 1}})
		pws[t.N], targets[t.N] = pw, u
	}
	moved, _ := r.apply(ctx, moves, nil)
	s.audit(ctx, recs...)
	n := 0
	for i, m := range moves {
		if !moved[i] {
			continue
		}
		n++
		if m.To == StepSetting {
			sends = append(sends, &r.req.Targets[m.N])
		}
	}
	if len(sends) == 0 {
		return n
	}
	s.hook("before write " + r.req.ID)
	r.send(ctx, sends, pws, targets)
	s.hook("after write " + r.req.ID)
	return n
}

// refusedAtWrite starts the outcome of a target the policy refused at the moment of its write.
const refusedAtWrite = "refused at the reset: "

// mayWrite is the policy decided again at the moment of the write, on fresh directory data: the
// requester still enabled and entitled, and an approval, where one is needed, from someone still
// entitled to give it. "" means go ahead.
func (r *run) mayWrite(requester User, approver *User, target User) string {
	p := r.s.cfg.Policy
	if !requester.Enabled {
		return "the requester's account is disabled or gone"
	}
	d := p.DecideFor(r.req.Caller.Credential, requester, target)
	if !r.req.Single() {
		d = r.s.listDecision(r.req.Caller.Credential, requester, target)
	}
	if why := r.s.verifiedEnough(r.req, target); why != "" {
		return why
	}
	switch d.Verdict {
	case Deny:
		return d.Reason
	case NeedsApproval:
		if approver == nil {
			return "it needs a second person's approval, and nobody gave one"
		}
		if a := p.MayDecideFor(r.req.Caller.Credential, *approver, requester, target, "approve"); a.Verdict != Allow {
			return "its approver may no longer approve it: " + a.Reason
		}
	}
	if r.req.ApproverRole == approverAuditReader {
		if approver == nil || p.MayReadAudit(*approver).Verdict != Allow {
			return "the tenant-wide brake holds it for an approver from security, and none approved it"
		}
	}
	return ""
}

// sealAD binds a sealed password to its request, its target and the person: moved to another row,
// it does not open.
func sealAD(req *Request, t *Target) []string {
	return []string{req.ID, strconv.Itoa(t.N), strings.ToLower(t.ID)}
}

// send sets the passwords of targets already recorded as "setting" and records what Entra said.
func (r *run) send(ctx context.Context, ts []*Target, pws map[int]TempPassword, users map[int]User) {
	s := r.s
	if r.req.Caller.Credential == CredentialAccessPass {
		r.sendPasses(ctx, ts)
		return
	}
	type answer struct {
		t   *Target
		res ResetResult
		err error
		ms  int64
	}
	var answers []answer
	bd, batched := s.dir.(BatchDirectory)
	if batched && len(ts) > 1 {
		resets := make([]PasswordReset, len(ts))
		byUser := map[string]*Target{}
		for i, t := range ts {
			resets[i] = PasswordReset{UserID: t.ID, Password: pws[t.N], Options: ResetOptions{RequireMFA: s.cfg.RequireMFA}}
			byUser[strings.ToLower(t.ID)] = t
		}
		started := s.now()
		for _, o := range bd.ResetPasswords(ctx, resets, nil) {
			answers = append(answers, answer{t: byUser[strings.ToLower(o.UserID)], res: ResetResult{GraphRequestID: o.GraphRequestID},
				err: o.Err, ms: s.now().Sub(started).Milliseconds()})
		}
	} else {
		for _, t := range ts {
			started := s.now()
			res, err := r.sendOne(ctx, t, pws[t.N], users[t.N])
			answers = append(answers, answer{t: t, res: res, err: err, ms: s.now().Sub(started).Milliseconds()})
		}
	}
	s.hook("answered " + r.req.ID) // Entra has done it (or not); nothing recorded yet
	var (
		moves []TargetMove
		recs  []*AuditRecord
	)
	for _, a := range answers {
		if a.t == nil {
			continue
		}
		if a.err == nil {
			s.obs.ResetFinished("done")
			moves = append(moves, TargetMove{N: a.t.N, From: StepSetting, To: StepSet, Change: TargetChange{GraphRequestID: a.res.GraphRequestID}})
			recs = append(recs, about(r.req, a.t, EventReset, "done", a.t.Reason).graph(a.res.GraphRequestID, a.ms))
			continue
		}
		de := asDirectoryError(a.err)
		if ambiguous(a.err) {
			// Nobody can say yet whether Entra applied it: the target stays "setting", and settle
			// finds out (now, or in the next process).
			s.log.Warn("a password write got no answer that can be trusted; settling it", "request", r.req.ID, "kind", de.Kind, "graph_request_id", de.RequestID)
			continue
		}
		s.obs.ResetFinished(string(de.Kind))
		r.remedies[a.t.N] = de.Remedy
		moves = append(moves, TargetMove{N: a.t.N, From: StepSetting, To: StepFailed, Change: TargetChange{EraseSealed: true, Outcome: failureWords(de)}})
		recs = append(recs, about(r.req, a.t, EventReset, "failed", failureWords(de)).graph(de.RequestID, a.ms))
	}
	_, _ = r.apply(ctx, moves, nil)
	s.audit(ctx, recs...)
}

// sendOne sets one password: a synced user's through resetPassword as the agent (it writes back to
// AD), any user's as the agent in delegated-only mode, else with the bot's own permission.
func (r *run) sendOne(ctx context.Context, t *Target, pw TempPassword, u User) (ResetResult, error) {
	s := r.s
	opts := ResetOptions{RequireMFA: s.cfg.RequireMFA}
	if !s.cfg.Policy.ResetsAsAgent(u) {
		return s.dir.ResetPassword(ctx, t.ID, pw, opts)
	}
	agent, err := s.agentSession(ctx, r.req.Requester, r.req.RequesterID)
	if err != nil {
		return ResetResult{}, err
	}
	if u.Synced {
		return s.agentDir.ResetPasswordWriteback(ctx, agent, t.ID, pw)
	}
	return s.agentDir.ResetPasswordAs(ctx, agent, t.ID, pw, opts)
}

// ambiguous reports whether a failed write may have been applied all the same: no answer, a
// timeout, a server error, throttling after the retries. Anything else is a refusal: nothing changed.
func ambiguous(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	switch KindOf(err) {
	case ErrTransient, ErrThrottled:
		return true
	case ErrOther:
		var de *DirectoryError
		return !errors.As(err, &de) || de.Status == 0 || de.Status >= 500
	}
	return false
}

// settle finds out what became of writes nobody answered: Entra's lastPasswordChangeDateTime, read
// now, against the one read just before the write. Changed: the write was applied. Unchanged: it
// never arrived, so the same password is sent again (the same body changes nothing twice). A synced
// user's write is never sent again: it writes back to AD, and AD may simply be slow.
func (r *run) settle(ctx context.Context, ts []*Target) int {
	s := r.s
	ctx = FreshAfter(ctx, time.Now())
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	if r.req.Caller.Credential == CredentialAccessPass {
		return r.settlePasses(ctx, ts)
	}
	users, errs, checked := s.lookupMany(ctx, ids, nil) // never the fresh ones: the write came after them
	var (
		moves  []TargetMove
		recs   []*AuditRecord
		resend []*Target
		pws    = map[int]TempPassword{}
		us     = map[int]User{}
	)
	for i, t := range ts {
		if i >= checked || errs[i] != nil && KindOf(errs[i]) != ErrNotFound {
			continue // cannot tell now: the next try will
		}
		if errs[i] != nil {
			moves = append(moves, TargetMove{N: t.N, From: StepSetting, To: StepFailed, Change: TargetChange{EraseSealed: true, Outcome: "the user no longer exists"}})
			recs = append(recs, about(r.req, t, EventReset, "failed", "the user no longer exists"))
			continue
		}
		u := users[i]
		if u.PasswordChangedAt.After(t.PasswordChangedBefore) {
			moves = append(moves, TargetMove{N: t.N, From: StepSetting, To: StepSet})
			recs = append(recs, about(r.req, t, EventReset, "done",
				"confirmed by Entra: the password changed after a call that got no answer"))
			continue
		}
		plain, err := s.seal.Open(t.Sealed, sealAD(r.req, t)...)
		switch {
		case err != nil:
			moves = append(moves, TargetMove{N: t.N, From: StepSetting, To: StepUnknown, Change: TargetChange{EraseSealed: true,
				Outcome: "its password could not be opened (RESETBOT_ENCRYPTION_KEY changed?), and Entra shows no change"}})
			recs = append(recs, about(r.req, t, EventReset, "unknown", "the sealed password does not open; Entra shows no change"))
		case u.Synced || t.Attempts >= maxAttempts:
			why := "Graph did not answer and Entra shows no password change"
			if u.Synced {
				why = "Graph did not answer, and a write-back to on-premises AD may still be under way"
			}
			moves = append(moves, TargetMove{N: t.N, From: StepSetting, To: StepUnknown, Change: TargetChange{EraseSealed: true, Outcome: why}})
			recs = append(recs, about(r.req, t, EventReset, "unknown", why))
		default:
			moves = append(moves, TargetMove{N: t.N, From: StepSetting, To: StepSetting,
				Change: TargetChange{Attempts: t.Attempts + 1, AttemptAt: s.now(), PasswordChangedBefore: u.PasswordChangedAt}})
			pws[t.N], us[t.N] = NewTempPassword(string(plain)), u
		}
	}
	moved, _ := r.apply(ctx, moves, nil)
	s.audit(ctx, recs...)
	n := 0
	for i, m := range moves {
		if !moved[i] {
			continue
		}
		if m.To == StepSetting {
			resend = append(resend, &r.req.Targets[m.N])
			continue
		}
		n++
	}
	if len(resend) > 0 {
		s.hook("before resend " + r.req.ID)
		r.send(ctx, resend, pws, us)
		for _, t := range resend {
			if t.Step != StepSetting {
				n++
			}
		}
		if n == 0 {
			// Still no answer: wait a little before asking Entra again, so the next round has a
			// chance to see the write.
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			n = len(resend) // the attempts were counted: the loop will end at maxAttempts
		}
	}
	return n
}

// revoke ends the targets' sign-in sessions, so nothing signed in before the reset stays signed in.
// A revocation that fails is reported; the target goes on to its delivery either way.
func (r *run) revoke(ctx context.Context, ts []*Target) int {
	s := r.s
	var (
		moves []TargetMove
		recs  []*AuditRecord
	)
	if !s.cfg.RevokeSessions || r.req.Caller.Credential == CredentialAccessPass {
		// A pass changes no password: the user's own sessions are theirs to keep.
		why := "off"
		if r.req.Caller.Credential == CredentialAccessPass {
			why = revokeNotForPass
		}
		for _, t := range ts {
			moves = append(moves, TargetMove{N: t.N, From: StepSet, To: StepRevoked, Change: TargetChange{Revoke: why}})
		}
		moved, _ := r.apply(ctx, moves, nil)
		return countTrue(moved)
	}
	s.hook("before revoke " + r.req.ID)
	started := s.now()
	results := r.revokeAll(ctx, ts)
	took := s.now().Sub(started).Milliseconds()
	for i, t := range ts {
		res := results[i]
		if res.err != nil && (errors.Is(res.err, context.Canceled) || ctx.Err() != nil) {
			continue // stopping: the next process revokes it
		}
		if res.err != nil {
			de := asDirectoryError(res.err)
			moves = append(moves, TargetMove{N: t.N, From: StepSet, To: StepRevoked, Change: TargetChange{Revoke: "failed: " + failureWords(de)}})
			recs = append(recs, about(r.req, t, EventRevoke, "failed", failureWords(de)).graph(de.RequestID, took))
			continue
		}
		moves = append(moves, TargetMove{N: t.N, From: StepSet, To: StepRevoked, Change: TargetChange{Revoke: "done"}})
		recs = append(recs, about(r.req, t, EventRevoke, "done", "").graph(res.graphRequestID, took))
	}
	moved, _ := r.apply(ctx, moves, nil)
	s.audit(ctx, recs...)
	s.hook("after revoke " + r.req.ID)
	return countTrue(moved)
}

type revokeResult struct {
	graphRequestID string
	err            error
}

// revokeAll revokes in Graph batches where the directory has them, else a few at a time; a
// revocation changes nothing twice, so a transient failure is tried again.
func (r *run) revokeAll(ctx context.Context, ts []*Target) []revokeResult {
	s := r.s
	out := make([]revokeResult, len(ts))
	if many, ok := s.dir.(interface {
		RevokeSessionsMany(ctx context.Context, userIDs []string, progress func(RevokeOutcome)) []RevokeOutcome
	}); ok && len(ts) > 1 && !s.cfg.Policy.AsAgent {
		ids := make([]string, len(ts))
		for i, t := range ts {
			ids[i] = t.ID
		}
		for i, o := range many.RevokeSessionsMany(ctx, ids, nil) {
			out[i] = revokeResult{graphRequestID: o.GraphRequestID, err: o.Err}
		}
		return out
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, lookupConcurrency)
	for i, t := range ts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			for attempt := range 3 {
				id, err := r.revokeOne(ctx, t)
				out[i] = revokeResult{graphRequestID: id, err: err}
				if err == nil || !ambiguous(err) || ctx.Err() != nil {
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Duration(attempt+1) * 500 * time.Millisecond):
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// revokeOne revokes one target's sessions: as the agent in delegated-only mode (the bot then has no
// permission of its own), else with the bot's.
func (r *run) revokeOne(ctx context.Context, t *Target) (string, error) {
	s := r.s
	if s.cfg.Policy.AsAgent {
		agent, err := s.agentSession(ctx, r.req.Requester, r.req.RequesterID)
		if err != nil {
			return "", err
		}
		res, err := s.agentDir.RevokeSessionsAs(ctx, agent, t.ID)
		return res.GraphRequestID, err
	}
	res, err := s.dir.RevokeSessions(ctx, t.ID)
	return res.GraphRequestID, err
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// failureWords says in a few words what went wrong in the directory.
func failureWords(de *DirectoryError) string {
	switch de.Kind {
	case ErrAccessPassDisabled:
		return "Temporary Access Pass is turned off in this tenant"
	case ErrAccessPassNotInPolicy:
		return "the user is outside the Temporary Access Pass policy"
	case ErrAccessPassGuest:
		return "an external guest cannot have a Temporary Access Pass"
	case ErrAccessPassLifetime:
		return "the pass's lifetime is outside what the tenant allows"
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
