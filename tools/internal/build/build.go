// Package build compiles resetbot the way releases and images ship it: static (CGO_ENABLED=0),
// without local paths (-trimpath), stripped, with the version and revision stamped in by -ldflags
// (VCS stamping is not relied on: it needs a .git folder, which work trees and source archives lack).
package build

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Info is what a build is stamped with.
type Info struct {
	Version  string    // v1.2.0, or a git describe such as v1.2.0-3-gabc1234-dirty; "devel" outside git
	Revision string    // the full commit hash, "" outside git
	Time     time.Time // the commit's time: layers and archives carry it, so builds are reproducible
}

// Describe reads the version from the environment (VERSION, SOURCE_DATE_EPOCH) or from git in repo.
func Describe(repo string) Info {
	info := Info{Version: "devel", Time: time.Unix(0, 0).UTC()}
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	if v := git("describe", "--tags", "--always", "--dirty"); v != "" {
		info.Version = v
	}
	info.Revision = git("rev-parse", "HEAD")
	if ct, err := strconv.ParseInt(git("log", "-1", "--format=%ct"), 10, 64); err == nil {
		info.Time = time.Unix(ct, 0).UTC()
	}
	if v := os.Getenv("VERSION"); v != "" {
		info.Version = v
	}
	if v, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64); err == nil {
		info.Time = time.Unix(v, 0).UTC()
	}
	return info
}

// Binary builds ./cmd/resetbot of repo for linux/arch into out.
func Binary(repo, out, arch string, info Info) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	ldflags := fmt.Sprintf("-s -w -X main.version=%s -X main.revision=%s", info.Version, info.Revision)
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", abs, "./cmd/resetbot")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for linux/%s: %w", arch, err)
	}
	return nil
}

// RepoRoot finds the repository from a folder inside it (the one with go.mod naming the module).
func RepoRoot(from string) (string, error) {
	dir, err := filepath.Abs(from)
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/resetbot/resetbot\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no resetbot repository above %s", from)
		}
		dir = parent
	}
}

// Options are the command line the image and release commands share.
type Options struct {
	Repo  string   // the repository's root
	Out   string   // -out, else dist/ in the repository
	Archs []string // -arch: the platforms to build
	Push  string   // -push: also push the multi-platform image to this reference, when set
}

// ParseFlags reads -out (outHelp says what it holds), -arch and -push, and finds the repository
// from the working folder.
func ParseFlags(outHelp string) (Options, error) {
	out := flag.String("out", "", outHelp+" (default: dist/ in the repository)")
	archs := flag.String("arch", "amd64,arm64", "platforms to build, comma-separated")
	push := flag.String("push", "", "also push the multi-platform image to this reference (registry/repository:tag)")
	flag.Parse()
	repo, err := RepoRoot(".")
	if err != nil {
		return Options{}, err
	}
	o := Options{Repo: repo, Out: *out, Archs: strings.Split(*archs, ","), Push: *push}
	if o.Out == "" {
		o.Out = filepath.Join(repo, "dist")
	}
	return o, nil
}
