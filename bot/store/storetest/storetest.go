// Package storetest is the contract every store engine passes: what the bot relies on, checked the
// same way for SQLite and PostgreSQL.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// Run checks an engine. open must return a new, empty store for each call.
func Run(t *testing.T, open func(t *testing.T) bot.Store) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, bot.Store)
	}{
		{"RequestRoundTrip", requestRoundTrip},
		{"UnknownAndDuplicateRequests", unknownAndDuplicate},
		{"TransitionIsCompareAndSwap", transitionCAS},
		{"RacingApprovalsOneWins", racingApprovals},
		{"ExpiredPending", expiredPending},
		{"CountRequests", countRequests},
		{"AuditChain", auditChain},
		{"ConcurrentAuditAppendsKeepTheChain", concurrentAudit},
		{"Claim", claim},
		{"Deliveries", deliveries},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

var ctx = context.Background()

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC)

// Sample is a request with every field set.
func Sample(id string) *bot.Request {
	return &bot.Request{
		ID: id, State: bot.StatePending,
		Requester:   bot.Actor{Platform: bot.PlatformSlack, Tenant: "T1", UserID: "U1", Email: "pat@contoso.com", Name: "Pat"},
		RequesterID: "id-pat", RequesterUPN: "pat@contoso.com", RequesterName: "Pat Admin",
		RequesterRoles: []string{bot.RolePrivilegedAuthAdmin},
		TargetID:       "id-ceo", TargetUPN: "ceo@contoso.com", TargetName: "Ceo Person",
		TargetRoles: []string{bot.RoleGlobalAdmin, bot.RoleUserAdmin},
		Reason:      "lost phone, verified by video", ApprovalReason: "Ceo Person holds Global Administrator",
		Outcome:   "",
		CreatedAt: t0, UpdatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute),
		Card: bot.MessageRef{Platform: bot.PlatformSlack, Channel: "C1", ID: "1700000000.000100"},
	}
}

func requestRoundTrip(t *testing.T, s bot.Store) {
	want := Sample("R-AAAAAA")
	if err := s.CreateRequest(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRequest(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	bare := &bot.Request{ID: "R-BBBBBB", State: bot.StateApproved, CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateRequest(ctx, bare); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetRequest(ctx, bare.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, bare) {
		t.Errorf("round trip of a bare request:\n got %+v\nwant %+v", got, bare)
	}
}

func unknownAndDuplicate(t *testing.T, s bot.Store) {
	if _, err := s.GetRequest(ctx, "R-NOSUCH"); !errors.Is(err, bot.ErrNoSuchRequest) {
		t.Errorf("unknown ID: %v, want ErrNoSuchRequest", err)
	}
	if err := s.CreateRequest(ctx, Sample("R-DUP000")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRequest(ctx, Sample("R-DUP000")); err == nil {
		t.Error("a second request with the same ID was accepted")
	}
	if ok, err := s.Transition(ctx, "R-NOSUCH", bot.StatePending, bot.StateApproved, bot.Change{}, t0); ok || err != nil {
		t.Errorf("transition of an unknown request: %v %v", ok, err)
	}
}

func transitionCAS(t *testing.T, s bot.Store) {
	r := Sample("R-CAS000")
	if err := s.CreateRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	ok, err := s.Transition(ctx, r.ID, bot.StateApproved, bot.StateResetting, bot.Change{Outcome: "x"}, t0)
	if err != nil || ok {
		t.Fatalf("transition from the wrong state: ok=%v err=%v", ok, err)
	}
	if got, _ := s.GetRequest(ctx, r.ID); got.State != bot.StatePending || got.Outcome != "" {
		t.Fatalf("a refused transition changed the request: %+v", got)
	}
	card := bot.MessageRef{Platform: bot.PlatformTeams, Channel: "19:abc", ID: "1:act", ServiceURL: "https://smba.example/"}
	at := t0.Add(time.Minute)
	ok, err = s.Transition(ctx, r.ID, bot.StatePending, bot.StateApproved,
		bot.Change{ApproverKey: "slack:T1:U2", ApproverUPN: "sam@contoso.com", ApproverName: "Sam Security", Outcome: "approved", Card: &card}, at)
	if err != nil || !ok {
		t.Fatalf("transition: ok=%v err=%v", ok, err)
	}
	got, _ := s.GetRequest(ctx, r.ID)
	if got.State != bot.StateApproved || got.ApproverKey != "slack:T1:U2" || got.ApproverUPN != "sam@contoso.com" ||
		got.ApproverName != "Sam Security" || got.Outcome != "approved" || got.Card != card || !got.UpdatedAt.Equal(at) {
		t.Errorf("the change was not written: %+v", got)
	}
	// Empty change fields leave what is there.
	if ok, _ := s.Transition(ctx, r.ID, bot.StateApproved, bot.StateResetting, bot.Change{}, at); !ok {
		t.Fatal("approved → resetting refused")
	}
	if got, _ := s.GetRequest(ctx, r.ID); got.ApproverName != "Sam Security" || got.Card != card {
		t.Errorf("an empty change erased fields: %+v", got)
	}
}

func racingApprovals(t *testing.T, s bot.Store) {
	r := Sample("R-RACE00")
	if err := s.CreateRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.Transition(ctx, r.ID, bot.StatePending, bot.StateApproved, bot.Change{ApproverKey: fmt.Sprint("approver-", i)}, t0)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d approvals won, want exactly 1", wins.Load())
	}
}

func expiredPending(t *testing.T, s bot.Store) {
	for i, exp := range []time.Duration{-time.Minute, 0, time.Minute} {
		r := Sample(fmt.Sprintf("R-EXP00%d", i))
		r.ExpiresAt = t0.Add(exp)
		if err := s.CreateRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	decided := Sample("R-EXP009")
	decided.State, decided.ExpiresAt = bot.StateApproved, t0.Add(-time.Hour)
	if err := s.CreateRequest(ctx, decided); err != nil {
		t.Fatal(err)
	}
	noDeadline := Sample("R-EXP008")
	noDeadline.ExpiresAt = time.Time{}
	if err := s.CreateRequest(ctx, noDeadline); err != nil {
		t.Fatal(err)
	}
	got, err := s.ExpiredPending(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if !reflect.DeepEqual(ids, []string{"R-EXP000", "R-EXP001"}) {
		t.Errorf("expired pending = %v, want [R-EXP000 R-EXP001]", ids)
	}
}

func countRequests(t *testing.T, s bot.Store) {
	for i, at := range []time.Duration{-2 * time.Hour, -30 * time.Minute, -time.Minute} {
		r := Sample(fmt.Sprintf("R-CNT00%d", i))
		r.CreatedAt = t0.Add(at)
		if err := s.CreateRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	other := Sample("R-CNT009")
	other.Requester.UserID = "U9"
	if err := s.CreateRequest(ctx, other); err != nil {
		t.Fatal(err)
	}
	n, err := s.CountRequests(ctx, Sample("").Requester.Key(), t0.Add(-time.Hour))
	if err != nil || n != 2 {
		t.Errorf("CountRequests = %d, %v; want 2", n, err)
	}
}

func auditChain(t *testing.T, s bot.Store) {
	for i := range 5 {
		rec := &bot.AuditRecord{At: t0.Add(time.Duration(i) * time.Second), RequestID: "R-AUD000", Event: bot.EventReset,
			Platform: bot.PlatformTeams, ActorKey: "k", ActorUPN: "helpdesk@contoso.com", TargetID: "id", TargetUPN: "adele@contoso.com",
			Outcome: "done", Detail: fmt.Sprint("step ", i), GraphRequestID: "g", DurationMS: int64(i)}
		if err := s.AppendAudit(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if rec.Seq != int64(i+1) || rec.Hash == "" {
			t.Fatalf("append %d: seq %d hash %q", i, rec.Seq, rec.Hash)
		}
	}
	var recs []bot.AuditRecord
	if err := s.AuditSince(ctx, 0, func(r bot.AuditRecord) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	checkChain(t, recs, 5)
	if recs[2].Detail != "step 2" || !recs[2].At.Equal(t0.Add(2*time.Second)) || recs[2].Platform != bot.PlatformTeams {
		t.Errorf("record 3 did not round-trip: %+v", recs[2])
	}
	var after []int64
	if err := s.AuditSince(ctx, 3, func(r bot.AuditRecord) error { after = append(after, r.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after, []int64{4, 5}) {
		t.Errorf("AuditSince(3) = %v", after)
	}
	stop := errors.New("stop")
	n := 0
	if err := s.AuditSince(ctx, 0, func(bot.AuditRecord) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("stopping the stream: %v after %d", err, n)
	}
}

func concurrentAudit(t *testing.T, s bot.Store) {
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.AppendAudit(ctx, &bot.AuditRecord{At: t0, Event: bot.EventDecision, Detail: fmt.Sprint(i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var recs []bot.AuditRecord
	if err := s.AuditSince(ctx, 0, func(r bot.AuditRecord) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	checkChain(t, recs, 30)
}

func checkChain(t *testing.T, recs []bot.AuditRecord, want int) {
	t.Helper()
	if len(recs) != want {
		t.Fatalf("%d records, want %d", len(recs), want)
	}
	prev := ""
	for i, r := range recs {
		if r.Seq != int64(i+1) || r.PrevHash != prev || r.Hash != r.ChainHash(prev) {
			t.Fatalf("record %d breaks the chain: %+v", i+1, r)
		}
		prev = r.Hash
	}
}

func claim(t *testing.T, s bot.Store) {
	if ok, err := s.Claim(ctx, "slack:trigger-1", t0); !ok || err != nil {
		t.Fatalf("first claim: %v %v", ok, err)
	}
	if ok, err := s.Claim(ctx, "slack:trigger-1", t0); ok || err != nil {
		t.Fatalf("second claim: %v %v", ok, err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.Claim(ctx, "teams:activity-7", t0)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d concurrent claims won, want 1", wins.Load())
	}
}

func deliveries(t *testing.T, s bot.Store) {
	ref := bot.MessageRef{Platform: bot.PlatformSlack, Channel: "D123", ID: "1700000000.000200"}
	for i, due := range []time.Duration{-time.Minute, 0, time.Minute} {
		if err := s.AddDelivery(ctx, bot.Delivery{RequestID: fmt.Sprint("R-DLV00", i), Ref: ref, DueAt: t0.Add(due)}); err != nil {
			t.Fatal(err)
		}
	}
	due, err := s.DueDeliveries(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 2 || due[0].RequestID != "R-DLV000" || due[0].Ref != ref || !due[0].DueAt.Equal(t0.Add(-time.Minute)) {
		t.Fatalf("due deliveries: %+v", due)
	}
	if ok, err := s.RemoveDelivery(ctx, due[0].ID); !ok || err != nil {
		t.Fatalf("remove: %v %v", ok, err)
	}
	if ok, err := s.RemoveDelivery(ctx, due[0].ID); ok || err != nil {
		t.Fatalf("second remove: %v %v", ok, err)
	}
	if again, _ := s.DueDeliveries(ctx, t0); len(again) != 1 {
		t.Errorf("after removing one, %d due, want 1", len(again))
	}
}
