package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Option changes how Open opens a store. Options that do not concern an engine are ignored by it.
type Option func(*options)

type options struct {
	password func(ctx context.Context) (string, error) // WithPassword
	auditMAC func(hash string) string                  // WithAuditMAC
	botRole  string                                    // WithBotRole
}

// WithBotRole, on PostgreSQL, grants role (after migrating, as the schema's owner opening the store)
// the rights resetbot needs and no more: see grantBotRole. SQLite has no roles: Open refuses it.
func WithBotRole(role string) Option {
	return func(o *options) { o.botRole = role }
}

// WithPassword makes every new PostgreSQL connection take its password from f, asked just before
// the connection is made: for Azure Database for PostgreSQL with Entra authentication, where the
// password is an access token that expires within the hour (azidentity caches it until shortly
// before). Connections already open are not affected when the token expires; the server checks it
// only at sign-in. The DSN should then carry no password of its own.
func WithPassword(f func(ctx context.Context) (string, error)) Option {
	return func(o *options) { o.password = f }
}

// connectOptions turns Open's options into pgx's: the password hook runs on a copy of the
// connection's configuration (pgx's BeforeConnect), so nothing else sees the token.
func connectOptions(opts []Option) []stdlib.OptionOpenDB {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.password == nil {
		return nil
	}
	return []stdlib.OptionOpenDB{stdlib.OptionBeforeConnect(func(ctx context.Context, cc *pgx.ConnConfig) error {
		pw, err := o.password(ctx)
		if err != nil {
			return fmt.Errorf("getting the database password: %w", err)
		}
		cc.Password = pw
		return nil
	})}
}
