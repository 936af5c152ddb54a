package digest

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// DetailColumns are the detail CSV's columns. Add at the end; never rename or reorder.
var DetailColumns = []string{"time", "time_local", "source", "event", "agent", "target", "outcome", "reason", "reference"}

// detailWriter writes the detail CSV one row per event: every record of the bot's trail in the
// period, and every Entra reset entry, with whether it came through resetbot. Cells a spreadsheet
// would run as a formula are defused (bot.CSVSafe).
type detailWriter struct {
	w    *csv.Writer
	loc  *time.Location
	rows int
	row  []string
}

func newDetailWriter(w io.Writer, loc *time.Location) *detailWriter {
	if w == nil {
		return &detailWriter{loc: loc}
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(DetailColumns)
	return &detailWriter{w: cw, loc: loc, row: make([]string, len(DetailColumns))}
}

func (d *detailWriter) write(at time.Time, cells ...string) error {
	d.rows++
	if d.w == nil {
		return nil
	}
	d.row[0] = at.UTC().Format(time.RFC3339)
	d.row[1] = at.In(d.loc).Format("2006-01-02 15:04:05")
	for i, c := range cells {
		d.row[i+2] = bot.CSVSafe(c)
	}
	return d.w.Write(d.row)
}

func (d *detailWriter) bot(r bot.AuditRecord) error {
	agent := r.ActorUPN
	if agent == "" {
		agent = r.ActorKey
	}
	ref := r.RequestID
	if r.GraphRequestID != "" {
		ref = strings.TrimSpace(ref + " graph:" + r.GraphRequestID)
	}
	return d.write(r.At, "bot", string(r.Event), agent, r.TargetUPN, r.Outcome, r.Detail, ref)
}

func (d *detailWriter) entra(e EntraReset, throughBot bool) error {
	agent := e.ByUPN
	switch {
	case isSelfService(e):
		agent = firstNonEmpty(e.ByUPN, e.TargetUPN) + " (self-service)"
	case agent == "" && (e.ByApp != "" || e.ByAppID != ""):
		agent = "app " + firstNonEmpty(e.ByApp, e.ByAppID)
	case agent == "":
		agent = e.ByUserID
	}
	outcome := firstNonEmpty(e.Result, "success")
	if throughBot {
		outcome += "; through resetbot"
	} else {
		outcome += "; outside resetbot"
	}
	reason := e.ResultReason
	if e.ByIP != "" {
		reason = strings.TrimSpace(reason + " from " + e.ByIP)
	}
	return d.write(e.At, "entra", e.Activity, agent, firstNonEmpty(e.TargetUPN, e.TargetID), outcome, reason, e.ID)
}

func (d *detailWriter) flush() error {
	if d.w == nil {
		return nil
	}
	d.w.Flush()
	return d.w.Error()
}

// Itoa is strconv.Itoa, for renderers.
func itoa(n int) string { return strconv.Itoa(n) }
