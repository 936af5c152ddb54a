package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/resetbot/resetbot/bot"
)

func (s *sqlStore) AddDelivery(ctx context.Context, d bot.Delivery) error {
	if _, err := s.exec(ctx, `INSERT INTO deliveries (request_id, ref, due_at) VALUES (?, ?, ?)`,
		d.RequestID, jsonText(d.Ref), nanos(d.DueAt)); err != nil {
		return fmt.Errorf("scheduling a DM withdrawal: %w", err)
	}
	return nil
}

func scanDelivery(row scanner) (bot.Delivery, error) {
	var (
		d   bot.Delivery
		ref string
		due int64
	)
	if err := row.Scan(&d.ID, &d.RequestID, &ref, &due); err != nil {
		return d, err
	}
	if err := json.Unmarshal([]byte(ref), &d.Ref); err != nil {
		return d, fmt.Errorf("delivery %d is damaged in the store: %w", d.ID, err)
	}
	d.DueAt = fromNanos(due)
	return d, nil
}

func (s *sqlStore) DueDeliveries(ctx context.Context, now time.Time) ([]bot.Delivery, error) {
	out, err := queryAll(ctx, s, scanDelivery,
		`SELECT id, request_id, ref, due_at FROM deliveries WHERE due_at <= ? ORDER BY due_at, id`, nanos(now))
	if err != nil {
		return nil, fmt.Errorf("listing due DM withdrawals: %w", err)
	}
	return out, nil
}

// LeaseDelivery moves a due delivery's time forward in one conditional UPDATE: of several processes
// or replicas looking at the same due DM, one sees true and withdraws it.
func (s *sqlStore) LeaseDelivery(ctx context.Context, id int64, now, until time.Time) (bool, error) {
	ok, err := s.exec(ctx, `UPDATE deliveries SET due_at = ? WHERE id = ? AND due_at <= ?`, nanos(until), id, nanos(now))
	if err != nil {
		return false, fmt.Errorf("taking delivery %d: %w", id, err)
	}
	return ok, nil
}

// RemoveDelivery is a single DELETE: when two processes or replicas withdraw the same DM, one sees
// true.
func (s *sqlStore) RemoveDelivery(ctx context.Context, id int64) (bool, error) {
	removed, err := s.exec(ctx, `DELETE FROM deliveries WHERE id = ?`, id)
	if err != nil {
		return false, fmt.Errorf("forgetting delivery %d: %w", id, err)
	}
	return removed, nil
}
