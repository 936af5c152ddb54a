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
)

var update = flag.Bool("update", false, "rewrite the golden files (testdata/*.golden.json, manifest/slack/*.json) from the code")

// cardFields are the approval card's fields as the service fills them; the reason carries markup a
// requester might type, to show it is escaped.
var cardFields = []chat.Field{
	{Label: "Requested by", Value: "Pat Admin (Privileged Authentication Administrator)"},
	{Label: "Target", Value: "Ceo Person · ceo@contoso.com · Global Administrator"},
	{Label: "Why approval", Value: "Ceo Person holds Global Administrator, so this needs a second person."},
	{Label: "Reason", Value: "lost phone, verified by video call <!channel> & <https://evil.example|click>"},
	{Label: "Expires", Value: "11:02 UTC"},
}

var goldens = []struct {
	name  string
	where chat.Surface
	m     chat.Message
}{
	{"approval_pending", chat.SurfaceChannel, chat.Message{
		Title:  "🔐 Password reset needs approval — R-Q2M8AB",
		Fields: cardFields,
		Buttons: []chat.Button{
			{Label: "Approve", Action: chat.ActionApprove, RequestID: "R-Q2M8AB", Primary: true,
				Confirm: "Reset the password of Ceo Person (ceo@contoso.com) now? The temporary password goes to Pat Admin by DM."},
			{Label: "Deny", Action: chat.ActionDeny, RequestID: "R-Q2M8AB", Danger: true},
		},
		Footer: "Approvers must be entitled to reset the target themselves, and may not be the requester or the target.",
	}},
	{"approval_approved", chat.SurfaceChannel, chat.Message{
		Title:  "✅ Approved by Sam Security at 10:35 UTC · reset done, sessions revoked · R-Q2M8AB",
		Fields: cardFields,
	}},
	{"approval_denied", chat.SurfaceChannel, chat.Message{
		Title:  "⛔ Denied by Sam Security at 10:35 UTC · R-Q2M8AB",
		Fields: cardFields,
	}},
	{"approval_expired", chat.SurfaceChannel, chat.Message{
		Title:  "⌛ Expired at 11:02 UTC: nobody approved it in time · R-Q2M8AB",
		Fields: cardFields,
	}},
	{"password_dm", chat.SurfaceDM, chat.Message{
		Title:  "🔐 Temporary password for adele@contoso.com",
		Secret: chat.NewSecret("Kx7#mP2q-Vt9wLr4"),
		Text:   "Copy it and give it to Adele Vance over a channel you have verified. They must change it at next sign-in.",
		Footer: "This message deletes itself at 10:42 UTC · request R-7F3K9Q",
	}},
	{"refusal", chat.SurfaceChannel, chat.Message{
		Title: "⛔ You can't reset Megan Bowen: she is a Global Administrator, and your roles (Helpdesk Administrator) may reset only users without admin roles and a few reader roles.",
		Text:  "Ask a Privileged Authentication Administrator, or see /resetpw whoami.",
	}},
	{"help", chat.SurfaceChannel, chat.Message{
		Title: "resetbot resets Entra ID passwords for the helpdesk",
		Fields: []chat.Field{
			{Label: "/resetpw user@contoso.com [more…] [--reason TEXT]", Value: "Reset one or more users (up to 20). They must choose a new password at next sign-in; the temporary password comes to you by DM."},
			{Label: "/resetpw whoami", Value: "Who you are in Entra, and whom you may reset."},
			{Label: "/resetpw status R-7F3K9Q", Value: "Where a request stands."},
			{Label: "/resetpw approve R-7F3K9Q · deny R-7F3K9Q [--reason TEXT]", Value: "Decide an approval by typing, where buttons are not available."},
			{Label: "resetpw bulk (with a CSV file, in a DM to the bot)", Value: "Reset a list: a UserPrincipalName column, one user per line (a Reason column is used). You see a preview first."},
		},
		Footer: "Admin targets need a second person. Your own password: https://aka.ms/sspr",
	}},
}

// TestRenderGolden locks the Block Kit of every kind of message; go test -update rewrites the files.
func TestRenderGolden(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			var got bytes.Buffer
			enc := json.NewEncoder(&got)
			enc.SetEscapeHTML(false) // keep &lt; readable: it is what Slack receives
			enc.SetIndent("", "  ")
			if err := enc.Encode(Render(chat.ViewOn(g.m, g.where))); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", g.name+".golden.json"), got.Bytes())
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
