// Command release makes a release of resetbot from the repository, with nothing but Go: from the
// repository's root,
//
//	VERSION=v1.2.0 go -C tools run ./release            # into dist/
//
// writes, for linux/amd64 and linux/arm64:
//
//	resetbot_VERSION_linux_ARCH.tar.gz       the static binary, LICENSE and README.md
//	resetbot_VERSION_linux_ARCH.cdx.json     its SBOM (CycloneDX, from the module versions linked in)
//	resetbot-image-ARCH.tar                  the container image, for podman/docker load
//	image/                                   both images under one index (OCI layout), to push
//	SHA256SUMS                               the checksums of all the above files
//
// VERSION defaults to `git describe --tags --always --dirty`; SOURCE_DATE_EPOCH to the commit's
// time, which archives and images carry, so the same commit gives the same bytes. -push sends the
// image to a registry as well (go -C tools run ./image -push does only that).
package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/resetbot/resetbot/tools/internal/build"
	"github.com/resetbot/resetbot/tools/internal/ociimage"
)

func main() {
	o, err := build.ParseFlags("where to write the release")
	if err == nil {
		err = release(o.Repo, o.Out, o.Archs, o.Push)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func release(repo, out string, archs []string, push string) error {
	info := build.Describe(repo)
	res, err := ociimage.Make(repo, out, archs, info)
	if err != nil {
		return err
	}
	files := []string{}
	for _, p := range res.Platforms {
		base := fmt.Sprintf("resetbot_%s_linux_%s", info.Version, p.Arch)
		archive := filepath.Join(out, base+".tar.gz")
		if err := writeArchive(archive, info, map[string]string{
			"resetbot": p.Binary, "LICENSE": filepath.Join(repo, "LICENSE"), "README.md": filepath.Join(repo, "README.md"),
		}); err != nil {
			return err
		}
		sbom := filepath.Join(out, base+".cdx.json")
		if err := writeSBOM(sbom, p.Binary, info.Version); err != nil {
			return err
		}
		files = append(files, archive, sbom, p.Tarball)
	}
	sums := filepath.Join(out, "SHA256SUMS")
	if err := writeChecksums(sums, files); err != nil {
		return err
	}
	fmt.Printf("resetbot %s (%s)\n", info.Version, info.Revision)
	for _, f := range append(files, sums) {
		st, err := os.Stat(f)
		if err != nil {
			return err
		}
		fmt.Printf("  %-48s %8.1f MB\n", filepath.Base(f), float64(st.Size())/1e6)
	}
	fmt.Printf("  image/ (OCI layout, index %s)\n", res.Digest)
	if push != "" {
		where, err := ociimage.Push(push, res)
		if err != nil {
			return err
		}
		fmt.Println("pushed", where)
	}
	return nil
}

// writeArchive writes a .tar.gz of the files (name in the archive → path), in name order, with
// the commit's time and root as owner, so it is the same bytes for the same commit.
func writeArchive(path string, info build.Info, files map[string]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		data, err := os.ReadFile(files[n])
		if err != nil {
			return err
		}
		mode := int64(0o644)
		if n == "resetbot" {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: mode, Size: int64(len(data)), ModTime: info.Time, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return f.Close()
}

// writeSBOM runs cyclonedx-gomod (a tool of this module) on the binary: the modules and versions
// Go recorded in it, i.e. exactly what was linked in. No serial number or timestamp, so the same
// binary gives the same SBOM.
func writeSBOM(path, binary, version string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "tool", "cyclonedx-gomod", "bin", "-json", "-noserial", "-notimestamp",
		"-version", version, "-output", abs, binary)
	cmd.Dir = toolsDir()
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("SBOM of %s: %w", binary, err)
	}
	return nil
}

// toolsDir is this module's folder, where `go tool` finds its tools.
func toolsDir() string {
	repo, err := build.RepoRoot(".")
	if err != nil {
		return "."
	}
	return filepath.Join(repo, "tools")
}

// writeChecksums writes SHA256SUMS as sha256sum writes it (`sha256sum -c SHA256SUMS` checks it).
func writeChecksums(path string, files []string) error {
	var b strings.Builder
	for _, f := range files {
		sum, err := fileSHA256(f)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, filepath.Base(f))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
