package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// The PostgreSQL engine reads and writes the same columns as SQLite's (requestColumns, scanRequest),
// with $n placeholders.

func (s *postgresStore) CreateRequest(ctx context.Context, r *bot.Request) error {
	a := r.Requester
	_, err := s.exec(ctx, `INSERT INTO requests (`+requestColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
		        $21, $22, $23, $24, $25, $26, $27, $28)`,
		r.ID, string(r.State), a.Key(),
		string(a.Platform), a.Tenant, a.UserID, a.ObjectID, a.Email, a.Name,
		r.RequesterID, r.RequesterUPN, r.RequesterName, jsonText(nonNil(r.RequesterRoles)),
		r.TargetID, r.TargetUPN, r.TargetName, jsonText(nonNil(r.TargetRoles)), r.Reason, r.ApprovalReason,
		r.ApproverKey, r.ApproverUPN, r.ApproverName, r.Outcome,
		nanos(r.CreatedAt), nanos(r.UpdatedAt), nanos(r.ExpiresAt), jsonText(r.Card), r.BatchID)
	if err != nil {
		return fmt.Errorf("saving request %s: %w", r.ID, err)
	}
	return nil
}

func (s *postgresStore) GetRequest(ctx context.Context, id string) (*bot.Request, error) {
	var r *bot.Request
	err := s.queryRows(ctx, func(row scanner) (err error) {
		r, err = scanRequest(row)
		return err
	}, `SELECT `+requestColumns+` FROM requests WHERE id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("reading request %s: %w", id, err)
	}
	if r == nil {
		return nil, bot.ErrNoSuchRequest
	}
	return r, nil
}

// Transition is one conditional UPDATE. Of two racing writers the second waits for the first's row
// lock, then finds the state no longer matches and touches nothing: the database picks one winner,
// in any replica. Empty change fields leave what is there.
func (s *postgresStore) Transition(ctx context.Context, id string, from, to bot.State, ch bot.Change, at time.Time) (bool, error) {
	args := []any{string(to), nanos(at)}
	set := []string{"state = $1", "updated_at = $2"}
	add := func(col string, val any) {
		args = append(args, val)
		set = append(set, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	for _, f := range []struct{ col, val string }{
		{"approver_key", ch.ApproverKey}, {"approver_upn", ch.ApproverUPN}, {"approver_name", ch.ApproverName}, {"outcome", ch.Outcome},
	} {
		if f.val != "" {
			add(f.col, f.val)
		}
	}
	if ch.Card != nil {
		add("card", jsonText(*ch.Card))
	}
	args = append(args, id, string(from))
	ok, err := s.exec(ctx, fmt.Sprintf(`UPDATE requests SET %s WHERE id = $%d AND state = $%d`,
		strings.Join(set, ", "), len(args)-1, len(args)), args...)
	if err != nil {
		return false, fmt.Errorf("moving request %s from %s to %s: %w", id, from, to, err)
	}
	return ok, nil
}

// listRequests runs a query over requestColumns.
func (s *postgresStore) listRequests(ctx context.Context, query string, args ...any) ([]*bot.Request, error) {
	var out []*bot.Request
	err := s.queryRows(ctx, func(row scanner) error {
		r, err := scanRequest(row)
		if err == nil {
			out = append(out, r)
		}
		return err
	}, query, args...)
	return out, err
}

// ExpiredPending counts a deadline equal to now as passed, as the service does when a click arrives.
func (s *postgresStore) ExpiredPending(ctx context.Context, now time.Time) ([]*bot.Request, error) {
	out, err := s.listRequests(ctx, `SELECT `+requestColumns+` FROM requests
		WHERE state = $1 AND expires_at > 0 AND expires_at <= $2 ORDER BY expires_at, id`, string(bot.StatePending), nanos(now))
	if err != nil {
		return nil, fmt.Errorf("listing expired approvals: %w", err)
	}
	return out, nil
}

func (s *postgresStore) BatchRequests(ctx context.Context, batchID string) ([]*bot.Request, error) {
	out, err := s.listRequests(ctx, `SELECT `+requestColumns+` FROM requests WHERE batch_id = $1 ORDER BY created_at, id`, batchID)
	if err != nil {
		return nil, fmt.Errorf("listing the requests of %s: %w", batchID, err)
	}
	return out, nil
}

func (s *postgresStore) UnfinishedBatches(ctx context.Context) ([]string, error) {
	var ids []string
	err := s.queryRows(ctx, func(row scanner) error {
		var id string
		err := row.Scan(&id)
		ids = append(ids, id)
		return err
	}, `SELECT DISTINCT batch_id FROM requests WHERE batch_id <> '' AND state IN ($1, $2) ORDER BY batch_id`,
		string(bot.StateApproved), string(bot.StateResetting))
	if err != nil {
		return nil, fmt.Errorf("listing interrupted lists: %w", err)
	}
	return ids, nil
}

func (s *postgresStore) CountRequests(ctx context.Context, requesterKey string, since time.Time) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM requests WHERE requester_key = $1 AND created_at >= $2`,
		[]any{requesterKey, nanos(since)}, &n); err != nil {
		return 0, fmt.Errorf("counting requests: %w", err)
	}
	return n, nil
}
