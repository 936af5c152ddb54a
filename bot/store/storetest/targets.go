package storetest

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
)

// targetSteps: each move is a compare-and-swap on its own target; what a move writes is kept, an
// erased password is gone, and a refused move changes nothing.
func targetSteps(t *testing.T, s bot.Store) {
	r := Sample("R-STEP00")
	r.State = bot.StateResetting
	create(t, s, r)
	at := t0.Add(time.Minute)
	sealed := []byte{0x01, 0xfe, 0x00, 0x7f}
	moved, err := s.StepTargets(ctx, r.ID, []bot.TargetMove{
		{N: 0, From: bot.StepQueued, To: bot.StepSetting, Change: bot.TargetChange{Sealed: sealed, AttemptAt: at,
			PasswordChangedBefore: t0.Add(-time.Hour), Attempts: 1}},
		{N: 1, From: bot.StepQueued, To: bot.StepSetting}, // refused, not queued: must not move
	}, nil, at)
	if err != nil || !reflect.DeepEqual(moved, []bool{true, false}) {
		t.Fatalf("StepTargets = %v, %v; want [true false]", moved, err)
	}
	got := get(t, s, r.ID)
	t0s, t1s := got.Targets[0], got.Targets[1]
	if t0s.Step != bot.StepSetting || !bytes.Equal(t0s.Sealed, sealed) || !t0s.AttemptAt.Equal(at) ||
		!t0s.PasswordChangedBefore.Equal(t0.Add(-time.Hour)) || t0s.Attempts != 1 || !t0s.UpdatedAt.Equal(at) {
		t.Errorf("the move did not write its change: %+v", t0s)
	}
	if !reflect.DeepEqual(t1s, r.Targets[1]) {
		t.Errorf("a refused move changed its target:\n got %+v\nwant %+v", t1s, r.Targets[1])
	}
	// Zero fields leave what is there; EraseSealed clears the password.
	if moved, err := s.StepTargets(ctx, r.ID, []bot.TargetMove{{N: 0, From: bot.StepSetting, To: bot.StepSet,
		Change: bot.TargetChange{GraphRequestID: "req-1"}}}, nil, at); err != nil || !moved[0] {
		t.Fatalf("setting → set: %v %v", moved, err)
	}
	if got := get(t, s, r.ID).Targets[0]; !bytes.Equal(got.Sealed, sealed) || got.GraphRequestID != "req-1" || got.Attempts != 1 {
		t.Errorf("an empty change erased fields: %+v", got)
	}
	for _, m := range []bot.TargetMove{
		{N: 0, From: bot.StepSet, To: bot.StepRevoked, Change: bot.TargetChange{Revoke: "done"}},
		{N: 0, From: bot.StepRevoked, To: bot.StepDelivered, Change: bot.TargetChange{EraseSealed: true, Outcome: "delivered"}},
	} {
		if moved, err := s.StepTargets(ctx, r.ID, []bot.TargetMove{m}, nil, at); err != nil || !moved[0] {
			t.Fatalf("%s → %s: %v %v", m.From, m.To, moved, err)
		}
	}
	if got := get(t, s, r.ID).Targets[0]; got.Sealed != nil || got.Step != bot.StepDelivered || got.Revoke != "done" || got.Outcome != "delivered" {
		t.Errorf("after delivery: %+v (the sealed password must be gone)", got)
	}
	if moved, err := s.StepTargets(ctx, "R-NOSUCH", []bot.TargetMove{{N: 0, From: bot.StepQueued, To: bot.StepSetting}}, nil, at); err != nil || moved[0] {
		t.Errorf("a step of an unknown request: %v %v", moved, err)
	}
}

// deliveredAndScheduled: a password's delivery mark and its DM's withdrawal go in one transaction.
func deliveredAndScheduled(t *testing.T, s bot.Store) {
	r := Sample("R-DLV000")
	r.Targets[0].Step, r.Targets[0].Sealed = bot.StepRevoked, []byte("sealed")
	create(t, s, r)
	ref := chat.MessageRef{Platform: chat.PlatformSlack, Channel: "D1", ID: "1700000000.1"}
	moved, err := s.StepTargets(ctx, r.ID, []bot.TargetMove{{N: 0, From: bot.StepRevoked, To: bot.StepDelivered,
		Change: bot.TargetChange{EraseSealed: true}}}, &bot.Delivery{RequestID: r.ID, Ref: ref, DueAt: t0.Add(15 * time.Minute)}, t0)
	if err != nil || !moved[0] {
		t.Fatalf("deliver: %v %v", moved, err)
	}
	due, err := s.DueDeliveries(ctx, t0.Add(15*time.Minute))
	if err != nil || len(due) != 1 || due[0].Ref != ref || due[0].RequestID != r.ID {
		t.Fatalf("the withdrawal was not scheduled with the delivery: %+v %v", due, err)
	}
	if got := get(t, s, r.ID).Targets[0]; got.Sealed != nil {
		t.Error("the delivered password is still sealed in the store")
	}
}

// racingTargetSteps: twenty processes take the same target's step at once; one does.
func racingTargetSteps(t *testing.T, s bot.Store) {
	r := Sample("R-TRACE0")
	create(t, s, r)
	n := winners(t, 20, func(i int) (bool, error) {
		moved, err := s.StepTargets(ctx, r.ID, []bot.TargetMove{{N: 0, From: bot.StepQueued, To: bot.StepSetting,
			Change: bot.TargetChange{Sealed: []byte{byte(i)}, Attempts: 1}}}, nil, t0)
		return len(moved) == 1 && moved[0], err
	})
	if n != 1 {
		t.Fatalf("%d processes took the step, want 1", n)
	}
}

// leases: a request is worked by one process; the holder renews, another waits for the lapse; a
// released or lapsed request is runnable again.
func leases(t *testing.T, s bot.Store) {
	a := Sample("R-LEASE0")
	a.State = bot.StateApproved
	b := Sample("R-LEASE1")
	b.State, b.CreatedAt = bot.StateResetting, t0.Add(time.Second)
	done := Sample("R-LEASE2")
	done.State = bot.StateDone
	for _, r := range []*bot.Request{a, b, done, Sample("R-LEASE3")} {
		create(t, s, r)
	}
	runnable := func(now time.Time) []string {
		t.Helper()
		ids, err := s.Runnable(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if got := runnable(t0); !reflect.DeepEqual(got, []string{"R-LEASE0", "R-LEASE1"}) {
		t.Fatalf("Runnable = %v, want the approved and the resetting one", got)
	}
	if ok, err := s.Lease(ctx, a.ID, "p1", t0, t0.Add(time.Minute)); !ok || err != nil {
		t.Fatalf("lease: %v %v", ok, err)
	}
	if ok, _ := s.Lease(ctx, a.ID, "p2", t0.Add(30*time.Second), t0.Add(90*time.Second)); ok {
		t.Fatal("another process took a lease still held")
	}
	if ok, _ := s.Lease(ctx, a.ID, "p1", t0.Add(30*time.Second), t0.Add(90*time.Second)); !ok {
		t.Fatal("the holder could not renew its lease")
	}
	if got := runnable(t0.Add(time.Minute)); !reflect.DeepEqual(got, []string{"R-LEASE1"}) {
		t.Errorf("Runnable while leased = %v", got)
	}
	// The holder dies: after the lease another process takes it over.
	if got := runnable(t0.Add(2 * time.Minute)); !reflect.DeepEqual(got, []string{"R-LEASE0", "R-LEASE1"}) {
		t.Errorf("Runnable after the lease lapsed = %v", got)
	}
	if ok, _ := s.Lease(ctx, a.ID, "p2", t0.Add(2*time.Minute), t0.Add(3*time.Minute)); !ok {
		t.Fatal("a lapsed lease could not be taken over")
	}
	if err := s.Release(ctx, a.ID, "p1"); err != nil { // the old holder's release does nothing now
		t.Fatal(err)
	}
	if got := get(t, s, a.ID); got.LeaseOwner != "p2" {
		t.Errorf("a former holder released another's lease: owner %q", got.LeaseOwner)
	}
	if err := s.Release(ctx, a.ID, "p2"); err != nil {
		t.Fatal(err)
	}
	if got := runnable(t0.Add(2 * time.Minute)); len(got) != 2 {
		t.Errorf("a released request is not runnable: %v", got)
	}
}

// racingLeases: three replicas find the same lapsed request; one works it.
func racingLeases(t *testing.T, s bot.Store) {
	r := Sample("R-LRACE0")
	r.State = bot.StateResetting
	create(t, s, r)
	if n := winners(t, 3, func(i int) (bool, error) {
		return s.Lease(ctx, r.ID, fmt.Sprint("replica-", i), t0, t0.Add(time.Minute))
	}); n != 1 {
		t.Fatalf("%d replicas leased one request, want 1", n)
	}
}

// reserveCounts: the window is inclusive of its start, other agents count for the tenant only, an
// ask over the agent's limit is not counted, and N = 0 only reads.
func reserveCounts(t *testing.T, s bot.Store) {
	since := t0.Add(-time.Hour)
	ask := func(actor string, n int, at time.Time, limit int) bot.QuotaUse {
		t.Helper()
		u, err := s.Reserve(ctx, bot.QuotaAsk{ActorKey: actor, RequestID: "R-Q", N: n, At: at, Since: since, PerActor: limit})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	ask("slack:T1:pat", 5, since.Add(-time.Nanosecond), 0) // before the window
	ask("slack:T1:pat", 3, since, 0)
	ask("slack:T1:sam", 40, t0.Add(-time.Minute), 0)
	if u := ask("slack:T1:pat", 0, t0, 0); u.Actor != 3 || u.Tenant != 43 || !u.Counted || !u.ActorOldest.Equal(since) {
		t.Errorf("read = %+v, want Actor 3, Tenant 43, the agent's oldest ask in the window at %v", u, since)
	}
	if u := ask("slack:T1:lee", 0, t0, 0); !u.ActorOldest.IsZero() {
		t.Errorf("an agent with no asks = %+v, want no oldest ask", u)
	}
	if u := ask("slack:T1:pat", 8, t0, 10); u.Counted || u.Actor != 3 {
		t.Errorf("an ask over the limit = %+v, want it not counted", u)
	}
	if u := ask("slack:T1:pat", 7, t0, 10); !u.Counted {
		t.Errorf("an ask that fits = %+v, want it counted", u)
	}
	if u := ask("slack:T1:pat", 0, t0, 0); u.Actor != 10 || u.Tenant != 50 {
		t.Errorf("after = %+v, want Actor 10, Tenant 50", u)
	}
}

// reserveAtomic: 200 asks at once against a limit of 30 count exactly 30.
func reserveAtomic(t *testing.T, s bot.Store) {
	n := winners(t, 200, func(i int) (bool, error) {
		u, err := s.Reserve(ctx, bot.QuotaAsk{ActorKey: "slack:T1:burst", RequestID: fmt.Sprint("R-", i), N: 1, At: t0,
			Since: t0.Add(-time.Hour), PerActor: 30})
		return u.Counted, err
	})
	if n != 30 {
		t.Fatalf("%d of 200 concurrent asks were counted against a limit of 30", n)
	}
}

// busy: a person in an unfinished request is named with that request; finished, refused or other
// requests' people are not.
func busy(t *testing.T, s bot.Store) {
	waiting := Sample("R-BUSY00") // pending; its first target queued, its second refused
	create(t, s, waiting)
	done := Sample("R-BUSY01")
	done.State = bot.StateDone
	done.Targets[0].ID = "id-done"
	create(t, s, done)
	running := Sample("R-BUSY02")
	running.State = bot.StateResetting
	running.Targets[0].ID, running.Targets[0].Step = "id-running", bot.StepSetting
	create(t, s, running)
	preview := Sample("R-BUSY03")
	preview.State = bot.StatePreview
	preview.Targets[0].ID = "id-previewed"
	create(t, s, preview)
	got, err := s.Busy(ctx, []string{"id-ceo", "id-done", "id-running", "id-nobody", "id-previewed"}, "R-OTHER", "slack:T1:someone-else")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"id-ceo": "R-BUSY00", "id-running": "R-BUSY02"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Busy = %v, want %v", got, want)
	}
	// A preview reserves its users against its own requester's next list only.
	if got, _ := s.Busy(ctx, []string{"id-previewed"}, "R-OTHER", preview.Requester.Key()); got["id-previewed"] != "R-BUSY03" {
		t.Errorf("a requester's own preview is not busy for them: %v", got)
	}
	if got, _ := s.Busy(ctx, []string{"id-ceo"}, "R-BUSY00", "x"); len(got) != 0 {
		t.Errorf("a request is busy with itself: %v", got)
	}
	if got, _ := s.Busy(ctx, []string{"id-ceo", "id-running"}, "R-OTHER", "x", bot.StepSetting); !reflect.DeepEqual(got, map[string]string{"id-running": "R-BUSY02"}) {
		t.Errorf("Busy in the writing steps = %v", got)
	}
}
