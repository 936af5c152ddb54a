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
	outcome, detail, graph_request_id, duration_ms, prev_hash, hash, line, mac, assurance`

// AppendAudit reads the chain's head and appends after it in one transaction, taking its turn with
// every other appender in this process or another first (SQLite: the write lock, taken as the
// transaction begins; PostgreSQL: the dialect's advisory lock), so no two records link to the same
// one and no number is skipped.
func (s *sqlStore) AppendAudit(ctx context.Context, recs ...*bot.AuditRecord) (err error) {
	if len(recs) == 0 {
		return nil
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("appending to the audit trail: %w", err)
		}
	}()
	ctx, cancel := s.op(ctx)
	defer cancel()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit

	if s.d.takeTrail != "" {
		if _, err := tx.ExecContext(ctx, s.d.takeTrail); err != nil {
			return err
		}
	}
	// Under PostgreSQL's read committed this statement's snapshot is taken after the lock, so it
	// sees every append committed before it.
	var (
		last int64
		prev string // "" before the first record
	)
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, s.d.rebind(`INSERT INTO audit (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`))
	if err != nil {
		return err
	}
	defer stmt.Close()
	out := make([]bot.AuditRecord, len(recs))
	for i, rec := range recs {
		r := *rec
		r.At = r.At.UTC()
		r.Seq, r.PrevHash = last+1, prev
		r.Hash = r.ChainHash(prev)
		r.MAC = ""
		if s.auditMAC != nil {
			r.MAC = s.auditMAC(r.Hash)
		}
		if _, err = stmt.ExecContext(ctx, r.Seq, nanos(r.At), r.RequestID, string(r.Event), string(r.Platform), r.ActorKey, r.ActorUPN,
			r.TargetID, r.TargetUPN, r.Outcome, r.Detail, r.GraphRequestID, r.DurationMS, r.PrevHash, r.Hash, r.Line, r.MAC, string(r.Assurance)); err != nil {
			return err
		}
		last, prev, out[i] = r.Seq, r.Hash, r
	}
	if err = tx.Commit(); err != nil {
		return err
	}
	for i, rec := range recs { // only once they are in the trail
		*rec = out[i]
	}
	return nil
}

// scanAudit reads one row of auditColumns.
func scanAudit(sc scanner) (bot.AuditRecord, error) {
	var (
		r               bot.AuditRecord
		at              int64
		event, platform string
		assurance       string
	)
	err := sc.Scan(&r.Seq, &at, &r.RequestID, &event, &platform, &r.ActorKey, &r.ActorUPN, &r.TargetID,
		&r.TargetUPN, &r.Outcome, &r.Detail, &r.GraphRequestID, &r.DurationMS, &r.PrevHash, &r.Hash, &r.Line, &r.MAC, &assurance)
	r.At, r.Event, r.Platform, r.Assurance = fromNanos(at), bot.AuditEvent(event), chat.Platform(platform), bot.Assurance(assurance)
	return r, err
}

// AuditSince streams, one row at a time as the driver reads it: a digest over a long trail holds one
// record in memory. The stream holds a connection of the read pool, so fn may call the store (even
// append) through the others while it is open. It is bounded by the caller's context only, not
// opTimeout, since a long trail may rightly take longer; a vanished PostgreSQL server still ends it
// through TCP keepalives.
func (s *sqlStore) AuditSince(ctx context.Context, afterSeq int64, fn func(bot.AuditRecord) error) error {
	rows, err := s.read.QueryContext(ctx, s.d.rebind(`SELECT `+auditColumns+` FROM audit WHERE seq > ? ORDER BY seq`), afterSeq)
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
func (s *sqlStore) AuditAfter(ctx context.Context, t time.Time) (int64, error) {
	seq, err := queryOne(ctx, s, s.read, scanValue[int64],
		`SELECT COALESCE((SELECT MIN(seq) FROM audit WHERE at >= ?) - 1, (SELECT MAX(seq) FROM audit), 0)`, nanos(t))
	if err != nil {
		return 0, fmt.Errorf("finding where the audit trail reaches %s: %w", t.Format(time.RFC3339), err)
	}
	return seq, nil
}
