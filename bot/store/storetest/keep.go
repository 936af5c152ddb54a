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

// leaseDelivery: of several processes that see the same due DM, one takes it; a taker that dies
// leaves it due again when its lease ends.
func leaseDelivery(t *testing.T, s bot.Store) {
	create(t, s, Sample("R-LEASE01"))
	ref := chat.MessageRef{Platform: chat.PlatformSlack, Channel: "D1", ID: "1700000000.000100"}
	if err := s.AddDelivery(ctx, bot.Delivery{RequestID: "R-LEASE01", Ref: ref, DueAt: t0}); err != nil {
		t.Fatal(err)
	}
	due, err := s.DueDeliveries(ctx, t0)
	if err != nil || len(due) != 1 {
		t.Fatalf("due: %v %v", due, err)
	}
	id := due[0].ID
	if n := winners(t, 8, func(int) (bool, error) { return s.LeaseDelivery(ctx, id, t0, t0.Add(time.Minute)) }); n != 1 {
		t.Fatalf("%d processes took the same DM, want exactly 1", n)
	}
	if d, _ := s.DueDeliveries(ctx, t0.Add(30*time.Second)); len(d) != 0 {
		t.Errorf("a leased DM is still listed as due during its lease: %+v", d)
	}
	d, _ := s.DueDeliveries(ctx, t0.Add(time.Minute))
	if len(d) != 1 || d[0].ID != id || !d[0].DueAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after the lease ended the DM must be due again at the lease's end: %+v", d)
	}
	if ok, _ := s.LeaseDelivery(ctx, id, t0.Add(time.Minute), t0.Add(2*time.Minute)); !ok {
		t.Error("a lapsed lease could not be taken again")
	}
	if ok, _ := s.LeaseDelivery(ctx, 987654, t0, t0.Add(time.Minute)); ok {
		t.Error("leasing a delivery that does not exist reported true")
	}
}

func conversationRefs(t *testing.T, s bot.Store) {
	if _, ok, err := s.GetConversationRef(ctx, "user:none"); ok || err != nil {
		t.Fatalf("unknown key: %v %v, want not found", ok, err)
	}
	a := bot.ConversationRef{Route: `{"serviceUrl":"https://smba.trafficmanager.net/emea/","conversationId":"a:1xyz","userId":"29:1abc"}`,
		UpdatedAt: t0}
	if err := s.PutConversationRef(ctx, "user:oid-1", a); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.GetConversationRef(ctx, "user:oid-1")
	if err != nil || !ok || got != a {
		t.Fatalf("round trip: %+v %v %v, want %+v", got, ok, err, a)
	}
	b := a
	b.Route, b.UpdatedAt = `{"serviceUrl":"https://smba.trafficmanager.net/amer/","conversationId":"a:1xyz","userId":"29:1abc"}`, t0.Add(time.Hour)
	if err := s.PutConversationRef(ctx, "user:oid-1", b); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.GetConversationRef(ctx, "user:oid-1"); got != b {
		t.Errorf("after an update: %+v, want %+v", got, b)
	}
}

// jobRuns walks one slot through claim, a lapse, a takeover and its finish.
func jobRuns(t *testing.T, s bot.Store) {
	slot := t0.Truncate(time.Hour)
	lease := t0.Add(time.Minute)
	claim := func(owner string, now time.Time) bool {
		t.Helper()
		ok, err := s.ClaimJob(ctx, "digest", slot, owner, now, now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim("replica-a", t0) {
		t.Fatal("the first claim of a slot failed")
	}
	if claim("replica-b", t0.Add(30*time.Second)) {
		t.Fatal("a second replica claimed a slot whose lease still runs")
	}
	if _, ok, _ := s.LastFinishedJob(ctx, "digest"); ok {
		t.Error("an unfinished run counts as finished")
	}
	if l, _ := s.LapsedJobs(ctx, lease); len(l) != 0 {
		t.Errorf("lapsed before the lease ended (at the instant it ends): %+v", l)
	}
	l, err := s.LapsedJobs(ctx, lease.Add(time.Second))
	if err != nil || len(l) != 1 || l[0].Owner != "replica-a" || !l[0].Slot.Equal(slot) || l[0].Claims != 1 {
		t.Fatalf("lapsed runs: %+v %v, want replica-a's one", l, err)
	}
	if !claim("replica-b", lease.Add(time.Second)) {
		t.Fatal("a lapsed run could not be taken over")
	}
	if ok, _ := s.FinishJob(ctx, "digest", slot, "replica-a", lease.Add(2*time.Second)); ok {
		t.Error("the replica that lost its lease could still finish the run")
	}
	if ok, _ := s.FinishJob(ctx, "digest", slot, "replica-b", lease.Add(3*time.Second)); !ok {
		t.Fatal("the owner could not finish its run")
	}
	if claim("replica-c", lease.Add(time.Hour)) {
		t.Error("a finished run was claimed again")
	}
	run, ok, err := s.LastFinishedJob(ctx, "digest")
	if err != nil || !ok || run.Owner != "replica-b" || run.Claims != 2 || !run.Slot.Equal(slot) ||
		!run.FinishedAt.Equal(lease.Add(3*time.Second)) {
		t.Fatalf("last finished: %+v %v %v", run, ok, err)
	}
	// A later slot that finishes becomes the last; another job's runs are its own.
	later := slot.Add(24 * time.Hour)
	if ok, _ := s.ClaimJob(ctx, "digest", later, "replica-a", later, later.Add(time.Minute)); !ok {
		t.Fatal("claiming the next slot failed")
	}
	if ok, _ := s.FinishJob(ctx, "digest", later, "replica-a", later.Add(time.Second)); !ok {
		t.Fatal("finishing the next slot failed")
	}
	if run, _, _ := s.LastFinishedJob(ctx, "digest"); !run.Slot.Equal(later) {
		t.Errorf("last finished slot %v, want %v", run.Slot, later)
	}
	if _, ok, _ := s.LastFinishedJob(ctx, "other"); ok {
		t.Error("another job sees the digest's runs")
	}
}

// racingJobClaims: replicas whose schedules fire together; one runs the slot.
func racingJobClaims(t *testing.T, s bot.Store) {
	n := winners(t, 10, func(i int) (bool, error) {
		return s.ClaimJob(ctx, "digest", t0, fmt.Sprint("replica-", i), t0, t0.Add(time.Minute))
	})
	if n != 1 {
		t.Errorf("%d replicas claimed the same slot, want 1", n)
	}
}

func signIns(t *testing.T, s bot.Store) {
	p := bot.PendingSignIn{State: "st-1", ActorKey: "slack:T1:U1", ObjectID: "oid-1",
		Sealed: []byte{0, 1, 2, 255}, ExpiresAt: t0.Add(10 * time.Minute)}
	if err := s.PutSignIn(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSignIn(ctx, bot.PendingSignIn{State: "st-old", ActorKey: "k", ObjectID: "o",
		Sealed: []byte("x"), ExpiresAt: t0}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.TakeSignIn(ctx, "st-1", t0)
	if err != nil || !ok || got.State != p.State || got.ActorKey != p.ActorKey || got.ObjectID != p.ObjectID ||
		!bytes.Equal(got.Sealed, p.Sealed) || !got.ExpiresAt.Equal(p.ExpiresAt) {
		t.Fatalf("take: %+v %v %v, want %+v", got, ok, err, p)
	}
	if _, ok, _ := s.TakeSignIn(ctx, "st-1", t0); ok {
		t.Error("a sign-in state was usable twice")
	}
	if _, ok, _ := s.TakeSignIn(ctx, "st-old", t0); ok {
		t.Error("an expired sign-in link was accepted")
	}
	if _, ok, _ := s.TakeSignIn(ctx, "st-unknown", t0); ok {
		t.Error("an unknown state was accepted")
	}

	tok := bot.AgentToken{ActorKey: "slack:T1:U1", ObjectID: "oid-1", Sealed: []byte("sealed-1"),
		ExpiresAt: t0.Add(24 * time.Hour), UpdatedAt: t0}
	if err := s.PutAgentToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	g, ok, err := s.GetAgentToken(ctx, tok.ActorKey, t0)
	if err != nil || !ok || !bytes.Equal(g.Sealed, tok.Sealed) || g.ObjectID != "oid-1" ||
		!g.ExpiresAt.Equal(tok.ExpiresAt) || !g.UpdatedAt.Equal(t0) {
		t.Fatalf("token round trip: %+v %v %v", g, ok, err)
	}
	tok.Sealed, tok.UpdatedAt = []byte("sealed-2"), t0.Add(time.Hour)
	if err := s.PutAgentToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if g, _, _ := s.GetAgentToken(ctx, tok.ActorKey, t0); !bytes.Equal(g.Sealed, []byte("sealed-2")) {
		t.Errorf("a refreshed token did not replace the old one: %q", g.Sealed)
	}
	if _, ok, _ := s.GetAgentToken(ctx, tok.ActorKey, tok.ExpiresAt); ok {
		t.Error("a token past its refresh lifetime is still returned")
	}
	if ok, _ := s.DeleteAgentToken(ctx, tok.ActorKey); !ok {
		t.Error("sign out found no token")
	}
	if _, ok, _ := s.GetAgentToken(ctx, tok.ActorKey, t0); ok {
		t.Error("a token survived sign-out")
	}
	if ok, _ := s.DeleteAgentToken(ctx, tok.ActorKey); ok {
		t.Error("a second sign-out found a token")
	}
}

// identityLinks: a link kept, replaced by a later sign-in, dropped once.
func identityLinks(t *testing.T, s bot.Store) {
	if _, ok, err := s.GetLink(ctx, "slack:T1:U1"); ok || err != nil {
		t.Fatalf("a link nobody made: %v %v", ok, err)
	}
	first := bot.IdentityLink{ActorKey: "slack:T1:U1", ObjectID: "oid-1", LinkedAt: t0, VerifiedAt: t0}
	if err := s.PutLink(ctx, first); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.GetLink(ctx, first.ActorKey); !ok || err != nil || !reflect.DeepEqual(got, first) {
		t.Fatalf("GetLink = %+v %v %v", got, ok, err)
	}
	again := first
	again.VerifiedAt = t0.Add(time.Hour)
	if err := s.PutLink(ctx, again); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.GetLink(ctx, first.ActorKey); !got.VerifiedAt.Equal(again.VerifiedAt) {
		t.Errorf("a renewed link kept %v", got.VerifiedAt)
	}
	if ok, err := s.DeleteLink(ctx, first.ActorKey); !ok || err != nil {
		t.Fatalf("DeleteLink = %v %v", ok, err)
	}
	if ok, _ := s.DeleteLink(ctx, first.ActorKey); ok {
		t.Error("a link was dropped twice")
	}
	if _, ok, _ := s.GetLink(ctx, first.ActorKey); ok {
		t.Error("a dropped link is still there")
	}
}
