// Package store keeps what resetbot must not forget: requests and their approvals, the audit trail,
// idempotency keys and the password DMs still to withdraw. It implements bot.Store on SQLite (the
// embedded default, pure Go); a PostgreSQL engine for several replicas passes the same contract
// tests (storetest).
package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/resetbot/resetbot/bot"
)

// DefaultDSN is where the store lives when RESETBOT_STORE is not set.
const DefaultDSN = "sqlite:resetbot.db"

// Open opens the store a DSN names and brings its schema up to date.
//
//	sqlite:PATH          a SQLite file (created if missing)
//	postgres://…         PostgreSQL (arrives with the replicas work)
func Open(ctx context.Context, dsn string) (bot.Store, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return nil, fmt.Errorf("RESETBOT_STORE: PostgreSQL is not supported yet; use sqlite:PATH")
	}
	return nil, fmt.Errorf("RESETBOT_STORE=%q is not a store I know: use sqlite:PATH (e.g. %s)", redactDSN(dsn), DefaultDSN)
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
