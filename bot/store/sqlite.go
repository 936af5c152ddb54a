package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // pure-Go SQLite driver: no cgo, one static binary

	"github.com/resetbot/resetbot/bot"
)

//go:embed migrations/sqlite/*.sql
var sqliteMigrations embed.FS

type sqliteStore struct{ db *sql.DB }

func openSQLite(ctx context.Context, path string) (bot.Store, error) {
	if path == "" {
		return nil, fmt.Errorf("RESETBOT_STORE: sqlite: needs a file path, e.g. %s", DefaultDSN)
	}
	if dir := filepath.Dir(path); dir != "." {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("RESETBOT_STORE: the folder %s for the SQLite file does not exist", dir)
		}
	}
	// WAL lets readers carry on while one writer writes; busy_timeout makes a second writer (another
	// goroutine or process) wait instead of failing; _txlock=immediate takes the write lock when a
	// transaction begins, so a read-then-write transaction cannot be overtaken between the two.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening the SQLite store %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening the SQLite store %s: %w", path, err)
	}
	migrations, _ := fs.Sub(sqliteMigrations, "migrations/sqlite")
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations)
	if err == nil {
		_, err = p.Up(ctx)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("preparing the SQLite store %s: %w", path, err)
	}
	return &sqliteStore{db: db}, nil
}

func (s *sqliteStore) Close() error { return s.db.Close() }

func (s *sqliteStore) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs and string slices are stored
	}
	return string(b)
}

const requestColumns = `id, state, requester_key, requester, requester_id, requester_upn, requester_name, requester_roles,
	target_id, target_upn, target_name, target_roles, reason, approval_reason, approver_key, approver_upn,
	approver_name, outcome, created_at, updated_at, expires_at, card`

func (s *sqliteStore) CreateRequest(ctx context.Context, r *bot.Request) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO requests (`+requestColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, string(r.State), r.Requester.Key(), jsonText(r.Requester), r.RequesterID, r.RequesterUPN, r.RequesterName,
		jsonText(nonNil(r.RequesterRoles)), r.TargetID, r.TargetUPN, r.TargetName, jsonText(nonNil(r.TargetRoles)), r.Reason,
		r.ApprovalReason, r.ApproverKey, r.ApproverUPN, r.ApproverName, r.Outcome, nanos(r.CreatedAt), nanos(r.UpdatedAt),
		nanos(r.ExpiresAt), jsonText(r.Card))
	if err != nil {
		return fmt.Errorf("saving request %s: %w", r.ID, err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type scanner interface{ Scan(dest ...any) error }

func scanRequest(row scanner) (*bot.Request, error) {
	var (
		r                                  bot.Request
		state, requesterKey                string
		requester, reqRoles, tgtRoles, crd string
		created, updated, expires          int64
	)
	err := row.Scan(&r.ID, &state, &requesterKey, &requester, &r.RequesterID, &r.RequesterUPN, &r.RequesterName, &reqRoles,
		&r.TargetID, &r.TargetUPN, &r.TargetName, &tgtRoles, &r.Reason, &r.ApprovalReason, &r.ApproverKey, &r.ApproverUPN,
		&r.ApproverName, &r.Outcome, &created, &updated, &expires, &crd)
	if err != nil {
		return nil, err
	}
	r.State = bot.State(state)
	r.CreatedAt, r.UpdatedAt, r.ExpiresAt = fromNanos(created), fromNanos(updated), fromNanos(expires)
	for _, f := range []struct {
		text string
		into any
	}{{requester, &r.Requester}, {reqRoles, &r.RequesterRoles}, {tgtRoles, &r.TargetRoles}, {crd, &r.Card}} {
		if err := json.Unmarshal([]byte(f.text), f.into); err != nil {
			return nil, fmt.Errorf("request %s is damaged in the store: %w", r.ID, err)
		}
	}
	if len(r.RequesterRoles) == 0 {
		r.RequesterRoles = nil
	}
	if len(r.TargetRoles) == 0 {
		r.TargetRoles = nil
	}
	return &r, nil
}

func (s *sqliteStore) GetRequest(ctx context.Context, id string) (*bot.Request, error) {
	r, err := scanRequest(s.db.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bot.ErrNoSuchRequest
	}
	if err != nil {
		return nil, fmt.Errorf("reading request %s: %w", id, err)
	}
	return r, nil
}

// Transition is one conditional UPDATE: the database decides which of two racing writers wins.
func (s *sqliteStore) Transition(ctx context.Context, id string, from, to bot.State, ch bot.Change, at time.Time) (bool, error) {
	set := []string{"state = ?", "updated_at = ?"}
	args := []any{string(to), nanos(at)}
	for _, f := range []struct{ col, val string }{
		{"approver_key", ch.ApproverKey}, {"approver_upn", ch.ApproverUPN}, {"approver_name", ch.ApproverName}, {"outcome", ch.Outcome},
	} {
		if f.val != "" {
			set = append(set, f.col+" = ?")
			args = append(args, f.val)
		}
	}
	if ch.Card != nil {
		set = append(set, "card = ?")
		args = append(args, jsonText(*ch.Card))
	}
	args = append(args, id, string(from))
	res, err := s.db.ExecContext(ctx, `UPDATE requests SET `+strings.Join(set, ", ")+` WHERE id = ? AND state = ?`, args...)
	if err != nil {
		return false, fmt.Errorf("moving request %s from %s to %s: %w", id, from, to, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) ExpiredPending(ctx context.Context, now time.Time) ([]*bot.Request, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+requestColumns+` FROM requests
		WHERE state = ? AND expires_at > 0 AND expires_at <= ? ORDER BY expires_at`, string(bot.StatePending), nanos(now))
	if err != nil {
		return nil, fmt.Errorf("listing expired approvals: %w", err)
	}
	defer rows.Close()
	var out []*bot.Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *sqliteStore) CountRequests(ctx context.Context, requesterKey string, since time.Time) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM requests WHERE requester_key = ? AND created_at >= ?`,
		requesterKey, nanos(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting requests: %w", err)
	}
	return n, nil
}

// AppendAudit reads the chain's head and appends under one write lock (_txlock=immediate), so two
// writers can never link to the same previous record.
func (s *sqliteStore) AppendAudit(ctx context.Context, rec *bot.AuditRecord) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("appending to the audit trail: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	var (
		last int64
		prev string
	)
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("appending to the audit trail: %w", err)
	}
	r := *rec
	r.At = r.At.UTC()
	r.Seq, r.PrevHash = last+1, prev
	r.Hash = r.ChainHash(prev)
	_, err = tx.ExecContext(ctx, `INSERT INTO audit (seq, at, request_id, event, platform, actor_key, actor_upn, target_id,
		target_upn, outcome, detail, graph_request_id, duration_ms, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Seq, nanos(r.At), r.RequestID, string(r.Event), string(r.Platform), r.ActorKey, r.ActorUPN, r.TargetID, r.TargetUPN,
		r.Outcome, r.Detail, r.GraphRequestID, r.DurationMS, r.PrevHash, r.Hash)
	if err != nil {
		return fmt.Errorf("appending to the audit trail: %w", err)
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("appending to the audit trail: %w", err)
	}
	*rec = r
	return nil
}

// AuditSince streams: a digest over a long trail holds one record at a time.
func (s *sqliteStore) AuditSince(ctx context.Context, afterSeq int64, fn func(bot.AuditRecord) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, at, request_id, event, platform, actor_key, actor_upn, target_id,
		target_upn, outcome, detail, graph_request_id, duration_ms, prev_hash, hash FROM audit WHERE seq > ? ORDER BY seq`, afterSeq)
	if err != nil {
		return fmt.Errorf("reading the audit trail: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r               bot.AuditRecord
			at              int64
			event, platform string
		)
		if err := rows.Scan(&r.Seq, &at, &r.RequestID, &event, &platform, &r.ActorKey, &r.ActorUPN, &r.TargetID,
			&r.TargetUPN, &r.Outcome, &r.Detail, &r.GraphRequestID, &r.DurationMS, &r.PrevHash, &r.Hash); err != nil {
			return fmt.Errorf("reading the audit trail: %w", err)
		}
		r.At, r.Event, r.Platform = fromNanos(at), bot.AuditEvent(event), bot.Platform(platform)
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *sqliteStore) Claim(ctx context.Context, key string, at time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO idempotency_keys (key, claimed_at) VALUES (?, ?)`, key, nanos(at))
	if err != nil {
		return false, fmt.Errorf("recording a delivery key: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *sqliteStore) AddDelivery(ctx context.Context, d bot.Delivery) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO deliveries (request_id, ref, due_at) VALUES (?, ?, ?)`,
		d.RequestID, jsonText(d.Ref), nanos(d.DueAt))
	if err != nil {
		return fmt.Errorf("scheduling a DM withdrawal: %w", err)
	}
	return nil
}

func (s *sqliteStore) DueDeliveries(ctx context.Context, now time.Time) ([]bot.Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, request_id, ref, due_at FROM deliveries WHERE due_at <= ? ORDER BY due_at, id`, nanos(now))
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
	return out, rows.Err()
}

func (s *sqliteStore) RemoveDelivery(ctx context.Context, id int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM deliveries WHERE id = ?`, id)
	if err != nil {
		return false, fmt.Errorf("forgetting delivery %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
