package store

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/store/storetest"
)

func openTemp(t *testing.T) bot.Store {
	t.Helper()
	s, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "resetbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLiteContract(t *testing.T) { storetest.Run(t, openTemp) }

// Two processes on one file (two handles here): a request is approved by exactly one.
func TestTwoHandlesOneFile(t *testing.T) {
	path := "sqlite:" + filepath.Join(t.TempDir(), "shared.db")
	ctx := context.Background()
	var stores []bot.Store
	for range 2 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	if err := stores[0].CreateRequest(ctx, storetest.Sample("R-SHARED")); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := stores[i%2].Transition(ctx, "R-SHARED", bot.StatePending, bot.StateApproved, bot.Change{}, storetest.Sample("").CreatedAt)
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
		t.Errorf("%d handles won the approval, want 1", wins.Load())
	}
	for i := range 10 {
		if err := stores[i%2].AppendAudit(ctx, &bot.AuditRecord{Event: bot.EventDecision}); err != nil {
			t.Fatal(err)
		}
	}
	prev := ""
	if err := stores[1].AuditSince(ctx, 0, func(r bot.AuditRecord) error {
		if r.PrevHash != prev {
			t.Errorf("record %d does not link to the one before", r.Seq)
		}
		prev = r.Hash
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// The trail cannot be edited or trimmed through SQL either.
func TestAuditIsAppendOnly(t *testing.T) {
	s := openTemp(t).(*sqliteStore)
	ctx := context.Background()
	if err := s.AppendAudit(ctx, &bot.AuditRecord{Event: bot.EventReset, Outcome: "failed"}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE audit SET outcome = 'done'`, `DELETE FROM audit`} {
		if _, err := s.db.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want it refused", q, err)
		}
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := "sqlite:" + filepath.Join(t.TempDir(), "again.db")
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRequest(ctx, storetest.Sample("R-KEEP00")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	defer s.Close()
	if _, err := s.GetRequest(ctx, "R-KEEP00"); err != nil {
		t.Errorf("after reopening: %v", err)
	}
}

func TestOpenErrorsSayWhatToDo(t *testing.T) {
	for _, c := range []struct{ dsn, says string }{
		{"sqlite:", "needs a file path"},
		{"sqlite:/no/such/folder/x.db", "does not exist"},
		{"mysql://u:hunter2@db/x", "use sqlite:PATH"},
		{"postgres://u:hunter2@db/x", "not supported yet"},
	} {
		_, err := Open(context.Background(), c.dsn)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Open(%q) = %v, want it to say %q", c.dsn, err, c.says)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q) leaked the password: %v", c.dsn, err)
		}
	}
}
