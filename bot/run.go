package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/resetbot/resetbot/chat"
)

// Running a request: its targets go through their steps (lifecycle.go), a chunk at a time, each step
// recorded before and after its side effect. One process works a request at a time: it holds the
// request's lease in the store and renews it while it works; a process that stops leaves the lease
// to lapse, and the next Tick on any replica (or the next start) takes the request over and finishes
// it from where the store says it is.

// leaseFor is how long a process holds a request it works without renewing its lease.
const leaseFor = time.Minute

// runChunk is how many targets of a list go through their steps together: enough for Graph's
// batches to keep every slot busy (25 batches of 20), few enough that the first passwords reach the
// requester while the rest are reset.
const runChunk = 500

// runLimit bounds one run: a list of thousands is paced inside Graph's write budget, so a run may
// take minutes, never hours.
const runLimit = time.Hour

// maxAttempts is how many times one password is sent to Entra when no answer can be trusted.
const maxAttempts = 3

// run is one process working one request.
type run struct {
	s     *Service
	req   *Request
	fresh *freshLookups
	reply chat.Replier // the requester's live answer channel; nil: tell them by DM
	// remedies keeps, for this run's messages, what Entra said to do about a failure.
	remedies map[int]string
	// progress is when the list's progress message was last updated.
	progress time.Time
	// toldUndelivered: the requester was told their password DM could not be sent.
	toldUndelivered bool
	// distrusted: the request's seals did not hold, so nobody it names is told anything.
	distrusted bool
}

// Resume finishes the requests an interrupted process left, on any replica: those approved or
// resetting whose lease lapsed. Call it at start; Tick calls it too.
func (s *Service) Resume(ctx context.Context) {
	ids, err := s.store.Runnable(ctx, s.now())
	if err != nil {
		s.log.Error("listing interrupted requests failed", "err", err)
		return
	}
	for _, id := range ids {
		if err := s.runRequest(ctx, id, nil, nil); err != nil {
			s.log.Error("resuming a request failed; it stays for the next try", "request", id, "err", err)
		}
	}
}

// runRequest works a request approved or resetting until every target reached its end, or until it
// can go no further now (it is then left, recorded, for Tick). reply is the requester's live answer
// channel, or nil to tell them by DM; fresh are directory answers this process just had.
func (s *Service) runRequest(ctx context.Context, id string, fresh *freshLookups, reply chat.Replier) error {
	if !s.startRunning(id) {
		return nil // this process is already on it
	}
	defer s.stopRunning(id)
	ctx, cancel := s.runContext(ctx)
	defer cancel()
	now := s.now()
	ok, err := s.store.Lease(ctx, id, s.cfg.Owner, now, now.Add(leaseFor))
	if err != nil || !ok {
		return err // another process holds it
	}
	s.hook("leased " + id)
	stop := s.renewLease(ctx, id)
	defer func() {
		stop()
		if err := s.store.Release(context.WithoutCancel(ctx), id, s.cfg.Owner); err != nil {
			s.log.Error("releasing a request failed; its lease will lapse", "request", id, "err", err)
		}
	}()
	req, err := s.store.GetRequest(ctx, id)
	if err != nil {
		return err
	}
	if req.State == StateApproved {
		if ok, err := s.store.Transition(ctx, id, StateApproved, StateResetting, Change{}, s.now()); err != nil || !ok {
			return err
		}
		req.State = StateResetting
	}
	if req.State != StateResetting {
		return nil
	}
	r := &run{s: s, req: req, fresh: fresh, reply: reply, remedies: map[int]string{}}
	return r.work(ctx)
}

func (s *Service) startRunning(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[id] {
		return false
	}
	s.running[id] = true
	return true
}

func (s *Service) stopRunning(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, id)
}

// runContext detaches a run from the command that started it (whose deadline is for answering a
// person, not for resetting a list) and binds it to the service's life.
func (s *Service) runContext(ctx context.Context) (context.Context, context.CancelFunc) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), runLimit)
	stop := context.AfterFunc(s.life, cancel)
	return rctx, func() { stop(); cancel() }
}

// renewLease keeps the lease while the run lasts.
func (s *Service) renewLease(ctx context.Context, id string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(leaseFor / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				now := s.now()
				if ok, err := s.store.Lease(ctx, id, s.cfg.Owner, now, now.Add(leaseFor)); err != nil || !ok {
					s.log.Error("renewing a request's lease failed", "request", id, "err", err)
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// work takes the request's targets through their steps. Targets already on their way (a resumed
// run) go first; then the queued, a chunk at a time, each chunk to its delivery before the next
// starts, so passwords reach the requester as the run goes.
func (r *run) work(ctx context.Context) error {
	s := r.s
	if why := s.authorised(r.req); why != "" {
		r.distrusted = true
		r.untrusted(ctx, why)
		return r.finish(ctx)
	}
	stuck := map[Step]bool{}
	for ctx.Err() == nil {
		moved := 0
		switch {
		case !stuck[StepSetting] && r.has(StepSetting):
			moved = r.settle(ctx, r.in(StepSetting, runChunk))
			stuck[StepSetting] = moved == 0
		case !stuck[StepSet] && r.has(StepSet):
			moved = r.revoke(ctx, r.in(StepSet, runChunk))
			stuck[StepSet] = moved == 0
		case !stuck[StepRevoked] && r.has(StepRevoked):
			moved = r.deliver(ctx, r.in(StepRevoked, resultsPerDM))
			stuck[StepRevoked] = moved == 0
		case !stuck[StepQueued] && r.has(StepQueued):
			moved = r.write(ctx, r.in(StepQueued, runChunk))
			stuck[StepQueued] = moved == 0
		default:
			return r.finish(ctx)
		}
		if moved > 0 {
			clear(stuck)
		}
		r.showProgress(ctx, false)
	}
	return ctx.Err()
}

func (r *run) has(step Step) bool {
	for _, t := range r.req.Targets {
		if t.Step == step {
			return true
		}
	}
	return false
}

// in returns up to n targets in the step, in order.
func (r *run) in(step Step, n int) []*Target {
	var out []*Target
	for i := range r.req.Targets {
		if t := &r.req.Targets[i]; t.Step == step {
			out = append(out, t)
			if len(out) == n {
				break
			}
		}
	}
	return out
}

// apply records moves in the store and, for those that applied, in memory. A move that did not
// apply means another process moved the target first: this run leaves it alone.
func (r *run) apply(ctx context.Context, moves []TargetMove, withdraw *Delivery) ([]bool, error) {
	if len(moves) == 0 {
		return nil, nil
	}
	moved, err := r.s.store.StepTargets(ctx, r.req.ID, moves, withdraw, r.s.now())
	if err != nil {
		r.s.log.Error("recording a step failed; it stays for the next try", "request", r.req.ID, "err", err)
		return make([]bool, len(moves)), err
	}
	for i, m := range moves {
		if !moved[i] {
			continue
		}
		t := &r.req.Targets[m.N]
		t.Step = m.To
		c := m.Change
		if c.Sealed != nil {
			t.Sealed = c.Sealed
		}
		if c.EraseSealed {
			t.Sealed = nil
		}
		if !c.AttemptAt.IsZero() {
			t.AttemptAt = c.AttemptAt
		}
		if !c.PasswordChangedBefore.IsZero() {
			t.PasswordChangedBefore = c.PasswordChangedBefore
		}
		if c.Attempts != 0 {
			t.Attempts = c.Attempts
		}
		if c.Revoke != "" {
			t.Revoke = c.Revoke
		}
		if c.GraphRequestID != "" {
			t.GraphRequestID = c.GraphRequestID
		}
		if c.Outcome != "" {
			t.Outcome = c.Outcome
		}
	}
	return moved, nil
}

// untrusted ends a request whose seals do not hold: nothing more is written to Entra for it, and no
// password of it is shown to anyone. Security hears of it at once.
func (r *run) untrusted(ctx context.Context, why string) {
	s := r.s
	var moves []TargetMove
	for _, t := range r.req.Targets {
		switch t.Step {
		case StepQueued:
			moves = append(moves, TargetMove{N: t.N, From: StepQueued, To: StepRefused, Change: TargetChange{Outcome: "not reset: " + why}})
		case StepSet, StepRevoked:
			moves = append(moves, TargetMove{N: t.N, From: t.Step, To: StepUndelivered, Change: TargetChange{EraseSealed: true,
				Outcome: "reset, but its password was erased unseen: " + why}})
		}
	}
	_, _ = r.apply(ctx, moves, nil)
	s.alert(ctx, r.req, fmt.Sprintf("🚨 Request %s was not run: %s. Nothing more was reset for it and no password of it was shown. Check who can write to resetbot's database.", r.req.ID, why))
}

// finish ends a request whose targets all reached their end, and says so.
func (r *run) finish(ctx context.Context) error {
	s := r.s
	if !r.req.Finished() {
		return nil // left for the next Tick: a step could not be taken now
	}
	outcome := r.outcomeWords()
	ok, err := s.store.Transition(ctx, r.req.ID, StateResetting, StateDone, Change{Outcome: outcome}, s.now())
	if err != nil || !ok {
		return err
	}
	r.req.State, r.req.Outcome = StateDone, outcome
	s.hook("done " + r.req.ID)
	if r.distrusted {
		return nil // the requester and the card a forged row names are not told anything
	}
	s.updateCard(ctx, s.reload(ctx, r.req))
	if r.req.Single() {
		m := r.singleOutcome()
		if t := &r.req.Targets[0]; t.Step == StepDelivered || t.Step == StepUndelivered {
			if told := s.notify(ctx, r.req, t); told != "" {
				m.Text = strings.TrimSpace(m.Text + "\n\n" + told)
			}
		}
		r.tell(ctx, m)
		return nil
	}
	r.showProgress(ctx, true)
	return nil
}

// tell answers the requester: live when they are waiting, else by DM.
func (r *run) tell(ctx context.Context, m chat.Message) {
	if r.reply != nil {
		if err := r.reply.Reply(ctx, m); err == nil {
			return
		}
	}
	r.s.tellRequester(ctx, r.req, m)
}

// showProgress keeps a list's progress message up to date, in place; final writes the summary.
func (r *run) showProgress(ctx context.Context, final bool) {
	if r.req.Single() {
		return
	}
	s := r.s
	if !final && time.Since(r.progress) < progressEvery {
		return
	}
	r.progress = time.Now()
	pc, err := s.chat(r.req.Requester.Platform)
	if err != nil {
		return
	}
	m := s.progressMessage(r.req)
	if final {
		m = s.listDoneMessage(r.req)
	}
	if r.req.Progress.IsZero() {
		ref, err := pc.DM(ctx, r.req.Requester, m)
		if err != nil {
			return
		}
		r.req.Progress = ref
		if _, err := s.store.Transition(ctx, r.req.ID, r.req.State, r.req.State, Change{Progress: &ref}, s.now()); err != nil {
			s.log.Error("remembering a list's progress message failed", "request", r.req.ID, "err", err)
		}
		return
	}
	if err := pc.Update(ctx, r.req.Progress, m); err != nil {
		s.log.Error("updating a list's progress failed", "request", r.req.ID, "err", err)
	}
}

// progressEvery is how often a long run's progress message is updated.
const progressEvery = 3 * time.Second

// user is a person as the directory says now: from this process's fresh lookups, else looked up.
func (r *run) user(ctx context.Context, id string) (User, error) {
	if u, ok := r.fresh.get(id, r.s.now()); ok {
		return u, nil
	}
	u, err := r.s.dir.FindUser(ctx, id)
	if err == nil {
		r.remember(u)
	}
	return u, err
}

func (r *run) remember(users ...User) {
	if r.fresh == nil || r.s.now().Sub(r.fresh.at) > freshFor {
		r.fresh = freshUsers(r.s.now())
	}
	for _, u := range users {
		r.fresh.users[strings.ToLower(u.ID)] = u
	}
}

// users looks the targets up as the directory says now (fresh lookups first).
func (r *run) users(ctx context.Context, ts []*Target) (map[string]User, map[string]error) {
	found, failed := map[string]User{}, map[string]error{}
	var ask []string
	for _, t := range ts {
		if u, ok := r.fresh.get(t.ID, r.s.now()); ok {
			found[strings.ToLower(t.ID)] = u
			continue
		}
		ask = append(ask, t.ID)
	}
	if len(ask) == 0 {
		return found, failed
	}
	users, errs, checked := r.s.lookupMany(ctx, ask, nil)
	for i, id := range ask {
		key := strings.ToLower(id)
		switch {
		case i >= checked:
			failed[key] = ctx.Err()
		case errs[i] != nil:
			failed[key] = errs[i]
		default:
			found[key] = users[i]
		}
	}
	return found, failed
}
