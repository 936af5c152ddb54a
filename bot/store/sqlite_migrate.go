package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
)

//go:embed migrations/sqlite/*.sql
var sqliteMigrations embed.FS

// newSQLiteMigrator is goose over the embedded SQLite migrations.
func newSQLiteMigrator(db *sql.DB) (*goose.Provider, error) {
	migrations, err := fs.Sub(sqliteMigrations, "migrations/sqlite")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectSQLite3, db, migrations)
}

// migrateSQLite brings the schema up to date under migrationLock. The lock is taken around all of
// Up rather than passed to goose (WithLocker), because goose checks for pending migrations, and
// creates its version table, before it locks: unlocked, processes starting together race there
// and the losers sit out goose's one-second retry.
func migrateSQLite(ctx context.Context, db *sql.DB) (err error) {
	p, err := newSQLiteMigrator(db)
	if err != nil {
		return err
	}
	l := &migrationLock{owner: rand.Text(), lease: time.Minute, poll: 20 * time.Millisecond}
	if err := l.Lock(ctx, db); err != nil {
		return err
	}
	defer func() { err = errors.Join(err, l.Unlock(context.WithoutCancel(ctx), db)) }()
	_, err = p.Up(ctx)
	return err
}

// migrationLock keeps migrations to one process at a time; goose only has locks for PostgreSQL
// and MySQL. Without it two processes opening a new database at once both apply the first
// migration, and one fails with "table requests already exists". The lock is a row with a lease,
// so a process killed mid-migration holds it only until the lease runs out.
type migrationLock struct {
	owner       string
	lease, poll time.Duration
}

func (l *migrationLock) Lock(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS resetbot_migration_lock (
		id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, expires_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("creating the migration lock: %w", err)
	}
	giveUp := time.Now().Add(l.lease + 10*l.poll) // a dead holder's lease always lapses first
	for {
		now := time.Now()
		// Take the lock when nobody holds it, or when its holder's lease has run out.
		took, err := rowsAffected(db.ExecContext(ctx, `INSERT INTO resetbot_migration_lock (id, owner, expires_at)
			VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
			WHERE expires_at < ?`, l.owner, now.Add(l.lease).UnixNano(), now.UnixNano()))
		if err != nil {
			return fmt.Errorf("taking the migration lock: %w", err)
		}
		if took {
			return nil
		}
		if now.After(giveUp) {
			return errors.New("another process has been migrating the store for too long; if it is stuck, stop it and start again")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for another process to finish migrating the store: %w", ctx.Err())
		case <-time.After(l.poll):
		}
	}
}

func (l *migrationLock) Unlock(ctx context.Context, db *sql.DB) error {
	_, err := db.ExecContext(ctx, `DELETE FROM resetbot_migration_lock WHERE id = 1 AND owner = ?`, l.owner)
	return err
}
