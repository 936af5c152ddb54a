package ociimage

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/resetbot/resetbot/tools/internal/build"
)

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
		img, err := Build(Spec{Binary: bin, Arch: arch, Version: info.Version, Revision: info.Revision,
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
		if err := WriteTarball(p.Tarball, tag, img); err != nil {
			return nil, err
		}
		res.Platforms = append(res.Platforms, p)
		imgs = append(imgs, img)
	}
	idx, err := Index(imgs)
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(res.Layout); err != nil {
		return nil, err
	}
	if err := WriteLayout(res.Layout, idx, tagSafe(info.Version)); err != nil {
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

// Push sends the multi-platform index to a registry reference (registry/repository:tag) with the
// credentials of ~/.docker/config.json, and says where it went.
func Push(ref string, res *Result) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("-push %s: %w", ref, err)
	}
	if err := remote.WriteIndex(r, res.Index, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return "", fmt.Errorf("pushing to %s: %w", r, err)
	}
	return fmt.Sprintf("%s@%s", r.Context(), res.Digest), nil
}
