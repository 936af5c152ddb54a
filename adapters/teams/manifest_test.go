package teams

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/resetbot/resetbot/bot"
)

// schemaDir is Microsoft's Teams manifest schemas, kept beside the repository (not in it):
// ../shared/teams-schema from the repository root.
var schemaDir = filepath.Join("..", "..", "..", "shared", "teams-schema")

// The generated manifest validates against Microsoft's schema for its manifestVersion.
func TestManifestMatchesMicrosoftSchema(t *testing.T) {
	manifest, err := AppManifest(ManifestOptions{BotAppID: testAppID})
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		ManifestVersion string `json:"manifestVersion"`
		Schema          string `json:"$schema"`
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(schemaDir, "v"+m.ManifestVersion+".json")
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		t.Skipf("Microsoft's Teams manifest schema v%s is not at %s (the shared/teams-schema folder beside the repository); skipping schema validation", m.ManifestVersion, path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	// The schema is draft-04, which has no "const": check the version it pins by hand.
	if pinned := doc.(map[string]any)["properties"].(map[string]any)["manifestVersion"].(map[string]any)["const"]; pinned != nil && pinned != m.ManifestVersion {
		t.Fatalf("manifestVersion %s, schema pins %v", m.ManifestVersion, pinned)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	url := "https://developer.microsoft.com/en-us/json-schemas/teams/v" + m.ManifestVersion + "/MicrosoftTeams.schema.json"
	if m.Schema != url {
		t.Errorf("$schema %q, want %q", m.Schema, url)
	}
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("manifest.json does not validate against %s:\n%v", path, err)
	}
	// And the schema does catch a broken manifest, so the test above means something.
	broken := inst.(map[string]any)
	broken["bots"].([]any)[0].(map[string]any)["botId"] = "not-a-guid"
	if sch.Validate(broken) == nil {
		t.Fatal("the schema accepted a bot ID that is not a GUID")
	}
}

// The package is a zip with manifest.json and both icons at its root, carrying the IDs given.
func TestAppPackage(t *testing.T) {
	var buf bytes.Buffer
	if err := AppPackage(&buf, ManifestOptions{BotAppID: testAppID, Version: "1.2.3", Developer: "Contoso IT"}); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(r)
		r.Close()
		files[f.Name] = b.Bytes()
	}
	if len(files) != 3 {
		t.Fatalf("package holds %d files", len(files))
	}
	for name, size := range map[string]int{"color.png": 192, "outline.png": 32} {
		img, err := png.Decode(bytes.NewReader(files[name]))
		if err != nil || img.Bounds().Dx() != size || img.Bounds().Dy() != size {
			t.Errorf("%s: %v %v", name, err, img.Bounds())
		}
	}
	var m struct {
		ID        string
		Version   string
		Developer struct{ Name string }
		Bots      []struct {
			BotID  string
			Scopes []string
		}
	}
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Bots) != 1 || m.Bots[0].BotID != testAppID || m.Version != "1.2.3" || m.Developer.Name != "Contoso IT" {
		t.Fatalf("manifest %+v", m)
	}
	if m.ID != derivedAppID(testAppID) || !bot.IsGUID(m.ID) || m.ID == testAppID {
		t.Errorf("app ID %q", m.ID)
	}
	// Re-running gives the same bytes: uploading it again is an update, not a new app.
	var again bytes.Buffer
	_ = AppPackage(&again, ManifestOptions{BotAppID: testAppID, Version: "1.2.3", Developer: "Contoso IT"})
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("the package is not reproducible")
	}
	for _, bad := range []ManifestOptions{{}, {BotAppID: "nope"}, {BotAppID: testAppID, Version: "one"},
		{BotAppID: testAppID, TeamsAppID: "x"}, {BotAppID: testAppID, WebsiteURL: "http://insecure.example"}} {
		if err := AppPackage(&bytes.Buffer{}, bad); err == nil {
			t.Errorf("%+v was accepted", bad)
		}
	}
}
