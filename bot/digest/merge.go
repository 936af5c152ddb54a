package digest

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// Entra logs one reset as several entries that share a correlation ID ("Reset password (by admin)"
// from the password service, "Reset user password" from the core directory): they count once.
// Entries of one operation are written within moments of each other.
const companionWindow = 2 * time.Minute

// class is what is known of an Entra entry before the trail is read.
type class uint8

const (
	classCandidate   class = iota // initiated by a person: resetbot (as the signed-in agent) or not
	classBotApp                   // initiated by resetbot's own app
	classSelfService              // the user reset their own password: never resetbot
)

type spooled struct {
	EntraReset
	Class class
}

// spool holds the period's Entra entries on disk, oldest first, in a compact length-prefixed
// encoding (JSON took a third of a 100,000-entry digest's time).
type spool struct {
	f   *os.File
	r   *bufio.Reader
	buf []byte
}

func (s *spool) close() {
	if s != nil && s.f != nil {
		s.f.Close()
		os.Remove(s.f.Name())
	}
}

func (e *spooled) fields() []*string {
	return []*string{&e.ID, &e.Activity, &e.Service, &e.Result, &e.ResultReason, &e.CorrelationID, &e.ByUserID, &e.ByUPN,
		&e.ByIP, &e.ByAppID, &e.ByApp, &e.TargetID, &e.TargetUPN}
}

// appendSpooled encodes one entry: class, time, then each string with its length.
func appendSpooled(b []byte, e *spooled) []byte {
	b = append(b, byte(e.Class))
	b = binary.AppendVarint(b, e.At.UnixNano())
	for _, f := range e.fields() {
		b = binary.AppendUvarint(b, uint64(len(*f)))
		b = append(b, *f...)
	}
	return b
}

// read returns the next entry, or ok false at the end.
func (s *spool) read() (e spooled, ok bool, err error) {
	if s == nil || s.r == nil {
		return e, false, nil
	}
	c, err := s.r.ReadByte()
	if errors.Is(err, io.EOF) {
		return e, false, nil
	}
	bad := func(err error) (spooled, bool, error) {
		return spooled{}, false, fmt.Errorf("reading back Entra's entries: %w", err)
	}
	if err != nil {
		return bad(err)
	}
	e.Class = class(c)
	ns, err := binary.ReadVarint(s.r)
	if err != nil {
		return bad(err)
	}
	e.At = time.Unix(0, ns).UTC()
	for _, f := range e.fields() {
		n, err := binary.ReadUvarint(s.r)
		if err != nil {
			return bad(err)
		}
		if n > 1<<20 {
			return bad(errors.New("corrupt spool"))
		}
		if uint64(cap(s.buf)) < n {
			s.buf = make([]byte, n)
		}
		b := s.buf[:n]
		if _, err := io.ReadFull(s.r, b); err != nil {
			return bad(err)
		}
		*f = string(b)
	}
	return e, true, nil
}

// readEntra reads Entra's reset entries for the period into a spool. A failure to read them is
// recorded in d.Entra.Err and leaves the spool empty: a partial list of outside resets would read
// as a complete one.
func (b *Builder) readEntra(ctx context.Context, cfg Config, d *Digest) (*spool, error) {
	if b.Entra == nil {
		return &spool{}, nil
	}
	d.Entra.Configured = true
	f, err := os.CreateTemp(cfg.TempDir, "resetbot-digest-entra-*.jsonl")
	if err != nil {
		return nil, fmt.Errorf("a temporary file for Entra's entries: %w", err)
	}
	sp := &spool{f: f}
	bw := bufio.NewWriterSize(f, 64<<10)
	var rec []byte
	ectx, cancel := context.WithTimeout(ctx, cfg.EntraTimeout)
	defer cancel()

	seen := map[string]time.Time{} // correlation ID + target → when, for companion entries
	var last time.Time
	n := 0
	err = b.Entra.PasswordResets(ectx, d.Since, d.Until, func(e EntraReset) error {
		if !isReset(e.Activity) || e.At.Before(d.Since) || !e.At.Before(d.Until) {
			return nil
		}
		if e.At.Before(last) {
			return fmt.Errorf("Entra returned entries out of time order (%s after %s)", e.At.Format(time.RFC3339), last.Format(time.RFC3339))
		}
		last = e.At
		if e.CorrelationID != "" {
			key := e.CorrelationID + "|" + strings.ToLower(e.TargetID)
			if at, dup := seen[key]; dup && e.At.Sub(at) <= companionWindow {
				return nil
			}
			seen[key] = e.At
			if n++; n%1024 == 0 {
				for k, at := range seen {
					if e.At.Sub(at) > companionWindow {
						delete(seen, k)
					}
				}
			}
		}
		s := spooled{EntraReset: e, Class: classCandidate}
		switch {
		case isSelfService(e):
			s.Class = classSelfService
		case cfg.BotAppID != "" && strings.EqualFold(e.ByAppID, cfg.BotAppID):
			s.Class = classBotApp
		}
		rec = appendSpooled(rec[:0], &s)
		_, err := bw.Write(rec)
		return err
	})
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		d.Entra.Err = entraTrouble(ctx, ectx, cfg.EntraTimeout, err)
		f.Close()
		os.Remove(f.Name())
		return &spool{}, nil
	}
	sp.r = bufio.NewReaderSize(f, 64<<10)
	return sp, nil
}

// entraTrouble says in words why Entra's log could not be read.
func entraTrouble(ctx, ectx context.Context, timeout time.Duration, err error) string {
	switch {
	case ctx.Err() != nil:
		return "the digest was stopped while reading it"
	case errors.Is(ectx.Err(), context.DeadlineExceeded):
		return fmt.Sprintf("it did not finish within %s (the reports API allows 5 requests per 10 s)", timeout)
	}
	var de *bot.DirectoryError
	if errors.As(err, &de) {
		msg := de.Message
		if de.Remedy != "" {
			msg += " " + de.Remedy
		}
		return msg
	}
	return err.Error()
}

// isReset reports whether an activity is a password being reset, as opposed to changed by its owner.
func isReset(activity string) bool {
	switch strings.ToLower(activity) {
	case "reset user password", "reset password", "reset password (by admin)", "reset password (self-service)":
		return true
	}
	return false
}

// merger walks the trail and the spooled Entra entries together in time order. An Entra entry is
// decided once the trail has passed its time plus the match window: by then every reset of
// resetbot's that could be it has been seen. Only resets within the match window of the next
// undecided entry are held.
type merger struct {
	a   *aggregate
	w   *detailWriter
	sp  *spool
	tol time.Duration

	head    spooled
	hasHead bool

	pool    []poolItem
	base    int              // pool[0]'s absolute index
	byTgt   map[string][]int // target → absolute indices into pool, oldest first
	decided int
}

type poolItem struct {
	target string
	by     string // the agent's UPN: Entra names them as the initiator of a reset made as them
	at     time.Time
	failed bool
	used   bool
}

func (m *merger) next() error {
	e, ok, err := m.sp.read()
	m.head, m.hasHead = e, ok
	if ok {
		m.prune(e.At.Add(-m.tol))
	}
	return err
}

// trail takes the next record of the trail.
func (m *merger) trail(r bot.AuditRecord) error {
	m.a.record(r)
	for m.hasHead && m.head.At.Add(m.tol).Before(r.At) {
		if err := m.decide(); err != nil {
			return err
		}
	}
	if r.Event == bot.EventReset && r.TargetID != "" && m.hasHead && !r.At.Before(m.head.At.Add(-m.tol)) {
		if m.byTgt == nil {
			m.byTgt = map[string][]int{}
		}
		t := strings.ToLower(r.TargetID)
		m.byTgt[t] = append(m.byTgt[t], m.base+len(m.pool))
		m.pool = append(m.pool, poolItem{target: t, by: strings.ToLower(r.ActorUPN), at: r.At, failed: r.Outcome != "done"})
	}
	return nil
}

// finish decides the entries left after the trail's end.
func (m *merger) finish() error {
	for m.hasHead {
		if err := m.decide(); err != nil {
			return err
		}
	}
	return nil
}

// decide settles the head entry: resetbot's app, or a reset of resetbot's of the same account
// within the window (the closest unused one) made as the same person Entra names as its initiator,
// makes it resetbot's; self-service never is. An admin who resets the same account in the admin
// center a minute after an agent did through resetbot is someone else, and is listed as outside.
func (m *merger) decide() error {
	e := m.head
	through := e.Class == classBotApp
	if e.Class != classSelfService {
		if i := m.match(e); i >= 0 {
			m.pool[i-m.base].used = true
			through = true
		}
	}
	m.a.entra(e.EntraReset, through)
	if err := m.w.entra(e.EntraReset, through); err != nil {
		return err
	}
	return m.next()
}

func (m *merger) match(e spooled) int {
	best, bestGap := -1, time.Duration(-1)
	success := e.Result == "" || strings.EqualFold(e.Result, "success")
	for _, idx := range m.byTgt[strings.ToLower(e.TargetID)] {
		p := m.pool[idx-m.base]
		if p.used || (success && p.failed) {
			continue
		}
		if p.by != "" && e.ByUPN != "" && !strings.EqualFold(p.by, e.ByUPN) {
			continue // another person did this one
		}
		gap := p.at.Sub(e.At)
		if gap < 0 {
			gap = -gap
		}
		if gap <= m.tol && (best < 0 || gap < bestGap) {
			best, bestGap = idx, gap
		}
	}
	return best
}

// prune drops held resets older than cutoff: no entry still to come can be them.
func (m *merger) prune(cutoff time.Time) {
	i := 0
	for i < len(m.pool) && m.pool[i].at.Before(cutoff) {
		p := m.pool[i]
		list := m.byTgt[p.target]
		if len(list) > 0 && list[0] == m.base+i {
			list = list[1:]
		} else {
			for j, idx := range list {
				if idx == m.base+i {
					list = append(list[:j:j], list[j+1:]...)
					break
				}
			}
		}
		if len(list) == 0 {
			delete(m.byTgt, p.target)
		} else {
			m.byTgt[p.target] = list
		}
		i++
	}
	if i > 0 {
		m.base += i
		m.pool = m.pool[i:]
		if len(m.pool) == 0 {
			m.pool = nil // let the old array go
		}
	}
}
