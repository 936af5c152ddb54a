package ociimage

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// -push sends both platforms under one tag; a registry (here go-containerregistry's own, in
// process) serves back the same index, and each platform's image with its user and entrypoint.
func TestPushToARegistry(t *testing.T) {
	reg := httptest.NewServer(registry.New())
	defer reg.Close()
	bin := filepath.Join(t.TempDir(), "resetbot")
	if err := os.WriteFile(bin, []byte("not really a binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	var imgs []v1.Image
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := Build(Spec{Binary: bin, Arch: arch, Version: "v0.0.1", Revision: "abc", Created: time.Unix(1700000000, 0)})
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	idx, err := Index(imgs)
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := idx.Digest()
	ref := strings.TrimPrefix(reg.URL, "http://") + "/contoso/resetbot:v0.0.1"
	where, err := Push(ref, &Result{Index: idx, Digest: digest})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(where, "/contoso/resetbot@"+digest.String()) {
		t.Errorf("pushed %s", where)
	}
	r, _ := name.ParseReference(ref)
	got, err := remote.Index(r)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Digest(); d != digest {
		t.Errorf("the registry serves %s, pushed %s", d, digest)
	}
	m, _ := got.IndexManifest()
	if len(m.Manifests) != 2 || m.Manifests[1].Platform.Architecture != "arm64" {
		t.Fatalf("index %+v", m)
	}
	img, err := got.Image(m.Manifests[1].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	if cf.Config.User != "65532:65532" || cf.Config.Entrypoint[0] != BinaryPath || cf.Architecture != "arm64" {
		t.Errorf("config %+v", cf.Config)
	}
}

// The same inputs give the same image, byte for byte.
func TestBuildIsReproducible(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "resetbot")
	os.WriteFile(bin, []byte("binary"), 0o755)
	spec := Spec{Binary: bin, Arch: "amd64", Version: "v1", Revision: "r", Created: time.Unix(1700000000, 0)}
	a, _ := Build(spec)
	b, _ := Build(spec)
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Errorf("two builds: %s and %s", da, db)
	}
}
