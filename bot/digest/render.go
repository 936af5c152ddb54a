package digest

import (
	"fmt"
	"strings"
	"time"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/chat"
)

const barWidth = 16

// Message lays a digest out in the neutral message model, readable at a glance: the headline
// counts, a short table of agents with bars, then what needs a look (anomalies, resets outside
// resetbot, privileged targets, failures), each list capped with "and N more". csvName names the
// detail file, "" when there is none.
func (d *Digest) Message(csvName string) chat.Message {
	loc := d.Location
	if loc == nil {
		loc = time.UTC
	}
	m := chat.Message{Title: fmt.Sprintf("📊 Password resets, %s → %s", stamp(d.Since, loc), stamp(d.Until, loc))}
	var p []string

	through := fmt.Sprintf("*Through resetbot* %d (%d done, %d failed)", d.Resets, d.Done, d.Failed)
	if d.Denied > 0 {
		through += fmt.Sprintf(" · refused by policy %d", d.Denied)
	}
	if d.Refused > 0 {
		through += fmt.Sprintf(" · %d not started (%s)", d.Refused, d.refusedWords())
	}
	a := d.Approvals
	if a.Asked+a.Approved+a.Denied+a.Expired > 0 {
		through += fmt.Sprintf(" · approvals %d asked: %d approved, %d denied, %d expired", a.Asked, a.Approved, a.Denied, a.Expired)
	} else {
		through += " · no approvals"
	}
	p = append(p, through)
	if line := d.assuranceLine(); line != "" {
		p = append(p, line)
	}
	if d.AlertCount > 0 {
		lines := []string{fmt.Sprintf("🚨 *Alerts* %d", d.AlertCount)}
		for _, x := range d.Alerts {
			lines = append(lines, fmt.Sprintf("• %s %s · %s", x.At.In(loc).Format("Mon 15:04"), x.Text, x.RequestID))
		}
		lines = appendMore(lines, d.AlertCount-len(d.Alerts))
		p = append(p, strings.Join(lines, "\n"))
	}
	outside := []string{d.outsideHeadline()}
	for _, o := range d.Entra.OutsideList {
		l := fmt.Sprintf("• %s %s, %s", o.At.In(loc).Format("Mon 15:04"), short(o.Target), o.How())
		if o.IP != "" {
			l += " from " + o.IP
		}
		if o.Result != "" && o.Result != "success" {
			l += " — " + o.Result
			if o.Reason != "" {
				l += ": " + clip(o.Reason, 120)
			}
		}
		if o.OffHours {
			l += " ⚠️ outside hours"
		}
		outside = append(outside, l)
	}
	outside = appendMore(outside, d.Entra.Outside-len(d.Entra.OutsideList))
	p = append(p, strings.Join(outside, "\n"))

	if len(d.Anomalies) > 0 {
		lines := []string{"*Needs a look*"}
		for _, x := range d.Anomalies {
			lines = append(lines, "⚠️ "+x.Text)
		}
		p = append(p, strings.Join(lines, "\n"))
	}
	if d.PrivilegedCount > 0 || d.PrivilegedUnknown > 0 {
		lines := []string{fmt.Sprintf("*Privileged targets* %d", d.PrivilegedCount)}
		for _, r := range d.Privileged {
			l := fmt.Sprintf("• %s (%s) by %s", short(r.Target), clip(strings.Join(r.Roles, ", "), 120), short(r.Agent))
			if r.Approver != "" {
				l += ", approved by " + short(r.Approver)
			}
			if !r.Assurance.ByTheBot() {
				l += " · ⚠️ caller not verified by the bot"
			}
			lines = append(lines, l+" · "+r.RequestID)
		}
		lines = appendMore(lines, d.PrivilegedCount-len(d.Privileged))
		if d.PrivilegedUnknown > 0 {
			lines = append(lines, fmt.Sprintf("(roles unknown for %d more %s)", d.PrivilegedUnknown, plural(d.PrivilegedUnknown, "reset", "resets")))
		}
		p = append(p, strings.Join(lines, "\n"))
	}
	if d.FailureCount > 0 {
		lines := []string{fmt.Sprintf("*Failures* %d", d.FailureCount)}
		shown := 0
		for _, f := range d.Failures {
			lines = append(lines, fmt.Sprintf("• %d× %s", f.Count, clip(f.Reason, 160)))
			shown += f.Count
		}
		if more := d.FailureCount - shown; more > 0 {
			lines = append(lines, fmt.Sprintf("… and %d more for other reasons", more))
		}
		p = append(p, strings.Join(lines, "\n"))
	}
	m.Text = strings.Join(p, "\n\n")
	m.Table = d.agentTable()

	var foot []string
	if csvName != "" {
		foot = append(foot, fmt.Sprintf("Detail: %s (%d %s, one per event, resetbot and Entra)", csvName, d.CSVRows, plural(d.CSVRows, "row", "rows")))
	}
	if d.Usual.Windows > 0 {
		foot = append(foot, fmt.Sprintf("usual = median of the previous %d %s", d.Usual.Windows, periodWord(d.Usual.Length, d.Usual.Windows)))
	} else {
		foot = append(foot, "no earlier periods yet to compare agents with")
	}
	foot = append(foot, "times in "+loc.String())
	if d.Head.Seq > 0 {
		foot = append(foot, "trail head "+d.Head.String()+" (keep it: resetbot audit verify --anchor "+d.Head.String()+")")
	}
	m.Footer = strings.Join(foot, " · ")
	return m
}

// assuranceLine counts the resets by how their caller was verified; "" when nothing was reset.
func (d *Digest) assuranceLine() string {
	if d.Done == 0 {
		return ""
	}
	var parts []string
	for _, k := range []struct {
		a    bot.Assurance
		word string
	}{
		{bot.AssuranceChat, "numbers in the user's chat"},
		{bot.AssuranceManager, "by the manager"},
		{bot.AssuranceAgent, "stated by the agent"},
		{bot.AssuranceSkipped, "skipped"},
		{bot.AssuranceNone, "none (lists, or verification off)"},
	} {
		if n := d.Assurance[k.a]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k.word, n))
		}
	}
	return "*Caller checks* " + strings.Join(parts, " · ")
}

// refusedWords says why requests were not started, from the causes recorded: "2 unknown user,
// 1 not signed in"; just the cause when there is one.
func (d *Digest) refusedWords() string {
	if len(d.RefusedWhy) == 0 {
		return "nothing done"
	}
	if len(d.RefusedWhy) == 1 {
		return d.RefusedWhy[0].Reason
	}
	parts := make([]string, len(d.RefusedWhy))
	for i, r := range d.RefusedWhy {
		parts[i] = fmt.Sprintf("%d %s", r.Count, r.Reason)
	}
	return strings.Join(parts, ", ")
}

func (d *Digest) outsideHeadline() string {
	x := d.Entra
	switch {
	case !x.Configured:
		return "*Outside resetbot* not checked: Entra's audit log is not configured"
	case x.Err != "":
		return "⚠️ *Outside resetbot* unknown: Entra's audit log could not be read — " + clip(x.Err, 300)
	case x.Outside == 0:
		return fmt.Sprintf("*Outside resetbot* none (Entra logged %d %s, all through resetbot)", x.Entries, plural(x.Entries, "reset", "resets"))
	}
	var kinds []string
	if x.SelfService > 0 {
		kinds = append(kinds, fmt.Sprintf("%d self-service", x.SelfService))
	}
	if x.ByAdmin > 0 {
		kinds = append(kinds, fmt.Sprintf("%d by admins (admin center or PowerShell)", x.ByAdmin))
	}
	if x.ByOtherApp > 0 {
		kinds = append(kinds, fmt.Sprintf("%d by other apps", x.ByOtherApp))
	}
	return fmt.Sprintf("*Outside resetbot* %d — %s", x.Outside, strings.Join(kinds, ", "))
}

// agentTable is the short table: one line per agent, a bar of their resets, and their usual count.
func (d *Digest) agentTable() *chat.Table {
	if len(d.Agents) == 0 && d.Entra.Outside == 0 {
		return nil
	}
	t := &chat.Table{Header: []string{"Agent", "Resets", "Failed", "Usual", ""}, Right: []int{1, 2, 3}}
	most := 0
	for _, a := range d.Agents {
		most = max(most, a.Resets())
	}
	most = max(most, d.Entra.Outside)
	for _, a := range d.Agents {
		usual := "–"
		if a.Usual >= 0 {
			usual = trimFloat(a.Usual)
		}
		t.Rows = append(t.Rows, []string{clip(a.Agent, 32), itoa(a.Resets()), itoa(a.Failed), usual, bar(a.Resets(), most)})
	}
	if d.MoreAgents > 0 {
		t.Rows = append(t.Rows, []string{fmt.Sprintf("and %d more", d.MoreAgents), "", "", "", ""})
	}
	if d.Entra.Outside > 0 {
		t.Rows = append(t.Rows, []string{"(outside resetbot)", itoa(d.Entra.Outside), "", "", bar(d.Entra.Outside, most)})
	}
	return t
}

// bar is n out of most as block characters, eighths included, at least a sliver for n > 0.
func bar(n, most int) string {
	if n <= 0 || most <= 0 {
		return ""
	}
	eighths := max(n*barWidth*8/most, 1)
	s := strings.Repeat("█", eighths/8)
	if r := eighths % 8; r > 0 {
		s += string([]rune("▏▎▍▌▋▊▉")[r-1])
	}
	return s
}

func appendMore(lines []string, more int) []string {
	if more > 0 {
		lines = append(lines, fmt.Sprintf("… and %d more (see the CSV)", more))
	}
	return lines
}

func stamp(t time.Time, loc *time.Location) string { return t.In(loc).Format("Mon 2 Jan 15:04") }

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
