package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
)

func auditRecord(i int) *bot.AuditRecord {
	return &bot.AuditRecord{At: t0.Add(time.Duration(i) * time.Second), RequestID: "R-AUD000", Event: bot.EventReset,
		Platform: bot.PlatformTeams, ActorKey: "teams:tenant-1:29:user-1", ActorUPN: "helpdesk@contoso.com",
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
