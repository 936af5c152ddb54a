package store

import (
	"crypto/rand"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/store/pgtest"
	"github.com/resetbot/resetbot/bot/store/storetest"
)

// botRole makes a login role for the bot, with a password (so the test runs whether the server
// trusts local connections or asks for one), and returns it with the DSN that signs in as it to the
// same schema. The role is dropped, with its grants, when the test ends.
func botRole(t *testing.T, ownerDSN string) (role, dsn string) {
	t.Helper()
	role = "resetbot_bot_" + strings.ToLower(rand.Text()[:10])
	password := rand.Text()
	owner := rawDB(t, ownerDSN)
	if _, err := owner.ExecContext(ctx, `CREATE ROLE `+pgx.Identifier{role}.Sanitize()+` LOGIN PASSWORD '`+password+`'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, q := range []string{`DROP OWNED BY ` + role, `DROP ROLE ` + role} {
			if _, err := owner.ExecContext(ctx, q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	})
	u, err := url.Parse(ownerDSN)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, password)
	return role, u.String()
}

// On PostgreSQL the schema's owner migrates (resetbot store migrate --grant ROLE) and the bot runs as
// a role of its own that can do everything the bot does, and cannot change the schema or the trail.
func TestPostgresBotRoleHasNoDDL(t *testing.T) {
	s := openAsBotRole(t)
	if err := s.AppendAudit(ctx, &bot.AuditRecord{Event: bot.EventReset, Outcome: "done"}); err != nil {
		t.Fatalf("the bot's role cannot append to the trail: %v", err)
	}
	if err := s.CreateRequest(ctx, storetest.Sample("R-ROLE")); err != nil {
		t.Fatalf("the bot's role cannot keep a request: %v", err)
	}
	if _, err := bot.VerifyTrail(ctx, s); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE audit SET outcome = 'failed'`,
		`DELETE FROM audit`,
		`TRUNCATE audit`,
		`ALTER TABLE audit DISABLE TRIGGER audit_no_update_or_delete`,
		`DROP TRIGGER audit_no_truncate ON audit`,
		`DROP TABLE audit`,
		`CREATE TABLE audit_copy (seq bigint)`,
		`DELETE FROM goose_db_version`,
	} {
		_, err := s.db.ExecContext(ctx, q)
		if err == nil || !(strings.Contains(err.Error(), "permission denied") || strings.Contains(err.Error(), "must be owner")) {
			t.Errorf("the bot's role ran %s: %v", q, err)
		}
	}
	if check, err := bot.VerifyTrail(ctx, s); err != nil || check.Count != 1 {
		t.Errorf("the trail after the attempts: %+v %v", check, err)
	}
}

// Every method of the store works for the bot's role, not just the few above: the whole contract
// suite runs as it, each case on a schema the owner migrated and granted.
func TestPostgresContractAsBotRole(t *testing.T) {
	pgtest.DSN(t)
	storetest.Run(t, func(t *testing.T) bot.Store { return openAsBotRole(t) })
}

// openAsBotRole makes a new schema, migrates it as its owner granting a new bot role, and opens the
// store as that role.
func openAsBotRole(t *testing.T) *postgresStore {
	t.Helper()
	ownerDSN := pgtest.DSN(t)
	role, dsn := botRole(t, ownerDSN)
	owner, err := Open(ctx, ownerDSN, WithBotRole(role))
	if err != nil {
		t.Fatal(err)
	}
	owner.Close()
	return openPG(t, dsn)
}

// A schema that needs migrating, opened by a role that may not migrate it, says what to run.
func TestPostgresBotRoleCannotMigrate(t *testing.T) {
	ownerDSN := pgtest.DSN(t)
	role, dsn := botRole(t, ownerDSN)
	u, err := url.Parse(ownerDSN)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	if _, err := rawDB(t, ownerDSN).ExecContext(ctx, `GRANT USAGE ON SCHEMA `+pgx.Identifier{schema}.Sanitize()+` TO `+role); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, dsn)
	if err == nil || !strings.Contains(err.Error(), "resetbot store migrate --grant ROLE") {
		t.Errorf("opening an unmigrated schema as the bot's role: %v", err)
	}
}

// The bot's role must not own the schema (an owner could drop the triggers), and SQLite has no roles.
func TestBotRoleRefusals(t *testing.T) {
	if _, err := Open(ctx, MemoryDSN, WithBotRole("resetbot")); err == nil || !strings.Contains(err.Error(), "SQLite has no roles") {
		t.Errorf("SQLite with a bot role: %v", err)
	}
	ownerDSN := pgtest.DSN(t)
	u, _ := url.Parse(ownerDSN)
	if _, err := Open(ctx, ownerDSN, WithBotRole(u.User.Username())); err == nil || !strings.Contains(err.Error(), "must not be the owner") {
		t.Errorf("granting the owner itself: %v", err)
	}
}
