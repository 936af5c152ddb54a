package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/resetbot/resetbot/tools/internal/build"
	"github.com/resetbot/resetbot/tools/internal/ociimage"
)

// The two keys serve requires, for the smoke tests only (32 bytes each, base64).
const (
	smokeEncryptionKey = "RESETBOT_ENCRYPTION_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	smokeAuditKey      = "RESETBOT_AUDIT_KEY=ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
)

// imageUnderTest is the host platform's image from RESETBOT_IMAGE_LAYOUT (an OCI layout the
// release recipe wrote, so CI builds the binary once), or one built now.
func imageUnderTest(t *testing.T) v1.Image {
	t.Helper()
	dir := os.Getenv("RESETBOT_IMAGE_LAYOUT")
	if dir == "" {
		repo, err := build.RepoRoot(".")
		if err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		res, err := ociimage.Make(repo, out, []string{runtime.GOARCH}, build.Describe(repo))
		if err != nil {
			t.Fatal(err)
		}
		dir = res.Layout
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatalf("RESETBOT_IMAGE_LAYOUT=%s: %v", dir, err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	outer, err := top.IndexManifest()
	if err != nil || len(outer.Manifests) != 1 {
		t.Fatalf("the layout should hold one index: %v %v", outer, err)
	}
	idx, err := top.ImageIndex(outer.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range im.Manifests {
		if m.Platform != nil && m.Platform.OS == "linux" && m.Platform.Architecture == runtime.GOARCH {
			img, err := idx.Image(m.Digest)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	t.Fatalf("no linux/%s image in %s", runtime.GOARCH, dir)
	return nil
}

// The image is what an operator expects of it: non-root, serve by default, SQLite on /data, both
// ports declared, and nothing but the binary, CA certificates and the user tables inside (no shell).
func TestImageLayout(t *testing.T) {
	img := imageUnderTest(t)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" || !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/resetbot"}) || !slices.Equal(c.Cmd, []string{"serve"}) {
		t.Errorf("user %q, entrypoint %v, cmd %v", c.User, c.Entrypoint, c.Cmd)
	}
	if !slices.Contains(c.Env, "RESETBOT_STORE=sqlite:/data/resetbot.db") || !slices.Contains(c.Env, "RESETBOT_OPS_LISTEN=:9090") {
		t.Errorf("env %v", c.Env)
	}
	if _, ok := c.Volumes["/data"]; !ok {
		t.Errorf("volumes %v", c.Volumes)
	}
	if _, ok := c.ExposedPorts["9090/tcp"]; !ok {
		t.Errorf("ports %v", c.ExposedPorts)
	}
	if c.Labels["org.opencontainers.image.licenses"] != "Apache-2.0" || c.Labels["org.opencontainers.image.version"] == "" {
		t.Errorf("labels %v", c.Labels)
	}

	root := t.TempDir()
	if err := ociimage.Extract(img, root); err != nil {
		t.Fatal(err)
	}
	var files []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, strings.TrimPrefix(p, root))
		}
		return err
	})
	want := []string{"/etc/group", "/etc/nsswitch.conf", "/etc/passwd", "/etc/ssl/certs/ca-certificates.crt", "/usr/local/bin/resetbot"}
	if !slices.Equal(files, want) {
		t.Errorf("files in the image: %v, want %v", files, want)
	}
	if ca, _ := os.ReadFile(filepath.Join(root, "etc/ssl/certs/ca-certificates.crt")); bytes.Count(ca, []byte("BEGIN CERTIFICATE")) < 100 {
		t.Errorf("the CA bundle has %d certificates", bytes.Count(ca, []byte("BEGIN CERTIFICATE")))
	}
}

// The image runs: its root file system, exported as a container runtime would mount it, runs the
// binary as uid 65532 on loopback, and /healthz answers. Containers cannot run on this machine, so
// this is done with chroot, which needs root.
func TestImageServesFromItsRootFileSystem(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("running the image's root file system needs chroot, so root (CI runs as root): run `sudo go -C tools test ./image` to try it")
	}
	img := imageUnderTest(t)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	os.Chmod(root, 0o755) // the non-root user must be able to enter it
	if err := ociimage.Extract(img, root); err != nil {
		t.Fatal(err)
	}
	run := func(env []string, args ...string) *exec.Cmd {
		cmd := exec.Command(cf.Config.Entrypoint[0], args...)
		cmd.Env = append(append([]string{}, cf.Config.Env...), env...)
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root,
			Credential: &syscall.Credential{Uid: ociimage.UID, Gid: ociimage.GID, Groups: []uint32{}}}
		return cmd
	}

	out, err := run(nil, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "resetbot ") {
		t.Fatalf("resetbot --version in the image: %v\n%s", err, out)
	}

	public, ops := freePort(t), freePort(t)
	env := []string{
		"AZURE_TENANT_ID=c0a7e5e0-0000-4000-8000-000000000000", "AZURE_CLIENT_ID=4e5e7b07-0000-4000-8000-000000000001",
		"AZURE_CLIENT_SECRET=not-used", "RESETBOT_GRAPH_ENDPOINT=http://127.0.0.1:1",
		"SLACK_BOT_TOKEN=xoxb-smoke", "SLACK_SIGNING_SECRET=smoke", "RESETBOT_APPROVALS_CHANNEL=C0123ABCD", smokeEncryptionKey, smokeAuditKey,
		"RESETBOT_SLACK_API_URL=http://127.0.0.1:1/api/", // Slack is unreachable from here: /readyz says so
		"RESETBOT_LISTEN=127.0.0.1:" + public, "RESETBOT_OPS_LISTEN=127.0.0.1:" + ops,
	}
	log := &lockedBuffer{}
	cmd := run(env, cf.Config.Cmd...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if stopped {
			return // it stopped by itself; the test has said so
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("serve did not stop cleanly on SIGTERM: %v\n%s", err, log.String())
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Errorf("serve did not stop on SIGTERM")
		}
	}()
	c := &http.Client{Timeout: 2 * time.Second}
	var body string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("serve stopped: %v\n%s", err, log.String())
		default:
		}
		if resp, err := c.Get("http://127.0.0.1:" + ops + "/healthz"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz never answered\n%s", log.String())
		}
	}
	if body != "ok\n" {
		t.Errorf("/healthz: %q", body)
	}
	resp, err := c.Get("http://127.0.0.1:" + ops + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "store: up") {
		t.Errorf("/readyz with Slack unreachable: %d %q", resp.StatusCode, b)
	}
	if _, err := os.Stat(filepath.Join(root, "data", "resetbot.db")); err != nil {
		t.Errorf("the SQLite store is not on /data: %v", err)
	}
	if !strings.Contains(log.String(), `"msg":"serving"`) {
		t.Errorf("no serving line:\n%s", log.String())
	}
}

// Run without a writable volume where SQLite lives, the image stops at once and says what to mount.
func TestImageWithoutWritableVolume(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("running the image's root file system needs chroot, so root (CI runs as root)")
	}
	img := imageUnderTest(t)
	cf, _ := img.ConfigFile()
	root := t.TempDir()
	os.Chmod(root, 0o755)
	if err := ociimage.Extract(img, root); err != nil {
		t.Fatal(err)
	}
	// As a read-only root file system would be: /data not writable by the user.
	if err := os.Chown(filepath.Join(root, "data"), 0, 0); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(root, "data"), 0o755)
	cmd := exec.Command(cf.Config.Entrypoint[0], "serve")
	cmd.Env = append(append([]string{}, cf.Config.Env...),
		"AZURE_TENANT_ID=c0a7e5e0-0000-4000-8000-000000000000", "AZURE_CLIENT_ID=4e5e7b07-0000-4000-8000-000000000001",
		"AZURE_CLIENT_SECRET=x", "SLACK_BOT_TOKEN=xoxb-smoke", "SLACK_SIGNING_SECRET=smoke", "RESETBOT_APPROVALS_CHANNEL=C0123ABCD",
		smokeEncryptionKey, smokeAuditKey)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: ociimage.UID, Gid: ociimage.GID, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "RESETBOT_STORE=sqlite:/data/resetbot.db: cannot write in /data as uid 65532") ||
		!strings.Contains(string(out), "mount a writable volume there") {
		t.Errorf("%v\n%s", err, out)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// lockedBuffer is the server's output, read while it writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
