package bot

import (
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"time"

	"github.com/resetbot/resetbot/chat"
)

// Delivery: the temporary password goes to the requester by DM and nowhere else, and the DM is
// withdrawn after Config.DMTTL. A list's passwords go in results messages of resultsPerDM users. The
// DM is sent first; then, in one store transaction, its targets are marked delivered, their sealed
// passwords erased and the DM's withdrawal scheduled. A process stopped between the two sends that DM
// again on its next start, to the same person: a message may arrive twice, a password is never lost.

// resultsPerDM keeps each results message well inside chat message size limits.
const resultsPerDM = 100

// deliver DMs the passwords of revoked targets to the requester. It returns how many moved.
func (r *run) deliver(ctx context.Context, ts []*Target) int {
	s := r.s
	pc, err := s.chat(r.req.Requester.Platform)
	if err != nil {
		s.log.Error("no chat for the requester; leaving the delivery to a process that has one", "request", r.req.ID)
		return 0
	}
	var (
		opened []*Target
		pws    []TempPassword
		moves  []TargetMove
		recs   []*AuditRecord
	)
	for _, t := range ts {
		plain, err := s.seal.Open(t.Sealed, sealAD(r.req, t)...)
		if err != nil {
			moves = append(moves, TargetMove{N: t.N, From: StepRevoked, To: StepUndelivered, Change: TargetChange{EraseSealed: true,
				Outcome: "reset, but its password could not be opened (RESETBOT_ENCRYPTION_KEY changed?): reset them again"}})
			recs = append(recs, about(r.req, t, EventDelivery, "failed", "the sealed password does not open"))
			continue
		}
		opened, pws = append(opened, t), append(pws, NewTempPassword(string(plain)))
	}
	if len(moves) > 0 {
		_, _ = r.apply(ctx, moves, nil)
		s.audit(ctx, recs...)
		moves, recs = nil, nil
	}
	if len(opened) == 0 {
		return len(ts) - len(opened)
	}
	deleteAt := s.now().Add(s.cfg.DMTTL)
	var m chat.Message
	switch {
	case r.req.Single() && r.req.Caller.Credential == CredentialAccessPass:
		t := opened[0]
		once := ""
		if s.cfg.AccessPassOnce {
			once = " It works for one sign-in,"
		}
		m = chat.Message{
			Title:  "🎫 Temporary Access Pass for " + t.UPN,
			Secret: chat.NewSecret(pws[0].Reveal()),
			Text: fmt.Sprintf("Give it to %s over a channel you have verified.%s until about %s; with it they sign in and set up a new sign-in method. Their password is unchanged.",
				t.Name, once, s.clockFor(r.req.Requester, t.AttemptAt.Add(passLifetime(s.cfg.AccessPassLifetime)))),
			Footer: fmt.Sprintf("Only you can see this chat. This message is removed at %s · request %s", s.clockFor(r.req.Requester, deleteAt), r.req.ID),
		}
	case r.req.Single():
		t := opened[0]
		m = chat.Message{
			Title:  "🗝️ Temporary password for " + t.UPN,
			Secret: chat.NewSecret(pws[0].Reveal()),
			Text:   fmt.Sprintf("Copy it and give it to %s over a channel you have verified. They must change it at next sign-in.", t.Name),
			Footer: fmt.Sprintf("Only you can see this chat. This message is removed at %s · request %s", s.clockFor(r.req.Requester, deleteAt), r.req.ID),
		}
	default:
		m = s.resultsMessage(r.req, opened, pws, deleteAt)
	}
	s.hook("before deliver " + r.req.ID)
	ref, err := pc.DM(ctx, r.req.Requester, m)
	if err != nil {
		s.log.Error("sending the password DM failed; it stays for the next try", "request", r.req.ID, "err", err)
		if r.req.Single() && r.reply != nil && !r.toldUndelivered {
			r.toldUndelivered = true
			t := opened[0]
			_ = r.reply.Reply(ctx, chat.Message{Title: fmt.Sprintf("⚠️ I reset %s, but I could not DM you the temporary password, and I show it nowhere else.", t.Name),
				Text: fmt.Sprintf("Open a direct message with me: I will try again until %s, then erase it unseen and you would have to reset again. Their sign-in sessions were revoked.",
					s.clockFor(r.req.Requester, t.AttemptAt.Add(s.cfg.DMTTL))),
				Footer: "Request " + r.req.ID})
		}
		return r.giveUpUndelivered(ctx, opened)
	}
	s.hook("sent " + r.req.ID)
	for _, t := range opened {
		moves = append(moves, TargetMove{N: t.N, From: StepRevoked, To: StepDelivered, Change: TargetChange{EraseSealed: true}})
		detail := "the temporary password DM"
		if !r.req.Single() {
			detail = fmt.Sprintf("in a results message of %s", count(len(opened), "password"))
		}
		recs = append(recs, about(r.req, t, EventDelivery, "sent", detail))
	}
	moved, err := r.apply(ctx, moves, &Delivery{RequestID: r.req.ID, Ref: ref, DueAt: deleteAt})
	if err != nil {
		// The DM stays until someone deletes it by hand, or this delivery is tried again; say so loudly.
		s.log.Error("recording a delivered password failed; the DM may be sent again", "request", r.req.ID, "err", err)
		return 0
	}
	s.audit(ctx, recs...)
	return countTrue(moved)
}

// giveUpUndelivered ends the targets whose password could not be delivered within its lifetime: the
// password is erased unseen and the requester is told to reset again. Before that, the next try
// sends it.
func (r *run) giveUpUndelivered(ctx context.Context, ts []*Target) int {
	s := r.s
	var moves []TargetMove
	var recs []*AuditRecord
	for _, t := range ts {
		if s.now().Sub(t.AttemptAt) < s.cfg.DMTTL {
			continue
		}
		moves = append(moves, TargetMove{N: t.N, From: StepRevoked, To: StepUndelivered, Change: TargetChange{EraseSealed: true,
			Outcome: "reset, but I could not DM you its password in time, so it was erased: reset them again"}})
		recs = append(recs, about(r.req, t, EventDelivery, "failed", "the DM could not be sent before the password's lifetime ended; erased unseen"))
	}
	moved, _ := r.apply(ctx, moves, nil)
	s.audit(ctx, recs...)
	return countTrue(moved)
}

// passLifetime is how long a pass works: the configured lifetime, or Entra's default hour.
func passLifetime(d time.Duration) time.Duration {
	if d <= 0 {
		return time.Hour
	}
	return d
}

// resultsMessage is one chunk of a list's results: the users and their temporary passwords, as CSV,
// shown only in the DM.
func (s *Service) resultsMessage(req *Request, ts []*Target, pws []TempPassword, deleteAt time.Time) chat.Message {
	var b strings.Builder
	w := csv.NewWriter(&b)
	column, outcome, noun, text := "TemporaryPassword", "reset", "temporary password",
		"Give each person their temporary password over a channel you have verified. They must change it at next sign-in."
	if req.Caller.Credential == CredentialAccessPass {
		column, outcome, noun, text = "TemporaryAccessPass", "pass made", "Temporary Access Pass",
			"Give each person their Temporary Access Pass over a channel you have verified. Their passwords are unchanged."
	}
	_ = w.Write([]string{"UserPrincipalName", "Outcome", column})
	for i, t := range ts {
		_ = w.Write([]string{CSVSafe(t.UPN), outcome, pws[i].Reveal()})
	}
	w.Flush()
	return chat.Message{
		Title:  fmt.Sprintf("🗝️ Results for %s: %s", listName(req), count(len(ts), noun)),
		Text:   text,
		Secret: chat.NewSecret(b.String()),
		Footer: fmt.Sprintf("Only you can see this chat. This message is removed at %s · list %s", s.clockFor(req.Requester, deleteAt), req.ID),
	}
}

// withdrawDue withdraws password DMs that are due; safe on several replicas at once.
func (s *Service) withdrawDue(ctx context.Context) {
	now := s.now()
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
			if req, err := s.store.GetRequest(ctx, d.RequestID); err == nil {
				rec = about(req, single(req), EventDelivery, "withdrawn", "")
			}
			s.audit(ctx, rec)
		}
	}
}

// deliveryLease is how long a replica holds a due DM while withdrawing it.
const deliveryLease = time.Minute
