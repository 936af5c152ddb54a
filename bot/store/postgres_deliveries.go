package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/resetbot/resetbot/bot"
)

func (s *postgresStore) AddDelivery(ctx context.Context, d bot.Delivery) error {
	if _, err := s.exec(ctx, `INSERT INTO deliveries (request_id, ref, due_at) VALUES ($1, $2, $3)`,
		d.RequestID, jsonText(d.Ref), nanos(d.DueAt)); err != nil {
		return fmt.Errorf("scheduling a DM withdrawal: %w", err)
	}
	return nil
}

func (s *postgresStore) DueDeliveries(ctx context.Context, now time.Time) ([]bot.Delivery, error) {
	var out []bot.Delivery
	err := s.queryRows(ctx, func(row scanner) error {
		var (
			d   bot.Delivery
			ref string
			due int64
		)
		if err := row.Scan(&d.ID, &d.RequestID, &ref, &due); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(ref), &d.Ref); err != nil {
			return fmt.Errorf("delivery %d is damaged in the store: %w", d.ID, err)
		}
		d.DueAt = fromNanos(due)
		out = append(out, d)
		return nil
	}, `SELECT id, request_id, ref, due_at FROM deliveries WHERE due_at <= $1 ORDER BY due_at, id`, nanos(now))
	if err != nil {
		return nil, fmt.Errorf("listing due DM withdrawals: %w", err)
	}
	return out, nil
}

// RemoveDelivery is a single DELETE: when two replicas withdraw the same DM, one sees true.
func (s *postgresStore) RemoveDelivery(ctx context.Context, id int64) (bool, error) {
	removed, err := s.exec(ctx, `DELETE FROM deliveries WHERE id = $1`, id)
	if err != nil {
		return false, fmt.Errorf("forgetting delivery %d: %w", id, err)
	}
	return removed, nil
}
