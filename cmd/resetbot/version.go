package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set at build time by release builds (deploy/README.md):
//
//	go build -ldflags "-X main.version=v1.2.0 -X main.revision=$(git rev-parse HEAD)" ./cmd/resetbot
//
// Left empty, they come from the build information Go records in the binary: the module version
// (go install …@v1.2.0) and the VCS revision (go build in a git checkout).
var (
	version  string
	revision string
)

// buildInfo says which resetbot this is, for `resetbot version`, --version, the first log line and
// the resetbot_build_info metric.
type buildInfo struct {
	Version   string // v1.2.0, a pseudo-version, or "devel" for a build from a work tree
	Revision  string // the VCS commit, "" when unknown
	Time      string // the commit's time, RFC 3339, "" when unknown
	Modified  bool   // built from a work tree with uncommitted changes
	GoVersion string
}

// currentBuild reads the build information once per call; it is cheap.
func currentBuild() buildInfo {
	b := buildInfo{Version: version, Revision: revision, GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if ok {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Revision == "" {
					b.Revision = s.Value
				}
			case "vcs.time":
				b.Time = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	return b
}

// String is the one line `resetbot version` and --version print:
// "resetbot v1.2.0 (revision 3f9dd318a2c4, 2026-11-27T10:00:00Z, go1.26.8)".
func (b buildInfo) String() string {
	var parts []string
	if b.Revision != "" {
		rev := b.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if b.Modified {
			rev += "+modified"
		}
		parts = append(parts, "revision "+rev)
	}
	if b.Time != "" {
		parts = append(parts, b.Time)
	}
	parts = append(parts, b.GoVersion)
	return fmt.Sprintf("resetbot %s (%s)", b.Version, strings.Join(parts, ", "))
}

type versionCmd struct{}

func (versionCmd) Run(k *cliContext) error {
	_, err := fmt.Fprintln(k.Stdout, currentBuild())
	return err
}
