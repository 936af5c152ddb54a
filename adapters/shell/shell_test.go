package shell

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/internal/scenariotest"
)

// driver runs the scenario suite through the terminal: it types lines and reads back the labelled
// output a person at the terminal would see.
type driver struct {
	env  *scenariotest.Env
	out  *bytes.Buffer
	term *Adapter
}

func newDriver(t *testing.T, env *scenariotest.Env) scenariotest.Driver {
	out := &bytes.Buffer{}
	term := New(out, "helpdesk@contoso.com")
	env.Service.Attach(chat.PlatformShell, term)
	return &driver{env: env, out: out, term: term}
}

func (d *driver) Say(t *testing.T, as, text string) []scenariotest.Seen {
	d.actAs(as)
	d.term.Say(context.Background(), d.env.Service, text)
	return parse(d.out.String())
}

// actAs puts the persona at the keyboard, with the screen cleared.
func (d *driver) actAs(upn string) {
	d.out.Reset()
	d.term.mu.Lock()
	d.term.persona = upn
	d.term.mu.Unlock()
}

// SendFile writes the file where the person at the terminal keeps it and sends it with /bulk, the
// terminal's way to attach a list; the text sent with it is always "resetpw bulk".
func (d *driver) SendFile(t *testing.T, as, name string, data []byte, _ string) []scenariotest.Seen {
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	d.actAs(as)
	d.term.SendList(context.Background(), d.env.Service, path)
	return parse(d.out.String())
}

func (d *driver) Click(t *testing.T, as string, action chat.Action, requestID string) []scenariotest.Seen {
	// A terminal has no buttons: the card tells the person to type the action, which is what a
	// button press turns into on every platform.
	return d.Say(t, as, string(action)+" "+requestID)
}

// Deny types the deny with its reason, as the card tells the person at the terminal to; a line
// typed at a terminal holds no line breaks.
func (d *driver) Deny(t *testing.T, as, requestID, reason string) []scenariotest.Seen {
	return d.Say(t, as, "deny "+requestID+" --reason "+strings.ReplaceAll(reason, "\n", " "))
}

func (d *driver) Tick(t *testing.T) []scenariotest.Seen {
	d.out.Reset()
	d.env.Service.Tick(context.Background())
	return parse(d.out.String())
}

// parse splits the terminal output into messages by their labels.
func parse(out string) []scenariotest.Seen {
	var seen []scenariotest.Seen
	for _, line := range strings.Split(out, "\n") {
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, " ") && len(seen) > 0 {
			seen[len(seen)-1].Text += "\n" + strings.TrimSpace(line)
			continue
		}
		label, text, _ := strings.Cut(line, "  ")
		where := label
		switch {
		case label == "(only you)":
			where = "reply"
		case strings.HasPrefix(label, "DM to ") && strings.Contains(text, "(the temporary password message was deleted)"):
			where = "withdrawn:" + strings.TrimPrefix(label, "DM to ")
		case strings.HasPrefix(label, "DM to "):
			where = "dm:" + strings.TrimPrefix(label, "DM to ")
		case label == "#approvals":
			where = "approvals"
		case strings.HasSuffix(label, "(card updated)"):
			where = "card"
		}
		seen = append(seen, scenariotest.Seen{Where: where, Text: strings.TrimSpace(text)})
	}
	return seen
}

func TestScenarios(t *testing.T) {
	scenariotest.Run(t, newDriver)
}

func TestRenderCard(t *testing.T) {
	m := chat.Message{
		Title:   "🔐 Password reset needs approval — R-Q2M8AB",
		Fields:  []chat.Field{{Label: "Requested by", Value: "Pat Admin"}, {Label: "Target", Value: "Ceo Person"}},
		Buttons: []chat.Button{{Label: "Approve", Action: chat.ActionApprove, RequestID: "R-Q2M8AB"}, {Label: "Deny", Action: chat.ActionDeny, RequestID: "R-Q2M8AB"}},
		Footer:  "Expires 11:02",
	}
	want := "#approvals  🔐 Password reset needs approval — R-Q2M8AB\n" +
		"            Requested by  Pat Admin\n" +
		"            Target        Ceo Person\n" +
		"            [Approve]  [Deny]   (type: approve R-Q2M8AB | deny R-Q2M8AB)\n" +
		"            Expires 11:02\n"
	if got := Render("#approvals", chat.ViewOn(m, chat.SurfaceChannel)); got != want {
		t.Errorf("Render =\n%s\nwant\n%s", got, want)
	}
}

// A secret of several lines (a list's results, as CSV) stays under its label line by line, so no
// line of it reads as a message of its own.
func TestRenderSecretOfManyLines(t *testing.T) {
	m := chat.Message{Title: "🔑 Results", Secret: chat.NewSecret("UserPrincipalName,TemporaryPassword\r\nadele@contoso.com,pw-1\r\n")}
	want := "DM to x  🔑 Results\n" +
		"             UserPrincipalName,TemporaryPassword\n" +
		"             adele@contoso.com,pw-1\n"
	if got := Render("DM to x", chat.ViewOn(m, chat.SurfaceDM)); got != want {
		t.Errorf("Render =\n%s\nwant\n%s", got, want)
	}
}
