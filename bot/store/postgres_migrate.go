package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/postgres/*.sql
var postgresMigrations embed.FS

// newPostgresMigrator is goose over the embedded PostgreSQL migrations, holding goose's session
// advisory lock while it migrates: replicas starting together on a new database migrate once, the
// others wait (polling once a second) and then find nothing to do. A replica killed mid-migration
// drops the lock with its connection. The lock is per schema, like everything else in this store.
func newPostgresMigrator(db *sql.DB, schema string) (*goose.Provider, error) {
	migrations, err := fs.Sub(postgresMigrations, "migrations/postgres")
	if err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(lockKey("resetbot migrations", schema)),
		lock.WithLockTimeout(1, uint64(pgStartTimeout.Seconds())), // Open's own deadline usually ends the wait first
		lock.WithUnlockTimeout(1, 10),
	)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db, migrations, goose.WithSessionLocker(locker))
}

func migratePostgres(ctx context.Context, db *sql.DB, schema string) error {
	p, err := newPostgresMigrator(db, schema)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("migrating did not finish in time (another replica may hold the migration lock): %w", err)
		}
		return err
	}
	return nil
}
