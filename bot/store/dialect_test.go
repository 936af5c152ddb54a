package store

import "testing"

func TestRebind(t *testing.T) {
	pg := postgresDialect(42, 43)
	for _, c := range []struct{ query, sqlite, postgres string }{
		{`SELECT 1`, `SELECT 1`, `SELECT 1`},
		{`UPDATE t SET a = ?, b = ? WHERE id = ? AND s IN (?, ?)`, ``,
			`UPDATE t SET a = $1, b = $2 WHERE id = $3 AND s IN ($4, $5)`},
		// A ? in a string or a quoted identifier is text, not a placeholder; a doubled quote
		// stays inside the string.
		{`SELECT 'why?' FROM t WHERE id = ?`, ``, `SELECT 'why?' FROM t WHERE id = $1`},
		{`SELECT 'it''s?' FROM t WHERE id = ? AND n = ?`, ``, `SELECT 'it''s?' FROM t WHERE id = $1 AND n = $2`},
		{`SELECT "odd?name" FROM t WHERE id = ?`, ``, `SELECT "odd?name" FROM t WHERE id = $1`},
		{`VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ``, `VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`},
	} {
		want := c.sqlite
		if want == "" {
			want = c.query
		}
		if got := sqliteDialect.rebind(c.query); got != want {
			t.Errorf("SQLite: %s\n got %s\nwant %s", c.query, got, want)
		}
		if got := pg.rebind(c.query); got != c.postgres {
			t.Errorf("PostgreSQL: %s\n got %s\nwant %s", c.query, got, c.postgres)
		}
	}
}

// An append takes its turn through the dialect on PostgreSQL only; SQLite's transaction already
// holds the file's write lock.
func TestTakeTrail(t *testing.T) {
	if sqliteDialect.takeTrail != "" {
		t.Errorf("SQLite takes the trail with %q, want nothing beyond its write lock", sqliteDialect.takeTrail)
	}
	if got, want := postgresDialect(-7, 8).takeTrail, "SELECT pg_advisory_xact_lock(-7)"; got != want {
		t.Errorf("PostgreSQL takes the trail with %q, want %q", got, want)
	}
	if lockKey("resetbot audit chain", "a") == lockKey("resetbot audit chain", "b") {
		t.Error("two schemas share one audit lock")
	}
}
