// Package store keeps what resetbot must not forget: requests and their approvals, the audit trail,
// idempotency keys, the password DMs still to withdraw, conversation references, scheduled-job runs
// and agents' sign-ins. It implements bot.Store on SQLite (the embedded default, pure Go, for one
// replica) and on PostgreSQL (for several replicas on one database); both pass the same contract
// tests (storetest).
//
// Each query is written once, over database/sql (sqlStore: requests.go, audit.go, claims.go,
// deliveries.go, keep.go), against a small dialect (dialect.go): how placeholders are spelled and how
// an append takes its turn at the head of the audit chain. The engine files keep only what truly
// differs: opening, pools and timeouts (sqlite.go, postgres.go) and migrations (sqlite_migrate.go and
// migrations/sqlite/, postgres_migrate.go and migrations/postgres/).
//
// Of resetbot's own packages it imports only bot (bot.Store and what it keeps) and chat (the message
// model that requests and deliveries carry); everything else, adapters and graphsvc included, reaches
// the store through bot.Store and never the other way. Beyond the standard library it imports only the
// database drivers (modernc.org/sqlite, pgx) and the migrator (goose). imports_test.go holds it to that.
package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/resetbot/resetbot/bot"
)

// DefaultDSN is where the store lives when RESETBOT_STORE is not set.
const DefaultDSN = "sqlite:resetbot.db"

// MemoryDSN names a throwaway database that disappears on Close, for tests and demos.
const MemoryDSN = "sqlite::memory:"

// accepted is the tail of every DSN error, so a wrong setting always comes with the right forms.
const accepted = "set RESETBOT_STORE to sqlite:PATH (e.g. " + DefaultDSN + "), " + MemoryDSN +
	" (a throwaway database) or postgres://USER:PASSWORD@HOST:PORT/DATABASE (several replicas)"

// Open opens the store a DSN names and brings its schema up to date before returning.
//
//	sqlite:PATH          a SQLite file, created if missing; its folder must exist
//	sqlite::memory:      a throwaway SQLite database, gone on Close
//	postgres://…         PostgreSQL, for several replicas on one database (postgresql://… too);
//	                     with libpq's URL parameters (sslmode, connect_timeout, search_path=SCHEMA, …)
//
// Opening PostgreSQL is bounded in time: an unreachable server is an error within the connect
// timeout (10 s unless connect_timeout says otherwise), and all of Open, waiting for another
// replica's migration included, gives up after two minutes.
func Open(ctx context.Context, dsn string, opts ...Option) (bot.Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	var (
		st  bot.Store
		err error
	)
	switch {
	case strings.HasPrefix(dsn, "sqlite:") && o.botRole != "":
		return nil, fmt.Errorf("a bot role (%s) is a PostgreSQL grant; SQLite has no roles: protect the database file instead (resetbot creates it readable by its own user only)", o.botRole)
	case strings.HasPrefix(dsn, "sqlite:"):
		st, err = openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		st, err = openPostgres(ctx, dsn, opts...)
	default:
		return nil, fmt.Errorf("RESETBOT_STORE=%q is not a store I know: %s", redactDSN(dsn), accepted)
	}
	if err != nil {
		return nil, err
	}
	if sq, ok := st.(interface{ base() *sqlStore }); ok {
		sq.base().auditMAC = o.auditMAC
	}
	return st, nil
}

// WithAuditMAC authenticates every record appended to the trail: mac is called with the record's
// hash, inside the append's transaction, and its answer is kept with the record. It is made with a
// key the database never sees (bot.TrailKey), so whoever can write the database can rebuild the hash
// chain but not the MACs.
func WithAuditMAC(mac func(hash string) string) Option {
	return func(o *options) { o.auditMAC = mac }
}

// redactDSN keeps a password in a connection string out of error messages: the user and password
// before the host, and a password=… parameter (libpq takes one there too).
func redactDSN(dsn string) string {
	if at := strings.LastIndex(dsn, "@"); at > 0 {
		if scheme := strings.Index(dsn, "://"); scheme >= 0 && scheme < at {
			dsn = dsn[:scheme+3] + "…" + dsn[at:]
		}
	}
	base, query, ok := strings.Cut(dsn, "?")
	if !ok {
		return dsn
	}
	params := strings.Split(query, "&")
	for i, p := range params {
		if k, _, _ := strings.Cut(p, "="); strings.EqualFold(k, "password") {
			params[i] = k + "=…"
		}
	}
	return base + "?" + strings.Join(params, "&")
}
