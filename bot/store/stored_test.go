package store

import (
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/store/pgtest"
	"github.com/resetbot/resetbot/bot/store/storetest"
	"github.com/resetbot/resetbot/chat"
)

// Both engines keep times as Unix nanoseconds in an integer column, the format the rows already in
// every deployed database have: what the store writes is that format, and what is in that format
// reads back as the same instant.
func checkTimesStoredAsNanoseconds(t *testing.T, store bot.Store, s *sqlStore) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC)
	r := storetest.Sample("R-NANOS0")
	r.CreatedAt, r.ExpiresAt = at, time.Time{}
	if err := store.CreateRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := store.AppendAudit(ctx, &bot.AuditRecord{At: at, Event: bot.EventRequested}); err != nil {
		t.Fatal(err)
	}
	var created, expires, audited int64
	if err := s.read.QueryRowContext(ctx, s.d.rebind(`SELECT created_at, expires_at, (SELECT at FROM audit)
		FROM requests WHERE id = ?`), r.ID).Scan(&created, &expires, &audited); err != nil {
		t.Fatal(err)
	}
	if created != at.UnixNano() || audited != at.UnixNano() || expires != 0 {
		t.Errorf("stored times %d, %d and %d, want %d, %d (Unix nanoseconds) and 0 for no time",
			created, audited, expires, at.UnixNano(), at.UnixNano())
	}

	// A row as an earlier release wrote it.
	due := at.Add(time.Hour)
	if _, err := s.write.ExecContext(ctx, s.d.rebind(`INSERT INTO deliveries (request_id, ref, due_at) VALUES (?, ?, ?)`),
		r.ID, `{"platform":"slack","channel":"D1","id":"1700000000.000100"}`, due.UnixNano()); err != nil {
		t.Fatal(err)
	}
	got, err := store.DueDeliveries(ctx, due)
	if err != nil || len(got) != 1 || !got[0].DueAt.Equal(due) || got[0].DueAt.Location() != time.UTC ||
		got[0].Ref != (chat.MessageRef{Platform: chat.PlatformSlack, Channel: "D1", ID: "1700000000.000100"}) {
		t.Errorf("a stored delivery due at %d reads back as %+v, %v; want it due at %v", due.UnixNano(), got, err, due)
	}
}

func TestSQLiteStoresTimesAsNanoseconds(t *testing.T) {
	s := openTemp(t).(*sqliteStore)
	checkTimesStoredAsNanoseconds(t, s, &s.sqlStore)
}

func TestPostgresStoresTimesAsNanoseconds(t *testing.T) {
	s := openPG(t, pgtest.DSN(t))
	checkTimesStoredAsNanoseconds(t, s, &s.sqlStore)
}
