package bot

import (
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/resetbot/resetbot/chat"
)

// A list run is durable: every user is a persisted request of the list (BatchID) before any reset is
// sent, and each request moves approved → resetting before its Graph call and → done|failed after.
// A process that stops mid-run leaves requests approved (never sent) or resetting (sent, outcome
// unknown); ResumeBatches finishes them on the next start, on any replica, without resetting anyone
// twice: for a request left resetting it asks Entra when the password last changed.

// deliveredMark ends the outcome of a done request whose password reached the requester.
const deliveredMark = "; password delivered"

// progressEvery is how often the progress message is updated on long runs.
const progressEvery = 3 * time.Second

// batchItem is one request of a run with what only memory may hold: its password.
type batchItem struct {
	req *Request
	pw  TempPassword
}

// startBatch persists the run's requests and resets them.
func (s *Service) startBatch(ctx context.Context, in chat.Incoming, me User, p *bulkPreview) error {
	now := s.now()
	var items []*batchItem
	for _, t := range p.allowed {
		// Roles can change between preview and go-ahead: decide again.
		if d := s.listDecision(me, t.user); d.Verdict != Allow {
			s.audit(ctx, &AuditRecord{RequestID: p.id, Event: EventDecision, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(),
				ActorUPN: me.UPN, TargetID: t.user.ID, TargetUPN: t.user.UPN, Outcome: d.Verdict.String(), Detail: d.Reason})
			continue
		}
		req := &Request{State: StateApproved, BatchID: p.id, Requester: in.Actor, RequesterID: me.ID, RequesterUPN: me.UPN,
			RequesterName: me.Name(), RequesterRoles: roleIDs(me.Roles), TargetID: t.user.ID, TargetUPN: t.user.UPN,
			TargetName: t.user.Name(), TargetRoles: roleIDs(t.user.Roles), Reason: t.reason, CreatedAt: now, UpdatedAt: now}
		if err := s.createRequest(ctx, req); err != nil {
			return s.unavailable(ctx, in, err)
		}
		items = append(items, &batchItem{req: req})
	}
	s.audit(ctx, &AuditRecord{RequestID: p.id, Event: EventRequested, Platform: in.Actor.Platform, ActorKey: in.Actor.Key(),
		ActorUPN: me.UPN, Outcome: "bulk_started", Detail: fmt.Sprintf("%s: %d users", p.filename, len(items))})
	s.runBatch(ctx, in.Actor, p.id, p.filename, items, nil)
	return nil
}

// ResumeBatches finishes the lists a stop interrupted. Call it once at start; several replicas may
// call it at once: every step is a compare-and-swap, so each request is taken by one.
func (s *Service) ResumeBatches(ctx context.Context) {
	ids, err := s.store.UnfinishedBatches(ctx)
	if err != nil {
		s.log.Error("listing interrupted lists failed", "err", err)
		return
	}
	for _, id := range ids {
		reqs, err := s.store.BatchRequests(ctx, id)
		if err != nil {
			s.log.Error("reading an interrupted list failed", "list", id, "err", err)
			continue
		}
		var items []*batchItem
		var lost []string
		for _, r := range reqs {
			switch r.State {
			case StateApproved:
				items = append(items, &batchItem{req: r})
			case StateDone:
				// Done, but its password never reached the requester (the stop came first).
				if !strings.HasSuffix(r.Outcome, deliveredMark) && !strings.Contains(r.Outcome, "lost") {
					if ok, _ := s.store.Transition(ctx, r.ID, StateDone, StateDone,
						Change{Outcome: "reset done; the temporary password was lost when resetbot stopped"}, s.now()); ok {
						lost = append(lost, r.TargetUPN)
					}
				}
			case StateResetting:
				// Sent before the stop, outcome unknown. If Entra shows a password change since the
				// request went out, the reset happened and its password died with the process: say
				// so rather than reset again. Otherwise it never arrived: send it now.
				happened, err := s.resetHappened(ctx, r)
				if err != nil {
					s.log.Error("checking an interrupted reset failed; leaving it for the next start", "request", r.ID, "err", err)
					continue
				}
				if happened {
					if ok, _ := s.store.Transition(ctx, r.ID, StateResetting, StateDone,
						Change{Outcome: "reset done; the temporary password was lost when resetbot stopped"}, s.now()); ok {
						lost = append(lost, r.TargetUPN)
					}
					continue
				}
				if ok, _ := s.store.Transition(ctx, r.ID, StateResetting, StateApproved, Change{}, s.now()); ok {
					r.State = StateApproved
					items = append(items, &batchItem{req: r})
				}
			}
		}
		if len(reqs) == 0 {
			continue
		}
		s.log.Info("resuming an interrupted list", "list", id, "left", len(items), "lost", len(lost))
		s.runBatch(ctx, reqs[0].Requester, id, "the list "+id, items, lost)
	}
}

// resetHappened asks Entra whether the target's password changed since the request went out.
func (s *Service) resetHappened(ctx context.Context, r *Request) (bool, error) {
	pt, ok := s.dir.(interface {
		PasswordChangedAt(ctx context.Context, userID string) (time.Time, error)
	})
	if !ok {
		return true, nil // cannot tell: assume it happened rather than risk a second reset
	}
	changed, err := pt.PasswordChangedAt(ctx, r.TargetID)
	if err != nil {
		return false, err
	}
	// A margin for clock differences between this host and Entra: erring towards "happened" never
	// resets twice, it only reports a password as lost.
	return !changed.IsZero() && changed.After(r.UpdatedAt.Add(-2*time.Minute)), nil
}

// runBatch resets the items (all approved), reporting progress and delivering the results as they
// come, in chunks, so a stop loses at most the passwords of one chunk.
func (s *Service) runBatch(ctx context.Context, requester chat.Actor, id, filename string, items []*batchItem, lost []string) {
	pc, err := s.chat(requester.Platform)
	if err != nil {
		s.log.Error("no chat for the requester of a list; leaving it for a process that has one", "list", id)
		return
	}
	total := len(items) + len(lost)
	var (
		mu        sync.Mutex
		done      int
		failed    []string
		delivered int
		pending   []*batchItem // done, password not yet delivered
	)
	progress := chat.Message{Title: fmt.Sprintf("⏳ Resetting %s … 0 / %d done", filename, total)}
	progressRef, perr := pc.DM(ctx, requester, progress)
	report := func() chat.Message {
		return chat.Message{Title: fmt.Sprintf("⏳ Resetting %s … %d / %d done, %d failed", filename, done+len(lost), total, len(failed))}
	}
	flush := func(final bool) {
		mu.Lock()
		chunk := pending
		if !final && len(chunk) < resultsPerDM {
			mu.Unlock()
			return
		}
		pending = nil
		mu.Unlock()
		if len(chunk) == 0 {
			return
		}
		if s.deliverResults(ctx, pc, requester, id, filename, chunk) {
			mu.Lock()
			delivered += len(chunk)
			mu.Unlock()
		}
	}

	stopTicker := make(chan struct{})
	var tickerDone sync.WaitGroup
	if perr == nil {
		tickerDone.Add(1)
		go func() {
			defer tickerDone.Done()
			t := time.NewTicker(progressEvery)
			defer t.Stop()
			for {
				select {
				case <-stopTicker:
					return
				case <-ctx.Done():
					return
				case <-t.C:
					mu.Lock()
					m := report()
					mu.Unlock()
					_ = pc.Update(ctx, progressRef, m)
				}
			}
		}()
	}

	settle := func(it *batchItem, res ResetResult, rerr error, took int64) {
		req := it.req
		if rerr != nil {
			de := asDirectoryError(rerr)
			if ctx.Err() != nil || de.Kind == ErrTransient {
				// Unknown: leave it resetting for ResumeBatches, which asks Entra what happened.
				return
			}
			s.obs.ResetFinished(string(de.Kind))
			s.fail(ctx, req, resetFailureWords(de), took, de.RequestID)
			mu.Lock()
			failed = append(failed, req.TargetUPN+": "+resetFailureWords(de))
			mu.Unlock()
			return
		}
		s.obs.ResetFinished("done")
		s.audit(ctx, &AuditRecord{RequestID: req.ID, Event: EventReset, Platform: req.Requester.Platform, ActorKey: req.Requester.Key(),
			ActorUPN: req.RequesterUPN, TargetID: req.TargetID, TargetUPN: req.TargetUPN, Outcome: "done",
			GraphRequestID: res.GraphRequestID, DurationMS: took, Detail: "list " + id})
		if ok, err := s.store.Transition(ctx, req.ID, StateResetting, StateDone, Change{Outcome: "reset done"}, s.now()); err != nil || !ok {
			s.log.Error("recording a finished reset failed", "request", req.ID, "err", err)
		}
		mu.Lock()
		done++
		pending = append(pending, it)
		mu.Unlock()
		flush(false)
	}

	// Write "resetting" before anything is sent, with the password generated: after a stop, a
	// request in this state is checked against Entra, never blindly sent again.
	var sendable []*batchItem
	for _, it := range items {
		pw, err := GeneratePassword(s.cfg.Password)
		if err != nil {
			s.log.Error("the password generator failed", "err", err)
			continue
		}
		ok, err := s.store.Transition(ctx, it.req.ID, StateApproved, StateResetting, Change{}, s.now())
		if err != nil || !ok {
			continue // another replica took it, or the store is down: it stays for ResumeBatches
		}
		it.pw = pw
		sendable = append(sendable, it)
	}
	started := s.now()
	if bd, ok := s.dir.(BatchDirectory); ok {
		resets := make([]PasswordReset, len(sendable))
		byUser := make(map[string]*batchItem, len(sendable))
		for i, it := range sendable {
			resets[i] = PasswordReset{UserID: it.req.TargetID, Password: it.pw, Options: ResetOptions{RequireMFA: s.cfg.RequireMFA}}
			byUser[it.req.TargetID] = it
		}
		bd.ResetPasswords(ctx, resets, func(o ResetOutcome) {
			settle(byUser[o.UserID], ResetResult{GraphRequestID: o.GraphRequestID}, o.Err, s.now().Sub(started).Milliseconds())
		})
	} else {
		for _, it := range sendable {
			t0 := s.now()
			res, err := s.dir.ResetPassword(ctx, it.req.TargetID, it.pw, ResetOptions{RequireMFA: s.cfg.RequireMFA})
			settle(it, res, err, s.now().Sub(t0).Milliseconds())
		}
	}
	close(stopTicker)
	tickerDone.Wait()
	if ctx.Err() != nil {
		// Stopping: deliver the passwords already set (they exist nowhere else), and leave the
		// rest to ResumeBatches on the next start.
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		ctx = stopCtx
		flush(true)
		return
	}
	flush(true)
	if s.cfg.RevokeSessions {
		s.revokeAll(ctx, sendable)
	}
	mu.Lock()
	defer mu.Unlock()
	final := chat.Message{Title: fmt.Sprintf("✅ %s: %d reset, %d failed.", filename, done, len(failed))}
	if done > 0 {
		final.Text = fmt.Sprintf("The temporary passwords are in the results messages, which delete themselves after %s.", humanDuration(s.cfg.DMTTL))
	}
	if len(lost) > 0 {
		final.Text += fmt.Sprintf("\nresetbot stopped during the run: %d users were reset but their temporary passwords were lost. Reset them again: %s",
			len(lost), strings.Join(lost, ", "))
	}
	if len(failed) > 0 {
		final.Text += "\nFailed:\n" + listSome(failed)
	}
	final.Footer = "List " + id
	if perr == nil {
		_ = pc.Update(ctx, progressRef, final)
	} else {
		s.tellRequester(ctx, &Request{Requester: requester}, final)
	}
}

// deliverResults DMs one chunk of results (UPN, outcome, temporary password) and schedules its
// withdrawal; it marks each request delivered so a later resume knows the password reached someone.
func (s *Service) deliverResults(ctx context.Context, pc chat.Chat, requester chat.Actor, id, filename string, chunk []*batchItem) bool {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"UserPrincipalName", "Outcome", "TemporaryPassword"})
	for _, it := range chunk {
		_ = w.Write([]string{it.req.TargetUPN, "reset", it.pw.Reveal()})
	}
	w.Flush()
	deleteAt := s.now().Add(s.cfg.DMTTL)
	ref, err := pc.DM(ctx, requester, chat.Message{
		Title:  fmt.Sprintf("🔐 Results for %s: %d temporary passwords", filename, len(chunk)),
		Text:   "Give each person their temporary password over a channel you have verified. They must change it at next sign-in.",
		Secret: chat.NewSecret(b.String()),
		Footer: fmt.Sprintf("This message deletes itself at %s · list %s", s.clock(deleteAt), id),
	})
	rec := &AuditRecord{RequestID: id, Event: EventDelivery, Platform: requester.Platform, ActorKey: requester.Key(),
		Outcome: "sent", Detail: fmt.Sprintf("results for %d users", len(chunk))}
	defer s.audit(ctx, rec)
	if err != nil {
		s.log.Error("sending a results DM failed", "list", id, "err", err)
		rec.Outcome, rec.Detail = "failed", "the results DM could not be sent"
		return false
	}
	if err := s.store.AddDelivery(ctx, Delivery{RequestID: id, Ref: ref, DueAt: deleteAt}); err != nil {
		s.log.Error("scheduling the results DM's withdrawal failed; delete it by hand", "list", id, "err", err)
	}
	for _, it := range chunk {
		_, _ = s.store.Transition(ctx, it.req.ID, StateDone, StateDone, Change{Outcome: "reset done" + deliveredMark}, s.now())
	}
	return true
}

// revokeAll revokes the sessions of every user reset, a few at a time.
func (s *Service) revokeAll(ctx context.Context, items []*batchItem) {
	sem := make(chan struct{}, bulkConcurrency)
	var wg sync.WaitGroup
	for _, it := range items {
		if it.pw.IsZero() {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, err := s.dir.RevokeSessions(ctx, it.req.TargetID)
			rec := &AuditRecord{RequestID: it.req.ID, Event: EventRevoke, Platform: it.req.Requester.Platform, ActorKey: it.req.Requester.Key(),
				ActorUPN: it.req.RequesterUPN, TargetID: it.req.TargetID, TargetUPN: it.req.TargetUPN, Outcome: "done"}
			if err != nil {
				rec.Outcome, rec.Detail = "failed", err.Error()
			}
			s.audit(ctx, rec)
		}()
	}
	wg.Wait()
}
