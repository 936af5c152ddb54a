// Package shell is the terminal chat: the default way to try resetbot and the adapter the scenario
// tests drive. The person at the keyboard acts as a persona (a UPN in the directory) and sees what
// every party would see, each line labelled with where it would appear.
//
// Of resetbot's packages it imports chat and bot (for the service's limits); it must not import
// graphsvc, a store or another adapter.
package shell

import (
	"fmt"
	"strings"

	"github.com/resetbot/resetbot/chat"
)

// Render lays a view of a message out as plain text under a label such as "(only you)" or "#approvals".
// Buttons become the command that does the same thing, since a terminal has nothing to click.
func Render(label string, m chat.View) string {
	var b strings.Builder
	pad := strings.Repeat(" ", len([]rune(label))+2)
	first := true
	line := func(s string) {
		if first {
			fmt.Fprintf(&b, "%s  %s\n", label, s)
			first = false
			return
		}
		fmt.Fprintf(&b, "%s%s\n", pad, s)
	}
	if m.Title != "" {
		line(m.Title)
	}
	for _, para := range strings.Split(strings.TrimSpace(m.Text), "\n") {
		if para != "" {
			line(para)
		}
	}
	for _, l := range m.Table.Lines() {
		line("  " + l)
	}
	width := 0
	for _, f := range m.Fields {
		width = max(width, len([]rune(f.Label)))
	}
	for _, f := range m.Fields {
		line(fmt.Sprintf("%-*s  %s", width, f.Label, f.Value))
	}
	if secret := m.SecretText(); secret != "" {
		// Every line of it under the label: a list's results are many lines of CSV, and a line
		// that starts at the margin would read as a message of its own.
		for _, l := range strings.Split(strings.TrimRight(secret, "\r\n"), "\n") {
			line("    " + strings.TrimRight(l, "\r"))
		}
	}
	if len(m.Buttons) > 0 {
		var labels, cmds []string
		for _, btn := range m.Buttons {
			if btn.URL != "" {
				line("[" + btn.Label + "] " + btn.URL) // a link: open it
				continue
			}
			labels = append(labels, "["+btn.Label+"]")
			cmd := string(btn.Action) + " " + btn.RequestID
			if btn.Input != nil && btn.Input.Option != "" {
				cmd += " [" + btn.Input.Option + " …]"
			}
			cmds = append(cmds, cmd)
		}
		if len(labels) > 0 {
			line(strings.Join(labels, "  ") + "   (type: " + strings.Join(cmds, " | ") + ")")
		}
	}
	if m.Footer != "" {
		line(m.Footer)
	}
	if first {
		line("")
	}
	return b.String()
}
