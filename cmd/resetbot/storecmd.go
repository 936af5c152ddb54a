package main

import (
	"context"
	"fmt"

	"github.com/resetbot/resetbot/bot/store"
)

// storeCmd is `resetbot store`: what the database's owner runs, apart from the bot.
type storeCmd struct {
	Migrate storeMigrateCmd `cmd:"" help:"Bring the store's schema up to date as its owner and, on PostgreSQL, grant the bot's own role what it needs and no more (--grant)."`
}

// storeMigrateCmd lets the schema's owner migrate, so that serve can run as a role with no right to
// change the schema: on PostgreSQL that role can read and write resetbot's tables and append to the
// audit trail, but cannot alter, drop or truncate anything, nor drop the trail's append-only
// triggers. serve still migrates on its own when its role may (one role for both is simpler, and
// weaker: see the README's security model).
type storeMigrateCmd struct {
	auditStoreFlag
	Grant string `help:"PostgreSQL: the role serve signs in as; it is granted SELECT, INSERT, UPDATE, DELETE on resetbot's tables, only SELECT and INSERT on the audit trail, and nothing on the schema itself." placeholder:"ROLE"`
}

func (c *storeMigrateCmd) Run(ctx context.Context, cc *cliContext) error {
	dsn := c.dsn(cc.Getenv)
	var opts []store.Option
	if c.Grant != "" {
		opts = append(opts, store.WithBotRole(c.Grant))
	}
	st, err := openStore(ctx, dsn, cc.Getenv, nil, opts...)
	if err != nil {
		return c.named(err)
	}
	if err := st.Close(); err != nil {
		return err
	}
	fmt.Fprintf(cc.Stdout, "the store at %s is up to date\n", redactedStore(dsn))
	if c.Grant != "" {
		fmt.Fprintf(cc.Stdout, "%s may read and write resetbot's tables and append to the audit trail; it may not change the schema, nor edit, delete or truncate the trail\n", c.Grant)
	}
	return nil
}
