package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// fiftyCallers runs a burst of whole request lifecycles at once, every method in the mix. Nothing may
// fail with "database is locked" or its like, and the audit chain must come out whole.
func fiftyCallers(t *testing.T, s bot.Store) {
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := lifecycle(s, i); err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	checkChain(t, all(t, s, 0), 2*n)
	if got, err := s.Reserve(ctx, bot.QuotaAsk{ActorKey: Sample("").Requester.Key(), Since: t0}); err != nil || got.Actor != n {
		t.Errorf("Reserve counted %d, %v; want %d", got.Actor, err, n)
	}
}

func lifecycle(s bot.Store, i int) error {
	id := fmt.Sprintf("R-LOAD%02d", i)
	if ok, err := s.Claim(ctx, "load:"+id, t0); err != nil || !ok {
		return fmt.Errorf("claim: %v %v", ok, err)
	}
	r := Sample(id)
	if err := s.CreateRequest(ctx, r); err != nil {
		return err
	}
	if err := s.AppendAudit(ctx, &bot.AuditRecord{At: t0, RequestID: id, Event: bot.EventRequested}); err != nil {
		return err
	}
	if _, err := s.Reserve(ctx, bot.QuotaAsk{ActorKey: r.Requester.Key(), RequestID: id, N: 1, At: t0, Since: t0}); err != nil {
		return err
	}
	if _, err := s.StepTargets(ctx, id, []bot.TargetMove{{N: 0, From: bot.StepQueued, To: bot.StepSetting,
		Change: bot.TargetChange{Sealed: []byte{1, 2, 3}, Attempts: 1}}}, nil, t0); err != nil {
		return err
	}
	for _, step := range [][2]bot.State{{bot.StatePending, bot.StateApproved}, {bot.StateApproved, bot.StateResetting}, {bot.StateResetting, bot.StateDone}} {
		if ok, err := s.Transition(ctx, id, step[0], step[1], bot.Change{Outcome: string(step[1])}, t0); err != nil || !ok {
			return fmt.Errorf("%s → %s: %v %v", step[0], step[1], ok, err)
		}
	}
	if err := s.AddDelivery(ctx, bot.Delivery{RequestID: id, Ref: r.Card, DueAt: t0}); err != nil {
		return err
	}
	if err := s.AppendAudit(ctx, &bot.AuditRecord{At: t0, RequestID: id, Event: bot.EventReset, Outcome: "done"}); err != nil {
		return err
	}
	if _, err := s.ExpiredWaiting(ctx, t0.Add(time.Hour)); err != nil {
		return err
	}
	due, err := s.DueDeliveries(ctx, t0)
	if err != nil {
		return err
	}
	for _, d := range due {
		if d.RequestID == id {
			if ok, err := s.RemoveDelivery(ctx, d.ID); err != nil || !ok {
				return fmt.Errorf("remove delivery: %v %v", ok, err)
			}
		}
	}
	if got, err := s.GetRequest(ctx, id); err != nil || got.State != bot.StateDone {
		return fmt.Errorf("read back: %+v %v", got, err)
	}
	return nil
}
