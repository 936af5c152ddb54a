package store

import (
	"context"
	"fmt"
	"time"
)

// Claim is a single INSERT that does nothing when the key is there: whichever caller inserts first,
// in any process or replica, is the one that acts (a second insert of the same key waits for the
// first to commit, then does nothing).
func (s *sqlStore) Claim(ctx context.Context, key string, at time.Time) (bool, error) {
	claimed, err := s.exec(ctx, `INSERT INTO idempotency_keys (key, claimed_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`,
		key, nanos(at))
	if err != nil {
		return false, fmt.Errorf("recording idempotency key: %w", err)
	}
	return claimed, nil
}
