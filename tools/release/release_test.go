package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/resetbot/resetbot/tools/internal/build"
)

// releaseDir is the release under test: RESETBOT_RELEASE_DIR (CI makes it once with `go run
// ./release` and tests the images from it too), or one made now.
func releaseDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("RESETBOT_RELEASE_DIR"); dir != "" {
		return dir
	}
	repo, err := build.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := release(repo, dir, []string{"amd64", "arm64"}, ""); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A release holds, for linux/amd64 and linux/arm64, an archive with a static binary of that
// architecture, its SBOM and its image, all in SHA256SUMS, and both images under one index.
func TestRelease(t *testing.T) {
	dir := releaseDir(t)
	sums, err := os.Open(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer sums.Close()
	listed := map[string]string{}
	sc := bufio.NewScanner(sums)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", sc.Text())
		}
		got, err := fileSHA256(filepath.Join(dir, name))
		if err != nil || got != sum {
			t.Errorf("%s: checksum %s, SHA256SUMS says %s (%v)", name, got, sum, err)
		}
		listed[name] = sum
	}
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for arch, machine := range machines {
		archive, sbom := "", ""
		for name := range listed {
			switch {
			case strings.HasSuffix(name, "_linux_"+arch+".tar.gz"):
				archive = name
			case strings.HasSuffix(name, "_linux_"+arch+".cdx.json"):
				sbom = name
			}
		}
		if archive == "" || sbom == "" || listed["resetbot-image-"+arch+".tar"] == "" {
			t.Errorf("%s: SHA256SUMS lists no archive, SBOM or image: %v", arch, listed)
			continue
		}
		checkArchive(t, filepath.Join(dir, archive), machine)
		checkSBOM(t, filepath.Join(dir, sbom))
	}

	p, err := layout.FromPath(filepath.Join(dir, "image"))
	if err != nil {
		t.Fatal(err)
	}
	top, _ := p.ImageIndex()
	outer, err := top.IndexManifest()
	if err != nil || len(outer.Manifests) != 1 {
		t.Fatalf("image layout: %v", err)
	}
	idx, _ := top.ImageIndex(outer.Manifests[0].Digest)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	platforms := map[string]bool{}
	for _, m := range im.Manifests {
		platforms[m.Platform.OS+"/"+m.Platform.Architecture] = true
	}
	if !platforms["linux/amd64"] || !platforms["linux/arm64"] {
		t.Errorf("the index has %v", platforms)
	}
}

func checkArchive(t *testing.T, path string, machine elf.Machine) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	names := []string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Name != "resetbot" {
			continue
		}
		bin := filepath.Join(t.TempDir(), "resetbot")
		out, _ := os.Create(bin)
		io.Copy(out, tr)
		out.Close()
		e, err := elf.Open(bin)
		if err != nil {
			t.Fatalf("%s: the binary is not ELF: %v", path, err)
		}
		if e.Machine != machine {
			t.Errorf("%s: built for %s, want %s", path, e.Machine, machine)
		}
		for _, p := range e.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s: the binary is dynamically linked (needs an interpreter): build with CGO_ENABLED=0", path)
			}
		}
		e.Close()
		if h.Mode&0o111 == 0 {
			t.Errorf("%s: the binary is not executable (%o)", path, h.Mode)
		}
	}
	if strings.Join(names, ",") != "LICENSE,README.md,resetbot" {
		t.Errorf("%s holds %v", path, names)
	}
}

// The SBOM names resetbot and the modules linked into it, with their versions.
func checkSBOM(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var bom struct {
		BOMFormat string `json:"bomFormat"`
		Metadata  struct {
			Component struct{ Name string } `json:"component"`
		} `json:"metadata"`
		Components []struct {
			Name, Version, Purl string
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &bom); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if bom.BOMFormat != "CycloneDX" || bom.Metadata.Component.Name != "github.com/resetbot/resetbot" {
		t.Errorf("%s: format %q, component %q", path, bom.BOMFormat, bom.Metadata.Component.Name)
	}
	found := map[string]string{}
	for _, c := range bom.Components {
		found[c.Name] = c.Version
	}
	for _, mod := range []string{"github.com/microsoftgraph/msgraph-sdk-go", "github.com/slack-go/slack", "github.com/jackc/pgx/v5", "modernc.org/sqlite"} {
		if !strings.HasPrefix(found[mod], "v") {
			t.Errorf("%s: no version of %s among %d components", path, mod, len(bom.Components))
		}
	}
}
