package main

import (
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/internal/syncbuf"
)

// tryItCommands reads the commands of the README's "Try it" list: the second fenced block of the
// section, each line's command being what comes before its comment (two spaces or more).
func tryItCommands(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Try it")
	if !ok {
		t.Fatal(`the README has no "## Try it" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	blocks := strings.Split(section, "```")
	if len(blocks) < 4 {
		t.Fatal("the Try it section has no list of things to try")
	}
	var cmds []string
	for _, line := range strings.Split(blocks[3], "\n") {
		if cmd, _, _ := strings.Cut(strings.TrimSpace(line), "  "); cmd != "" {
			cmds = append(cmds, cmd)
		}
	}
	return cmds
}

var (
	typedHint  = regexp.MustCompile(`\(type: ([^)]*)\)`)
	readNumber = regexp.MustCompile(`Read [^\n]* this number: (\d+)`)
)

// filledIn is a README command with its placeholders filled in as a person would: R-… and B-… from
// the last card that offered that action, 42 from the number the bot gave to read out.
func filledIn(cmd, screen string) string {
	verb, arg, _ := strings.Cut(cmd, " ")
	if arg == "R-…" || arg == "B-…" {
		for _, m := range typedHint.FindAllStringSubmatch(screen, -1) {
			for _, typed := range strings.Split(m[1], " | ") {
				if v, id, _ := strings.Cut(typed, " "); v == verb && strings.HasPrefix(id, arg[:2]) {
					cmd = typed
				}
			}
		}
	}
	if verb == "pick" {
		if m := readNumber.FindAllStringSubmatch(screen, -1); m != nil {
			cmd = "pick " + m[len(m)-1][1]
		}
	}
	return cmd
}

// The README's "Try it" list runs top to bottom in the demo, as a person on a fresh clone would
// type it: nothing is refused as not understood, no file is missing, no error shows.
func TestReadmeTryItRuns(t *testing.T) {
	cmds := tryItCommands(t)
	if len(cmds) < 10 {
		t.Fatalf("only %d commands read from the README: %q", len(cmds), cmds)
	}
	stdin, typing := io.Pipe()
	screen := &syncbuf.Buffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"demo"}, &cliContext{Stdin: stdin, Stdout: screen, Stderr: screen, Getenv: noEnv})
	}()
	// The terminal reads a line only when it is done with the one before: once the comment line
	// after a command is taken, everything the command does is on the screen.
	say := func(line string) {
		if _, err := io.WriteString(typing, line+"\n"); err != nil {
			t.Fatalf("the demo stopped reading at %q: %v\n%s", line, err, screen.String())
		}
	}
	for _, cmd := range cmds {
		before := len(screen.String())
		typed := filledIn(cmd, screen.String())
		say(typed)
		say("# (the test waits for the line above to be handled)")
		seen := screen.String()[before:]
		for _, bad := range []string{"🤔", "(error)", "usage:", "⚠️ there is no file", "is not a request ID"} {
			if strings.Contains(seen, bad) {
				t.Errorf("README step %q (typed %q) answered with %q:\n%s", cmd, typed, bad, seen)
			}
		}
		if strings.Count(seen, "\n") < 2 {
			t.Errorf("README step %q (typed %q) had no answer:\n%s", cmd, typed, seen)
		}
	}
	typing.Close()
	if code := <-done; code != 0 {
		t.Errorf("the demo exited %d:\n%s", code, screen.String())
	}
	// The steps do what their comments say.
	all := screen.String()
	for _, want := range []string{"✅ Reset Adele Vance", "🎫 Temporary Access Pass", "approved", "users.csv: 5 rows", "📊 Password resets", "📜 Audit trail"} {
		if !strings.Contains(all, want) {
			t.Errorf("the walk-through never showed %q", want)
		}
	}
}
