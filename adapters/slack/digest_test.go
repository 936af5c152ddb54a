package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/resetbot/resetbot/bot"
	"github.com/resetbot/resetbot/bot/digest"
	"github.com/resetbot/resetbot/bot/digest/digesttest"
	"github.com/resetbot/resetbot/chat"
)

// bigTrail is a day with many agents, reasons and outside resets, to push the digest to its limits.
type bigTrail = digesttest.Trail

type bigEntra int

func (n bigEntra) PasswordResets(_ context.Context, since, _ time.Time, fn func(digest.EntraReset) error) error {
	for i := range int(n) {
		e := digest.EntraReset{ID: fmt.Sprint(i), At: since.Add(time.Duration(i) * time.Minute), Activity: "Reset user password",
			Result: "failure", ResultReason: strings.Repeat("a very long reason <!channel> ", 20), ByUPN: fmt.Sprintf("admin%03d@contoso.com", i),
			TargetID: fmt.Sprint("t", i), TargetUPN: fmt.Sprintf("target-with-a-long-name-%03d@contoso.com", i)}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func bigDigest(t testing.TB, topN int) (chat.Message, *chat.Attachment) {
	since := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	var tr bigTrail
	for i := range 500 {
		r := bot.AuditRecord{At: since.Add(time.Duration(i) * time.Minute), Event: bot.EventReset, RequestID: fmt.Sprint("R-", i),
			ActorUPN: fmt.Sprintf("agent-number-%03d@contoso.com", i%300), TargetID: fmt.Sprint("x", i), TargetUPN: fmt.Sprintf("user%d@contoso.com", i%7),
			Outcome: "done"}
		if i%3 == 0 {
			r.Outcome, r.Detail = "failed", fmt.Sprintf("reason %d: <@U123> & *stars* ", i)+strings.Repeat("x", 200)
		}
		tr = append(tr, r)
	}
	d, err := (&digest.Builder{Trail: tr, Entra: bigEntra(400), Config: digest.Config{TopN: topN, TempDir: t.TempDir()}}).
		Build(context.Background(), since, since.Add(24*time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "d.csv")
	os.WriteFile(path, []byte("time,source\n2026-11-26T08:00:00Z,bot\n"), 0o600)
	att := &chat.Attachment{Name: "resetbot-digest-20261127-0800.csv", Title: "detail", Size: 40,
		Open: func() (io.ReadCloser, error) { return os.Open(path) }, Again: "resetbot digest csv --since X --until Y"}
	return d.Message(att.Name), att
}

// However many agents, reasons and outside resets, the digest stays inside Block Kit's limits.
func TestDigestWithinBlockKitLimits(t *testing.T) {
	for _, topN := range []int{8, 60} {
		m, _ := bigDigest(t, topN)
		r := Render(chat.ViewOn(m, chat.SurfaceChannel))
		if len(r.Blocks) > maxBlocks {
			t.Errorf("top %d: %d blocks", topN, len(r.Blocks))
		}
		raw, _ := json.Marshal(r.Blocks)
		var blocks []struct {
			Type string
			Text *struct{ Text string }
		}
		json.Unmarshal(raw, &blocks)
		code := 0
		for _, b := range blocks {
			if b.Text != nil && utf8.RuneCountInString(b.Text.Text) > maxSectionText {
				t.Errorf("top %d: a %s block holds %d characters", topN, b.Type, utf8.RuneCountInString(b.Text.Text))
			}
			if b.Text != nil && strings.HasPrefix(b.Text.Text, "```") {
				code++
			}
		}
		if code == 0 {
			t.Errorf("top %d: the agent table is not in a code block", topN)
		}
		if strings.Contains(string(raw), "<!channel>") || strings.Contains(string(raw), "<@U123>") {
			t.Errorf("top %d: a mention got through", topN)
		}
	}
}

// digestSlack is a fake Slack Web API for posting a digest and uploading its file.
type digestSlack struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []string
	form  map[string]url.Values
	file  string
	noUp  bool // files.getUploadURLExternal answers missing_scope
	// uploadURL replaces the upload URL files.getUploadURLExternal hands out (a pre-signed one).
	uploadURL string
}

func newDigestSlack(t *testing.T) *digestSlack {
	f := &digestSlack{form: map[string]url.Values{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{method}", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		m := r.PathValue("method")
		f.mu.Lock()
		f.calls = append(f.calls, m)
		f.form[m] = r.PostForm
		noUp, uploadURL := f.noUp, f.uploadURL
		f.mu.Unlock()
		if uploadURL == "" {
			uploadURL = f.srv.URL + "/upload/F1"
		}
		w.Header().Set("Content-Type", "application/json")
		switch m {
		case "chat.postMessage":
			fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1790000000.000100"}`, r.PostForm.Get("channel"))
		case "files.getUploadURLExternal":
			if noUp {
				fmt.Fprint(w, `{"ok":false,"error":"missing_scope"}`)
				return
			}
			fmt.Fprintf(w, `{"ok":true,"upload_url":%q,"file_id":"F1"}`, uploadURL)
		case "files.completeUploadExternal":
			fmt.Fprint(w, `{"ok":true,"files":[{"id":"F1","title":"detail"}]}`)
		default:
			fmt.Fprint(w, `{"ok":false,"error":"unknown_method"}`)
		}
	})
	mux.HandleFunc("POST /upload/{id}", func(w http.ResponseWriter, r *http.Request) {
		file, _, err := r.FormFile("file")
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		b, _ := io.ReadAll(file)
		f.mu.Lock()
		f.calls = append(f.calls, "upload")
		f.file = string(b)
		f.mu.Unlock()
		fmt.Fprint(w, "OK")
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func digestAdapter(t *testing.T, f *digestSlack) *Adapter {
	a, err := New(Config{BotToken: fakeBotToken, SigningSecret: fakeSecret, APIURL: f.srv.URL + "/api/",
		ApprovalsChannel: fakeApprovals, AuditChannel: "C_AUDIT"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The digest goes to the audit channel and its CSV into the digest's thread, through Slack's
// external upload (files.getUploadURLExternal, the upload, files.completeUploadExternal).
func TestPostDigestUploadsTheCSV(t *testing.T) {
	f := newDigestSlack(t)
	m, att := bigDigest(t, 8)
	m.Secret = chat.NewSecret("must-not-appear")
	if err := digestAdapter(t, f).PostDigest(context.Background(), m, att); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.calls, " "); got != "chat.postMessage files.getUploadURLExternal upload files.completeUploadExternal" {
		t.Fatalf("calls: %s", got)
	}
	post, done := f.form["chat.postMessage"], f.form["files.completeUploadExternal"]
	if post.Get("channel") != "C_AUDIT" || strings.Contains(post.Encode(), "must-not-appear") {
		t.Errorf("post: %v", post)
	}
	if done.Get("channel_id") != "C_AUDIT" || done.Get("thread_ts") != "1790000000.000100" || f.file != "time,source\n2026-11-26T08:00:00Z,bot\n" {
		t.Errorf("complete: %v, file %q", done, f.file)
	}
	if up := f.form["files.getUploadURLExternal"]; up.Get("filename") != att.Name || up.Get("length") != "40" {
		t.Errorf("upload url: %v", up)
	}
}

// Without files:write the digest still stands, and the thread says how to get the file.
func TestPostDigestWithoutFilesWrite(t *testing.T) {
	f := newDigestSlack(t)
	f.noUp = true
	m, att := bigDigest(t, 8)
	if err := digestAdapter(t, f).PostDigest(context.Background(), m, att); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.calls, " "); got != "chat.postMessage files.getUploadURLExternal chat.postMessage" {
		t.Fatalf("calls: %s", got)
	}
	note := f.form["chat.postMessage"]
	if note.Get("thread_ts") != "1790000000.000100" || !strings.Contains(note.Get("text"), "files:write") ||
		!strings.Contains(note.Get("text"), "resetbot digest csv --since X --until Y") {
		t.Errorf("note: %v", note)
	}
}

// Slack's upload URL is pre-signed: when the upload fails, it is in neither the log nor the note in
// the thread.
func TestFailedUploadKeepsTheUploadURLSecret(t *testing.T) {
	f := newDigestSlack(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // nothing listens there any more: the upload fails in transport
	f.uploadURL = dead.URL + "/upload/v1/ABC-presigned-4f1c9e"
	var logs bytes.Buffer
	a, err := New(Config{BotToken: fakeBotToken, SigningSecret: fakeSecret, APIURL: f.srv.URL + "/api/",
		ApprovalsChannel: fakeApprovals, AuditChannel: "C_AUDIT", Log: slog.New(slog.NewTextHandler(&logs, nil))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, att := bigDigest(t, 8)
	if err := a.PostDigest(context.Background(), m, att); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "uploading the digest's CSV failed") {
		t.Fatalf("the failed upload was not logged:\n%s", logs.String())
	}
	for where, text := range map[string]string{"log": logs.String(), "thread note": f.form["chat.postMessage"].Encode()} {
		if strings.Contains(text, "ABC-presigned-4f1c9e") {
			t.Errorf("the pre-signed upload URL is in the %s: %s", where, text)
		}
	}
}
