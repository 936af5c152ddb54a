package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	_ "modernc.org/sqlite"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/store"
	"github.com/resetbot/resetbot/internal/scenariotest"
	"github.com/resetbot/resetbot/internal/syncbuf"
)

// dayOnFile runs a day of requests through the real service into a SQLite file, then closes the
// service's store so the file can be tampered with as an attacker with file access would.
func dayOnFile(t *testing.T) (env *scenariotest.Env, passwords []string) {
	t.Helper()
	env = scenariotest.NewEnv(t, nil)
	passwords = scenariotest.AuditDay(t, env)
	if err := env.Store.Close(); err != nil {
		t.Fatal(err)
	}
	return env, passwords
}

// tamper runs SQL on the file directly, past the triggers that forbid UPDATE and DELETE.
func tamper(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE audit SET outcome = 'failed' WHERE seq = 1`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("the append-only trigger did not stop an update: %v", err)
	}
	for _, s := range append([]string{`DROP TRIGGER audit_no_update`, `DROP TRIGGER audit_no_delete`}, stmts...) {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestAuditVerifyIntactTrail(t *testing.T) {
	env, _ := dayOnFile(t)
	var out bytes.Buffer
	if err := verifyTrail(context.Background(), env.DSN, noEnv, &bot.ChainCheck{}, &out); err != nil {
		t.Fatalf("a real run's trail does not verify: %v", err)
	}
	got := out.String()
	if !strings.HasPrefix(got, "37 records, chain intact (first #1 2026-11-27T10:00:00Z, last #37 2026-11-27T10:31:00Z)\n") ||
		!strings.Contains(got, "\nMACs not checked: RESETBOT_AUDIT_KEY is not set") || !strings.Contains(got, "\nhead hash ") {
		t.Errorf("verify printed %q", got)
	}
}

// Each way of tampering with the file is caught, and the first bad record is named with what is
// wrong with it.
func TestAuditVerifyCatchesTampering(t *testing.T) {
	tests := []struct {
		name  string
		stmts []string
		says  []string
	}{
		{"a field edited", []string{`UPDATE audit SET outcome = 'deny' WHERE seq = 13`},
			[]string{"broken at record 13 (2026-11-27T10:00:00Z)", "does not match its hash", "the 12 records before it (to #12) are intact"}},
		{"a field edited and its hash recomputed", nil, // filled in below: needs the record
			[]string{"broken at record 14", "does not link to record 13", "record 13 was changed or replaced"}},
		{"a record deleted", []string{`DELETE FROM audit WHERE seq = 21`},
			[]string{"broken at record 22", "record 21 is missing", "the 20 records before it"}},
		{"the first records deleted", []string{`DELETE FROM audit WHERE seq <= 2`},
			[]string{"broken at record 3", "records 1 to 2 are missing", "no record before it is intact"}},
		{"two records swapped", []string{`UPDATE audit SET seq = -1 WHERE seq = 20`, `UPDATE audit SET seq = 20 WHERE seq = 21`,
			`UPDATE audit SET seq = 21 WHERE seq = -1`},
			[]string{"broken at record 20", "does not match its hash"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := dayOnFile(t)
			stmts := tt.stmts
			if stmts == nil {
				r := record(t, env, 13)
				r.Outcome = "failed"
				stmts = []string{`UPDATE audit SET outcome = 'failed', hash = '` + r.ChainHash(r.PrevHash) + `' WHERE seq = 13`}
			}
			tamper(t, env.StorePath, stmts...)
			var out bytes.Buffer
			err := verifyTrail(context.Background(), env.DSN, noEnv, &bot.ChainCheck{}, &out)
			if err == nil {
				t.Fatalf("tampering went unnoticed: %q", out.String())
			}
			for _, want := range tt.says {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("verify said %q, want it to say %q", err, want)
				}
			}
			if strings.Contains(out.String(), "intact (") {
				t.Errorf("verify also printed %q", out.String())
			}
		})
	}
}

// Cutting records off the end leaves a shorter chain that verifies: the head hash verify prints is
// what catches it, once recorded elsewhere.
func TestAuditVerifyHeadHashShowsTruncation(t *testing.T) {
	env, _ := dayOnFile(t)
	var before, after bytes.Buffer
	if err := verifyTrail(context.Background(), env.DSN, noEnv, &bot.ChainCheck{}, &before); err != nil {
		t.Fatal(err)
	}
	tamper(t, env.StorePath, `DELETE FROM audit WHERE seq >= 33`)
	if err := verifyTrail(context.Background(), env.DSN, noEnv, &bot.ChainCheck{}, &after); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(after.String(), "32 records") || headHash(before.String()) == headHash(after.String()) {
		t.Errorf("before %q, after %q", before.String(), after.String())
	}
}

func noEnv(string) string { return "" }

// With RESETBOT_AUDIT_KEY and an anchor from an earlier digest, verify catches what the hash chain
// alone cannot: records cut off the end, and a trail rebuilt (hashes recomputed) by someone who can
// write the database but has not the key.
func TestAuditVerifyWithKeyAndAnchor(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *testing.T, env *scenariotest.Env) []string
		says []string
	}{
		{"intact", func(*testing.T, *scenariotest.Env) []string { return nil },
			[]string{"37 records, chain intact", "every record's MAC matches RESETBOT_AUDIT_KEY", "anchor #30 found as recorded", "--anchor 37:"}},
		{"truncated", func(*testing.T, *scenariotest.Env) []string { return []string{`DELETE FROM audit WHERE seq > 20`} },
			[]string{"broken at record 21", "the trail ends at record 20, but record 30 is anchored outside the database: records were cut off the end", "the 20 records it holds (to #20) are intact"}},
		{"edited, hashes recomputed", func(t *testing.T, env *scenariotest.Env) []string { return rehash(t, env, 25, "failed") },
			[]string{"broken at record 25", "its MAC does not match"}},
		{"rebuilt without MACs", func(t *testing.T, env *scenariotest.Env) []string {
			return append(rehash(t, env, 25, "failed"), `UPDATE audit SET mac = ''`)
		}, []string{"broken at record 30", "is not the record #30 anchored outside the database", "the trail was rebuilt", "the 29 records before it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := dayOnFile(t)
			var head bytes.Buffer
			if err := verifyTrail(context.Background(), env.DSN, noEnv, &bot.ChainCheck{}, &head); err != nil {
				t.Fatal(err)
			}
			anchor := "30:" + record(t, env, 30).Hash
			if stmts := tt.edit(t, env); stmts != nil {
				tamper(t, env.StorePath, stmts...)
			}
			getenv := func(k string) string {
				if k == EnvAuditKey {
					return base64.StdEncoding.EncodeToString(env.Config().AuditKey)
				}
				return ""
			}
			check, err := trailCheck(getenv, []string{anchor})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err = verifyTrail(context.Background(), env.DSN, getenv, check, &out)
			said := out.String()
			if err != nil {
				said = err.Error()
			}
			if (err == nil) != (tt.name == "intact") {
				t.Errorf("verify: %v\n%s", err, out.String())
			}
			for _, want := range tt.says {
				if !strings.Contains(said, want) {
					t.Errorf("verify said %q, want it to say %q", said, want)
				}
			}
		})
	}
	// A malformed anchor is refused before anything is read.
	if _, err := trailCheck(noEnv, []string{"30:abc"}); err == nil || !strings.Contains(err.Error(), "an anchor is SEQ:HASH") {
		t.Errorf("a bad anchor: %v", err)
	}
}

// rehash edits a record's outcome and recomputes the chain from it to the end, as someone with write
// access to the database and no key would.
func rehash(t *testing.T, env *scenariotest.Env, from int64, outcome string) []string {
	t.Helper()
	var stmts []string
	all := records(t, env.DSN)
	prev := all[from-2].Hash
	for _, r := range all[from-1:] {
		seq := r.Seq
		if seq == from {
			r.Outcome = outcome
		}
		r.PrevHash = prev
		h := r.ChainHash(prev)
		stmts = append(stmts, fmt.Sprintf(`UPDATE audit SET outcome = '%s', prev_hash = '%s', hash = '%s' WHERE seq = %d`, r.Outcome, prev, h, seq))
		prev = h
	}
	return stmts
}

func headHash(out string) string {
	_, h, _ := strings.Cut(out, "head hash ")
	h, _, _ = strings.Cut(h, "\n")
	return strings.TrimSpace(h)
}

func TestAuditVerifyMissingStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.db")
	err := verifyTrail(context.Background(), "sqlite:"+path, noEnv, &bot.ChainCheck{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("verify of a missing file: %v", err)
	}
	if _, serr := os.Stat(path); serr == nil {
		t.Error("verify created the missing store")
	}
}

func record(t *testing.T, env *scenariotest.Env, seq int64) bot.AuditRecord {
	t.Helper()
	for _, r := range records(t, env.DSN) {
		if r.Seq == seq {
			return r
		}
	}
	t.Fatalf("no record %d", seq)
	return bot.AuditRecord{}
}

func records(t *testing.T, dsn string) []bot.AuditRecord {
	t.Helper()
	st, err := openAuditStore(context.Background(), dsn, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out []bot.AuditRecord
	if err := st.AuditSince(context.Background(), 0, func(r bot.AuditRecord) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// The JSON lines export of a window reads back into exactly the records of that window; the CSV
// export has its header and defused cells; neither holds a temporary password.
func TestAuditExport(t *testing.T) {
	env, passwords := dayOnFile(t)
	all := records(t, env.DSN)
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

	cmd := &auditExportCmd{Since: "2026-11-27T10:30:00Z", Until: "1h", Format: "jsonl", Out: filepath.Join(t.TempDir(), "trail.jsonl")}
	opts, err := cmd.options(now)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := exportTrail(context.Background(), env.DSN, opts, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if stdout.Len() != 0 || stderr.String() != "wrote 4 records (#34 to #37) to "+cmd.Out+"\n" {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	if st, err := os.Stat(cmd.Out); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the export file: %v, %v", st, err)
	}
	f, err := os.Open(cmd.Out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []bot.AuditRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r bot.AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		got = append(got, r)
	}
	if want := all[33:]; !reflect.DeepEqual(got, want) {
		t.Errorf("exported\n%+v\nwant\n%+v", got, want)
	}

	// Everything, as CSV to standard output.
	opts, err = (&auditExportCmd{Format: "csv"}).options(now)
	if err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if err := exportTrail(context.Background(), env.DSN, opts, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, pw := range passwords {
		if strings.Contains(stdout.String(), pw) {
			t.Fatal("a temporary password is in the CSV export")
		}
	}
	rows, err := csv.NewReader(strings.NewReader(stdout.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(all)+1 || strings.Join(rows[0], ",") !=
		"seq,at,request_id,event,platform,actor_key,actor_upn,target_id,target_upn,outcome,detail,graph_request_id,duration_ms,prev_hash,hash,line,mac,assurance" {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	if !strings.Contains(stdout.String(), ",'=SUM(1+2) INC7,") {
		t.Error("the formula-like reason is not defused in the CSV")
	}
}

// An export over a broken chain is still written, and the command fails saying so.
func TestAuditExportReportsBrokenChain(t *testing.T) {
	env, _ := dayOnFile(t)
	tamper(t, env.StorePath, `DELETE FROM audit WHERE seq = 5`)
	out := filepath.Join(t.TempDir(), "trail.csv")
	err := exportTrail(context.Background(), env.DSN, exportOptions{format: "csv", out: out}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "broken at record 6") {
		t.Fatalf("export over a broken chain: %v", err)
	}
	if b, rerr := os.ReadFile(out); rerr != nil || bytes.Count(b, []byte("\n")) != 37 {
		t.Errorf("the export was not kept whole: %v", rerr)
	}
}

func TestAuditExportBadFlags(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		cmd  auditExportCmd
		says string
	}{
		{auditExportCmd{Since: "7x"}, `--since: "7x" is not a time I understand`},
		{auditExportCmd{Since: "yesterday"}, "2026-11-01"},
		{auditExportCmd{Since: "1d", Until: "2d"}, "--until (2026-11-25T12:00:00Z) must be after --since"},
		{auditExportCmd{Until: "soon"}, "--until:"},
		{auditExportCmd{Format: "xml"}, `--format "xml": want jsonl or csv`},
	} {
		if _, err := c.cmd.options(now); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%+v: %v, want it to say %q", c.cmd, err, c.says)
		}
	}
	// The command line refuses an unknown format before anything runs.
	var c cli
	p, err := kong.New(&c, kong.Name("resetbot"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Parse([]string{"audit", "export", "--format", "xml"}); err == nil || !strings.Contains(err.Error(), "jsonl") {
		t.Errorf("--format xml: %v", err)
	}
	if _, err := p.Parse([]string{"audit", "verify", "--store", "sqlite:x.db"}); err != nil {
		t.Errorf("audit verify --store: %v", err)
	}
}

// audit export --follow --after SEQ writes the records after the cursor, then each record
// appended later as a JSON line of its own, until it is stopped, which is not an error.
func TestAuditExportFollow(t *testing.T) {
	env, _ := dayOnFile(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- followTrail(ctx, env.DSN, exportOptions{format: "jsonl", after: 35, poll: 20 * time.Millisecond}, &out, &errb)
	}()
	seqs := func() []int64 {
		var got []int64
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var r bot.AuditRecord
			if line != "" && json.Unmarshal([]byte(line), &r) == nil {
				got = append(got, r.Seq)
			}
		}
		return got
	}
	waitFor := func(want []int64) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if reflect.DeepEqual(seqs(), want) {
				return
			}
		}
		t.Fatalf("followed %v, want %v", seqs(), want)
	}
	waitFor([]int64{36, 37})

	// Another process (a replica) appends: the follower writes it within a poll.
	st, err := store.Open(context.Background(), env.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec := &bot.AuditRecord{At: time.Now().UTC(), RequestID: "R-FOLLOW", Event: "requested", Platform: "slack", Outcome: "asked"}
	if err := st.AppendAudit(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	waitFor([]int64{36, 37, 38})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("stopping the follower: %v", err)
	}
	if errb.String() != "" {
		t.Errorf("stderr: %q", errb.String())
	}
}

func TestAuditExportFollowBadFlags(t *testing.T) {
	for _, c := range []struct {
		cmd  auditExportCmd
		says string
	}{
		{auditExportCmd{Follow: true, Format: "csv", Poll: time.Second}, "--follow writes JSON lines"},
		{auditExportCmd{Follow: true, Until: "1h", Poll: time.Second}, "takes no --until"},
		{auditExportCmd{Follow: true, Out: "trail.jsonl", Poll: time.Second}, "leave --out out"},
		{auditExportCmd{Follow: true, Poll: time.Millisecond}, "--poll 1ms"},
		{auditExportCmd{After: -1}, "--after -1"},
	} {
		if _, err := c.cmd.options(time.Now()); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%+v: %v, want it to say %q", c.cmd, err, c.says)
		}
	}
}
