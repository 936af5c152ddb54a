package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
)

func requestRoundTrip(t *testing.T, s bot.Store) {
	want := Sample("R-AAAAAA")
	create(t, s, want)
	if got := get(t, s, want.ID); !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

// A request with nothing but an ID and a state: zero times, no roles, no card stay that way.
func zeroRequestRoundTrip(t *testing.T, s bot.Store) {
	bare := &bot.Request{ID: "R-BBBBBB", State: bot.StateApproved, Targets: []bot.Target{{Step: bot.StepQueued}}}
	create(t, s, bare)
	got := get(t, s, bare.ID)
	if !reflect.DeepEqual(got, bare) {
		t.Errorf("round trip of a bare request:\n got %+v\nwant %+v", got, bare)
	}
	if !got.CreatedAt.IsZero() || !got.ExpiresAt.IsZero() || !got.Card.IsZero() {
		t.Errorf("zero values did not stay zero: %+v", got)
	}
}

func timesInUTC(t *testing.T, s bot.Store) {
	r := Sample("R-ZONE00")
	sydney := time.FixedZone("AEDT", 11*3600)
	r.CreatedAt, r.UpdatedAt, r.ExpiresAt = t0.In(sydney), t0.In(sydney), t0.Add(time.Hour).In(sydney)
	create(t, s, r)
	got := get(t, s, r.ID)
	for _, c := range []struct {
		name      string
		got, want time.Time
	}{{"CreatedAt", got.CreatedAt, r.CreatedAt}, {"UpdatedAt", got.UpdatedAt, r.UpdatedAt}, {"ExpiresAt", got.ExpiresAt, r.ExpiresAt}} {
		if !c.got.Equal(c.want) || c.got.Location() != time.UTC {
			t.Errorf("%s = %v, want %v in UTC", c.name, c.got, c.want.UTC())
		}
	}
}

func unknownAndDuplicate(t *testing.T, s bot.Store) {
	if _, err := s.GetRequest(ctx, "R-NOSUCH"); !errors.Is(err, bot.ErrNoSuchRequest) {
		t.Errorf("unknown ID: %v, want ErrNoSuchRequest", err)
	}
	create(t, s, Sample("R-DUP000"))
	second := Sample("R-DUP000")
	second.Targets[0].UPN = "someone-else@contoso.com"
	if err := s.CreateRequest(ctx, second); err == nil {
		t.Error("a second request with the same ID was accepted")
	}
	if got := get(t, s, "R-DUP000"); got.Targets[0].UPN != "ceo@contoso.com" || len(got.Targets) != 2 {
		t.Errorf("the refused duplicate overwrote the first: %+v", got.Targets)
	}
	if ok, err := s.Transition(ctx, "R-NOSUCH", bot.StatePending, bot.StateApproved, bot.Change{}, t0); ok || err != nil {
		t.Errorf("transition of an unknown request: ok=%v err=%v, want false, nil", ok, err)
	}
}

func transitionCAS(t *testing.T, s bot.Store) {
	r := Sample("R-CAS000")
	create(t, s, r)
	ok, err := s.Transition(ctx, r.ID, bot.StateApproved, bot.StateResetting, bot.Change{Outcome: "x"}, t0.Add(time.Hour))
	if err != nil || ok {
		t.Fatalf("transition from the wrong state: ok=%v err=%v, want false, nil", ok, err)
	}
	if got := get(t, s, r.ID); !reflect.DeepEqual(got, r) {
		t.Fatalf("a refused transition changed the request:\n got %+v\nwant %+v", got, r)
	}
	// pending → pending is how the service records the approval card once it is posted.
	card := chat.MessageRef{Platform: chat.PlatformSlack, Channel: "C-APPROVALS", ID: "1700000000.000100"}
	if ok, err := s.Transition(ctx, r.ID, bot.StatePending, bot.StatePending, bot.Change{Card: &card}, t0); !ok || err != nil {
		t.Fatalf("pending → pending: ok=%v err=%v", ok, err)
	}
	if got := get(t, s, r.ID); got.State != bot.StatePending || got.Card != card {
		t.Errorf("the card was not recorded: %+v", got)
	}
}

func transitionWritesChange(t *testing.T, s bot.Store) {
	r := &bot.Request{ID: "R-CHG000", State: bot.StatePending, CreatedAt: t0, UpdatedAt: t0, Targets: []bot.Target{{Step: bot.StepQueued, UpdatedAt: t0}}}
	create(t, s, r)
	card := chat.MessageRef{Platform: chat.PlatformTeams, Channel: "19:abc", ID: "1:act", Route: "https://smba.example/"}
	at := t0.Add(time.Minute)
	progress := chat.MessageRef{Platform: chat.PlatformTeams, Channel: "a:dm", ID: "1:p"}
	ch := bot.Change{ApproverKey: "slack:T1:U2", ApproverID: "id-sam", ApproverUPN: "sam@contoso.com", ApproverName: "Sam Security",
		ApprovalSeal: "123.abc", Outcome: "approved", Card: &card, Progress: &progress, ApprovalReason: "a list of 60",
		ApproverRole: "audit_reader", ExpiresAt: t0.Add(time.Hour)}
	if ok, err := s.Transition(ctx, r.ID, bot.StatePending, bot.StateApproved, ch, at); err != nil || !ok {
		t.Fatalf("transition: ok=%v err=%v", ok, err)
	}
	want := *r
	want.State, want.UpdatedAt, want.Card, want.Progress, want.ExpiresAt = bot.StateApproved, at, card, progress, ch.ExpiresAt
	want.ApproverKey, want.ApproverID, want.ApproverUPN, want.ApproverName, want.Outcome = ch.ApproverKey, ch.ApproverID, ch.ApproverUPN, ch.ApproverName, ch.Outcome
	want.ApprovalSeal, want.ApprovalReason, want.ApproverRole = ch.ApprovalSeal, ch.ApprovalReason, ch.ApproverRole
	if got := get(t, s, r.ID); !reflect.DeepEqual(got, &want) {
		t.Errorf("after the transition:\n got %+v\nwant %+v", got, &want)
	}
	// Empty change fields leave what is there; only the state and the time move.
	later := at.Add(time.Minute)
	if ok, err := s.Transition(ctx, r.ID, bot.StateApproved, bot.StateResetting, bot.Change{}, later); !ok || err != nil {
		t.Fatalf("approved → resetting: ok=%v err=%v", ok, err)
	}
	want.State, want.UpdatedAt = bot.StateResetting, later
	if got := get(t, s, r.ID); !reflect.DeepEqual(got, &want) {
		t.Errorf("an empty change erased fields:\n got %+v\nwant %+v", got, &want)
	}
}

// Two approvers clicking at once, or one click delivered to two replicas: exactly one approves.
func racingApprovals(t *testing.T, s bot.Store) {
	r := Sample("R-RACE00")
	create(t, s, r)
	var wins atomic.Int32
	var winner atomic.Value
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			key := fmt.Sprint("approver-", i)
			ok, err := s.Transition(ctx, r.ID, bot.StatePending, bot.StateApproved, bot.Change{ApproverKey: key}, t0)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
				winner.Store(key)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d approvals won, want exactly 1", wins.Load())
	}
	if got := get(t, s, r.ID); got.State != bot.StateApproved || got.ApproverKey != winner.Load() {
		t.Errorf("the stored approver %q is not the one that won (%v)", got.ApproverKey, winner.Load())
	}
}

func expiredWaiting(t *testing.T, s bot.Store) {
	for i, exp := range []time.Duration{time.Minute, -time.Minute, 0} {
		r := Sample(fmt.Sprintf("R-EXP00%d", i))
		r.ExpiresAt = t0.Add(exp)
		create(t, s, r)
	}
	decided := Sample("R-EXP009")
	decided.State, decided.ExpiresAt = bot.StateApproved, t0.Add(-time.Hour)
	create(t, s, decided)
	noDeadline := Sample("R-EXP008")
	noDeadline.ExpiresAt = time.Time{}
	create(t, s, noDeadline)
	preview := Sample("R-EXP007")
	preview.State, preview.ExpiresAt = bot.StatePreview, t0.Add(-30*time.Second)
	create(t, s, preview)

	got, err := s.ExpiredWaiting(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	// Oldest deadline first; a deadline equal to now has passed (the service refuses clicks then).
	// Previews wait for their requester as approvals wait for an approver.
	if want := []string{"R-EXP001", "R-EXP007", "R-EXP002"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("expired waiting = %v, want %v", ids, want)
	}
	if len(got) > 0 && (!reflect.DeepEqual(got[0].Requester, Sample("").Requester) || len(got[0].Targets) != 2) {
		t.Errorf("expired requests come back whole: %+v", got[0])
	}
}
