package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite" // pure-Go SQLite driver: no cgo, one static binary
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/resetbot/resetbot/bot"
)

// sqliteStore is bot.Store on one SQLite file, through two pools:
//
//   - write has a single connection. Goroutines of this process queue for it in Go instead of
//     polling SQLite's lock, so they never see SQLITE_BUSY; other processes on the same file are
//     kept out by SQLite's own lock, waited for by busy_timeout.
//   - read has as many connections as readers need. Under WAL they never wait for the writer, and
//     an AuditSince callback may call the store without waiting for its own connection.
//
// Neither pool has a time bound of the store's own (opTimeout): the file is local, and waiting for
// another process's lock is bounded by busy_timeout.
type sqliteStore struct {
	sqlStore
	tempDir string // the folder of a sqlite::memory: database, removed on Close
}

func openSQLite(ctx context.Context, path string) (_ bot.Store, err error) {
	s := &sqliteStore{sqlStore: sqlStore{d: sqliteDialect}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	switch {
	case path == "":
		return nil, fmt.Errorf("RESETBOT_STORE: sqlite: needs a file path: %s", accepted)
	case path == ":memory:":
		// A private temporary file rather than SQLite's :memory:, which is one database per
		// connection: the pools below would each see a different, empty database.
		if s.tempDir, err = os.MkdirTemp("", "resetbot-store-"); err != nil {
			return nil, fmt.Errorf("RESETBOT_STORE: creating a throwaway SQLite database: %w", err)
		}
		path = filepath.Join(s.tempDir, "resetbot.db")
	case strings.ContainsRune(path, '?'):
		// The driver reads everything after '?' as connection options.
		return nil, fmt.Errorf("RESETBOT_STORE: the SQLite path %q may not contain '?'; rename the file", path)
	}
	if dir := filepath.Dir(path); dir != "." {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("RESETBOT_STORE: the folder %s for the SQLite file does not exist; create it or choose another path", dir)
		}
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("RESETBOT_STORE: %s is a folder; give the path of the database file, e.g. sqlite:%s", path, filepath.Join(path, "resetbot.db"))
	}
	cantOpen := func(err error) error {
		return fmt.Errorf("opening the SQLite store %s: %w (check that it is a file resetbot may read and write, in a folder it may write to)", path, err)
	}
	// The file holds the audit trail and sealed secrets: readable by resetbot's own user only.
	// SQLite gives its journal files the database file's mode.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, cantOpen(err)
	} else {
		f.Close()
	}

	// busy_timeout makes a writer in another process wait for the lock instead of failing.
	// WAL lets readers carry on while one writer writes. synchronous=NORMAL is WAL's usual partner:
	// a commit survives the process crashing, and only a power cut can lose the last few, never
	// corrupting the file or breaking the audit chain. _txlock=immediate takes the write lock when a
	// transaction begins, so another process cannot write between AppendAudit's read and its write.
	w := url.Values{}
	w.Add("_pragma", "busy_timeout(10000)")
	w.Add("_pragma", "journal_mode(WAL)")
	w.Add("_pragma", "synchronous(NORMAL)")
	w.Add("_pragma", "foreign_keys(1)")
	w.Set("_txlock", "immediate")
	if s.write, err = sql.Open("sqlite", path+"?"+w.Encode()); err != nil {
		return nil, cantOpen(err)
	}
	s.write.SetMaxOpenConns(1)
	if err := pingWhileBusy(ctx, s.write); err != nil {
		return nil, cantOpen(err)
	}
	if err := migrateSQLite(ctx, s.write); err != nil {
		return nil, fmt.Errorf("preparing the SQLite store %s: %w", path, err)
	}

	// query_only: a read connection that tried to write would bypass the writer's queue.
	r := url.Values{}
	r.Add("_pragma", "busy_timeout(10000)")
	r.Add("_pragma", "query_only(1)")
	if s.read, err = sql.Open("sqlite", path+"?"+r.Encode()); err != nil {
		return nil, cantOpen(err)
	}
	if err := pingWhileBusy(ctx, s.read); err != nil {
		return nil, cantOpen(err)
	}
	return s, nil
}

// pingWhileBusy opens the first connection, retrying while another process holds the file in a
// way busy_timeout does not cover: when several processes open a new file at once, one turning it
// to WAL makes the others' first connection fail with SQLITE_BUSY straight away.
func pingWhileBusy(ctx context.Context, db *sql.DB) error {
	giveUp := time.Now().Add(10 * time.Second)
	for {
		err := db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(giveUp) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Ping checks both pools: /readyz should fail if either reads or writes cannot reach the file.
func (s *sqliteStore) Ping(ctx context.Context) error {
	return errors.Join(s.write.PingContext(ctx), s.read.PingContext(ctx))
}

func (s *sqliteStore) Close() error {
	var errs []error
	for _, db := range []*sql.DB{s.read, s.write} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	if s.tempDir != "" {
		errs = append(errs, os.RemoveAll(s.tempDir))
	}
	return errors.Join(errs...)
}
