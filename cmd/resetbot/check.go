package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/graphsvc"
)

type checkCmd struct {
	User string `arg:"" help:"A user to look up with the bot's credentials, e.g. adele@contoso.com." `
}

// Run builds the Graph client exactly as the bot would and reads one user with roles, groups and
// units: the calls every reset starts with. It changes nothing.
func (c checkCmd) Run(ctx context.Context) error {
	cfg, err := graphsvc.ConfigFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	client, err := graphsvc.New(cfg)
	if err != nil {
		return err
	}
	u, err := client.FindUser(ctx, c.User)
	if err != nil {
		var de *bot.DirectoryError
		if errors.As(err, &de) && de.Remedy != "" {
			return fmt.Errorf("%w\n  what to do: %s", err, de.Remedy)
		}
		return err
	}
	fmt.Printf("✓ signed in to Graph and read %s (%s)\n", u.Name(), u.UPN)
	fmt.Printf("  enabled=%v synced=%v guest=%v roles=%d eligible=%d groups=%d units=%d\n",
		u.Enabled, u.Synced, u.Guest, len(u.Roles), len(u.EligibleRoles), len(u.Groups), len(u.AdministrativeUnits))
	fmt.Println("  (resets themselves are not tried: check changes nothing)")
	return nil
}
