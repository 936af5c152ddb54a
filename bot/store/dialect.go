package store

import (
	"strconv"
	"strings"
)

// dialect is what the two engines' SQL truly differs in. Every query in this package is written
// once, with ? placeholders, and goes through rebind on its way to the database.
//
// Much that could differ does not, and so is not here: both engines store times as Unix
// nanoseconds in a 64-bit integer (PostgreSQL's TIMESTAMPTZ keeps microseconds, and the audit hash
// covers nanoseconds), JSON as text, sealed bytes as a blob; both spell an upsert ON CONFLICT …
// DO UPDATE SET … = excluded.…, and both have DELETE … RETURNING (SQLite since 3.35).
type dialect struct {
	// numbered placeholders ($1, $2, …) where SQLite takes ?.
	numbered bool
	// takeTrail is the statement AppendAudit runs first in its transaction, so that appenders take
	// turns at the head of the chain. Empty when beginning the transaction already does that.
	takeTrail string
	// takeQuota is the statement Reserve runs first in its transaction, so that two asks never both
	// count what the other has not yet written. Empty when beginning the transaction already does that.
	takeQuota string
}

// sqliteDialect: a transaction on the write pool begins with the file's write lock
// (_txlock=immediate), so AppendAudit needs no lock of its own.
var sqliteDialect = dialect{}

// postgresDialect takes a transaction-scoped advisory lock named by lockKey for the store's schema:
// it goes with the transaction when it commits, rolls back or its connection dies. An advisory lock,
// not LOCK TABLE: it needs no UPDATE or DELETE grant on the audit table, which an operator may
// rightly withhold from the bot's role.
func postgresDialect(trailLock, quotaLock int64) dialect {
	return dialect{numbered: true,
		takeTrail: "SELECT pg_advisory_xact_lock(" + strconv.FormatInt(trailLock, 10) + ")",
		takeQuota: "SELECT pg_advisory_xact_lock(" + strconv.FormatInt(quotaLock, 10) + ")"}
}

// rebind spells a query's ? placeholders as the engine wants them. A ? inside a quoted string or
// identifier is left alone; queries here do not use PostgreSQL's jsonb ? operators, which would be
// read as placeholders.
func (d dialect) rebind(query string) string {
	if !d.numbered || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte // the quote character of the string or identifier we are in, 0 outside
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0 // a doubled quote closes and reopens: still right
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
