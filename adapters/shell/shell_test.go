package shell

import (
	"bufio"
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

// A line far longer than any command (a pasted file) is refused with a word, and the terminal goes
// on to the next line instead of ending.
func TestLongLineRefusedAndTheDemoGoesOn(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	out := &bytes.Buffer{}
	term := New(out, "helpdesk@contoso.com")
	env.Service.Attach(chat.PlatformShell, term)
	in := strings.Repeat("adele@contoso.com ", 100*1024/18) + "\r\n" + "/whoami\n" + "help\n"
	if err := term.Run(context.Background(), env.Service, strings.NewReader(in), false); err != nil {
		t.Fatalf("the terminal stopped: %v", err)
	}
	said := out.String()
	for _, want := range []string{
		"(a line of 100 KB was not sent: a command is at most 8000 characters. To reset many people, put them in a CSV file and send it with /bulk FILE.)",
		"helpdesk@contoso.com: /whoami\n(you are helpdesk@contoso.com)",
		"helpdesk@contoso.com: help\n",
	} {
		if !strings.Contains(said, want) {
			t.Errorf("the terminal lacks %q:\n%s", want, clipForLog(said))
		}
	}
	if strings.Contains(said, "token too long") || strings.Contains(said, "adele@contoso.com adele@contoso.com") {
		t.Errorf("the long line reached the screen or an error did:\n%s", clipForLog(said))
	}
}

// A line just under the limit is still a command (the bot decides whether it is too long).
func TestReadLineKeepsLinesAndEndings(t *testing.T) {
	r := bufio.NewReaderSize(strings.NewReader("one\r\ntwo\n"+strings.Repeat("x", 40)+"\nlast"), 16)
	for _, want := range []struct {
		line string
		size int
	}{{"one", 3}, {"two", 3}, {strings.Repeat("x", 21), 40}, {"last", 4}} {
		raw, size, more, err := readLine(r, 20)
		if err != nil || !more || size != want.size || (want.size <= 20 && string(raw) != want.line) {
			t.Errorf("readLine = %q, %d, %v, %v; want %q, %d", raw, size, more, err, want.line, want.size)
		}
	}
	if _, _, more, err := readLine(r, 20); more || err != nil {
		t.Errorf("after the last line: more %v, err %v", more, err)
	}
}

func clipForLog(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

// "/bulk" alone sends the sample list the demo gives the terminal; a file that is not there says
// so, and where the sample is.
func TestBulkSampleList(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	out := &bytes.Buffer{}
	term := New(out, "helpdesk@contoso.com")
	env.Service.Attach(chat.PlatformShell, term)
	term.Run(context.Background(), env.Service, strings.NewReader("/bulk\n"), false)
	if !strings.Contains(out.String(), "usage: /bulk users.csv") {
		t.Errorf("without a sample list:\n%s", out.String())
	}
	out.Reset()
	term.SampleList = &chat.File{Name: "users.csv", Data: []byte("UserPrincipalName\nadele@contoso.com\nlynne@contoso.com\n")}
	term.Run(context.Background(), env.Service, strings.NewReader("/bulk\n/bulk no-such.csv\n"), false)
	for _, want := range []string{"(sending the demo's sample list, users.csv; /bulk FILE sends your own)", "📋 users.csv: 2 rows → 2 can be reset",
		"⚠️ there is no file no-such.csv here", "Nothing was sent. /bulk alone sends the demo's sample list."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("lacks %q:\n%s", want, out.String())
		}
	}
}
