package slack

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	slackgo "github.com/slack-go/slack"
)

// TestManifestFiles checks the committed manifests are exactly what `resetbot manifest slack` prints
// (go test -update rewrites them), and that each is a manifest slack-go knows field for field.
func TestManifestFiles(t *testing.T) {
	for _, c := range []struct {
		file   string
		socket bool
	}{
		{"manifest.json", false},
		{"manifest-socket.json", true},
	} {
		t.Run(c.file, func(t *testing.T) {
			got, err := ManifestJSON(c.socket, DefaultManifestURL)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("..", "..", "manifest", "slack", c.file)
			golden(t, path, got)

			committed, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(committed))
			dec.DisallowUnknownFields()
			var m slackgo.Manifest
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("%s does not decode into slack.Manifest: %v", c.file, err)
			}
			if m.Settings.SocketModeEnabled != c.socket {
				t.Errorf("socket_mode_enabled = %v", m.Settings.SocketModeEnabled)
			}
			if !slices.Equal(m.OAuthConfig.Scopes.Bot, Scopes) {
				t.Errorf("scopes %v, want %v", m.OAuthConfig.Scopes.Bot, Scopes)
			}
			if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/resetpw" || m.Features.SlashCommands[0].UsageHint == "" {
				t.Errorf("slash commands %+v", m.Features.SlashCommands)
			}
			urls := []string{m.Features.SlashCommands[0].Url, m.Settings.Interactivity.RequestUrl, m.Settings.EventSubscriptions.RequestUrl}
			want := []string{"https://bot.contoso.com/slack/commands", "https://bot.contoso.com/slack/interactions", "https://bot.contoso.com/slack/events"}
			if c.socket {
				want = []string{"", "", ""}
			}
			if !slices.Equal(urls, want) {
				t.Errorf("URLs %v, want %v", urls, want)
			}
			if !m.Settings.Interactivity.IsEnabled || !slices.Equal(m.Settings.EventSubscriptions.BotEvents, []string{"message.im"}) {
				t.Errorf("interactivity or events wrong: %+v %+v", m.Settings.Interactivity, m.Settings.EventSubscriptions)
			}
			if m.Features.AppHome.MessagesTabReadOnlyEnabled || !m.Features.AppHome.MessagesTabEnabled {
				t.Error("the Messages tab must be writable: lists are sent to the bot there")
			}
		})
	}
}

func TestManifestURL(t *testing.T) {
	b, err := ManifestJSON(false, "https://resetbot.example.org/")
	if err != nil || !bytes.Contains(b, []byte(`"https://resetbot.example.org/slack/commands"`)) {
		t.Errorf("custom URL: %v\n%s", err, b)
	}
	for _, bad := range []string{"http://bot.contoso.com", "bot.contoso.com", "", "https://x/?q=1"} {
		if _, err := ManifestJSON(false, bad); err == nil {
			t.Errorf("%q accepted as the manifest URL", bad)
		}
	}
	if _, err := ManifestJSON(true, ""); err != nil {
		t.Errorf("Socket Mode needs no URL: %v", err)
	}
}
