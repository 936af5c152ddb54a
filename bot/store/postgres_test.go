package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/store/pgtest"
	"github.com/resetbot/resetbot/bot/store/storetest"
)

// The PostgreSQL tests need a database: set RESETBOT_TEST_POSTGRES (see pgtest); without it they skip.

func openPG(t *testing.T, dsn string) *postgresStore {
	t.Helper()
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.(*postgresStore)
}

func TestPostgresContract(t *testing.T) {
	pgtest.DSN(t) // skip the whole suite, not each case, when there is no database
	storetest.Run(t, func(t *testing.T) bot.Store { return openPG(t, pgtest.DSN(t)) })
}

// The same URL under its other scheme name opens the same store.
func TestPostgresqlScheme(t *testing.T) {
	dsn := pgtest.DSN(t)
	a := openPG(t, dsn)
	if err := a.CreateRequest(ctx, storetest.Sample("R-SCHEME")); err != nil {
		t.Fatal(err)
	}
	b := openPG(t, "postgresql://"+strings.TrimPrefix(dsn, "postgres://"))
	if _, err := b.GetRequest(ctx, "R-SCHEME"); err != nil {
		t.Errorf("postgresql:// did not open the database postgres:// did: %v", err)
	}
}

// rawDB is a plain connection to the test's schema, beside the store (pgx's stdlib, imported by the
// engine, registers the "pgx" driver).
func rawDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func tables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

func TestPostgresMigrationsUpAndDown(t *testing.T) {
	dsn := pgtest.DSN(t)
	db := rawDB(t, dsn)
	var schema string
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	p, err := newPostgresMigrator(db, schema)
	if err != nil {
		t.Fatal(err)
	}
	up, err := p.Up(ctx)
	if err != nil || len(up) == 0 {
		t.Fatalf("up: %d migrations, %v", len(up), err)
	}
	want := "agent_tokens audit conversation_refs deliveries goose_db_version idempotency_keys identity_links job_runs pending_sign_ins quota request_targets requests"
	if got := strings.Join(tables(t, db), " "); got != want {
		t.Fatalf("tables after up: %s\nwant %s", got, want)
	}
	if again, err := p.Up(ctx); err != nil || len(again) != 0 {
		t.Errorf("a second up applied %d migrations: %v", len(again), err)
	}
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatalf("down: %v", err)
	}
	if got := strings.Join(tables(t, db), " "); got != "goose_db_version" {
		t.Errorf("down left tables behind: %s", got)
	}
	// Down and up again gives a store that works.
	s := openPG(t, dsn)
	if err := s.CreateRequest(ctx, storetest.Sample("R-AGAIN0")); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, &bot.AuditRecord{Event: bot.EventRequested}); err != nil {
		t.Fatal(err)
	}
}

// Replicas starting together on a new database: all open, and each migration is applied once.
func TestPostgresConcurrentFirstOpen(t *testing.T) {
	dsn := pgtest.DSN(t)
	// goose creates its version table before it takes the lock, and replicas racing there wait a
	// second for each other; create it first, so the Opens below race for the migrations themselves.
	db := rawDB(t, dsn)
	var schema string
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	p, err := newPostgresMigrator(db, schema)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := p.GetDBVersion(ctx); err != nil || v != 0 {
		t.Fatalf("creating goose's version table: version %d, %v", v, err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			s, err := Open(ctx, dsn)
			if err != nil {
				t.Error(err)
				return
			}
			s.Close()
		})
	}
	wg.Wait()
	var applied, distinct int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT version_id) FROM goose_db_version
		WHERE version_id > 0`).Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if applied != distinct || applied == 0 {
		t.Errorf("%d migration rows for %d versions: a migration ran more than once", applied, distinct)
	}
}

// Two replicas on one database: every "who acts" decision has one winner across both, and appends
// from both keep one unbroken chain.
func TestPostgresTwoHandlesOneDatabase(t *testing.T) {
	dsn := pgtest.DSN(t)
	stores := []bot.Store{openPG(t, dsn), openPG(t, dsn)}
	a, b := stores[0], stores[1]
	if err := a.CreateRequest(ctx, storetest.Sample("R-SHARED")); err != nil {
		t.Fatal(err)
	}
	if err := a.AddDelivery(ctx, bot.Delivery{RequestID: "R-SHARED", DueAt: time.Unix(100, 0)}); err != nil {
		t.Fatal(err)
	}
	due, err := b.DueDeliveries(ctx, time.Unix(100, 0))
	if err != nil || len(due) != 1 {
		t.Fatalf("the other replica does not see the delivery: %v %v", due, err)
	}
	now, slot := time.Unix(100, 0), time.Unix(0, 0)
	var approvals, claims, jobs, leases, takes atomic.Int32
	count := func(c *atomic.Int32, ok bool, err error) {
		if err != nil {
			t.Error(err)
		}
		if ok {
			c.Add(1)
		}
	}
	if err := a.PutSignIn(ctx, bot.PendingSignIn{State: "st-shared", Sealed: []byte{1}, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		s := stores[i%2]
		wg.Go(func() {
			ok, err := s.Transition(ctx, "R-SHARED", bot.StatePending, bot.StateApproved, bot.Change{ApproverKey: fmt.Sprint(i)}, now)
			count(&approvals, ok, err)
		})
		wg.Go(func() { ok, err := s.Claim(ctx, "slack:click-1", now); count(&claims, ok, err) })
		wg.Go(func() {
			ok, err := s.ClaimJob(ctx, "digest", slot, fmt.Sprint("replica-", i%2), now, now.Add(time.Minute))
			count(&jobs, ok, err)
		})
		wg.Go(func() { ok, err := s.LeaseDelivery(ctx, due[0].ID, now, now.Add(time.Minute)); count(&leases, ok, err) })
		wg.Go(func() { _, ok, err := s.TakeSignIn(ctx, "st-shared", now); count(&takes, ok, err) })
		wg.Go(func() {
			if err := s.AppendAudit(ctx, &bot.AuditRecord{At: now, Event: bot.EventApproval, Detail: fmt.Sprint(i)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for name, c := range map[string]*atomic.Int32{"approval": &approvals, "idempotency claim": &claims, "job claim": &jobs,
		"delivery lease": &leases, "sign-in take": &takes} {
		if c.Load() != 1 {
			t.Errorf("%d callers won the %s, want 1", c.Load(), name)
		}
	}
	check, err := bot.VerifyTrail(ctx, b)
	if err != nil || check.Count != n {
		t.Errorf("the trail written by two replicas: %d records, %v; want %d unbroken", check.Count, err, n)
	}
}

// Many appenders on several handles, each with its own pool: the chain has no gap and no fork.
func TestPostgresChainUnderConcurrentAppends(t *testing.T) {
	dsn := pgtest.DSN(t)
	const handles, each = 3, 40
	var wg sync.WaitGroup
	var stores []bot.Store
	for range handles {
		stores = append(stores, openPG(t, dsn))
	}
	at := time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC)
	for h, s := range stores {
		for i := range each {
			wg.Go(func() {
				rec := &bot.AuditRecord{At: at.Add(time.Duration(i)), Event: bot.EventReset, Detail: fmt.Sprint(h, "/", i)}
				if err := s.AppendAudit(ctx, rec); err != nil {
					t.Error(err)
				}
				if rec.Seq == 0 || rec.Hash != rec.ChainHash(rec.PrevHash) {
					t.Errorf("append returned %+v", rec)
				}
			})
		}
	}
	wg.Wait()
	check, err := bot.VerifyTrail(ctx, stores[0])
	if err != nil {
		t.Fatal(err)
	}
	if check.Count != handles*each || check.Last.Seq != handles*each {
		t.Errorf("%d records ending at seq %d, want %d with no gap", check.Count, check.Last.Seq, handles*each)
	}
	seen := map[string]bool{}
	if err := stores[1].AuditSince(ctx, 0, func(r bot.AuditRecord) error {
		if seen[r.Detail] {
			t.Errorf("record %q appended twice", r.Detail)
		}
		seen[r.Detail] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// The trail cannot be edited, trimmed or emptied through SQL, not even by the bot's own role.
func TestPostgresAuditIsAppendOnly(t *testing.T) {
	s := openPG(t, pgtest.DSN(t))
	if err := s.AppendAudit(ctx, &bot.AuditRecord{Event: bot.EventReset, Outcome: "failed"}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE audit SET outcome = 'done'`, `DELETE FROM audit`, `DELETE FROM audit WHERE seq = 1`, `TRUNCATE audit`} {
		if _, err := s.db.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want it refused as append-only", q, err)
		}
	}
	var outcome string
	if err := s.db.QueryRowContext(ctx, `SELECT outcome FROM audit`).Scan(&outcome); err != nil || outcome != "failed" {
		t.Errorf("the record changed: %q %v", outcome, err)
	}
}

// The bot never hands the store a password; the schema has nowhere to put one either.
func TestPostgresNoColumnCanHoldAPassword(t *testing.T) {
	s := openPG(t, pgtest.DSN(t))
	rows, err := s.db.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			t.Fatal(err)
		}
		n++
		if passwordLike(column) {
			t.Errorf("%s.%s looks like it could hold a password", table, column)
		}
	}
	if err := rows.Err(); err != nil || n < 20 {
		t.Fatalf("read %d columns: %v", n, err)
	}
}

// passwordLike is the test both engines' schemas must pass for every column name.
func passwordLike(column string) bool {
	for _, word := range []string{"pass", "pwd", "secret", "credential", "temp"} {
		if strings.Contains(strings.ToLower(column), word) {
			return true
		}
	}
	return false
}

// Errors at start name the setting and never the password. These need no database.
func TestPostgresOpenErrorsSayWhatToDo(t *testing.T) {
	for _, c := range []struct{ dsn, says string }{
		{"postgres://u:hunter2@127.0.0.1:1/x?sslmode=disable&connect_timeout=5", "cannot connect to the PostgreSQL database at postgres://…@127.0.0.1:1/x"},
		{"postgresql://u:hunter2@127.0.0.1:1/x?sslmode=disable", "RESETBOT_STORE"},
		{"postgres://u:hunter2@db:notaport/x", "is not a PostgreSQL URL I can read"},
		{"postgres://u:hunter2@db/x?sslmode=sometimes", "RESETBOT_STORE=postgres://…@db/x"},
		{"postgres://u@127.0.0.1:1/x?password=hunter2&sslmode=disable", "at postgres://…@127.0.0.1:1/x?password=…&sslmode=disable"},
		{"postgres://u@db:notaport/x?password=hunter2", "password=…"},
	} {
		_, err := Open(ctx, c.dsn)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Open(%q) = %v, want it to say %q", c.dsn, err, c.says)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q) leaked the password: %v", c.dsn, err)
		}
	}
}

// A search_path naming a schema that is not there is refused at start, not at the first write.
func TestPostgresMissingSchema(t *testing.T) {
	u, err := url.Parse(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", "resetbot_no_such_schema")
	u.RawQuery = q.Encode()
	if _, err := Open(ctx, u.String()); err == nil || !strings.Contains(err.Error(), "CREATE SCHEMA") {
		t.Errorf("opening a missing schema: %v, want it to say to create it", err)
	}
}

// A database lost while running (here a network that stops passing packets, the worst case: no
// error, just silence) makes calls fail within the store's own deadline, even when the caller gave
// none; /readyz fails; once the network is back, the same store works again.
func TestPostgresLostDatabaseFailsFast(t *testing.T) {
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	px := startProxy(t, target)
	u.Host = px.addr
	s := openPG(t, u.String())
	s.opTimeout = time.Second
	if err := s.CreateRequest(ctx, storetest.Sample("R-LOST00")); err != nil {
		t.Fatal(err)
	}

	px.freeze(true)
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping succeeded with the database unreachable")
	}
	if _, err := s.GetRequest(ctx, "R-LOST00"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GetRequest with the database unreachable: %v, want a deadline error", err)
	}
	if err := s.AppendAudit(ctx, &bot.AuditRecord{Event: bot.EventReset}); err == nil {
		t.Error("AppendAudit succeeded with the database unreachable")
	}
	if ok, err := s.Transition(ctx, "R-LOST00", bot.StatePending, bot.StateApproved, bot.Change{}, time.Now()); ok || err == nil {
		t.Errorf("Transition with the database unreachable: %v %v, want an error", ok, err)
	}
	if _, err := s.ExpiredWaiting(ctx, time.Now()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ExpiredWaiting with the database unreachable: %v, want a deadline error", err)
	}

	px.freeze(false)
	px.dropAll() // the frozen connections are lost for good; new ones go through
	var got *bot.Request
	for range 5 { // database/sql may first hand out a connection it has not yet found dead
		if got, err = s.GetRequest(ctx, "R-LOST00"); err == nil {
			break
		}
	}
	if err != nil || got.State != bot.StatePending {
		t.Errorf("after the database came back: %+v %v", got, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping after the database came back: %v", err)
	}
}

// proxy passes TCP between the store and the database, and can stop passing anything.
type proxy struct {
	addr   string
	mu     sync.Mutex
	frozen bool
	conns  []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: l.Addr().String()}
	t.Cleanup(func() { l.Close(); p.dropAll() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			frozen := p.frozen
			p.mu.Unlock()
			if frozen {
				continue // accepted, never answered
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, up)
			p.mu.Unlock()
			go p.pipe(up, c)
			go p.pipe(c, up)
		}
	}()
	return p
}

// pipe copies until either side closes, holding bytes back while frozen.
func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for n > 0 && p.isFrozen() {
			time.Sleep(10 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				dst.Close()
			}
			return
		}
	}
}

func (p *proxy) isFrozen() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frozen
}

func (p *proxy) freeze(on bool) {
	p.mu.Lock()
	p.frozen = on
	p.mu.Unlock()
}

func (p *proxy) dropAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
