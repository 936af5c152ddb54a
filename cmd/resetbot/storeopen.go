package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/store"
	"github.com/resetbot/resetbot/graphsvc"
)

// openStore opens RESETBOT_STORE as every command does: with RESETBOT_POSTGRES_AUTH=azure, each
// new PostgreSQL connection signs in with an Entra token of the identity Graph uses (cred; nil
// builds it from the environment).
func openStore(ctx context.Context, dsn string, getenv func(string) string, cred azcore.TokenCredential, extra ...store.Option) (bot.Store, error) {
	if !strings.EqualFold(getenv("RESETBOT_POSTGRES_AUTH"), postgresAuthAzure) {
		return store.Open(ctx, dsn, extra...)
	}
	if dsnHasPassword(dsn) {
		return nil, errors.New("RESETBOT_STORE carries a password, but RESETBOT_POSTGRES_AUTH=azure signs in with an Entra token instead: remove the password from RESETBOT_STORE, or unset RESETBOT_POSTGRES_AUTH")
	}
	if cred == nil {
		g, err := graphsvc.ConfigFromEnv(getenv)
		if err != nil {
			return nil, fmt.Errorf("RESETBOT_POSTGRES_AUTH=azure uses the identity Graph uses, whose settings are wrong: %w", err)
		}
		cred = g.Credential
	}
	scope := getenv("RESETBOT_POSTGRES_TOKEN_SCOPE")
	if scope == "" {
		scope = DefaultPostgresScope
	}
	return store.Open(ctx, dsn, append(extra, store.WithPassword(entraPassword(cred, scope)))...)
}

// entraPassword gets an access token for Azure Database for PostgreSQL, which takes it as the
// password. azidentity caches it until shortly before it expires.
func entraPassword(cred azcore.TokenCredential, scope string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			return "", fmt.Errorf("RESETBOT_POSTGRES_AUTH=azure: no Entra token for %s: %w", scope, err)
		}
		return tok.Token, nil
	}
}

// checkSQLiteWritable fails early, and clearly, when a SQLite store cannot be written: the usual
// cause is a container started without a writable volume where the database lives.
func checkSQLiteWritable(dsn string) error {
	path, ok := strings.CutPrefix(dsn, "sqlite:")
	if !ok || path == ":memory:" || path == "" {
		return nil
	}
	dir := filepath.Dir(path)
	remedy := "mount a writable volume there (the Helm chart's persistence, or podman/docker run -v resetbot-data:/data), or set RESETBOT_STORE to a writable folder or to PostgreSQL"
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("RESETBOT_STORE=%s: the folder %s does not exist: %s", dsn, dir, remedy)
	}
	f, err := os.CreateTemp(dir, ".resetbot-write-check-*")
	if err != nil {
		return fmt.Errorf("RESETBOT_STORE=%s: cannot write in %s as uid %d (%v): %s", dsn, dir, os.Getuid(), errors.Unwrap(err), remedy)
	}
	f.Close()
	os.Remove(f.Name())
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		db, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("RESETBOT_STORE=%s: the database file cannot be written as uid %d (%v): give it to that user, or %s", dsn, os.Getuid(), errors.Unwrap(err), remedy)
		}
		db.Close()
	}
	return nil
}
