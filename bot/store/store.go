// Package store keeps what resetbot must not forget: requests and their approvals, the audit trail,
// idempotency keys and the password DMs still to withdraw. It implements bot.Store on SQLite (the
// embedded default, pure Go); a PostgreSQL engine for several replicas will pass the same contract
// tests (storetest). SQL lives in files named after their engine (sqlite*.go,
// migrations/sqlite/), so a second engine sits beside the first without touching it.
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
const accepted = "set RESETBOT_STORE to sqlite:PATH (e.g. " + DefaultDSN + ") or " + MemoryDSN + " (a throwaway database)"

// Open opens the store a DSN names and brings its schema up to date before returning.
//
//	sqlite:PATH          a SQLite file, created if missing; its folder must exist
//	sqlite::memory:      a throwaway SQLite database, gone on Close
//	postgres://…         PostgreSQL (arrives with the replicas work)
func Open(ctx context.Context, dsn string) (bot.Store, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return nil, fmt.Errorf("RESETBOT_STORE: PostgreSQL support arrives with the replicas work; use sqlite:PATH for now")
	}
	return nil, fmt.Errorf("RESETBOT_STORE=%q is not a store I know: %s", redactDSN(dsn), accepted)
}

// redactDSN keeps a password in a connection string out of error messages.
func redactDSN(dsn string) string {
	if at := strings.LastIndex(dsn, "@"); at > 0 {
		if scheme := strings.Index(dsn, "://"); scheme >= 0 && scheme < at {
			return dsn[:scheme+3] + "…" + dsn[at:]
		}
	}
	return dsn
}
