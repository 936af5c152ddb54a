package store

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	// pgx through database/sql rather than pgxpool: goose migrates through a *sql.DB either way, the
	// queries (sqlStore) are written once over database/sql for both engines, and database/sql's pool
	// drops a connection the server closed (a restart, a failover) and retries on a fresh one.
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/resetbot/resetbot/bot"
)

// postgresStore is bot.Store on PostgreSQL, for several replicas on one database. Every decision
// about who acts (a transition, a claim, a lease) is one conditional statement, so the database picks
// the winner; appends to the audit trail take a transaction-scoped advisory lock (postgresDialect), so
// the chain has one head whichever replica writes. Every call but the AuditSince stream is bounded by
// pgOpTimeout.
//
// It keeps to the schema first in search_path, so several deployments (or tests) can share one
// database, each in a schema of its own: RESETBOT_STORE=postgres://…/resetbot?search_path=NAME.
type postgresStore struct {
	sqlStore
	db *sql.DB // the one pool, which sqlStore reads and writes through
}

const (
	// pgConnectTimeout bounds one connection attempt, TLS and authentication included.
	pgConnectTimeout = 10 * time.Second
	// pgStartTimeout bounds Open: connecting, waiting for another replica's migration, migrating.
	pgStartTimeout = 2 * time.Minute
	// pgOpTimeout bounds each call.
	pgOpTimeout = 15 * time.Second
	// pgMaxConns keeps a replica's share of the server's connections (100 by default) modest; an
	// AuditSince callback that uses the store needs a second one.
	pgMaxConns = 16
)

func openPostgres(ctx context.Context, dsn string, opts ...Option) (_ bot.Store, err error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("RESETBOT_STORE=%s is not a PostgreSQL URL I can read: %s; the form is postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=require",
			redactDSN(dsn), scrubPassword(err, dsn, ""))
	}
	// Fail a connection attempt in bounded time, and notice a server that vanished without closing
	// the connection (a failover, a cut network) after about 30 s of silence rather than Go's default
	// of about two and a half minutes. Calls have opTimeout besides; this also ends an AuditSince
	// stream, which has none.
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = pgConnectTimeout
	}
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout,
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 5 * time.Second, Count: 3}}
	cfg.DialFunc = dialer.DialContext
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "resetbot"
	}
	where := redactDSN(dsn)
	cantConnect := func(err error) error {
		return fmt.Errorf("RESETBOT_STORE: cannot connect to the PostgreSQL database at %s: %s (check that the server runs and that the host, port, user, password and database name are right)",
			where, scrubPassword(err, dsn, cfg.Password))
	}

	s := &postgresStore{db: stdlib.OpenDB(*cfg, connectOptions(opts)...)}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	s.db.SetMaxOpenConns(pgMaxConns)
	s.db.SetMaxIdleConns(4)
	s.db.SetConnMaxIdleTime(5 * time.Minute)

	ctx, cancel := context.WithTimeout(ctx, pgStartTimeout)
	defer cancel()
	if err := s.db.PingContext(ctx); err != nil {
		return nil, cantConnect(err)
	}
	var schema sql.NullString
	if err := s.db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return nil, cantConnect(err)
	}
	if !schema.Valid {
		return nil, fmt.Errorf("RESETBOT_STORE=%s: no schema in the search_path (%q) exists in database %s; create it (CREATE SCHEMA …) or correct search_path",
			where, cfg.RuntimeParams["search_path"], cfg.Database)
	}
	s.sqlStore = sqlStore{d: postgresDialect(lockKey("resetbot audit chain", schema.String), lockKey("resetbot quota", schema.String)),
		write: s.db, read: s.db, opTimeout: pgOpTimeout}
	if err := migratePostgres(ctx, s.db, schema.String); err != nil {
		return nil, fmt.Errorf("preparing the PostgreSQL store at %s (schema %s): %s", where, schema.String, scrubPassword(err, dsn, cfg.Password))
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.botRole != "" {
		if err := grantBotRole(ctx, s.db, schema.String, o.botRole); err != nil {
			return nil, fmt.Errorf("granting %s its rights in schema %s at %s: %s", o.botRole, schema.String, where, scrubPassword(err, dsn, cfg.Password))
		}
	}
	return s, nil
}

// lockKey names an advisory lock for one purpose in one schema. Advisory locks are per database,
// so deployments in different schemas of one database do not wait for each other.
func lockKey(purpose, schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte(purpose + "\x00" + schema))
	return int64(h.Sum64())
}

// scrubPassword renders an error without the password, in case a driver message quotes the DSN or
// the password: the one in the DSN's user info or parameters, and the one pgx found elsewhere
// (PGPASSWORD, a password file).
func scrubPassword(err error, dsn, password string) string {
	msg := strings.ReplaceAll(err.Error(), dsn, redactDSN(dsn))
	secrets := []string{password}
	if u, err := url.Parse(dsn); err == nil {
		pw, _ := u.User.Password()
		secrets = append(secrets, pw, u.Query().Get("password"))
	}
	for _, pw := range secrets {
		if len(pw) >= 3 { // shorter ones would mangle the message without hiding anything
			msg = strings.ReplaceAll(msg, pw, "…")
		}
	}
	return msg
}

// Ping makes a round trip to the server on a pooled connection.
func (s *postgresStore) Ping(ctx context.Context) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("the PostgreSQL store does not answer: %w", err)
	}
	return nil
}

func (s *postgresStore) Close() error {
	if s.db == nil {
		return nil
	}
	return s.db.Close()
}
