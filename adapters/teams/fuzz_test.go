package teams

import (
	"testing"
	"unicode/utf8"
)

// FuzzActivity feeds arbitrary bodies through everything the handler reads from an activity after
// the token is checked. None of it may panic, and a click it accepts must be well formed.
func FuzzActivity(f *testing.F) {
	for _, s := range []string{
		`{"type":"message","text":"<at>ResetPW</at> resetpw adele@contoso.com","entities":[{"type":"mention","text":"<at>ResetPW</at>","mentioned":{"id":"28:x"}}],"recipient":{"id":"28:x"},"conversation":{"conversationType":"channel","tenantId":"t"}}`,
		`{"type":"message","value":{"action":"approve","requestId":"R-7F3K9Q"}}`,
		`{"type":"invoke","name":"adaptiveCard/action","value":{"action":{"type":"Action.Execute","verb":"approve","data":{"requestId":"R-7F3K9Q"}}},"replyToId":"1"}`,
		`{"type":"invoke","value":"string"}`,
		`{"type":"message","channelData":{"tenant":{"id":7}},"conversation":{"tenantId":"t"}}`,
		`{"type":"message","channelData":{"tenant":"x","team":[1]}}`,
		`{"type":"message","timestamp":"not a time","text":"&lt;p&gt;hi&lt;/p&gt;<p>x</p>"}`,
		`{"type":"message","entities":[{"type":"mention"}],"text":"<at>"}`,
		`{}`, `[]`, `null`, `{"type":1}`, "\x00", `{"type":"message","value":{"action":{"verb":{}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		act, err := parseActivity(body)
		if err != nil {
			return
		}
		_, _ = act.tenant()
		_ = act.group()
		_ = act.mentionsBot()
		text := act.commandText()
		if utf8.Valid(body) && !utf8.ValidString(text) {
			t.Errorf("valid input gave invalid command text %q", text)
		}
		if c, ok := act.submitted(); ok && c.valid() && (c.RequestID == "" || len(c.RequestID) > maxRequestIDLength) {
			t.Errorf("accepted submit %+v", c)
		}
		if c, err := act.executed(); err == nil && c.valid() && c.Action == "" {
			t.Errorf("accepted execute %+v", c)
		}
		_ = act.channelDataID("channel")
		_ = baseConversation(act.Conversation.ID)
		_ = idempotencyKey(act)
	})
}
