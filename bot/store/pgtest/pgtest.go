// Package pgtest gives a test a PostgreSQL database of its own, or skips the test when none is
// configured. Set RESETBOT_TEST_POSTGRES to a postgres:// URL of a database the tests may create
// schemas in (.ci/run does this when PostgreSQL is installed); each call to DSN makes a new, empty
// schema there and drops it when the test ends. Open the DSN with store.Open as often as the test
// needs: several handles on one DSN behave as several replicas on one database.
//
// It imports nothing of resetbot's.
package pgtest

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env names the variable that points the tests at a database.
const Env = "RESETBOT_TEST_POSTGRES"

// DSN returns a postgres:// URL whose search_path is a new, empty schema, dropped in the test's
// Cleanup. It skips the test when Env is unset, and fails it when Env is set but unusable.
func DSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(Env)
	if base == "" {
		t.Skipf("PostgreSQL tests are off: set %s=postgres://USER@HOST:5432/DATABASE?sslmode=disable to a database they may create schemas in; .ci/run does this when PostgreSQL is installed", Env)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL (e.g. postgres://postgres@127.0.0.1:5432/resetbot_test?sslmode=disable)", Env)
	}
	schema := "resetbot_test_" + strings.ToLower(rand.Text()[:12])
	admin(t, base, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize())
	t.Cleanup(func() {
		// Runs after the cleanups the test registers later, which close its stores.
		admin(t, base, `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// admin runs one statement on a connection of its own.
func admin(t testing.TB, dsn, stmt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("%s is set but the database does not answer (%v); start PostgreSQL, or unset %s to skip these tests", Env, err, Env)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}
