package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// noticesCallersAndAssurance: a target's notice moves by compare-and-swap and comes back whole; the
// notices due are the reset targets not yet told, and those left "sending" too long; requests are
// listed by state with their caller record; an audit record's assurance is kept and hashed.
func noticesCallersAndAssurance(t *testing.T, s bot.Store) {
	r := Sample("R-NOTE01")
	r.State = bot.StateResetting
	r.Targets[0].Step = bot.StepDelivered
	r.Targets = append(r.Targets, bot.Target{N: 2, Line: 4, Ref: "lynne@contoso.com", ID: "id-lynne", UPN: "lynne@contoso.com",
		Step: bot.StepUndelivered, UpdatedAt: t0})
	create(t, s, r)

	due := func(staleBefore time.Time) []int {
		t.Helper()
		ds, err := s.NoticesDue(ctx, staleBefore, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ns []int
		for _, d := range ds {
			if d.RequestID == r.ID {
				ns = append(ns, d.N)
			}
		}
		return ns
	}
	if got := due(t0); !reflect.DeepEqual(got, []int{0, 2}) {
		t.Fatalf("notices due = %v, want the delivered and the undelivered target [0 2]", got)
	}
	at := t0.Add(time.Minute)
	if ok, err := s.SetNotice(ctx, r.ID, 0, "", bot.Notice{State: bot.NoticeSending}, at); err != nil || !ok {
		t.Fatalf("taking a notice: %v %v", ok, err)
	}
	if ok, err := s.SetNotice(ctx, r.ID, 0, "", bot.Notice{State: bot.NoticeSending}, at); err != nil || ok {
		t.Fatalf("a notice taken twice: %v %v", ok, err)
	}
	if got := due(at); !reflect.DeepEqual(got, []int{2}) {
		t.Errorf("a notice being sent is due again at once: %v", got)
	}
	if got := due(at.Add(time.Nanosecond)); !reflect.DeepEqual(got, []int{0, 2}) {
		t.Errorf("a notice left sending is not due once stale: %v", got)
	}
	sent := bot.Notice{State: bot.NoticeSent, To: "teams:tenant-1:oid-ceo", Manager: bot.NoticeUnreached, Disputed: t0.Add(time.Hour)}
	if ok, err := s.SetNotice(ctx, r.ID, 0, bot.NoticeSending, sent, at); err != nil || !ok {
		t.Fatalf("recording a sent notice: %v %v", ok, err)
	}
	got := get(t, s, r.ID)
	if !reflect.DeepEqual(got.Targets[0].Notice, sent) {
		t.Errorf("the notice came back as %+v, want %+v", got.Targets[0].Notice, sent)
	}
	if !reflect.DeepEqual(got.Caller, r.Caller) {
		t.Errorf("the caller record came back as %+v, want %+v", got.Caller, r.Caller)
	}
	if got := due(at.Add(time.Hour)); !reflect.DeepEqual(got, []int{2}) {
		t.Errorf("a sent notice is due again: %v", got)
	}

	// A transition replaces the caller record.
	c := bot.Caller{Credential: bot.CredentialPassword, Assurance: bot.AssuranceManager, Detail: "confirmed by megan@contoso.com", Seal: "s2"}
	if ok, err := s.Transition(ctx, r.ID, bot.StateResetting, bot.StateResetting, bot.Change{Caller: &c}, at); err != nil || !ok {
		t.Fatalf("transition with a caller: %v %v", ok, err)
	}
	if got := get(t, s, r.ID).Caller; !reflect.DeepEqual(got, c) {
		t.Errorf("the caller record after a transition: %+v", got)
	}

	other := Sample("R-NOTE02") // pending
	create(t, s, other)
	listed, err := s.InState(ctx, bot.StateResetting, 10)
	if err != nil || len(listed) != 1 || listed[0].ID != r.ID || len(listed[0].Targets) != 3 {
		t.Errorf("InState(resetting) = %d requests, %v", len(listed), err)
	}

	rec := &bot.AuditRecord{At: t0, RequestID: r.ID, Event: bot.EventReset, Outcome: "done", Assurance: bot.AssuranceChat}
	if err := s.AppendAudit(ctx, rec); err != nil {
		t.Fatal(err)
	}
	var back []bot.AuditRecord
	if err := s.AuditSince(ctx, 0, func(a bot.AuditRecord) error { back = append(back, a); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(back) != 1 || back[0].Assurance != bot.AssuranceChat || back[0].Hash != back[0].ChainHash(back[0].PrevHash) {
		t.Errorf("the record came back as %+v", back)
	}
	withoutIt := back[0]
	withoutIt.Assurance = ""
	if withoutIt.ChainHash(back[0].PrevHash) == back[0].Hash {
		t.Error("the assurance is not covered by the hash")
	}
}
