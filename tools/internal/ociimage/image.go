// Package ociimage builds resetbot's container image in Go, with no Docker daemon, no base image
// to pull and no shell inside: a scratch image with the static binary, CA certificates, a
// non-root user and an empty /data for the SQLite volume. Time zones are compiled into the binary
// (time/tzdata). Layers carry fixed timestamps and owners, so the same source and SOURCE_DATE_EPOCH
// give the same image digest.
package ociimage

import (
	"archive/tar"
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// The image's layout. UID and GID are the conventional "nonroot" of distroless images.
const (
	UID        = 65532
	GID        = 65532
	BinaryPath = "/usr/local/bin/resetbot"
	DataDir    = "/data"
	CABundle   = "/etc/ssl/certs/ca-certificates.crt"
	PublicPort = "3978"
	OpsPort    = "9090"
)

// Spec says what goes into one platform's image.
type Spec struct {
	Binary   string // path of resetbot built for Arch with CGO_ENABLED=0
	Arch     string // amd64, arm64
	Version  string
	Revision string
	Source   string    // the repository URL, for the org.opencontainers.image.source label
	Created  time.Time // commit time (SOURCE_DATE_EPOCH): layers and config use it
}

// Build assembles the image for one platform.
func Build(s Spec) (v1.Image, error) {
	bin, err := os.ReadFile(s.Binary)
	if err != nil {
		return nil, err
	}
	base, err := baseLayer(s.Created)
	if err != nil {
		return nil, err
	}
	app, err := layer(s.Created, []entry{{path: "usr/local/bin/resetbot", mode: 0o755, data: bin}})
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, base, app)
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", s.Arch
	if s.Arch == "arm64" {
		cf.Variant = "v8"
	}
	cf.Created = v1.Time{Time: s.Created}
	labels := map[string]string{
		"org.opencontainers.image.title":       "resetbot",
		"org.opencontainers.image.description": "Reset Microsoft Entra ID passwords safely from Slack and Teams",
		"org.opencontainers.image.version":     s.Version,
		"org.opencontainers.image.revision":    s.Revision,
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.created":     s.Created.UTC().Format(time.RFC3339),
	}
	if s.Source != "" {
		labels["org.opencontainers.image.source"] = s.Source
	}
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", UID, GID),
		Entrypoint: []string{BinaryPath},
		Cmd:        []string{"serve"},
		WorkingDir: DataDir,
		Env: []string{
			"PATH=/usr/local/bin",
			"RESETBOT_STORE=sqlite:" + DataDir + "/resetbot.db",
			"RESETBOT_LISTEN=:" + PublicPort,
			"RESETBOT_OPS_LISTEN=:" + OpsPort,
		},
		ExposedPorts: map[string]struct{}{PublicPort + "/tcp": {}, OpsPort + "/tcp": {}},
		Volumes:      map[string]struct{}{DataDir: {}},
		Labels:       labels,
	}
	cf.History = []v1.History{
		{Created: cf.Created, CreatedBy: "resetbot tools/image: CA certificates, users, /data, /tmp"},
		{Created: cf.Created, CreatedBy: "resetbot tools/image: " + BinaryPath},
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return mutate.Annotations(img, labels).(v1.Image), nil
}

// Index puts images of several platforms under one reference.
func Index(imgs []v1.Image) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}}})
	}
	return idx, nil
}

type entry struct {
	path string // without the leading slash
	mode int64
	uid  int
	gid  int
	dir  bool
	data []byte
}

// baseLayer is what a scratch image lacks for a Go program that talks TLS as a non-root user.
func baseLayer(created time.Time) (v1.Layer, error) {
	var ca bytes.Buffer
	for root := range bundle.Roots() {
		if err := pem.Encode(&ca, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate}); err != nil {
			return nil, err
		}
	}
	return layer(created, []entry{
		{path: "etc", mode: 0o755, dir: true},
		{path: "etc/passwd", mode: 0o644, data: fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\nresetbot:x:%d:%d:resetbot:%s:/sbin/nologin\n", UID, GID, DataDir)},
		{path: "etc/group", mode: 0o644, data: fmt.Appendf(nil, "root:x:0:\nresetbot:x:%d:\n", GID)},
		{path: "etc/nsswitch.conf", mode: 0o644, data: []byte("hosts: files dns\n")},
		{path: "etc/ssl", mode: 0o755, dir: true},
		{path: "etc/ssl/certs", mode: 0o755, dir: true},
		{path: CABundle[1:], mode: 0o644, data: ca.Bytes()},
		{path: "usr", mode: 0o755, dir: true},
		{path: "usr/local", mode: 0o755, dir: true},
		{path: "usr/local/bin", mode: 0o755, dir: true},
		// The SQLite volume's mount point, owned by the user so it works unmounted too.
		{path: DataDir[1:], mode: 0o700, uid: UID, gid: GID, dir: true},
		{path: "tmp", mode: 0o1777, dir: true},
	})
}

// layer writes entries into one tar layer with a fixed time and owners.
func layer(created time.Time, entries []entry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.path, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: created, Format: tar.FormatPAX}
		if e.dir {
			h.Typeflag, h.Name = tar.TypeDir, e.path+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}

// Extract writes the image's flattened root file system into dir, owners and modes included when
// run as root: what a container runtime would mount.
func Extract(img v1.Image, dir string) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	root := os.Getuid() == 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		target := path.Join(dir, path.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			// Extract gives the top layer first: a file may come before its folder's entry.
			if err := os.MkdirAll(path.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: unexpected entry type %c in the image", h.Name, h.Typeflag)
		}
		if root {
			if err := os.Lchown(target, h.Uid, h.Gid); err != nil {
				return err
			}
		}
		if err := os.Chmod(target, os.FileMode(h.Mode&0o777)|modeBits(h.Mode)); err != nil {
			return err
		}
	}
}

func modeBits(m int64) os.FileMode {
	var fm os.FileMode
	if m&0o1000 != 0 {
		fm |= os.ModeSticky
	}
	return fm
}

// WriteTarball writes one platform's image as `podman load` and `docker load` take it.
func WriteTarball(file string, tag name.Tag, img v1.Image) error {
	return tarball.WriteToFile(file, tag, img)
}

// WriteLayout writes the index as an OCI image layout, under the tag given (the
// org.opencontainers.image.ref.name annotation, which skopeo's oci:DIR:TAG finds).
func WriteLayout(dir string, idx v1.ImageIndex, tag string) error {
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag}))
}
