package teams

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
	"github.com/resetbot/resetbot/internal/scenariotest"
)

// driver runs the scenario suite through Teams: signed activities into the real handler, and what
// the fake connector received read back as what each person would see.
type driver struct {
	env   *scenariotest.Env
	h     *harness
	files *fileStore
}

func newDriver(t *testing.T, env *scenariotest.Env) scenariotest.Driver {
	files := newFileStore(t)
	h := newHarness(t, harnessOpts{handler: env.Service, tweak: func(c *Config) {
		c.TenantID = graphtest.ContosoTenantID
		c.FileHosts = []string{"127.0.0.1"} // the file store below stands in for the person's OneDrive
	}})
	env.Service.Attach(chat.PlatformTeams, h.adapter)
	return &driver{env: env, h: h, files: files}
}

// fileStore stands in for the OneDrive a file sent to the bot lands in: each file at a link of its
// own, pre-authorised as Teams' downloadUrl is, so a request that carries any credential is refused.
type fileStore struct {
	srv *httptest.Server

	mu    sync.Mutex
	files map[string][]byte // path → bytes
}

func newFileStore(t *testing.T) *fileStore {
	fs := &fileStore{files: map[string][]byte{}}
	fs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("a file was fetched with credentials: the bot's token is for the connector only")
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		fs.mu.Lock()
		data, ok := fs.files[r.URL.Path]
		fs.mu.Unlock()
		if r.Method != http.MethodGet || !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(data)
	}))
	t.Cleanup(fs.srv.Close)
	return fs
}

// put stores a file and returns its download link.
func (fs *fileStore) put(name string, data []byte) string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	dir := fmt.Sprintf("/personal/drive/%d/", len(fs.files)+1)
	fs.files[dir+name] = data
	return fs.srv.URL + dir + url.PathEscape(name) + "?tempauth=pre-authorised"
}

// persona is a seeded user of the sandbox tenant, as Teams would describe them.
func (d *driver) persona(t *testing.T, upn string) person {
	t.Helper()
	u, ok := d.env.Graph.User(upn)
	if !ok {
		t.Fatalf("no user %s in the sandbox tenant", upn)
	}
	return person{aad: u.ID, name: u.DisplayName}
}

// tenanted rewrites the harness's activity for the sandbox tenant.
func tenanted(act map[string]any) map[string]any {
	if c, ok := act["conversation"].(map[string]any); ok {
		c["tenantId"] = graphtest.ContosoTenantID
	}
	if cd, ok := act["channelData"].(map[string]any); ok {
		cd["tenant"] = map[string]any{"id": graphtest.ContosoTenantID}
	}
	return act
}

func (d *driver) Say(t *testing.T, as, text string) []scenariotest.Seen {
	p := d.persona(t, as)
	mark := d.h.conn.Count()
	if st, body := d.h.send(tenanted(d.h.message(p, text))); st != http.StatusOK {
		t.Fatalf("POST /api/messages = %d %s", st, body)
	}
	d.h.wait()
	return d.seen(t, d.h.conn.since(mark), p)
}

// SendFile attaches the file in the persona's 1:1 chat with the bot: Teams stores it and sends a
// message whose attachment carries its download link, which the adapter fetches.
func (d *driver) SendFile(t *testing.T, as, name string, data []byte, text string) []scenariotest.Seen {
	p := d.persona(t, as)
	act := d.h.message(p, text)
	act["attachments"] = []any{map[string]any{"contentType": fileDownloadInfo, "name": name,
		"contentUrl": "https://contoso-my.sharepoint.com/personal/files/" + url.PathEscape(name),
		"content": map[string]any{"downloadUrl": d.files.put(name, data), "uniqueId": fmt.Sprintf("file-%d", d.h.seq.Add(1)),
			"fileType": strings.TrimPrefix(path.Ext(name), ".")}}}
	mark := d.h.conn.Count()
	if st, body := d.h.send(tenanted(act)); st != http.StatusOK {
		t.Fatalf("POST /api/messages = %d %s", st, body)
	}
	d.h.wait()
	return d.seen(t, d.h.conn.since(mark), p)
}

// Click presses a button: Approve or Deny on a card in the approvals channel, Run or Cancel on a
// list's preview in the persona's 1:1 chat.
func (d *driver) Click(t *testing.T, as string, action chat.Action, requestID string) []scenariotest.Seen {
	p := d.persona(t, as)
	var act map[string]any
	switch action {
	case chat.ActionRun, chat.ActionCancel:
		act = d.h.invoke(p, string(action), requestID, d.previewFor(t, p, requestID))
		act["conversation"] = map[string]any{"id": "a:chat-" + p.aad, "conversationType": "personal"}
		act["channelData"] = map[string]any{}
	case chat.ActionVerify, chat.ActionPick, chat.ActionConfirm, chat.ActionDispute, chat.ActionWasntMe:
		// A card in the person's 1:1 chat: the agent's choice where they asked, the numbers, the
		// manager's question or the notice where the bot wrote to them first.
		id, _, _ := strings.Cut(requestID, ":")
		act = d.h.invoke(p, string(action), requestID, d.dmCardFor(t, p, id))
		act["conversation"] = map[string]any{"id": "a:dm-" + p.aad, "conversationType": "personal"}
		act["channelData"] = map[string]any{}
	default:
		act = d.h.invoke(p, string(action), requestID, d.cardFor(t, requestID))
	}
	mark := d.h.conn.Count()
	st, body := d.h.send(tenanted(act))
	if st != http.StatusOK {
		t.Fatalf("invoke = %d %s", st, body)
	}
	d.h.wait()
	seen := d.seen(t, d.h.conn.since(mark), p)
	return append(seen, invokeSeen(t, body))
}

// Deny presses Deny on the approval card, which opens onto the reason box, and then the Deny that
// sends it: Teams puts the box's text into the action's data.
func (d *driver) Deny(t *testing.T, as, requestID, reason string) []scenariotest.Seen {
	p := d.persona(t, as)
	act := d.h.invoke(p, string(chat.ActionDeny), requestID, d.cardFor(t, requestID))
	act["value"].(map[string]any)["action"].(map[string]any)["data"].(map[string]any)[inputID] = reason
	mark := d.h.conn.Count()
	st, body := d.h.send(tenanted(act))
	if st != http.StatusOK {
		t.Fatalf("invoke = %d %s", st, body)
	}
	d.h.wait()
	return append(d.seen(t, d.h.conn.since(mark), p), invokeSeen(t, body))
}

func (d *driver) Tick(t *testing.T) []scenariotest.Seen {
	mark := d.h.conn.Count()
	d.env.Service.Tick(context.Background())
	d.h.wait()
	return d.seen(t, d.h.conn.since(mark), person{})
}

// invokeSeen reads an invoke's answer: a refreshed card is a "card", a message is a "reply" (only
// the clicker sees it).
func invokeSeen(t *testing.T, body []byte) scenariotest.Seen {
	t.Helper()
	var r struct {
		StatusCode int             `json:"statusCode"`
		Type       string          `json:"type"`
		Value      json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("invoke answer %s: %v", body, err)
	}
	switch r.Type {
	case invokeTypeCard:
		var c Card
		if err := json.Unmarshal(r.Value, &c); err != nil {
			t.Fatal(err)
		}
		return scenariotest.Seen{Where: "card", Text: CardText(c)}
	case invokeTypeMessage:
		var s string
		if err := json.Unmarshal(r.Value, &s); err != nil {
			t.Fatal(err)
		}
		return scenariotest.Seen{Where: "reply", Text: s}
	}
	t.Fatalf("invoke answered %s", body)
	return scenariotest.Seen{}
}

// cardFor finds the approvals post that shows a request.
func (d *driver) cardFor(t *testing.T, requestID string) string {
	t.Helper()
	for _, c := range d.h.conn.since(0) {
		if c.Method == "POST" && c.Conv == approvalsConv && c.Card != nil && strings.Contains(CardText(*c.Card), requestID) {
			return c.ActivityID
		}
	}
	t.Fatalf("no approval card shows %s", requestID)
	return ""
}

// dmCardFor finds a card about the request in the person's 1:1 chat, whichever side opened it.
func (d *driver) dmCardFor(t *testing.T, p person, id string) string {
	t.Helper()
	for _, c := range d.h.conn.since(0) {
		if c.Method == "POST" && (c.Conv == "a:chat-"+p.aad || c.Conv == "a:dm-"+p.aad) && c.Card != nil && strings.Contains(CardText(*c.Card), id) {
			return c.ActivityID
		}
	}
	return "" // a typed answer in the chat: no card behind it
}

// previewFor finds the message in the person's 1:1 chat that offers a list's buttons.
func (d *driver) previewFor(t *testing.T, p person, listID string) string {
	t.Helper()
	for _, c := range d.h.conn.since(0) {
		if c.Method == "POST" && c.Conv == "a:chat-"+p.aad && c.Card != nil && strings.Contains(CardText(*c.Card), listID) {
			return c.ActivityID
		}
	}
	t.Fatalf("no preview in the 1:1 chat shows %s", listID)
	return ""
}

// seen maps connector traffic to what people see: posts in the speaker's own chat are replies,
// posts in a 1:1 chat the bot opened are DMs to its member, posts and updates in the approvals
// channel are new cards and updated cards, and an update of a DM to the expiry note is the
// password DM withdrawn.
func (d *driver) seen(t *testing.T, calls []connCall, speaker person) []scenariotest.Seen {
	t.Helper()
	var out []scenariotest.Seen
	for _, c := range calls {
		if c.Method == "CREATE" {
			continue
		}
		text := ""
		if c.Card != nil {
			text = CardText(*c.Card)
		}
		var where string
		switch {
		case c.Conv == approvalsConv && c.Method == "POST":
			where = "approvals"
		case c.Conv == approvalsConv:
			where = "card"
		case strings.HasPrefix(c.Conv, approvalsConv+";"):
			where = "reply" // a thread reply to a click's late answer
		case speaker.aad != "" && c.Conv == "a:chat-"+speaker.aad:
			where = "reply"
		case strings.HasPrefix(c.Conv, "a:dm-"):
			upn := d.upnOf(t, strings.TrimPrefix(strings.TrimPrefix(c.Conv, "a:dm-"), "29:"))
			switch {
			case c.Method == "DELETE" || (c.Method == "PUT" && strings.Contains(text, "expired and was removed")):
				where = "withdrawn:" + upn
			case c.Method == "PUT":
				where = "card"
			default:
				where = "dm:" + upn
			}
		default:
			t.Fatalf("the bot wrote to a conversation nobody is in: %s %s", c.Method, c.Conv)
		}
		out = append(out, scenariotest.Seen{Where: where, Text: text})
	}
	return out
}

func (d *driver) upnOf(t *testing.T, aad string) string {
	u, ok := d.env.Graph.User(aad)
	if !ok {
		t.Fatalf("a DM went to %s, who is not in the tenant", aad)
	}
	return strings.ToLower(u.UPN)
}

func TestScenarios(t *testing.T) {
	scenariotest.Run(t, newDriver)
}
