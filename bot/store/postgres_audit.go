package store

import (
	"context"
	"fmt"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// AppendAudit takes this schema's audit advisory lock for the length of its transaction, then reads
// the chain's head and appends after it. Every appender in every replica takes the same lock, so no
// two link to the same record and no number is skipped; the lock goes with the transaction when it
// commits, rolls back or its connection dies. An advisory lock, not LOCK TABLE: it needs no UPDATE or
// DELETE grant on the audit table, which an operator may rightly withhold from the bot's role.
func (s *postgresStore) AppendAudit(ctx context.Context, rec *bot.AuditRecord) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("appending to the audit trail: %w", err)
		}
	}()
	ctx, cancel := s.op(ctx)
	defer cancel()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit

	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, s.auditLock); err != nil {
		return err
	}
	// Read committed: this statement's snapshot is taken after the lock, so it sees every append
	// committed before it.
	var (
		last int64
		prev string // "" before the first record
	)
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	if err != nil && !errNoRows(err) {
		return err
	}
	r := *rec
	r.At = r.At.UTC()
	r.Seq, r.PrevHash = last+1, prev
	r.Hash = r.ChainHash(prev)
	_, err = tx.ExecContext(ctx, `INSERT INTO audit (`+auditColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
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

// AuditSince streams: pgx reads rows off the connection as they are scanned, so a digest over a long
// trail holds one record in memory. The stream holds one pooled connection; fn may use the store
// (even append) through the others. It is bounded by the caller's context only, not opTimeout, since
// a long trail may rightly take longer; a vanished server still ends it through TCP keepalives.
func (s *postgresStore) AuditSince(ctx context.Context, afterSeq int64, fn func(bot.AuditRecord) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit WHERE seq > $1 ORDER BY seq`, afterSeq)
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
func (s *postgresStore) AuditAfter(ctx context.Context, t time.Time) (int64, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var seq int64
	err := s.db.QueryRowContext(ctx,
		`SELECT COALESCE((SELECT MIN(seq) FROM audit WHERE at >= $1) - 1, (SELECT MAX(seq) FROM audit), 0)`, nanos(t)).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("finding where the audit trail reaches %s: %w", t.Format(time.RFC3339), err)
	}
	return seq, nil
}
