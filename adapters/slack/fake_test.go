package slack

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

// The fake Slack: a small Web API on loopback that records every call, in place of slacktest (which
// cannot answer conversations.open, chat.update or files.info, and always returns one canned user).
const (
	fakeTeam      = "T_CONTOSO"
	fakeBotToken  = "xoxb-test-token"
	fakeAppToken  = "xapp-test-token"
	fakeSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	fakeApprovals = "C_APPROVALS"
	fakeBotUser   = "U_RESETBOT"
)

// fakeUser is a Slack user as users.info gives it.
type fakeUser struct {
	ID                string
	Email             string
	Name              string
	Deleted, IsBot    bool
	IsRestricted      bool
	IsUltraRestricted bool
	IsStranger        bool   // a member of another organisation, met in a shared channel
	Team              string // their own workspace; fakeTeam when empty
	Enterprise        string // their Enterprise Grid organisation, if any
	TZ                string // the time zone of their profile, IANA
}

// fakeFile is an uploaded file: files.info metadata and its bytes, served from the API host.
type fakeFile struct {
	Name, Filetype string
	Size           int // as files.info reports it; len(Data) when zero
	Data           []byte
}

// slackCall is one recorded call.
type slackCall struct {
	Method  string // a Web API method, "response_url", or "file"
	Channel string
	TS      string
	User    string
	Text    string
	Blocks  json.RawMessage
	Raw     string // the whole body, to search for what must not be there
}

// Contains reports whether s appears anywhere in the call: the raw body, its form values or JSON
// strings decoded, with mrkdwn escapes undone.
func (c slackCall) Contains(s string) bool {
	hay := []string{c.Raw, c.Text, unescape(c.Text), unescape(string(c.Blocks))}
	if form, err := url.ParseQuery(c.Raw); err == nil {
		for _, vs := range form {
			for _, v := range vs {
				hay = append(hay, v, unescape(v))
			}
		}
	}
	var doc any
	if json.Unmarshal([]byte(c.Raw), &doc) == nil {
		hay = append(hay, jsonStrings(doc)...)
	}
	for _, h := range hay {
		if strings.Contains(h, s) {
			return true
		}
	}
	return false
}

func jsonStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v, unescape(v)}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, jsonStrings(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, e := range v {
			out = append(out, jsonStrings(e)...)
		}
		return out
	}
	return nil
}

type fakeSlack struct {
	t   testing.TB
	srv *httptest.Server

	mu         sync.Mutex
	calls      []slackCall
	users      map[string]fakeUser
	files      map[string]fakeFile
	uploads    map[string]string // file ID → bytes the bot uploaded (a list's results file)
	deleted    map[string]bool
	seq        int
	failDM     bool // chat.postMessage to a DM answers an error
	hookStatus int  // when set, response_url answers this status (404 is Slack's "expired_url")

	// socket is what the /ws endpoint does with a Socket Mode connection.
	socket func(*websocket.Conn)
}

// personaID is the Slack user ID the tests give a seeded contoso persona: U_HELPDESK for helpdesk@.
func personaID(upn string) string {
	local, _, _ := strings.Cut(upn, "@")
	return "U_" + strings.ToUpper(local)
}

func newFakeSlack(t testing.TB) *fakeSlack {
	f := &fakeSlack{t: t, users: map[string]fakeUser{}, files: map[string]fakeFile{}, uploads: map[string]string{}, deleted: map[string]bool{}}
	for _, u := range graphtest.Contoso().Users {
		if strings.Contains(u.UPN, "#EXT#") {
			continue
		}
		f.users[personaID(u.UPN)] = fakeUser{ID: personaID(u.UPN), Email: u.UPN, Name: u.DisplayName}
	}
	for _, u := range []fakeUser{
		{ID: "U_NOEMAIL", Name: "No Email"},
		{ID: "U_SOMEBOT", Name: "Some Bot", IsBot: true},
		{ID: "U_GONE", Name: "Gone Away", Email: "gone@contoso.com", Deleted: true},
		{ID: "U_GUEST", Name: "Guest Fabrikam", Email: "guest@fabrikam.com", IsRestricted: true},
		{ID: "U_STRANGER", Name: "Stranger", Email: "stranger@contoso.com"},
		// Someone of another organisation in a shared channel whose profile shows a contoso address.
		{ID: "U_CONNECT", Name: "Pat From Elsewhere", Email: "pat@contoso.com", IsStranger: true, Team: "T_FABRIKAM"},
		// Someone of another workspace, not flagged a stranger, whose profile shows a contoso address.
		{ID: "U_OTHERTEAM", Name: "Pat Elsewhere", Email: "pat@contoso.com", Team: "T_FABRIKAM"},
	} {
		f.users[u.ID] = u
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{method}", f.serveAPI)
	mux.HandleFunc("POST /hooks/", f.serveHook)
	mux.HandleFunc("GET /files/{id}", f.serveFile)
	mux.HandleFunc("GET /ws", f.serveWS)
	mux.HandleFunc("POST /upload/{id}", f.serveUpload)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSlack) apiURL() string { return f.srv.URL + "/api/" }

// responseURL is a response_url on the fake's host, as Slack would give with a command or click.
func (f *fakeSlack) responseURL() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	return fmt.Sprintf("%s/hooks/commands/%s/%d/secretpart", f.srv.URL, fakeTeam, f.seq)
}

func (f *fakeSlack) record(c slackCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

// mark is where the recording is now; since returns what came after it.
func (f *fakeSlack) mark() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeSlack) since(n int) []slackCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]slackCall(nil), f.calls[n:]...)
}

func (f *fakeSlack) all() []slackCall { return f.since(0) }

func (f *fakeSlack) count(method string) int {
	n := 0
	for _, c := range f.all() {
		if c.Method == method {
			n++
		}
	}
	return n
}

func (f *fakeSlack) nextTS() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	return "1790000000." + fmt.Sprintf("%06d", f.seq)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeSlack) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	raw, _ := io.ReadAll(r.Body)
	form := url.Values{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		form, _ = url.ParseQuery(string(raw))
	}
	// Form methods send the token in the body, JSON methods as a bearer: accept both, nothing else.
	token := form.Get("token")
	if token == "" {
		token = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	want := fakeBotToken
	if method == "apps.connections.open" {
		want = fakeAppToken
	}
	if token != want {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	c := slackCall{Method: method, Channel: form.Get("channel"), TS: form.Get("ts"), User: form.Get("user"),
		Text: form.Get("text"), Raw: string(raw)}
	if b := form.Get("blocks"); b != "" {
		c.Blocks = json.RawMessage(b)
	}
	switch method {
	case "auth.test":
		writeJSON(w, map[string]any{"ok": true, "url": "https://contoso.slack.com/", "team": "Contoso",
			"user": "resetpw-bot", "team_id": fakeTeam, "user_id": fakeBotUser, "bot_id": "B_RESETBOT"})
		return // not recorded: readiness and workspace checks are not messages
	case "users.info", "users.lookupByEmail":
		f.mu.Lock()
		u, ok := f.users[form.Get("user")]
		if method == "users.lookupByEmail" {
			c.User = form.Get("email")
			for _, cand := range f.users {
				if strings.EqualFold(cand.Email, form.Get("email")) {
					u, ok = cand, true
					break
				}
			}
		}
		f.mu.Unlock()
		f.record(c)
		if !ok {
			writeJSON(w, map[string]any{"ok": false, "error": map[bool]string{true: "users_not_found", false: "user_not_found"}[method == "users.lookupByEmail"]})
			return
		}
		team := u.Team
		if team == "" {
			team = fakeTeam
		}
		writeJSON(w, map[string]any{"ok": true, "user": map[string]any{
			"id": u.ID, "team_id": team, "name": strings.ToLower(strings.ReplaceAll(u.Name, " ", ".")),
			"real_name": u.Name, "deleted": u.Deleted, "is_bot": u.IsBot, "is_stranger": u.IsStranger,
			"enterprise_user": map[string]any{"enterprise_id": u.Enterprise},
			"is_restricted":   u.IsRestricted, "is_ultra_restricted": u.IsUltraRestricted, "tz": u.TZ,
			"profile": map[string]any{"real_name": u.Name, "email": u.Email},
		}})
	case "conversations.open":
		c.User = form.Get("users")
		f.record(c)
		writeJSON(w, map[string]any{"ok": true, "channel": map[string]any{"id": "D_" + c.User}})
	case "chat.postMessage", "chat.postEphemeral":
		f.mu.Lock()
		fail := f.failDM && strings.HasPrefix(c.Channel, "D_")
		f.mu.Unlock()
		if fail {
			f.record(c)
			writeJSON(w, map[string]any{"ok": false, "error": "channel_not_found"})
			return
		}
		c.TS = f.nextTS()
		f.record(c)
		writeJSON(w, map[string]any{"ok": true, "channel": c.Channel, "ts": c.TS, "message_ts": c.TS})
	case "chat.update":
		f.record(c)
		writeJSON(w, map[string]any{"ok": true, "channel": c.Channel, "ts": c.TS, "text": c.Text})
	case "chat.delete":
		f.mu.Lock()
		gone := f.deleted[c.Channel+"/"+c.TS]
		f.deleted[c.Channel+"/"+c.TS] = true
		f.mu.Unlock()
		f.record(c)
		if gone {
			writeJSON(w, map[string]any{"ok": false, "error": "message_not_found"})
			return
		}
		writeJSON(w, map[string]any{"ok": true, "channel": c.Channel, "ts": c.TS})
	case "files.info":
		id := form.Get("file")
		f.mu.Lock()
		file, ok := f.files[id]
		f.mu.Unlock()
		f.record(c)
		if !ok {
			writeJSON(w, map[string]any{"ok": false, "error": "file_not_found"})
			return
		}
		size := file.Size
		if size == 0 {
			size = len(file.Data)
		}
		writeJSON(w, map[string]any{"ok": true, "file": map[string]any{"id": id, "name": file.Name,
			"filetype": file.Filetype, "size": size, "url_private_download": f.srv.URL + "/files/" + id}})
	case "files.getUploadURLExternal":
		f.record(c)
		id := "FUP" + strconv.Itoa(len(f.all()))
		writeJSON(w, map[string]any{"ok": true, "upload_url": f.srv.URL + "/upload/" + id, "file_id": id})
	case "files.completeUploadExternal":
		// Recorded with the file's bytes as its text, where it was shared: what the person can open.
		var files []struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal([]byte(form.Get("files")), &files)
		c.Channel = form.Get("channel_id")
		var shared []map[string]any
		f.mu.Lock()
		for _, fl := range files {
			c.Text += f.uploads[fl.ID]
			shared = append(shared, map[string]any{"id": fl.ID})
		}
		f.mu.Unlock()
		f.record(c)
		writeJSON(w, map[string]any{"ok": true, "files": shared})
	case "apps.connections.open":
		f.record(c)
		writeJSON(w, map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/ws"})
	default:
		f.record(c)
		writeJSON(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

// serveHook is Slack's response_url endpoint.
func (f *fakeSlack) serveHook(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body struct {
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal *bool           `json:"replace_original"`
	}
	if err := json.Unmarshal(raw, &body); err != nil || body.ResponseType != "ephemeral" || body.ReplaceOriginal == nil || *body.ReplaceOriginal {
		f.t.Errorf("response_url got a message that is not an ephemeral addition: %s", raw)
	}
	f.mu.Lock()
	status := f.hookStatus
	f.mu.Unlock()
	if status != 0 {
		http.Error(w, "expired_url", status)
		return
	}
	f.record(slackCall{Method: "response_url", Text: body.Text, Blocks: body.Blocks, Raw: string(raw)})
	_, _ = io.WriteString(w, "ok")
}

func (f *fakeSlack) serveFile(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+fakeBotToken {
		http.Error(w, "no", http.StatusForbidden)
		return
	}
	f.mu.Lock()
	file, ok := f.files[r.PathValue("id")]
	f.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	f.record(slackCall{Method: "file", Raw: r.PathValue("id")})
	w.Header().Set("Content-Length", strconv.Itoa(len(file.Data)))
	_, _ = w.Write(file.Data)
}

// serveUpload takes the bytes of a file the bot uploads (the pre-signed URL of an external upload).
func (f *fakeSlack) serveUpload(w http.ResponseWriter, r *http.Request) {
	file, _, err := r.FormFile("file")
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b, _ := io.ReadAll(file)
	f.mu.Lock()
	f.uploads[r.PathValue("id")] = string(b)
	f.mu.Unlock()
	_, _ = io.WriteString(w, "OK")
}

func (f *fakeSlack) serveWS(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	f.mu.Lock()
	handle := f.socket
	f.mu.Unlock()
	if handle != nil {
		handle(conn)
	}
}

// visible flattens a recorded message to what a person would read: the blocks' text with mrkdwn
// escapes undone, button labels in brackets; the fallback text when there are no blocks.
func visible(c slackCall) string {
	var blocks []struct {
		Type string `json:"type"`
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
		Fields []struct {
			Text string `json:"text"`
		} `json:"fields"`
		Elements []struct {
			Text json.RawMessage `json:"text"`
		} `json:"elements"`
	}
	if len(c.Blocks) == 0 || json.Unmarshal(c.Blocks, &blocks) != nil || len(blocks) == 0 {
		return unescape(c.Text)
	}
	var lines []string
	for _, b := range blocks {
		if b.Text != nil {
			lines = append(lines, b.Text.Text)
		}
		for _, fl := range b.Fields {
			lines = append(lines, fl.Text)
		}
		for _, e := range b.Elements {
			var s string
			var obj struct {
				Text string `json:"text"`
			}
			switch {
			case json.Unmarshal(e.Text, &s) == nil:
			case json.Unmarshal(e.Text, &obj) == nil:
				s = obj.Text
			}
			if b.Type == "actions" {
				s = "[" + s + "]"
			}
			lines = append(lines, s)
		}
	}
	return unescape(strings.Join(lines, "\n"))
}

func unescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}
