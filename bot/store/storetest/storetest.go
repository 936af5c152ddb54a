// Package storetest is the contract every store engine passes: what the bot relies on, checked the
// same way for SQLite and PostgreSQL. An engine's test calls Run with a function that opens a new,
// empty store; nothing here knows which engine it is talking to.
//
// It imports bot and chat of resetbot's, never the store itself: it judges bot.Store from outside.
package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
)

// Run checks an engine. open must return a new, empty store for each call; Run closes it.
func Run(t *testing.T, open func(t *testing.T) bot.Store) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, bot.Store)
	}{
		{"RequestRoundTrip", requestRoundTrip},
		{"ZeroRequestRoundTrip", zeroRequestRoundTrip},
		{"TimesComeBackInUTC", timesInUTC},
		{"UnknownAndDuplicateRequests", unknownAndDuplicate},
		{"TransitionIsCompareAndSwap", transitionCAS},
		{"TransitionWritesTheChange", transitionWritesChange},
		{"RacingApprovalsOneWins", racingApprovals},
		{"ExpiredWaiting", expiredWaiting},
		{"ReserveCountsAndLimits", reserveCounts},
		{"ReserveIsAtomic", reserveAtomic},
		{"AuditChain", auditChain},
		{"AuditSinceOrderAndStop", auditSince},
		{"AuditAfter", auditAfter},
		{"AuditStreamCallbackMayUseTheStore", auditCallbackUsesStore},
		{"Claim", claim},
		{"Deliveries", deliveries},
		{"FiftyConcurrentCallers", fiftyCallers},
		{"Ping", ping},
		{"TargetSteps", targetSteps},
		{"DeliveredAndScheduledTogether", deliveredAndScheduled},
		{"RacingTargetSteps", racingTargetSteps},
		{"Leases", leases},
		{"Busy", busy},
		{"RacingLeases", racingLeases},
		{"LeaseDelivery", leaseDelivery},
		{"ConversationRefs", conversationRefs},
		{"JobRuns", jobRuns},
		{"RacingJobClaims", racingJobClaims},
		{"SignIns", signIns},
		{"IdentityLinks", identityLinks},
		{"NoticesCallersAndAssurance", noticesCallersAndAssurance},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			c.fn(t, s)
		})
	}
}

var ctx = context.Background()

// t0 has nanoseconds on purpose: the audit hash covers At to the nanosecond, so an engine that
// rounded times would break the chain when it is verified from what it returns.
var t0 = time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC)

// Sample is a pending request with every field set to something distinct, and two targets: one
// queued and one refused.
func Sample(id string) *bot.Request {
	return &bot.Request{
		ID: id, State: bot.StatePending, Source: "users.csv",
		Requester: chat.Actor{Platform: chat.PlatformTeams, Tenant: "tenant-1", UserID: "29:user-1",
			ObjectID: "oid-pat", Email: "pat@contoso.com", Name: "Pat (Teams)", TimeZone: "Europe/Paris"},
		RequesterID: "id-pat", RequesterUPN: "pat@contoso.com", RequesterName: "Pat Admin",
		RequesterRoles: []string{bot.RolePrivilegedAuthAdmin},
		Reason:         "lost phone, verified by video", ApprovalReason: "Ceo Person holds Global Administrator",
		ApproverRole: "audit_reader",
		ApproverKey:  "teams:tenant-1:29:user-2", ApproverID: "id-sam", ApproverUPN: "sam@contoso.com", ApproverName: "Sam Security",
		Outcome:   "waiting for approval",
		CreatedAt: t0, UpdatedAt: t0.Add(time.Second), ExpiresAt: t0.Add(30 * time.Minute),
		Card: chat.MessageRef{Platform: chat.PlatformTeams, Channel: "19:approvals@thread.tacv2", ID: "1:act-1",
			Route: "https://smba.trafficmanager.net/emea/"},
		Progress:   chat.MessageRef{Platform: chat.PlatformTeams, Channel: "a:1dm", ID: "1:progress"},
		Seal:       "seal-" + id,
		LeaseOwner: "", LeaseUntil: time.Time{},
		Caller: bot.Caller{Credential: bot.CredentialAccessPass, Assurance: bot.AssuranceChat, Detail: "picked in Teams",
			Method: "chat", Answer: "mac-of-42", Asked: "teams:tenant-1:oid-ceo", AskedID: "id-ceo",
			Card: chat.MessageRef{Platform: chat.PlatformTeams, Channel: "a:dm-oid-ceo", ID: "1:numbers"}, Seal: "caller-seal"},
		Targets: []bot.Target{
			{N: 0, Line: 2, Ref: "ceo@contoso.com", ID: "id-ceo", UPN: "ceo@contoso.com", Name: "Ceo Person",
				Roles: []string{bot.RoleGlobalAdmin, bot.RoleUserAdmin}, Reason: "INC0042", Step: bot.StepQueued, UpdatedAt: t0},
			{N: 1, Line: 3, Ref: "nobody@contoso.com", Reason: "lost phone, verified by video", Step: bot.StepRefused,
				Outcome: "no such user in Entra", UpdatedAt: t0},
		},
	}
}

func create(t *testing.T, s bot.Store, r *bot.Request) {
	t.Helper()
	if err := s.CreateRequest(ctx, r); err != nil {
		t.Fatalf("creating %s: %v", r.ID, err)
	}
}

func get(t *testing.T, s bot.Store, id string) *bot.Request {
	t.Helper()
	r, err := s.GetRequest(ctx, id)
	if err != nil {
		t.Fatalf("reading %s: %v", id, err)
	}
	return r
}

func ping(t *testing.T, s bot.Store) {
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// winners runs try n times at once, as n processes racing for one thing, and counts who got it.
func winners(t *testing.T, n int, try func(i int) (bool, error)) int {
	t.Helper()
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ok, err := try(i)
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	return int(won.Load())
}
