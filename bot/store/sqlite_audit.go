package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
)

const auditColumns = `seq, at, request_id, event, platform, actor_key, actor_upn, target_id, target_upn,
	outcome, detail, graph_request_id, duration_ms, prev_hash, hash`

// AppendAudit reads the chain's head and appends in one transaction that holds the write lock from
// its first statement (_txlock=immediate), so no two writers, in this process or another, can link
// to the same previous record.
func (s *sqliteStore) AppendAudit(ctx context.Context, rec *bot.AuditRecord) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("appending to the audit trail: %w", err)
		}
	}()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit

	var (
		last int64
		prev string // "" before the first record
	)
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	r := *rec
	r.At = r.At.UTC()
	r.Seq, r.PrevHash = last+1, prev
	r.Hash = r.ChainHash(prev)
	_, err = tx.ExecContext(ctx, `INSERT INTO audit (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Seq, nanos(r.At), r.RequestID, string(r.Event), string(r.Platform), r.ActorKey, r.ActorUPN, r.TargetID, r.TargetUPN,
		r.Outcome, r.Detail, r.GraphRequestID, r.DurationMS, r.PrevHash, r.Hash)
	if err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return err
	}
	*rec = r // only once it is in the trail
	return nil
}

// scanAudit reads one row of auditColumns; both engines store the same columns the same way.
func scanAudit(sc scanner) (bot.AuditRecord, error) {
	var (
		r               bot.AuditRecord
		at              int64
		event, platform string
	)
	err := sc.Scan(&r.Seq, &at, &r.RequestID, &event, &platform, &r.ActorKey, &r.ActorUPN, &r.TargetID,
		&r.TargetUPN, &r.Outcome, &r.Detail, &r.GraphRequestID, &r.DurationMS, &r.PrevHash, &r.Hash)
	r.At, r.Event, r.Platform = fromNanos(at), bot.AuditEvent(event), chat.Platform(platform)
	return r, err
}

// AuditSince streams, one row at a time: a digest over a long trail holds one record in memory.
// It reads through the read pool, so fn may call the store (even append) while the stream is open.
func (s *sqliteStore) AuditSince(ctx context.Context, afterSeq int64, fn func(bot.AuditRecord) error) error {
	rows, err := s.read.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit WHERE seq > ? ORDER BY seq`, afterSeq)
	if err != nil {
		return fmt.Errorf("reading the audit trail: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return fmt.Errorf("reading the audit trail: %w", err)
		}
		if err := fn(r); err != nil {
			return err // the caller's own error, unwrapped, so errors.Is works on it
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading the audit trail: %w", err)
	}
	return nil
}

// AuditAfter reads the index on the records' times: the lowest seq from the time on, else the last.
func (s *sqliteStore) AuditAfter(ctx context.Context, t time.Time) (int64, error) {
	var seq int64
	err := s.read.QueryRowContext(ctx,
		`SELECT COALESCE((SELECT MIN(seq) FROM audit WHERE at >= ?) - 1, (SELECT MAX(seq) FROM audit), 0)`, nanos(t)).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("finding where the audit trail reaches %s: %w", t.Format(time.RFC3339), err)
	}
	return seq, nil
}
