package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/resetbot/resetbot/bot"
)

func (s *sqliteStore) AddDelivery(ctx context.Context, d bot.Delivery) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO deliveries (request_id, ref, due_at) VALUES (?, ?, ?)`,
		d.RequestID, jsonText(d.Ref), nanos(d.DueAt))
	if err != nil {
		return fmt.Errorf("scheduling a DM withdrawal: %w", err)
	}
	return nil
}

func (s *sqliteStore) DueDeliveries(ctx context.Context, now time.Time) ([]bot.Delivery, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT id, request_id, ref, due_at FROM deliveries WHERE due_at <= ? ORDER BY due_at, id`, nanos(now))
	if err != nil {
		return nil, fmt.Errorf("listing due DM withdrawals: %w", err)
	}
	defer rows.Close()
	var out []bot.Delivery
	for rows.Next() {
		var (
			d   bot.Delivery
			ref string
			due int64
		)
		if err := rows.Scan(&d.ID, &d.RequestID, &ref, &due); err != nil {
			return nil, fmt.Errorf("listing due DM withdrawals: %w", err)
		}
		if err := json.Unmarshal([]byte(ref), &d.Ref); err != nil {
			return nil, fmt.Errorf("delivery %d is damaged in the store: %w", d.ID, err)
		}
		d.DueAt = fromNanos(due)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing due DM withdrawals: %w", err)
	}
	return out, nil
}

// RemoveDelivery is a single DELETE: when two processes withdraw the same DM, one sees true.
func (s *sqliteStore) RemoveDelivery(ctx context.Context, id int64) (bool, error) {
	removed, err := rowsAffected(s.write.ExecContext(ctx, `DELETE FROM deliveries WHERE id = ?`, id))
	if err != nil {
		return false, fmt.Errorf("forgetting delivery %d: %w", id, err)
	}
	return removed, nil
}
