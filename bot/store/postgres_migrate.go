package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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

// migratePostgres brings the schema up to date. A schema already current is only read, so the bot
// may run as a role with no DDL right once the owner has migrated (resetbot store migrate); a role
// that may not migrate a schema that needs it is told so in those words.
func migratePostgres(ctx context.Context, db *sql.DB, schema string) error {
	p, err := newPostgresMigrator(db, schema)
	if err != nil {
		return err
	}
	if pending, err := p.HasPending(ctx); err == nil && !pending {
		return nil
	}
	var mayCreate bool
	if err := db.QueryRowContext(ctx, `SELECT has_schema_privilege(current_schema(), 'CREATE')`).Scan(&mayCreate); err != nil {
		return err
	}
	if !mayCreate {
		return errors.New("the schema needs migrating and this role may not create tables in it: run `resetbot store migrate --grant ROLE` as the schema's owner, then start resetbot as ROLE")
	}
	if _, err := p.Up(ctx); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("migrating did not finish in time (another replica may hold the migration lock): %w", err)
		}
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42501" { // insufficient_privilege
			return fmt.Errorf("the schema needs migrating and this role may not change it (%s): run `resetbot store migrate --grant ROLE` as the schema's owner, then start resetbot as ROLE", pe.Message)
		}
		return err
	}
	return nil
}

// grantBotRole gives role what resetbot needs in schema and nothing more: it reads and writes its
// tables, but on the audit table it may only read and append (no UPDATE, DELETE or TRUNCATE), and it
// owns nothing, so it cannot drop the append-only triggers, alter a table or create one. Run after
// each migration, as the owner, so new tables are covered too.
func grantBotRole(ctx context.Context, db *sql.DB, schema, role string) error {
	s, r := pgx.Identifier{schema}.Sanitize(), pgx.Identifier{role}.Sanitize()
	var owner string
	if err := db.QueryRowContext(ctx, `SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1`, schema).Scan(&owner); err != nil {
		return err
	}
	if owner == role {
		return fmt.Errorf("%s owns schema %s: the bot's role must not be the owner (it could drop the audit trail's triggers); give the schema to the migrating role, or name another role", role, schema)
	}
	for _, stmt := range []string{
		`REVOKE ALL ON SCHEMA ` + s + ` FROM ` + r,
		`GRANT USAGE ON SCHEMA ` + s + ` TO ` + r,
		`REVOKE ALL ON ALL TABLES IN SCHEMA ` + s + ` FROM ` + r,
		`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ` + s + ` TO ` + r,
		`REVOKE UPDATE, DELETE, TRUNCATE ON ` + s + `.audit FROM ` + r,
		`REVOKE INSERT, UPDATE, DELETE ON ` + s + `.goose_db_version FROM ` + r,
		`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ` + s + ` TO ` + r,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}
