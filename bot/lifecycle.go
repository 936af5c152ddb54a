package bot

// The one state machine every request goes through, of one target or five thousand, typed or from
// a file. Every transition is a compare-and-swap in the store, so two clicks, two replicas or a
// process restarted after a crash move a request once.
//
// A request:
//
//	preview ─run→ approved | pending        (a list: nothing happens until its requester says go)
//	preview ─cancel→ cancelled;  preview ─(expiry)→ expired
//	(asked) → approved | pending            (one target: no preview)
//	(asked) → verifying ─(the caller verified)→ approved | pending
//	verifying ─(a wrong number, the user or their manager says no)→ denied;  verifying ─(expiry)→ expired
//	pending ─approve→ approved;  pending ─deny→ denied;  pending ─(expiry)→ expired
//	approved ─run→ resetting ─→ done
//	pending ─(the approval card could not be posted)→ failed
//
// A target of a request, once the request runs:
//
//	queued ─→ setting ─→ set ─→ revoked ─→ delivered
//	            │          (sessions revoked, or the revocation failed and was reported)
//	            ├→ failed   (Entra refused: nothing changed)
//	            └→ unknown  (Entra gave no answer that can be trusted, even when asked again)
//	queued ─→ refused      (the policy, decided again on fresh directory data just before the write)
//	set, revoked ─→ undelivered  (the password could not be delivered in its lifetime, or the
//	                              request can no longer be trusted: it is erased, never shown)
//
// Each step is recorded before its side effect and after it: "setting" holds the sealed password,
// the time of the attempt and Entra's lastPasswordChangeDateTime read just before, so a process that
// stops at any moment leaves enough to finish on the next start, on any replica, without resetting
// anyone twice (settle, in steps.go): a target left "setting" is looked up again, and a password change since
// the attempt means the write was applied; none means it never arrived, and the same password is
// sent again. A target "set" still has its sessions revoked; one "revoked" still has its password
// delivered; the password is erased from the store in the same transaction that records its
// delivery. A request is done when every target is delivered, failed, unknown or refused.

// State is where a request is in its life.
type State string

const (
	StatePreview   State = "preview"   // a list shown to its requester, waiting for the go-ahead
	StatePending   State = "pending"   // waiting for a second person's approval
	StateVerifying State = "verifying" // waiting for the caller's verification (verify.go)
	StateApproved  State = "approved"  // cleared to run; nobody has started it yet
	StateResetting State = "resetting" // a process is taking its targets through their steps
	StateDone      State = "done"      // every target reached its end
	StateFailed    State = "failed"    // the request could not go on (the approval card could not be posted)
	StateDenied    State = "denied"    // an approver said no, or the requester withdrew it
	StateExpired   State = "expired"   // nobody approved it, or the requester did not go ahead, in time
	StateCancelled State = "cancelled" // the requester dropped a previewed list
)

// Terminal reports whether nothing more can happen to a request in this state.
func (s State) Terminal() bool {
	switch s {
	case StateDone, StateFailed, StateDenied, StateExpired, StateCancelled:
		return true
	}
	return false
}

// Waiting reports whether the request waits for a person (its requester or an approver), with a
// deadline.
func (s State) Waiting() bool { return s == StatePreview || s == StatePending || s == StateVerifying }

// Step is where one target of a request stands.
type Step string

const (
	StepQueued    Step = "queued"    // to be reset when the request runs
	StepSetting   Step = "setting"   // the directory write is being sent; its outcome is not known yet
	StepSet       Step = "set"       // Entra holds the new password
	StepRevoked   Step = "revoked"   // sessions revoked (or the revocation failed and was reported)
	StepDelivered Step = "delivered" // the password reached the requester; nothing left to do
	StepFailed    Step = "failed"    // Entra refused the write: nothing changed
	StepUnknown   Step = "unknown"   // nobody can tell whether the write was applied
	StepRefused   Step = "refused"   // not reset: the policy, a duplicate, an unknown user
	// StepUndelivered: reset, but its password never reached the requester and was erased.
	StepUndelivered Step = "undelivered"
)

// Final reports whether nothing more can happen to a target in this step.
func (s Step) Final() bool {
	switch s {
	case StepDelivered, StepFailed, StepUnknown, StepRefused, StepUndelivered:
		return true
	}
	return false
}

// requestMoves are the transitions a request may make. Anything else is a programming error, and
// transition refuses it before the store is asked.
var requestMoves = map[State][]State{
	StatePreview:   {StatePending, StateApproved, StateCancelled, StateExpired},
	StatePending:   {StatePending, StateApproved, StateDenied, StateExpired, StateFailed},
	StateVerifying: {StateVerifying, StatePending, StateApproved, StateDenied, StateExpired},
	StateApproved:  {StateResetting},
	StateResetting: {StateResetting, StateDone},
}

// targetMoves are the steps a target may take.
var targetMoves = map[Step][]Step{
	StepQueued:  {StepSetting, StepRefused},
	StepSetting: {StepSetting, StepSet, StepFailed, StepUnknown},
	StepSet:     {StepRevoked, StepUndelivered},
	StepRevoked: {StepDelivered, StepUndelivered},
}

func allowedMove[S comparable](moves map[S][]S, from, to S) bool {
	for _, s := range moves[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Finished reports whether every target of the request reached its end.
func (r *Request) Finished() bool {
	for _, t := range r.Targets {
		if !t.Step.Final() {
			return false
		}
	}
	return true
}

// Count is how many targets are in each step.
func (r *Request) Count() map[Step]int {
	n := map[Step]int{}
	for _, t := range r.Targets {
		n[t.Step]++
	}
	return n
}

// Runnable are the targets that take part in a run: everything but the refused.
func (r *Request) Runnable() int {
	n := 0
	for _, t := range r.Targets {
		if t.Step != StepRefused {
			n++
		}
	}
	return n
}
