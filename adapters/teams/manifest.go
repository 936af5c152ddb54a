package teams

import (
	"archive/zip"
	"bytes"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	teamsapp "github.com/resetbot/resetbot/manifest/teams"

	"github.com/resetbot/resetbot/adapters/teams/botframework"
	"github.com/resetbot/resetbot/bot"
)

// ManifestOptions fills in the Teams app manifest for one deployment.
type ManifestOptions struct {
	BotAppID   string // the Azure Bot's Entra app ID (MICROSOFT_APP_ID); required
	TeamsAppID string // the Teams app's own ID; default derived from BotAppID, so re-uploads update the same app
	Version    string // the app's version (semver); default from the committed manifest
	ShortName  string // ≤ 30 characters; default "ResetPW"
	Developer  string // ≤ 32 characters: who publishes it in your tenant
	WebsiteURL string
	PrivacyURL string
	TermsURL   string
}

var (
	semverRe = regexp.MustCompile(`^\d+\.\d+\.\d+$`)
)

// AppManifest is manifest.json for a deployment.
func AppManifest(o ManifestOptions) ([]byte, error) {
	if !bot.IsGUID(o.BotAppID) {
		return nil, fmt.Errorf("--app-id %q is not a GUID: give the Azure Bot's Microsoft App ID (MICROSOFT_APP_ID)", botframework.Truncate(o.BotAppID, 60))
	}
	if o.TeamsAppID == "" {
		o.TeamsAppID = derivedAppID(o.BotAppID)
	} else if !bot.IsGUID(o.TeamsAppID) {
		return nil, fmt.Errorf("--teams-app-id %q is not a GUID", botframework.Truncate(o.TeamsAppID, 60))
	}
	var m map[string]any
	if err := json.Unmarshal(teamsapp.Manifest, &m); err != nil {
		return nil, fmt.Errorf("the committed manifest.json is broken: %w", err)
	}
	m["id"] = strings.ToLower(o.TeamsAppID)
	bots, _ := m["bots"].([]any)
	if len(bots) != 1 {
		return nil, fmt.Errorf("the committed manifest.json has %d bots, want 1", len(bots))
	}
	bots[0].(map[string]any)["botId"] = strings.ToLower(o.BotAppID)
	if o.Version != "" {
		if !semverRe.MatchString(o.Version) {
			return nil, fmt.Errorf("--version %q is not MAJOR.MINOR.PATCH", o.Version)
		}
		m["version"] = o.Version
	}
	if o.ShortName != "" {
		if n := len([]rune(o.ShortName)); n > 30 {
			return nil, fmt.Errorf("--name is %d characters; Teams takes 30", n)
		}
		m["name"].(map[string]any)["short"] = o.ShortName
	}
	dev := m["developer"].(map[string]any)
	if o.Developer != "" {
		if n := len([]rune(o.Developer)); n > 32 {
			return nil, fmt.Errorf("--developer is %d characters; Teams takes 32", n)
		}
		dev["name"] = o.Developer
	}
	for key, v := range map[string]string{"websiteUrl": o.WebsiteURL, "privacyUrl": o.PrivacyURL, "termsOfUseUrl": o.TermsURL} {
		if v == "" {
			continue
		}
		if !strings.HasPrefix(strings.ToLower(v), "https://") {
			return nil, fmt.Errorf("%s %q must be an https:// URL", key, botframework.Truncate(v, 100))
		}
		dev[key] = v
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// AppPackage writes the zip Teams takes ("Upload a custom app", Developer Portal, or the org
// catalog): manifest.json and the two icons, at the root of the archive.
func AppPackage(w io.Writer, o ManifestOptions) error {
	manifest, err := AppManifest(o)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// A fixed timestamp keeps the package byte-for-byte reproducible.
	stamp := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range []struct {
		name string
		data []byte
	}{{"manifest.json", manifest}, {"color.png", teamsapp.ColorIcon}, {"outline.png", teamsapp.OutlineIcon}} {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: stamp})
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.data); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// derivedAppID is a name-based (version 5 style) GUID from the bot's app ID: the same bot always
// gets the same Teams app ID, so uploading a new package updates the app instead of adding a twin.
func derivedAppID(botAppID string) string {
	h := sha1.Sum([]byte("resetbot-teams-app:" + strings.ToLower(botAppID)))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
