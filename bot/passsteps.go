package bot

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The steps of a request that gives Temporary Access Passes rather than passwords. The same state
// machine, with one difference: Entra makes the pass and shows it only in its answer, so the target
// is recorded "setting" before the call with nothing sealed, and the pass is sealed into the "set"
// step when it arrives. A call nobody answered is settled by creating the pass again: Entra keeps one
// pass per user and a new one replaces the last, so the lost one no longer works and nobody holds
// two.

// revokeNotForPass is a pass's revocation step: a pass changes no password, and the user's own
// sessions are theirs to keep.
const revokeNotForPass = "not needed: a Temporary Access Pass changes no password"

// sendPasses creates the passes of targets recorded "setting" and records what Entra said.
func (r *run) sendPasses(ctx context.Context, ts []*Target) {
	s := r.s
	type answer struct {
		pass AccessPass
		err  error
		ms   int64
	}
	answers := make([]answer, len(ts))
	ap, ok := s.dir.(AccessPasses)
	if !ok {
		for i := range answers {
			answers[i].err = &DirectoryError{Kind: ErrAccessPassDisabled, Message: "this directory gives no Temporary Access Passes",
				Remedy: "Reset the password instead (leave out --tap)."}
		}
	} else {
		opts := AccessPassOptions{Lifetime: s.cfg.AccessPassLifetime, UsableOnce: s.cfg.AccessPassOnce}
		var wg sync.WaitGroup
		sem := make(chan struct{}, lookupConcurrency)
		for i, t := range ts {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				started := time.Now()
				p, err := ap.CreateAccessPass(ctx, t.ID, opts)
				answers[i] = answer{pass: p, err: err, ms: time.Since(started).Milliseconds()}
			}()
		}
		wg.Wait()
	}
	s.hook("answered " + r.req.ID) // Entra has made the passes (or not); nothing recorded yet
	var (
		moves []TargetMove
		recs  []*AuditRecord
	)
	for i, a := range answers {
		t := ts[i]
		if a.err == nil {
			sealed, err := s.seal.Seal([]byte(a.pass.Code.Reveal()), sealAD(r.req, t)...)
			if err != nil {
				s.log.Error("sealing a pass failed; it is made again", "request", r.req.ID, "err", err)
				continue
			}
			s.obs.ResetFinished("done")
			detail := "Temporary Access Pass, valid until " + a.pass.ExpiresAt.UTC().Format(time.RFC3339)
			if a.pass.UsableOnce {
				detail += ", for one sign-in"
			}
			if a.pass.ReplacedExisting {
				detail += "; it replaced the pass the user had"
			}
			moves = append(moves, TargetMove{N: t.N, From: StepSetting, To: StepSet, Change: TargetChange{Sealed: sealed, GraphRequestID: a.pass.GraphRequestID}})
			recs = append(recs, about(r.req, t, EventReset, "done", detail).graph(a.pass.GraphRequestID, a.ms))
			continue
		}
		de := asDirectoryError(a.err)
		if ambiguous(a.err) {
			s.log.Warn("a pass got no answer that can be trusted; it is made again", "request", r.req.ID, "kind", de.Kind, "graph_request_id", de.RequestID)
			continue
		}
		s.obs.ResetFinished(string(de.Kind))
		r.remedies[t.N] = passRemedy(de)
		moves = append(moves, TargetMove{N: t.N, From: StepSetting, To: StepFailed, Change: TargetChange{Outcome: failureWords(de)}})
		recs = append(recs, about(r.req, t, EventReset, "failed", failureWords(de)).graph(de.RequestID, a.ms))
	}
	_, _ = r.apply(ctx, moves, nil)
	s.audit(ctx, recs...)
}

// settlePasses makes again the passes whose creation got no answer, up to maxAttempts.
func (r *run) settlePasses(ctx context.Context, ts []*Target) int {
	s := r.s
	var (
		moves  []TargetMove
		recs   []*AuditRecord
		resend []*Target
	)
	for _, t := range ts {
		if t.Attempts >= maxAttempts {
			why := "Graph did not answer; a pass may have been made that nobody holds: check the user's authentication methods"
			moves = append(moves, TargetMove{N: t.N, From: StepSetting, To: StepUnknown, Change: TargetChange{Outcome: why}})
			recs = append(recs, about(r.req, t, EventReset, "unknown", why))
			continue
		}
		moves = append(moves, TargetMove{N: t.N, From: StepSetting, To: StepSetting, Change: TargetChange{Attempts: t.Attempts + 1, AttemptAt: s.now()}})
	}
	moved, _ := r.apply(ctx, moves, nil)
	s.audit(ctx, recs...)
	n := 0
	for i, m := range moves {
		switch {
		case !moved[i]:
		case m.To == StepSetting:
			resend = append(resend, &r.req.Targets[m.N])
		default:
			n++
		}
	}
	if len(resend) > 0 {
		s.hook("before resend " + r.req.ID)
		r.sendPasses(ctx, resend)
		n += len(resend) // each attempt was counted: the loop ends at maxAttempts
	}
	return n
}

// passRemedy says what to do about a pass Entra would not make. The directory words its own
// remedies (the tenant's policy, the user's scope); only the lifetime is resetbot's setting, which
// the directory cannot name.
func passRemedy(de *DirectoryError) string {
	if de.Kind == ErrAccessPassLifetime {
		return fmt.Sprintf("Set RESETBOT_TAP_LIFETIME within the policy's range (Entra admin center → Authentication methods → Temporary Access Pass). %s", de.Remedy)
	}
	return de.Remedy
}
