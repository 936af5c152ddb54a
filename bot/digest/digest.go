package digest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/resetbot/resetbot/bot"
)

// Trail is the bot's own audit trail; bot.Store is one.
type Trail interface {
	AuditSince(ctx context.Context, afterSeq int64, fn func(bot.AuditRecord) error) error
	AuditAfter(ctx context.Context, t time.Time) (afterSeq int64, err error)
}

// Requests finds a request by ID, for the roles its target held; bot.Store is one.
type Requests interface {
	GetRequest(ctx context.Context, id string) (*bot.Request, error)
}

// EntraLog reads Entra's directory audit log; graphsvc.Client is one. PasswordResets calls fn for
// every entry about a password reset (activity names starting with "Reset") with since ≤
// activityDateTime < until, oldest first, reading page after page at the pace the reports API
// allows. It stops at fn's first error and returns it.
type EntraLog interface {
	PasswordResets(ctx context.Context, since, until time.Time, fn func(EntraReset) error) error
}

// EntraReset is one entry of auditLogs/directoryAudits about a password, as the digest needs it.
type EntraReset struct {
	ID            string
	At            time.Time
	Activity      string // activityDisplayName
	Service       string // loggedByService
	Result        string // success | failure | timeout
	ResultReason  string
	CorrelationID string
	ByUserID      string // initiatedBy.user
	ByUPN         string
	ByIP          string
	ByAppID       string // initiatedBy.app
	ByApp         string
	TargetID      string // the first targetResources entry of type User
	TargetUPN     string
}

// Digest is what one period looked like. Lists are capped at Config.TopN; their full length is in
// the matching count.
type Digest struct {
	Since, Until time.Time
	Location     *time.Location
	Hours        Hours

	Resets  int // resets resetbot attempted: done + failed
	Done    int
	Failed  int
	Denied  int // refused by policy
	Refused int // bad input, unknown users, not signed in: nothing done
	// RefusedWhy is Refused by cause, most frequent first, in words ("unknown user").
	RefusedWhy []ReasonCount
	Requests   int // resets asked for (single targets and list rows)

	Approvals Approvals

	Agents     []AgentLine // by resets, most first
	MoreAgents int
	Usual      UsualBasis

	Privileged        []PrivilegedReset
	PrivilegedCount   int
	PrivilegedUnknown int // resets whose target's roles could not be looked up

	Failures     []ReasonCount // failed resets by reason, most first
	FailureCount int

	// Assurance counts the resets done by how their caller was verified (resets recorded before
	// caller verification existed count as none).
	Assurance map[bot.Assurance]int
	// Alerts are what users and checks raised in the period: "this wasn't me", failed caller
	// verifications that alarmed.
	Alerts     []AlertLine
	AlertCount int

	Anomalies []Anomaly

	Entra Entra

	CSVRows int // rows of the detail file, header excluded

	// Head is the last record of resetbot's trail when the digest was built: carried out of the
	// database in every digest, so `resetbot audit verify --anchor` can later prove the trail still
	// holds it (nothing cut off the end, nothing rebuilt).
	Head bot.Anchor
}

// Approvals counts the approval steps of the period.
type Approvals struct {
	Asked, Approved, Denied, Expired, Refused int
}

// AgentLine is one agent's resets in the period and their usual count.
type AgentLine struct {
	Agent        string
	Done, Failed int
	Usual        float64 // median of the previous windows; -1 when there is no history
}

// Resets is the agent's total.
func (a AgentLine) Resets() int { return a.Done + a.Failed }

// UsualBasis says what "usual" was computed from.
type UsualBasis struct {
	Windows int           // earlier periods with trail in them
	Length  time.Duration // each as long as this one
}

// PrivilegedReset is a reset of an account holding (or eligible for) an admin role.
type PrivilegedReset struct {
	At        time.Time
	Target    string
	Roles     []string // role names
	Agent     string
	Approver  string
	RequestID string
	Assurance bot.Assurance // how the caller was verified
}

// AlertLine is one alert of the period.
type AlertLine struct {
	At        time.Time
	Text      string
	RequestID string
}

// ReasonCount is a reason and how often it came up.
type ReasonCount struct {
	Reason string
	Count  int
}

// AnomalyKind names a rule that fired.
type AnomalyKind string

const (
	AnomalyAgentVolume  AnomalyKind = "agent_volume"
	AnomalyOffHours     AnomalyKind = "off_hours"
	AnomalyAccountReset AnomalyKind = "account_repeats"
)

// Anomaly is something that looks wrong, in one sentence.
type Anomaly struct {
	Kind AnomalyKind
	Text string
}

// Entra is the part of the digest read from Entra's audit log.
type Entra struct {
	Configured                       bool   // an EntraLog was given
	Err                              string // why it could not be read; empty when it was
	Entries                          int    // reset entries read (companion entries of one reset counted once)
	ThroughBot                       int    // matched to resetbot: by its app ID or by account and time
	Outside                          int
	SelfService, ByAdmin, ByOtherApp int
	OutsideList                      []OutsideReset
	Pages                            int
}

// OutsideReset is a reset Entra logged that did not come through resetbot.
type OutsideReset struct {
	At        time.Time
	Kind      string // self-service | admin | app
	Initiator string // who or what: a UPN, "app Name", or the user themselves
	IP        string
	Target    string
	Result    string
	Reason    string
	OffHours  bool
}

// How says in words how an outside reset was made.
func (o OutsideReset) How() string {
	switch o.Kind {
	case kindSelfService:
		return "self-service"
	case kindApp:
		return "by " + o.Initiator
	}
	return "by " + o.Initiator + " (admin center or PowerShell)"
}

const (
	kindSelfService = "self-service"
	kindAdmin       = "admin"
	kindApp         = "app"
)

// Limits on what memory holds, whatever the trail's length: beyond them counting goes on in
// coarser form and the digest says so.
const (
	maxAgents     = 10_000
	maxTargets    = 100_000
	maxReasons    = 200
	maxPrivLookup = 2_000
)

// Builder builds digests.
type Builder struct {
	Trail    Trail
	Requests Requests // nil: privileged targets are not shown
	Entra    EntraLog // nil: the Entra part says it is not configured
	Config   Config
}

// Build reads the period [since, until) and writes the detail CSV to csv (nil writes none). An
// Entra failure is not an error: the digest says the Entra part could not be read, and why. Only a
// failure to read the bot's own trail is.
func (b *Builder) Build(ctx context.Context, since, until time.Time, csv io.Writer) (*Digest, error) {
	if !until.After(since) {
		return nil, fmt.Errorf("the period %s → %s is empty", since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	cfg := b.Config.withDefaults()
	d := &Digest{Since: since, Until: until, Location: cfg.Location, Hours: cfg.Hours}
	a := newAggregate(cfg, d)

	// Entra first: spooled to disk in time order, then merged with the trail.
	sp, err := b.readEntra(ctx, cfg, d)
	if err != nil {
		return nil, err
	}
	defer sp.close()

	w := newDetailWriter(csv, cfg.Location)
	m := &merger{a: a, w: w, sp: sp, tol: cfg.MatchWindow}
	if err := m.next(); err != nil {
		return nil, err
	}
	historyFrom := since.Add(-time.Duration(cfg.HistoryWindows) * until.Sub(since))
	stopAfter := until.Add(cfg.MatchWindow + time.Hour) // records are in append order, roughly time order
	errStop := errors.New("stop")
	// When the trail began, for "usual" counts: only periods since then count.
	err = b.Trail.AuditSince(ctx, 0, func(r bot.AuditRecord) error { a.firstAt = r.At; return errStop })
	if err != nil && !errors.Is(err, errStop) {
		return nil, fmt.Errorf("reading the audit trail: %w", err)
	}
	// The history windows and the period, not the whole trail: a trail of years reads as fast as a week.
	from, err := b.Trail.AuditAfter(ctx, historyFrom)
	if err != nil {
		return nil, fmt.Errorf("reading the audit trail: %w", err)
	}
	err = b.Trail.AuditSince(ctx, from, func(r bot.AuditRecord) error {
		if r.At.After(stopAfter) {
			return errStop
		}
		if r.At.Before(historyFrom) {
			return nil
		}
		if err := m.trail(r); err != nil {
			return err
		}
		if !r.At.Before(since) && r.At.Before(until) {
			return w.bot(r)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, fmt.Errorf("reading the audit trail: %w", err)
	}
	if err := m.finish(); err != nil {
		return nil, err
	}
	if err := w.flush(); err != nil {
		return nil, fmt.Errorf("writing the detail CSV: %w", err)
	}
	d.CSVRows = w.rows
	if d.Head, err = bot.TrailHead(ctx, b.Trail); err != nil {
		return nil, fmt.Errorf("reading the audit trail's head: %w", err)
	}
	a.privileged(ctx, b.Requests)
	a.finish()
	return d, nil
}

// aggregate is the running state of one digest.
type aggregate struct {
	cfg     Config
	d       *Digest
	firstAt time.Time

	agents   map[string]*agentStat
	reasons  map[string]int
	refused  map[string]int // cause in words → count; few causes
	targets  map[string]*targetStat
	overflow bool // some counter hit its limit

	selfService   []OutsideReset // the first self-service resets, listed after the others
	offHours      []offHoursLine
	offHoursCount int
	privIDs       []privCandidate
}

type agentStat struct {
	done, failed int
	history      []int // resets in each earlier window, [0] the one just before
}

type targetStat struct {
	upn          string
	bot, outside int
	how          map[string]int // outside: kind → count (few kinds)
}

type privCandidate struct {
	id, agent, target string
	at                time.Time
	assurance         bot.Assurance
}

func newAggregate(cfg Config, d *Digest) *aggregate {
	return &aggregate{cfg: cfg, d: d, agents: map[string]*agentStat{}, reasons: map[string]int{}, refused: map[string]int{},
		targets: map[string]*targetStat{}}
}

func agentName(r bot.AuditRecord) string {
	if r.ActorUPN != "" {
		return strings.ToLower(r.ActorUPN)
	}
	return r.ActorKey
}

func (a *aggregate) agent(name string) *agentStat {
	s := a.agents[name]
	if s == nil {
		if len(a.agents) >= maxAgents {
			a.overflow = true
			return nil
		}
		s = &agentStat{history: make([]int, a.cfg.HistoryWindows)}
		a.agents[name] = s
	}
	return s
}

// record takes one record of the trail from the history windows or the period.
func (a *aggregate) record(r bot.AuditRecord) {
	d := a.d
	if r.At.Before(d.Since) {
		if r.Event == bot.EventReset {
			length := d.Until.Sub(d.Since)
			k := int(d.Since.Sub(r.At) / length) // 0 = the window just before
			if s := a.agent(agentName(r)); s != nil && k < len(s.history) {
				s.history[k]++
			}
		}
		return
	}
	if !r.At.Before(d.Until) {
		return
	}
	switch r.Event {
	case bot.EventRequested:
		if r.TargetUPN != "" {
			d.Requests++
		}
	case bot.EventDecision:
		if r.Outcome == bot.Deny.String() {
			d.Denied++
		}
	case bot.EventRefused:
		d.Refused++
		a.refused[refusalWords(r.Outcome)]++
	case bot.EventApproval:
		switch r.Outcome {
		case "asked":
			d.Approvals.Asked++
		case "approved":
			d.Approvals.Approved++
		case "denied":
			d.Approvals.Denied++
		case "refused":
			d.Approvals.Refused++
		}
	case bot.EventExpired:
		d.Approvals.Expired++
	case bot.EventAlert:
		if r.Outcome != "wasnt_me" {
			return // the brake and forged rows were posted to the channel as they happened
		}
		text := short(r.TargetUPN) + " said the reset was not theirs"
		d.AlertCount++
		if len(d.Alerts) < a.cfg.TopN {
			d.Alerts = append(d.Alerts, AlertLine{At: r.At, Text: text, RequestID: r.RequestID})
		}
	case bot.EventReset:
		s := a.agent(agentName(r))
		d.Resets++
		if r.Outcome == "done" {
			d.Done++
			assurance := r.Assurance
			if assurance == "" {
				assurance = bot.AssuranceNone
			}
			if d.Assurance == nil {
				d.Assurance = map[bot.Assurance]int{}
			}
			d.Assurance[assurance]++
			if s != nil {
				s.done++
			}
			a.target(r.TargetID, r.TargetUPN, "")
			a.checkHours(r.At, fmt.Sprintf("%s → %s", short(agentName(r)), short(r.TargetUPN)))
			if r.RequestID != "" {
				if len(a.privIDs) < maxPrivLookup {
					a.privIDs = append(a.privIDs, privCandidate{id: r.RequestID, agent: agentName(r), target: r.TargetUPN, at: r.At, assurance: r.Assurance})
				} else {
					d.PrivilegedUnknown++
				}
			}
		} else {
			d.Failed++
			if s != nil {
				s.failed++
			}
			a.reason(r.Detail)
		}
	}
}

func (a *aggregate) reason(why string) {
	if why == "" {
		why = "no reason recorded"
	}
	if _, ok := a.reasons[why]; !ok && len(a.reasons) >= maxReasons {
		why = "other reasons"
	}
	a.reasons[why]++
}

// target counts a reset of an account; how is "" for resetbot, else the outside kind.
func (a *aggregate) target(id, upn, how string) {
	key := strings.ToLower(id)
	if key == "" {
		key = strings.ToLower(upn)
	}
	if key == "" {
		return
	}
	t := a.targets[key]
	if t == nil {
		if len(a.targets) >= maxTargets {
			a.overflow = true
			return
		}
		t = &targetStat{upn: strings.ToLower(upn)}
		a.targets[key] = t
	}
	if t.upn == "" {
		t.upn = strings.ToLower(upn)
	}
	if how == "" {
		t.bot++
		return
	}
	t.outside++
	if t.how == nil {
		t.how = map[string]int{}
	}
	t.how[how]++
}

// offHoursLine is who reset whom outside business hours, how often and when: eight resets of one
// account by one agent are one line, counted, not eight.
type offHoursLine struct {
	what          string
	n             int
	first, latest time.Time
}

func (l offHoursLine) String() string {
	if l.n == 1 {
		return l.what + " at " + l.first.Format("Mon 15:04")
	}
	to := l.latest.Format("15:04")
	if l.latest.YearDay() != l.first.YearDay() || l.latest.Year() != l.first.Year() {
		to = l.latest.Format("Mon 15:04")
	}
	return fmt.Sprintf("%s ×%d, %s to %s", l.what, l.n, l.first.Format("Mon 15:04"), to)
}

// checkHours notes a reset outside business hours.
func (a *aggregate) checkHours(at time.Time, what string) bool {
	local := at.In(a.cfg.Location)
	if a.cfg.Hours.Within(local) {
		return false
	}
	a.offHoursCount++
	for i := range a.offHours {
		if l := &a.offHours[i]; l.what == what {
			l.n++
			if local.Before(l.first) {
				l.first = local
			}
			if local.After(l.latest) {
				l.latest = local
			}
			return true
		}
	}
	if len(a.offHours) < a.cfg.TopN {
		a.offHours = append(a.offHours, offHoursLine{what: what, n: 1, first: local, latest: local})
	}
	return true
}

// entra takes one Entra reset entry of the period, once it is known whether it came through the
// bot.
func (a *aggregate) entra(e EntraReset, throughBot bool) {
	x := &a.d.Entra
	x.Entries++
	if throughBot {
		x.ThroughBot++
		return
	}
	x.Outside++
	o := OutsideReset{At: e.At, Target: e.TargetUPN, IP: e.ByIP, Result: e.Result, Reason: e.ResultReason}
	if o.Target == "" {
		o.Target = e.TargetID
	}
	switch {
	case isSelfService(e):
		o.Kind, o.Initiator = kindSelfService, o.Target
		x.SelfService++
	case e.ByAppID != "" || (e.ByApp != "" && e.ByUPN == ""):
		o.Kind, o.Initiator = kindApp, "app "+firstNonEmpty(e.ByApp, e.ByAppID)
		x.ByOtherApp++
	default:
		o.Kind, o.Initiator = kindAdmin, firstNonEmpty(e.ByUPN, e.ByUserID, "an unknown user")
		x.ByAdmin++
	}
	if e.Result == "" || e.Result == "success" {
		a.target(e.TargetID, e.TargetUPN, o.Kind)
	}
	// A user resetting their own password at night is what self-service is for: it is listed, but
	// is not a reset outside business hours that needs a look.
	if o.Kind != kindSelfService {
		o.OffHours = a.checkHours(e.At, fmt.Sprintf("%s → %s (%s)", short(o.Initiator), short(o.Target), o.Kind))
	}
	// Resets by people and other apps are what security looks for; self-service fills what room
	// is left, so a busy SSPR day does not hide one admin-center reset.
	if o.Kind == kindSelfService {
		if len(a.selfService) < a.cfg.TopN {
			a.selfService = append(a.selfService, o)
		}
	} else if len(x.OutsideList) < a.cfg.TopN {
		x.OutsideList = append(x.OutsideList, o)
	}
}

func isSelfService(e EntraReset) bool {
	return strings.Contains(strings.ToLower(e.Activity), "self-service")
}

// privileged looks up the roles each reset's target held when it was asked for (the request keeps
// them), and lists those with an admin role.
func (a *aggregate) privileged(ctx context.Context, reqs Requests) {
	d := a.d
	if reqs == nil {
		d.PrivilegedUnknown += len(a.privIDs)
		return
	}
	read := map[string]*bot.Request{} // a list's targets share one request
	for _, c := range a.privIDs {
		r, ok := read[c.id]
		if !ok {
			var err error
			if r, err = reqs.GetRequest(ctx, c.id); err != nil {
				r = nil
			}
			read[c.id] = r
		}
		if r == nil {
			d.PrivilegedUnknown++
			continue
		}
		var targetRoles []string
		for _, t := range r.Targets {
			if len(r.Targets) == 1 || strings.EqualFold(t.UPN, c.target) {
				targetRoles = t.Roles
				break
			}
		}
		var roles []string
		for _, id := range targetRoles {
			if bot.IsPrivileged(id) {
				if n := bot.RoleName(id); !slices.Contains(roles, n) {
					roles = append(roles, n)
				}
			}
		}
		if len(roles) == 0 {
			continue
		}
		d.PrivilegedCount++
		if len(d.Privileged) < a.cfg.TopN {
			d.Privileged = append(d.Privileged, PrivilegedReset{At: c.at, Target: c.target, Roles: roles, Agent: c.agent,
				Approver: r.ApproverUPN, RequestID: c.id, Assurance: c.assurance})
		}
	}
}

// finish turns the counters into the digest's lists and anomalies.
func (a *aggregate) finish() {
	d, cfg := a.d, a.cfg
	length := d.Until.Sub(d.Since)
	for _, o := range a.selfService {
		if len(d.Entra.OutsideList) < cfg.TopN {
			d.Entra.OutsideList = append(d.Entra.OutsideList, o)
		}
	}
	// Earlier windows count towards "usual" only once the trail existed: a new install has no
	// history, and its empty past must not make every agent look busy.
	known := 0
	if !a.firstAt.IsZero() {
		for k := range cfg.HistoryWindows {
			windowEnd := d.Since.Add(-time.Duration(k) * length)
			if windowEnd.After(a.firstAt) {
				known++
			}
		}
	}
	d.Usual = UsualBasis{Windows: known, Length: length}

	for name, s := range a.agents {
		if s.done+s.failed == 0 {
			continue
		}
		line := AgentLine{Agent: name, Done: s.done, Failed: s.failed, Usual: -1}
		if known > 0 {
			line.Usual = median(s.history[:known])
		}
		d.Agents = append(d.Agents, line)
	}
	sort.Slice(d.Agents, func(i, j int) bool {
		if d.Agents[i].Resets() != d.Agents[j].Resets() {
			return d.Agents[i].Resets() > d.Agents[j].Resets()
		}
		return d.Agents[i].Agent < d.Agents[j].Agent
	})
	for _, l := range d.Agents {
		if l.Usual < 0 || l.Resets() < cfg.AgentMinimum || float64(l.Resets()) < cfg.AgentFactor*l.Usual {
			continue
		}
		var how string
		if l.Usual == 0 {
			how = fmt.Sprintf("usually none (median of the previous %d %s)", known, periodWord(length, known))
		} else {
			how = fmt.Sprintf("%s their usual (median %s over the previous %d %s)", times(float64(l.Resets())/l.Usual),
				trimFloat(l.Usual), known, periodWord(length, known))
		}
		d.Anomalies = append(d.Anomalies, Anomaly{Kind: AnomalyAgentVolume,
			Text: fmt.Sprintf("%s made %d %s, %s", l.Agent, l.Resets(), plural(l.Resets(), "reset", "resets"), how)})
	}
	if len(d.Agents) > cfg.TopN {
		d.MoreAgents = len(d.Agents) - cfg.TopN
		d.Agents = d.Agents[:cfg.TopN]
	}

	if a.offHoursCount > 0 {
		lines := make([]string, len(a.offHours))
		shown := 0
		for i, l := range a.offHours {
			lines[i] = l.String()
			shown += l.n
		}
		text := fmt.Sprintf("%d %s outside business hours (%s %s): %s", a.offHoursCount, plural(a.offHoursCount, "reset", "resets"),
			d.Hours.String(), d.Location.String(), strings.Join(lines, "; "))
		if more := a.offHoursCount - shown; more > 0 {
			text += fmt.Sprintf("; and %d more", more)
		}
		d.Anomalies = append(d.Anomalies, Anomaly{Kind: AnomalyOffHours, Text: text})
	}

	type rep struct {
		t   *targetStat
		sum int
	}
	var reps []rep
	for _, t := range a.targets {
		// Only resets by someone else count: a user's own self-service resets are theirs to make.
		if n := t.bot + t.outside - t.how[kindSelfService]; n >= cfg.AccountRepeats {
			reps = append(reps, rep{t, t.bot + t.outside})
		}
	}
	sort.Slice(reps, func(i, j int) bool {
		if reps[i].sum != reps[j].sum {
			return reps[i].sum > reps[j].sum
		}
		return reps[i].t.upn < reps[j].t.upn
	})
	for i, r := range reps {
		if i == cfg.TopN {
			d.Anomalies = append(d.Anomalies, Anomaly{Kind: AnomalyAccountReset,
				Text: fmt.Sprintf("and %d more %s reset %d times or more", len(reps)-i, plural(len(reps)-i, "account", "accounts"), cfg.AccountRepeats)})
			break
		}
		var parts []string
		if r.t.bot > 0 {
			parts = append(parts, fmt.Sprintf("%d through resetbot", r.t.bot))
		}
		kinds := make([]string, 0, len(r.t.how))
		for k := range r.t.how {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			parts = append(parts, fmt.Sprintf("%d %s", r.t.how[k], map[string]string{kindSelfService: "self-service",
				kindAdmin: "by an admin outside resetbot", kindApp: "by another app"}[k]))
		}
		d.Anomalies = append(d.Anomalies, Anomaly{Kind: AnomalyAccountReset,
			Text: fmt.Sprintf("%s was reset %d times (%s)", r.t.upn, r.sum, strings.Join(parts, ", "))})
	}

	for why, n := range a.refused {
		d.RefusedWhy = append(d.RefusedWhy, ReasonCount{why, n})
	}
	sort.Slice(d.RefusedWhy, func(i, j int) bool {
		if d.RefusedWhy[i].Count != d.RefusedWhy[j].Count {
			return d.RefusedWhy[i].Count > d.RefusedWhy[j].Count
		}
		return d.RefusedWhy[i].Reason < d.RefusedWhy[j].Reason
	})

	for why, n := range a.reasons {
		d.Failures = append(d.Failures, ReasonCount{why, n})
		d.FailureCount += n
	}
	sort.Slice(d.Failures, func(i, j int) bool {
		if d.Failures[i].Count != d.Failures[j].Count {
			return d.Failures[i].Count > d.Failures[j].Count
		}
		return d.Failures[i].Reason < d.Failures[j].Reason
	})
	if len(d.Failures) > cfg.TopN {
		d.Failures = d.Failures[:cfg.TopN]
	}
}

func median(xs []int) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return float64(s[n/2])
	}
	return float64(s[n/2-1]+s[n/2]) / 2
}

func times(x float64) string {
	if x >= 10 {
		return fmt.Sprintf("%.0f×", math.Floor(x))
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", x), ".0") + "×"
}

func trimFloat(x float64) string { return strings.TrimSuffix(fmt.Sprintf("%.1f", x), ".0") }

// periodWord names earlier windows: "days" for a daily digest, "periods of 72h" otherwise.
func periodWord(length time.Duration, n int) string {
	switch length {
	case 24 * time.Hour:
		return plural(n, "day", "days")
	case 7 * 24 * time.Hour:
		return plural(n, "week", "weeks")
	}
	return plural(n, "period", "periods") + " of " + bot.Rounded(length)
}

// refusalWords says why a request was not started, for the headline.
func refusalWords(outcome string) string {
	switch outcome {
	case "not_found":
		return "unknown user"
	case "bad_input":
		return "bad input"
	case "not_signed_in", "not_linked":
		return "not signed in"
	case "not_permitted":
		return "not permitted"
	case "lookup_failed":
		return "directory lookup failed"
	case "unknown_actor":
		return "requester not in Entra"
	case "actor_disabled":
		return "requester's account disabled"
	case "no_such_request":
		return "unknown request"
	case "bulk_cancelled":
		return "list cancelled"
	case "":
		return "no reason recorded"
	}
	return strings.ReplaceAll(outcome, "_", " ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// short clips an account name for a one-line list.
func short(s string) string {
	r := []rune(s)
	if len(r) > 48 {
		return string(r[:47]) + "…"
	}
	return s
}
