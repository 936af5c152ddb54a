package botframework

import (
	"context"
	"time"
)

// NoWaits makes c retry a throttled call at once: the waits it would honour are not the tests' to sit out.
func NoWaits(c *Connector) { c.sleep = func(context.Context, time.Duration) error { return nil } }
