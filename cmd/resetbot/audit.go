package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/keys"
	"github.com/resetbot/resetbot/bot/store"
)

// auditCmd is `resetbot audit`: the trail for security teams, read straight from the store.
type auditCmd struct {
	Verify auditVerifyCmd `cmd:"" help:"Check the audit trail's hash chain from its first record; an edited, deleted or reordered record is named."`
	Export auditExportCmd `cmd:"" help:"Write audit records for a SIEM as JSON lines or CSV (field names in the README)."`
}

// auditStoreFlag is the store to read: --store, else RESETBOT_STORE as serve reads it.
type auditStoreFlag struct {
	Store string `help:"The store to read, as RESETBOT_STORE (the default): sqlite:PATH or postgres://…" placeholder:"DSN"`
}

func (f auditStoreFlag) dsn(getenv func(string) string) string {
	if f.Store != "" {
		return f.Store
	}
	if v := getenv("RESETBOT_STORE"); v != "" {
		return v
	}
	return store.DefaultDSN
}

// named says a store error in the words the person used: "--store" when they gave the flag, not
// the RESETBOT_STORE they never set. The error is kept for errors.As.
func (f auditStoreFlag) named(err error) error {
	if err == nil || f.Store == "" {
		return err
	}
	msg := strings.ReplaceAll(err.Error(), "RESETBOT_STORE or --store", "--store")
	if msg == err.Error() && !strings.Contains(msg, "RESETBOT_STORE") {
		return err
	}
	return &renamedError{msg: strings.ReplaceAll(msg, "RESETBOT_STORE", "--store"), err: err}
}

type renamedError struct {
	msg string
	err error
}

func (e *renamedError) Error() string { return e.msg }
func (e *renamedError) Unwrap() error { return e.err }

// openAuditStore opens an existing store. A SQLite path that does not exist is an error rather than
// a new empty database that would verify as an empty, intact trail.
func openAuditStore(ctx context.Context, dsn string, getenv func(string) string) (bot.Store, error) {
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok && path != ":memory:" {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("the SQLite store %s does not exist or cannot be read (%v): check RESETBOT_STORE or --store", path, errors.Unwrap(err))
		}
	}
	return openStore(ctx, dsn, getenv, nil)
}

type auditVerifyCmd struct {
	auditStoreFlag
	Anchor []string `help:"A record the trail must still hold, as SEQ:HASH (each digest shows the head it saw; verify prints today's). Catches a trail cut short or rebuilt from the start. Repeatable." placeholder:"SEQ:HASH"`
}

func (c *auditVerifyCmd) Run(ctx context.Context, cc *cliContext) error {
	check, err := trailCheck(cc.Getenv, c.Anchor)
	if err != nil {
		return err
	}
	return c.named(verifyTrail(ctx, c.dsn(cc.Getenv), cc.Getenv, check, cc.Stdout))
}

// trailCheck sets up a check with the audit key (when RESETBOT_AUDIT_KEY is set: every record's
// MAC is checked, so a chain rebuilt by whoever can write the database shows) and the anchors.
func trailCheck(getenv func(string) string, anchors []string) (*bot.ChainCheck, error) {
	c := &bot.ChainCheck{}
	if v := getenv(EnvAuditKey); v != "" {
		raw, err := keys.Parse(EnvAuditKey, v)
		if err != nil {
			return nil, err
		}
		if c.Key, err = bot.NewTrailKey(raw); err != nil {
			return nil, err
		}
	}
	for _, s := range anchors {
		a, err := bot.ParseAnchor(s)
		if err != nil {
			return nil, fmt.Errorf("--anchor: %w", err)
		}
		c.Anchors = append(c.Anchors, a)
	}
	return c, nil
}

// verifyTrail walks the chain and says whether it is intact; a broken chain is an error naming the
// first bad record, so the command exits non-zero.
func verifyTrail(ctx context.Context, dsn string, getenv func(string) string, c *bot.ChainCheck, out io.Writer) error {
	st, err := openAuditStore(ctx, dsn, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	check, err := bot.VerifyTrailWith(ctx, st, c)
	var b *bot.ChainBreak
	if errors.As(err, &b) {
		intact := "no record before it is intact"
		if check.Count > 0 && b.PastEnd {
			intact = fmt.Sprintf("the %s it holds (to #%d) are intact", bot.Count(int(check.Count), "record"), check.Last.Seq)
		} else if check.Count > 0 {
			intact = fmt.Sprintf("the %s before it (to #%d) are intact", bot.Count(int(check.Count), "record"), check.Last.Seq)
		}
		return fmt.Errorf("%w\n  %s; treat everything from record %d on as untrusted", b, intact, b.Seq)
	}
	if err != nil {
		return err
	}
	var w strings.Builder
	if check.Count == 0 {
		w.WriteString("0 records: the audit trail is empty.\n")
	} else {
		fmt.Fprintf(&w, "%s, chain intact (first #%d %s, last #%d %s)\n",
			bot.Count(int(check.Count), "record"), check.First.Seq, stamp(check.First.At), check.Last.Seq, stamp(check.Last.At))
	}
	switch {
	case check.Key == nil:
		fmt.Fprintf(&w, "MACs not checked: %s is not set (with it, a chain rebuilt by someone who can write the database but has not the key is caught)\n", EnvAuditKey)
	case check.Unkeyed > 0:
		fmt.Fprintf(&w, "every record's MAC matches %s, but for the first %d, written before the key was set\n", EnvAuditKey, check.Unkeyed)
	case check.Count > 0:
		fmt.Fprintf(&w, "every record's MAC matches %s\n", EnvAuditKey)
	}
	for _, a := range check.Anchors {
		fmt.Fprintf(&w, "anchor #%d found as recorded\n", a.Seq)
	}
	if check.Count > 0 {
		fmt.Fprintf(&w, "head hash %s\nkeep the head outside the database; later, resetbot audit verify --anchor %d:%s proves the trail still holds it\n",
			check.Last.Hash, check.Last.Seq, check.Last.Hash)
	}
	_, err = io.WriteString(out, w.String())
	return err
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

type auditExportCmd struct {
	auditStoreFlag
	Since  string        `help:"First record time: a length of time back from now (7d, 36h), a date (2026-11-01, UTC) or an RFC 3339 time. Default: the first record." placeholder:"WHEN"`
	Until  string        `help:"Records before this time (same forms as --since). Default: now." placeholder:"WHEN"`
	Format string        `help:"jsonl (one JSON object per line) or csv (with a header)." enum:"jsonl,csv" default:"jsonl"`
	Out    string        `help:"Write to this file (created with owner-only permissions) instead of standard output." placeholder:"FILE"`
	Follow bool          `help:"Keep running: after the records there are, write each new one as it is appended (JSON lines, to standard output), until stopped. For a sidecar shipping the trail to a SIEM."`
	After  int64         `help:"Only records after this one (its seq): the cursor a shipper kept, to resume without duplicates." placeholder:"SEQ"`
	Poll   time.Duration `help:"With --follow: how often to look for new records." default:"2s"`
}

func (c *auditExportCmd) Run(ctx context.Context) error {
	opts, err := c.options(time.Now())
	if err != nil {
		return err
	}
	if c.Follow {
		return c.named(followTrail(ctx, c.dsn(os.Getenv), opts, os.Stdout, os.Stderr))
	}
	return c.named(exportTrail(ctx, c.dsn(os.Getenv), opts, os.Stdout, os.Stderr))
}

type exportOptions struct {
	since, until time.Time // until zero: no end
	format       string
	out          string // "" or "-": the writer given
	after        int64  // only records with a greater seq
	poll         time.Duration
}

func (c *auditExportCmd) options(now time.Time) (exportOptions, error) {
	o := exportOptions{format: c.Format, out: c.Out, after: c.After, poll: c.Poll}
	if c.After < 0 {
		return o, fmt.Errorf("--after %d: want a record's seq (1, 2, 3 …) or 0", c.After)
	}
	if c.Follow {
		switch {
		case c.Format == "csv":
			return o, errors.New("--follow writes JSON lines (one record per line, as a shipper reads them): leave --format out or set it to jsonl")
		case c.Until != "":
			return o, errors.New("--follow runs until stopped: it takes no --until")
		case c.Out != "" && c.Out != "-":
			return o, errors.New("--follow writes to standard output (a file written whole and renamed into place cannot be followed): leave --out out")
		case c.Poll < 100*time.Millisecond || c.Poll > time.Hour:
			return o, fmt.Errorf("--poll %s: want from 100ms to 1h", c.Poll)
		}
	}
	if o.format == "" {
		o.format = "jsonl"
	}
	if o.format != "jsonl" && o.format != "csv" {
		return o, fmt.Errorf("--format %q: want jsonl or csv", c.Format)
	}
	var err error
	if o.since, o.until, err = parsePeriod(c.Since, c.Until, now); err != nil {
		return o, err
	}
	if c.Until == "" {
		o.until = time.Time{} // to the last record (and on, with --follow)
	}
	return o, nil
}

// exportTrail streams the records of the window to a file or stdout, one at a time. The whole
// chain is checked on the way (every record is read anyway): the export is written, and a broken
// chain then makes the command fail so a scheduled export does not go unnoticed.
func exportTrail(ctx context.Context, dsn string, o exportOptions, stdout, stderr io.Writer) (err error) {
	st, err := openAuditStore(ctx, dsn, os.Getenv)
	if err != nil {
		return err
	}
	defer st.Close()

	w, finish, err := exportTarget(o.out, stdout)
	if err != nil {
		return err
	}
	defer func() { err = finish(err) }()
	var aw bot.AuditWriter
	if o.format == "csv" {
		aw = bot.NewAuditCSV(w)
	} else {
		aw = bot.NewAuditJSONL(w)
	}
	var (
		check       bot.ChainCheck
		broken      *bot.ChainBreak
		n           int64
		first, last int64
	)
	err = st.AuditSince(ctx, 0, func(r bot.AuditRecord) error {
		if broken == nil {
			broken = check.Add(r)
		}
		if r.Seq <= o.after || r.At.Before(o.since) || (!o.until.IsZero() && !r.At.Before(o.until)) {
			return nil
		}
		if n == 0 {
			first = r.Seq
		}
		n, last = n+1, r.Seq
		return aw.Write(r)
	})
	if err == nil {
		err = aw.Flush()
	}
	if err != nil {
		return fmt.Errorf("exporting the audit trail: %w", err)
	}
	if o.out != "" && o.out != "-" {
		span := ""
		if n > 0 {
			span = fmt.Sprintf(" (#%d to #%d)", first, last)
		}
		fmt.Fprintf(stderr, "wrote %s%s to %s\n", bot.Count(int(n), "record"), span, o.out)
	}
	if broken != nil {
		return fmt.Errorf("the export is written, but %w; run resetbot audit verify", broken)
	}
	return nil
}

// exportTarget is where the export goes: stdout, or a new file written beside its final name and
// renamed into place when complete, so a reader never sees half an export.
func exportTarget(path string, stdout io.Writer) (io.Writer, func(error) error, error) {
	if path == "" || path == "-" {
		return stdout, func(err error) error { return err }, nil
	}
	if err := checkOut(path, "audit.jsonl"); err != nil {
		return nil, nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, nil, cannotWrite(path, err)
	}
	finish := func(err error) error {
		// A broken chain still leaves a complete export: keep it.
		var b *bot.ChainBreak
		keep := err == nil || errors.As(err, &b)
		if cerr := f.Close(); cerr != nil && keep {
			err, keep = cannotWrite(path, cerr), false
		}
		if keep {
			if rerr := os.Rename(f.Name(), path); rerr != nil {
				err, keep = cannotWrite(path, rerr), false
			}
		}
		if !keep {
			os.Remove(f.Name())
		}
		return err
	}
	return f, finish, nil
}

// followTrail writes the records after the cursor (o.after, o.since), then every record appended
// later, one JSON line each as soon as it is read, until ctx ends (SIGTERM: exit 0). Records become
// visible in seq order whichever replica appends them (appends are serialised), so a shipper that
// keeps the last seq it forwarded resumes with --after SEQ and neither misses nor repeats one.
// The chain is checked from the first record on as it goes; a break is reported on stderr once and
// the records are still written: the SIEM should have them, and the warning.
func followTrail(ctx context.Context, dsn string, o exportOptions, stdout, stderr io.Writer) error {
	st, err := openAuditStore(ctx, dsn, os.Getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	aw := bot.NewAuditJSONL(stdout)
	var (
		check    bot.ChainCheck
		reported bool
		last     int64
	)
	read := func() error {
		return st.AuditSince(ctx, last, func(r bot.AuditRecord) error {
			last = r.Seq
			if b := check.Add(r); b != nil && !reported {
				fmt.Fprintf(stderr, "resetbot: %v; records are still written, run resetbot audit verify\n", b)
				reported = true
			}
			if r.Seq <= o.after || r.At.Before(o.since) {
				return nil
			}
			return aw.Write(r)
		})
	}
	for {
		if err := read(); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("following the audit trail: %w", err)
		}
		if err := aw.Flush(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.poll):
		}
	}
}
