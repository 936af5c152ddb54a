package slack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/chat"
	"github.com/resetbot/resetbot/internal/scenariotest"
)

// sendList uploads a file to the fake and delivers the message.im event of it being sent to the bot's DM
// with text, as the helpdesk agent would.
func (h *harness) sendList(t testing.TB, user, text string, files map[string]fakeFile) []scenariotest.Seen {
	t.Helper()
	var refs []map[string]any
	h.slack.mu.Lock()
	for id, f := range files {
		h.slack.files[id] = f
		refs = append(refs, map[string]any{"id": id, "name": f.Name, "filetype": f.Filetype})
	}
	h.slack.mu.Unlock()
	ev := map[string]any{"type": "message", "subtype": "file_share", "channel": "D_" + user, "channel_type": "im",
		"user": user, "text": text, "ts": "1790000000.0003" + h.next(), "files": refs, "upload": true}
	body, _ := json.Marshal(map[string]any{"type": "event_callback", "team_id": fakeTeam, "event_id": "Ev" + h.next(), "event": ev})
	mark := h.slack.mark()
	if resp, _ := h.postRaw(t, "/slack/events", "application/json", body, nil); resp.StatusCode != 200 {
		t.Fatalf("event answered %d", resp.StatusCode)
	}
	h.adapter.Wait()
	return h.seen(h.slack.since(mark))
}

// TestListByDM: a CSV sent in the DM with "resetpw bulk" is downloaded with the bot token, previewed,
// and after "Reset the N" the allowed users are reset once each, their passwords in DMs only.
func TestListByDM(t *testing.T) {
	h := newHarness(t, nil, nil)
	csv := "UserPrincipalName,Reason\r\nadele@contoso.com,INC1\r\nlynne@contoso.com,INC2\r\nmegan@contoso.com,\r\nnobody@contoso.com,\r\nnot a upn,\r\nadele@contoso.com,again\r\n"
	seen := h.sendList(t, "U_HELPDESK", "ResetPW bulk", map[string]fakeFile{"F1": {Name: "users.csv", Filetype: "csv", Data: []byte(csv)}})
	preview := mustSee(t, seen, "dm:helpdesk@contoso.com", "users.csv")
	for _, want := range []string{"2 can be reset", "[Reset the 2]", "nobody@contoso.com", "line 7"} {
		if !strings.Contains(preview.Text, want) {
			t.Errorf("the preview does not say %q:\n%s", want, preview.Text)
		}
	}
	if n := h.slack.count("file"); n != 1 {
		t.Errorf("the file was downloaded %d times", n)
	}
	for _, r := range h.env.Graph.Writes() {
		t.Fatalf("the preview wrote to Graph: %s %s", r.Method, r.Path)
	}
	id := strings.Fields(preview.Text[strings.Index(preview.Text, "List B-")+5:])[0]

	mark := h.slack.mark()
	resp, _ := h.post(t, "/slack/interactions", h.clickForm("U_HELPDESK", chat.ActionRun, id, blockList, "D_U_HELPDESK"), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("click answered %d", resp.StatusCode)
	}
	h.adapter.Wait()
	seen = h.seen(h.slack.since(mark))
	mustSee(t, seen, "reply", "Resetting 2 users")
	mustSee(t, seen, "card", "2 reset") // the progress DM, updated in place
	results := mustSee(t, seen, "dm:helpdesk@contoso.com", "Results for users.csv")
	for _, upn := range []string{"adele@contoso.com", "lynne@contoso.com"} {
		resets := h.env.Graph.Resets(upn)
		if len(resets) != 1 {
			t.Fatalf("%s reset %d times", upn, len(resets))
		}
		if !strings.Contains(results.Text, resets[0].Password) {
			t.Errorf("the results DM lacks %s's password", upn)
		}
		scenariotest.PasswordOnlyInDM(t, h.env, resets[0].Password, seen)
		for _, c := range h.slack.all() {
			if c.Contains(resets[0].Password) && !(c.Method == "chat.postMessage" && c.Channel == "D_U_HELPDESK") {
				t.Errorf("%s's password went out in %s", upn, c.Method)
			}
		}
	}
	if n := len(h.env.Graph.Resets("megan@contoso.com")); n != 0 {
		t.Error("a list reset an admin without approval")
	}
	// Pressing it again does nothing.
	h.post(t, "/slack/interactions", h.clickForm("U_HELPDESK", chat.ActionRun, id, blockList, "D_U_HELPDESK"), nil)
	h.adapter.Wait()
	if n := len(h.env.Graph.Resets("adele@contoso.com")); n != 1 {
		t.Errorf("a second press reset adele again (%d)", n)
	}
}

// TestListsRefused: a list that cannot be read is refused with a clear DM and nothing is done.
func TestListsRefused(t *testing.T) {
	h := newHarness(t, nil, func(c *Config) { c.MaxListBytes = 4096 })
	good := []byte("UserPrincipalName\nadele@contoso.com\n")
	for _, c := range []struct {
		name  string
		text  string
		files map[string]fakeFile
		says  string
	}{
		{"no file", "resetpw bulk", nil, "Attach the CSV file"},
		{"two files", "resetpw bulk", map[string]fakeFile{"F2": {Name: "a.csv", Filetype: "csv", Data: good}, "F3": {Name: "b.csv", Filetype: "csv", Data: good}}, "one list at a time"},
		{"a picture", "resetpw bulk", map[string]fakeFile{"F4": {Name: "users.png", Filetype: "png", Data: []byte("\x89PNG")}}, "not a CSV file"},
		{"too large", "resetpw bulk", map[string]fakeFile{"F5": {Name: "big.csv", Filetype: "csv", Size: 5000, Data: good}}, "the most I take is 4 KiB"},
		{"larger than it said", "resetpw bulk", map[string]fakeFile{"F6": {Name: "liar.csv", Filetype: "csv", Size: 10, Data: []byte(strings.Repeat("x", 5000))}}, "larger than 4 KiB"},
		{"empty", "resetpw bulk", map[string]fakeFile{"F7": {Name: "empty.csv", Filetype: "csv", Data: []byte("\n")}}, "empty"},
		{"no UPN column", "resetpw bulk", map[string]fakeFile{"F8": {Name: "x.csv", Filetype: "csv", Data: []byte("Name,Department\nAdele,Sales\n")}}, "no UserPrincipalName column"},
		{"binary", "resetpw bulk", map[string]fakeFile{"F9": {Name: "x.csv", Filetype: "csv", Data: []byte("UserPrincipalName\n\x00\x01\x02")}}, "not a CSV text file"},
		{"a file without the words", "here you go", map[string]fakeFile{"F10": {Name: "a.csv", Filetype: "csv", Data: good}}, ""},
		{"a file with another command", "resetpw whoami", map[string]fakeFile{"F11": {Name: "a.csv", Filetype: "csv", Data: good}}, "only read files sent with"},
	} {
		t.Run(c.name, func(t *testing.T) {
			seen := h.sendList(t, "U_HELPDESK", c.text, c.files)
			if c.says == "" {
				if len(seen) != 0 {
					t.Errorf("answered: %+v", seen)
				}
				return
			}
			r := mustSee(t, seen, "dm:helpdesk@contoso.com", c.says)
			if len(seen) != 1 {
				t.Errorf("more than one answer: %+v", seen)
			}
			_ = r
		})
	}
	noGraphCalls(t, h)
	if n := h.slack.count("file"); n > 6 {
		t.Errorf("%d downloads: files refused up front were downloaded", n)
	}
}
