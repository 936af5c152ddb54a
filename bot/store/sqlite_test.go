package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/store/storetest"
)

var ctx = context.Background()

func openPath(t *testing.T, path string) *sqliteStore {
	t.Helper()
	s, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.(*sqliteStore)
}

func openTemp(t *testing.T) bot.Store { return openPath(t, filepath.Join(t.TempDir(), "resetbot.db")) }

func TestSQLiteContract(t *testing.T) { storetest.Run(t, openTemp) }

func TestSQLiteMemoryContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) bot.Store {
		s, err := Open(ctx, MemoryDSN)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestMemoryStoreLeavesNothingBehind(t *testing.T) {
	s, err := Open(ctx, MemoryDSN)
	if err != nil {
		t.Fatal(err)
	}
	dir := s.(*sqliteStore).tempDir
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the throwaway database's folder %s is still there: %v", dir, err)
	}
}

// Two processes on one file (two handles here): a request is approved by exactly one, and appends
// from both keep one unbroken chain.
func TestTwoHandlesOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	a, b := openPath(t, path), openPath(t, path)
	stores := []bot.Store{a, b}
	if err := a.CreateRequest(ctx, storetest.Sample("R-SHARED")); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			ok, err := stores[i%2].Transition(ctx, "R-SHARED", bot.StatePending, bot.StateApproved, bot.Change{}, time.Now())
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		})
		wg.Go(func() {
			if err := stores[i%2].AppendAudit(ctx, &bot.AuditRecord{At: time.Now(), Event: bot.EventApproval}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d handles won the approval, want 1", wins.Load())
	}
	prev, n := "", 0
	if err := b.AuditSince(ctx, 0, func(r bot.AuditRecord) error {
		if r.PrevHash != prev || r.Hash != r.ChainHash(prev) {
			t.Errorf("record %d does not link to the one before", r.Seq)
		}
		prev, n = r.Hash, n+1
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 20 {
		t.Errorf("%d audit records, want 20", n)
	}
}

// The trail cannot be edited or trimmed through SQL either, not even by the bot's own connection.
func TestAuditIsAppendOnly(t *testing.T) {
	s := openTemp(t).(*sqliteStore)
	if err := s.AppendAudit(ctx, &bot.AuditRecord{Event: bot.EventReset, Outcome: "failed"}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE audit SET outcome = 'done'`, `DELETE FROM audit`, `DELETE FROM audit WHERE seq = 1`} {
		if _, err := s.write.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want it refused as append-only", q, err)
		}
	}
	var outcome string
	if err := s.read.QueryRowContext(ctx, `SELECT outcome FROM audit`).Scan(&outcome); err != nil || outcome != "failed" {
		t.Errorf("the record changed: %q %v", outcome, err)
	}
}

// The read pool cannot write, so no write can skip the writer's queue.
func TestReadPoolIsReadOnly(t *testing.T) {
	s := openTemp(t).(*sqliteStore)
	if _, err := s.read.ExecContext(ctx, `INSERT INTO idempotency_keys (key, claimed_at) VALUES ('k', 0)`); err == nil {
		t.Error("the read pool wrote")
	}
}

func TestReopenMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "again.db")
	s := openPath(t, path)
	if err := s.CreateRequest(ctx, storetest.Sample("R-KEEP00")); err != nil {
		t.Fatal(err)
	}
	versions := func(db *sql.DB) (n int) {
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM goose_db_version`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := versions(s.read)
	s.Close()
	for range 2 {
		s = openPath(t, path)
		if got := versions(s.read); got != before {
			t.Errorf("reopening applied migrations again: %d version rows, had %d", got, before)
		}
		if got, err := s.GetRequest(ctx, "R-KEEP00"); err != nil || !reflect.DeepEqual(got, storetest.Sample("R-KEEP00")) {
			t.Errorf("after reopening: %+v %v", got, err)
		}
		s.Close()
	}
}

// Several processes starting at once on a new file: one migrates, the others wait for it.
func TestConcurrentFirstOpen(t *testing.T) {
	for range 5 {
		path := "sqlite:" + filepath.Join(t.TempDir(), "new.db")
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				s, err := Open(ctx, path)
				if err != nil {
					t.Error(err)
					return
				}
				s.Close()
			})
		}
		wg.Wait()
	}
}

func TestMigrationLockLease(t *testing.T) {
	db := openTemp(t).(*sqliteStore).write
	holder := &migrationLock{owner: "holder", lease: time.Hour, poll: time.Millisecond}
	if err := holder.Lock(ctx, db); err != nil {
		t.Fatal(err)
	}
	waiter := &migrationLock{owner: "waiter", lease: time.Hour, poll: time.Millisecond}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := waiter.Lock(short, db); err == nil {
		t.Fatal("a held lock was taken")
	}
	if err := holder.Unlock(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := waiter.Lock(ctx, db); err != nil {
		t.Fatalf("a released lock was not taken: %v", err)
	}
	// The waiter dies holding it; once its lease is over someone else may go ahead.
	if _, err := db.ExecContext(ctx, `UPDATE resetbot_migration_lock SET expires_at = 1`); err != nil {
		t.Fatal(err)
	}
	if err := holder.Lock(ctx, db); err != nil {
		t.Fatalf("a lapsed lock was not taken over: %v", err)
	}
}

// A database created before requester columns existed keeps its requests' chat identities.
func TestMigrationMovesRequesterToColumns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := newSQLiteMigrator(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	want := storetest.Sample("R-OLD000")
	want.Requester.TimeZone = "" // requests of that version kept no time zone
	if _, err := db.ExecContext(ctx, `INSERT INTO requests (id, state, requester_key, requester, requester_id,
		requester_upn, requester_name, requester_roles, target_id, target_upn, target_name, target_roles, reason,
		approval_reason, created_at, updated_at)
		VALUES (?, 'pending', ?, ?, '', '', '', '[]', '', '', '', '[]', '', '', 1, 1)`,
		want.ID, want.Requester.Key(), jsonText(want.Requester)); err != nil {
		t.Fatal(err)
	}
	s := openPath(t, path)
	got, err := s.GetRequest(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Requester != want.Requester {
		t.Errorf("requester after migrating: %+v, want %+v", got.Requester, want.Requester)
	}
	if _, err := p.DownTo(ctx, 1); err != nil {
		t.Fatalf("migrating back down: %v", err)
	}
}

// The bot never hands the store a password; the schema has nowhere to put one either.
func TestNoColumnCanHoldAPassword(t *testing.T) {
	s := openTemp(t).(*sqliteStore)
	rows, err := s.read.QueryContext(ctx, `SELECT m.name, p.name FROM sqlite_schema m, pragma_table_info(m.name) p WHERE m.type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			t.Fatal(err)
		}
		n++
		if passwordLike(column) {
			t.Errorf("%s.%s looks like it could hold a password", table, column)
		}
	}
	if err := rows.Err(); err != nil || n < 20 {
		t.Fatalf("read %d columns: %v", n, err)
	}
}

func TestOpenErrorsSayWhatToDo(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ dsn, says string }{
		{"sqlite:", "needs a file path"},
		{"sqlite:/no/such/folder/x.db", "does not exist"},
		{"sqlite:" + dir, "is a folder; give the path of the database file, e.g. sqlite:" + dir + "/resetbot.db"},
		{"sqlite:" + dir + "/x.db?mode=ro", "may not contain '?'"},
		{"mysql://u:hunter2@db/x", "RESETBOT_STORE"},
		{"mysql://u:hunter2@db/x", "sqlite:PATH"},
		{"", "RESETBOT_STORE"},
		{"mysql://u:hunter2@db/x", "postgres://USER:PASSWORD@HOST:PORT/DATABASE"},
		// PostgreSQL is opened; nothing listens on port 1, so it is refused at once (more in postgres_test.go).
		{"postgres://u:hunter2@127.0.0.1:1/x?sslmode=disable", "cannot connect to the PostgreSQL database"},
		{"postgresql://u:hunter2@127.0.0.1:1/x?sslmode=disable", "RESETBOT_STORE"},
	} {
		_, err := Open(ctx, c.dsn)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Open(%q) = %v, want it to say %q", c.dsn, err, c.says)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q) leaked the password: %v", c.dsn, err)
		}
	}
}

// A new SQLite file and its journal are readable by resetbot's own user only: they hold the trail
// and sealed secrets.
func TestSQLiteFileIsPrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "resetbot.db")
	s, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AppendAudit(ctx, &bot.AuditRecord{Event: bot.EventRefused}); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal"} {
		st, err := os.Stat(path + suffix)
		if err != nil {
			continue
		}
		if mode := st.Mode().Perm(); mode&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group and others", filepath.Base(path+suffix), mode)
		}
	}
}
