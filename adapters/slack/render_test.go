package slack

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	slackgo "github.com/slack-go/slack"

	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/internal/scenariotest"
)

var update = flag.Bool("update", false, "rewrite the golden files (testdata/*.golden.json, manifest/slack/*.json) from the code")

// TestRenderGolden locks the Block Kit of every kind of message the service says: chattest's
// examples, said by the real service. go test -update rewrites the files.
func TestRenderGolden(t *testing.T) {
	env := scenariotest.NewEnv(t, nil)
	for _, ex := range env.Examples(t, chat.PlatformSlack) {
		t.Run(ex.Name, func(t *testing.T) {
			var got bytes.Buffer
			enc := json.NewEncoder(&got)
			enc.SetEscapeHTML(false) // keep &lt; readable: it is what Slack receives
			enc.SetIndent("", "  ")
			if err := enc.Encode(Render(chat.ViewOn(ex.Message, ex.Surface))); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", ex.Name+".golden.json"), got.Bytes())
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the code's output (go test -update rewrites it):\n%s", path, got)
	}
}

func TestRenderKeepsTheSecretInDMsOnly(t *testing.T) {
	m := chat.Message{Title: "🔐 Temporary password for adele@contoso.com", Secret: chat.NewSecret("Kx7#mP2q-Vt9wLr4"), Text: "Copy it."}
	dm := Render(chat.ViewOn(m, chat.SurfaceDM))
	if strings.Contains(dm.Text, m.Secret.Reveal()) {
		t.Errorf("the notification text shows the password: %q", dm.Text)
	}
	b, _ := json.Marshal(dm.Blocks)
	if !strings.Contains(string(b), "```"+m.Secret.Reveal()+"```") {
		t.Errorf("the DM does not show the password in a code block: %s", b)
	}
	elsewhere := Render(chat.ViewOn(m, chat.SurfaceChannel))
	b, _ = json.Marshal(elsewhere)
	if strings.Contains(string(b), m.Secret.Reveal()) {
		t.Errorf("a message that is not a DM shows the password: %s", b)
	}
}

func TestRenderEscapesAndSplits(t *testing.T) {
	m := chat.Message{Title: "Hi <@U123> & <!here>", Text: strings.Repeat("line of text\n", 400)}
	for i := range 23 {
		m.Fields = append(m.Fields, chat.Field{Label: "L", Value: strings.Repeat("v", i)})
	}
	var lines []string
	for i := range 200 {
		lines = append(lines, "user"+strings.Repeat("x", i%7)+"@contoso.com,reset,Ab#1&<>")
	}
	m.Secret = chat.NewSecret(strings.Join(lines, "\n"))
	r := Render(chat.ViewOn(m, chat.SurfaceDM))
	b, _ := json.Marshal(r)
	if strings.Contains(string(b), "<@U123>") || strings.Contains(string(b), "<!here>") {
		t.Errorf("a mention got through unescaped: %s", b)
	}
	if len(r.Blocks) > maxBlocks {
		t.Errorf("%d blocks, Slack takes %d", len(r.Blocks), maxBlocks)
	}
	var blocks []struct {
		Type string `json:"type"`
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
		Fields []json.RawMessage `json:"fields"`
	}
	raw, _ := json.Marshal(r.Blocks)
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatal(err)
	}
	var secret strings.Builder
	for _, blk := range blocks {
		if blk.Text != nil && len(blk.Text.Text) > maxSectionText {
			t.Errorf("a %s block holds %d characters, Slack takes %d", blk.Type, len(blk.Text.Text), maxSectionText)
		}
		if len(blk.Fields) > maxFields {
			t.Errorf("a section has %d fields, Slack takes %d", len(blk.Fields), maxFields)
		}
		if blk.Text != nil && strings.HasPrefix(blk.Text.Text, "```") {
			secret.WriteString(strings.Trim(blk.Text.Text, "`") + "\n")
		}
	}
	if got := unescape(strings.TrimSpace(secret.String())); got != m.Secret.Reveal() {
		t.Errorf("the secret split across code blocks does not join back to itself")
	}
}

func TestChunksNeverSplitAnEscape(t *testing.T) {
	s := strings.Repeat("a&amp;b", 100)
	for _, c := range chunks(s, 11) {
		if strings.Count(c, "&") != strings.Count(c, ";") {
			t.Fatalf("chunk %q splits an escape", c)
		}
	}
}

// A card longer than Slack's 50 blocks keeps its buttons and footer and says what was cut: an
// approval card without its buttons could not be decided.
func TestRenderTooLongKeepsButtons(t *testing.T) {
	m := chat.Message{Title: "Password reset needs approval", Footer: "R-7F3K9Q · expires 11:02",
		Buttons: []chat.Button{{Label: "Approve", Action: chat.ActionApprove, RequestID: "R-7F3K9Q"},
			{Label: "Deny", Action: chat.ActionDeny, RequestID: "R-7F3K9Q"}}}
	for range 600 { // 60 sections of 10 fields
		m.Fields = append(m.Fields, chat.Field{Label: "Role", Value: "Global Administrator"})
	}
	r := Render(chat.ViewOn(m, chat.SurfaceChannel))
	if len(r.Blocks) != maxBlocks {
		t.Fatalf("%d blocks, want exactly Slack's %d", len(r.Blocks), maxBlocks)
	}
	if r.Blocks[len(r.Blocks)-2].BlockType() != slackgo.MBTAction || r.Blocks[len(r.Blocks)-1].BlockType() != slackgo.MBTContext {
		t.Errorf("the last blocks are %s and %s, want the buttons and the footer",
			r.Blocks[len(r.Blocks)-2].BlockType(), r.Blocks[len(r.Blocks)-1].BlockType())
	}
	b, _ := json.Marshal(r.Blocks[len(r.Blocks)-3])
	if !strings.Contains(string(b), "more parts did not fit") {
		t.Errorf("the cut is not said: %s", b)
	}
}

// A link button (the sign-in) is a url button: Slack opens the page; its action ID is none of the
// bot's, so the click Slack still reports does nothing.
func TestLinkButtonOpensItsPage(t *testing.T) {
	m := chat.Message{Title: "🔑 Sign in as pat@contoso.com", Buttons: []chat.Button{{Label: "Sign in", URL: "https://login.example/authorize?state=x", Primary: true}}}
	var found *slackgo.ButtonBlockElement
	for _, b := range Render(chat.ViewOn(m, chat.SurfaceDM)).Blocks {
		if ab, ok := b.(*slackgo.ActionBlock); ok {
			for _, e := range ab.Elements.ElementSet {
				if btn, ok := e.(*slackgo.ButtonBlockElement); ok {
					found = btn
				}
			}
		}
	}
	if found == nil || found.URL != "https://login.example/authorize?state=x" || found.Text.Text != "Sign in" {
		t.Fatalf("the sign-in button is %+v, want a url button to the page", found)
	}
	if _, ours := actionOf(found.ActionID); ours {
		t.Errorf("the link's action ID %q would be taken for a click on one of the bot's buttons", found.ActionID)
	}
}
