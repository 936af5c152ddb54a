package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
)

func auditRecord(i int) *bot.AuditRecord {
	return &bot.AuditRecord{At: t0.Add(time.Duration(i) * time.Second), RequestID: "R-AUD000", Event: bot.EventReset,
		Platform: chat.PlatformTeams, ActorKey: "teams:tenant-1:29:user-1", ActorUPN: "helpdesk@contoso.com",
		TargetID: "id-adele", TargetUPN: "adele@contoso.com", Outcome: "done", Detail: fmt.Sprint("step ", i),
		GraphRequestID: "graph-req-1", DurationMS: int64(100 + i)}
}

func appendN(t *testing.T, s bot.Store, n int) []bot.AuditRecord {
	t.Helper()
	var appended []bot.AuditRecord
	for i := range n {
		rec := auditRecord(i)
		rec.Seq, rec.PrevHash, rec.Hash = 99, "forged", "forged" // the store sets these, whatever they were
		if err := s.AppendAudit(ctx, rec); err != nil {
			t.Fatal(err)
		}
		appended = append(appended, *rec)
	}
	return appended
}

func all(t *testing.T, s bot.Store, after int64) []bot.AuditRecord {
	t.Helper()
	var recs []bot.AuditRecord
	if err := s.AuditSince(ctx, after, func(r bot.AuditRecord) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return recs
}

func auditChain(t *testing.T, s bot.Store) {
	appended := appendN(t, s, 5)
	for i, rec := range appended {
		if rec.Seq != int64(i+1) {
			t.Errorf("append %d got seq %d", i, rec.Seq)
		}
	}
	if appended[0].PrevHash != "" {
		t.Errorf("the first record links to %q, want \"\"", appended[0].PrevHash)
	}
	recs := all(t, s, 0)
	checkChain(t, recs, 5)
	if !reflect.DeepEqual(recs, appended) {
		t.Errorf("the trail differs from what AppendAudit returned:\n got %+v\nwant %+v", recs, appended)
	}
}

func auditSince(t *testing.T, s bot.Store) {
	appendN(t, s, 5)
	var after []int64
	for _, r := range all(t, s, 3) {
		after = append(after, r.Seq)
	}
	if !reflect.DeepEqual(after, []int64{4, 5}) {
		t.Errorf("AuditSince(3) = %v, want [4 5]", after)
	}
	if rest := all(t, s, 5); len(rest) != 0 {
		t.Errorf("AuditSince(last) = %d records, want none", len(rest))
	}
	stop := errors.New("stop")
	n := 0
	if err := s.AuditSince(ctx, 0, func(bot.AuditRecord) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("stopping the stream: %v after %d records, want stop after 1", err, n)
	}
}

// A digest reads requests while it walks the trail and records that it ran; an engine that streams
// over its only connection would wait for itself here forever.
func auditCallbackUsesStore(t *testing.T, s bot.Store) {
	create(t, s, Sample("R-AUD000"))
	appendN(t, s, 3)
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err := s.AuditSince(ctx, 0, func(r bot.AuditRecord) error {
		if _, err := s.GetRequest(ctx, r.RequestID); err != nil {
			return err
		}
		return s.AppendAudit(ctx, &bot.AuditRecord{At: t0, Event: bot.EventDecision, Detail: fmt.Sprint("seen ", r.Seq)})
	})
	if err != nil {
		t.Fatalf("using the store inside AuditSince: %v", err)
	}
	checkChain(t, all(t, s, 0), 6)
}

// checkChain verifies the trail the way an auditor would: from the records alone.
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

// auditAfter: a reader of a window starts at the first record of the window, even when a replica
// with a slow clock appended a record out of time order.
func auditAfter(t *testing.T, s bot.Store) {
	if seq, err := s.AuditAfter(ctx, t0); err != nil || seq != 0 {
		t.Fatalf("empty trail: %d %v, want 0", seq, err)
	}
	appendN(t, s, 5) // seq 1..5 at t0+0s … t0+4s
	late := auditRecord(1)
	late.At = t0.Add(2500 * time.Millisecond) // seq 6, a slow clock: earlier than seq 4 and 5
	if err := s.AppendAudit(ctx, late); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		at   time.Duration
		want int64
	}{
		{-time.Hour, 0},              // everything
		{0, 0},                       // at t0 exactly: seq 1 on
		{1500 * time.Millisecond, 2}, // seq 3 (t0+2s) on
		{3 * time.Second, 3},         // seq 4 on
		{2600 * time.Millisecond, 3}, // seq 4 (t0+3s) on; seq 6 at 2.5s is before
		{4500 * time.Millisecond, 6}, // nothing: the last seq
	} {
		got, err := s.AuditAfter(ctx, t0.Add(c.at))
		if err != nil || got != c.want {
			t.Errorf("AuditAfter(t0%+v) = %d %v, want %d", c.at, got, err, c.want)
		}
	}
	// Every record at or after the time is seen from there, the late one included.
	after, _ := s.AuditAfter(ctx, t0.Add(2*time.Second))
	var seen []int64
	for _, r := range all(t, s, after) {
		if !r.At.Before(t0.Add(2 * time.Second)) {
			seen = append(seen, r.Seq)
		}
	}
	if !reflect.DeepEqual(seen, []int64{3, 4, 5, 6}) {
		t.Errorf("records at or after t0+2s read from %d: %v, want [3 4 5 6]", after, seen)
	}
}
