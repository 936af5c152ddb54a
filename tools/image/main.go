// Command image builds resetbot's container image from the repository, in Go: no Docker daemon,
// no base image, no registry needed. From the repository's root:
//
//	go -C tools run ./image                      # linux/amd64 and linux/arm64 → dist/image (OCI layout)
//	go -C tools run ./image -arch amd64          # one platform
//	go -C tools run ./image -push registry.example.com/resetbot:v1.2.0
//
// dist/image is an OCI image layout with a multi-platform index, which skopeo, podman, crane and
// oras read (`skopeo copy --all oci:dist/image:VERSION docker://…`); dist/resetbot-image-ARCH.tar
// is each platform's image as `podman load` and `docker load` take it. -push sends the index to a
// registry with the credentials of ~/.docker/config.json.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/resetbot/resetbot/tools/internal/build"
	"github.com/resetbot/resetbot/tools/internal/ociimage"
)

func main() {
	out := flag.String("out", "", "folder for the OCI layout and the per-platform tarballs (default: dist/ in the repository)")
	archs := flag.String("arch", "amd64,arm64", "platforms to build, comma-separated")
	push := flag.String("push", "", "also push the multi-platform image to this reference (registry/repository:tag)")
	flag.Parse()
	if err := run(*out, strings.Split(*archs, ","), *push); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(out string, archs []string, push string) error {
	repo, err := build.RepoRoot(".")
	if err != nil {
		return err
	}
	if out == "" {
		out = filepath.Join(repo, "dist")
	}
	info := build.Describe(repo)
	res, err := Make(repo, out, archs, info)
	if err != nil {
		return err
	}
	for _, p := range res.Platforms {
		fmt.Printf("linux/%s  %s  %.1f MB compressed  %s\n", p.Arch, p.Digest, float64(p.Size)/1e6, p.Tarball)
	}
	fmt.Printf("index %s in %s (tag %s)\n", res.Digest, res.Layout, info.Version)
	if push != "" {
		ref, err := name.ParseReference(push)
		if err != nil {
			return fmt.Errorf("-push %s: %w", push, err)
		}
		if err := remote.WriteIndex(ref, res.Index, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			return fmt.Errorf("pushing to %s: %w", ref, err)
		}
		fmt.Printf("pushed %s@%s\n", ref.Context(), res.Digest)
	}
	return nil
}

// Result is what Make wrote.
type Result struct {
	Layout    string // the OCI layout folder
	Index     v1.ImageIndex
	Digest    v1.Hash
	Platforms []Platform
}

// Platform is one platform's image.
type Platform struct {
	Arch    string
	Image   v1.Image
	Digest  v1.Hash
	Size    int64 // compressed layers and config, as a registry stores them
	Tarball string
	Binary  string
}

// Make builds the binary and the image for each platform into out, and the index over them.
func Make(repo, out string, archs []string, info build.Info) (*Result, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	res := &Result{Layout: filepath.Join(out, "image")}
	var imgs []v1.Image
	for _, arch := range archs {
		bin := filepath.Join(out, "linux_"+arch, "resetbot")
		if err := build.Binary(repo, bin, arch, info); err != nil {
			return nil, err
		}
		img, err := ociimage.Build(ociimage.Spec{Binary: bin, Arch: arch, Version: info.Version, Revision: info.Revision,
			Source: "https://github.com/resetbot/resetbot", Created: info.Time})
		if err != nil {
			return nil, err
		}
		p := Platform{Arch: arch, Image: img, Binary: bin, Tarball: filepath.Join(out, "resetbot-image-"+arch+".tar")}
		if p.Digest, err = img.Digest(); err != nil {
			return nil, err
		}
		if p.Size, err = compressedSize(img); err != nil {
			return nil, err
		}
		tag, err := name.NewTag("resetbot:" + tagSafe(info.Version))
		if err != nil {
			return nil, err
		}
		if err := ociimage.WriteTarball(p.Tarball, tag, img); err != nil {
			return nil, err
		}
		res.Platforms = append(res.Platforms, p)
		imgs = append(imgs, img)
	}
	idx, err := ociimage.Index(imgs)
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(res.Layout); err != nil {
		return nil, err
	}
	if err := ociimage.WriteLayout(res.Layout, idx, tagSafe(info.Version)); err != nil {
		return nil, err
	}
	res.Index = idx
	res.Digest, err = idx.Digest()
	return res, err
}

func compressedSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	n := m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n, nil
}

// tagSafe makes a version usable as an image tag (no "+", at most 128 characters).
func tagSafe(v string) string {
	v = strings.ReplaceAll(v, "+", "-")
	if len(v) > 128 {
		v = v[:128]
	}
	return v
}
