package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"
)

// sqlStore is bot.Store written once, over database/sql, for both engines. An engine opens the
// pools, migrates, and hands them over with its dialect; it adds Ping and Close.
type sqlStore struct {
	d dialect
	// write takes every statement that changes something; read takes the queries. SQLite's write
	// pool is its single writer and read its read pool; PostgreSQL gives one pool as both.
	write, read *sql.DB
	// opTimeout bounds every call but the AuditSince stream, whatever deadline the caller's context
	// has: with the database gone the bot answers "temporarily unavailable" instead of hanging. 0
	// sets no bound of the store's own (SQLite: a local file, whose lock waits busy_timeout bounds).
	opTimeout time.Duration
	// auditMAC, when set, authenticates each appended record's hash (WithAuditMAC).
	auditMAC func(hash string) string
}

// scanner is a row to read: *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// op bounds one call by opTimeout (or the caller's deadline, when sooner).
func (s *sqlStore) op(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.opTimeout == 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.opTimeout)
}

// exec runs a statement on the write pool and reports whether it touched exactly one row: for a
// conditional write, whether this caller is the one that acts.
func (s *sqlStore) exec(ctx context.Context, query string, args ...any) (bool, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	return rowsAffected(s.write.ExecContext(ctx, s.d.rebind(query), args...))
}

// queryOne reads the one row a query returns, through db (the write pool for a statement that
// changes something and returns what it changed); sql.ErrNoRows says there was none.
func queryOne[T any](ctx context.Context, s *sqlStore, db *sql.DB, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	return scan(db.QueryRowContext(ctx, s.d.rebind(query), args...))
}

// queryAll reads every row a query returns through the read pool; nil when there is none.
func queryAll[T any](ctx context.Context, s *sqlStore, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	rows, err := s.read.QueryContext(ctx, s.d.rebind(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanValue reads a row of one column.
func scanValue[T any](row scanner) (v T, err error) {
	err = row.Scan(&v)
	return v, err
}

// rowsAffected turns a conditional statement's result into "did it happen".
func rowsAffected(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Times are stored as Unix nanoseconds in both engines (exact, and they compare as integers); 0 is
// the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs and string slices are stored
	}
	return string(b)
}

// base is the shared store inside an engine's, for options applied after opening.
func (s *sqlStore) base() *sqlStore { return s }
