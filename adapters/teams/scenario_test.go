package teams

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot/scenariotest"
	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/graphsvc/graphtest"
)

// driver runs the scenario suite through Teams: signed activities into the real handler, and what
// the fake connector received read back as what each person would see.
type driver struct {
	env *scenariotest.Env
	h   *harness
}

func newDriver(t *testing.T, env *scenariotest.Env) scenariotest.Driver {
	h := newHarness(t, harnessOpts{handler: env.Service, tweak: func(c *Config) { c.TenantID = graphtest.ContosoTenantID }})
	env.Service.Attach(chat.PlatformTeams, h.adapter)
	return &driver{env: env, h: h}
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
	mark := d.h.conn.count()
	if st, body := d.h.send(tenanted(d.h.message(p, text))); st != http.StatusOK {
		t.Fatalf("POST /api/messages = %d %s", st, body)
	}
	d.h.wait()
	return d.seen(t, d.h.conn.since(mark), p)
}

func (d *driver) Click(t *testing.T, as string, action chat.Action, requestID string) []scenariotest.Seen {
	p := d.persona(t, as)
	cardID := d.cardFor(t, requestID)
	mark := d.h.conn.count()
	st, body := d.h.send(tenanted(d.h.invoke(p, string(action), requestID, cardID)))
	if st != http.StatusOK {
		t.Fatalf("invoke = %d %s", st, body)
	}
	d.h.wait()
	seen := d.seen(t, d.h.conn.since(mark), p)
	return append(seen, invokeSeen(t, body))
}

func (d *driver) Tick(t *testing.T) []scenariotest.Seen {
	mark := d.h.conn.count()
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
