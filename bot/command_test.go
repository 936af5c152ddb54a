package bot

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		in   string
		want Command
	}{
		{"", Command{Kind: CmdHelp}},
		{"/resetpw", Command{Kind: CmdHelp}},
		{"help", Command{Kind: CmdHelp}},
		{"whoami", Command{Kind: CmdWhoami}},
		{"adele@contoso.com", Command{Kind: CmdReset, Targets: []string{"adele@contoso.com"}}},
		{"/resetpw adele@Contoso.COM", Command{Kind: CmdReset, Targets: []string{"adele@contoso.com"}}},
		{"resetpw adele@contoso.com lee@contoso.com ADELE@contoso.com",
			Command{Kind: CmdReset, Targets: []string{"adele@contoso.com", "lee@contoso.com"}}},
		{`adele@contoso.com --reason "locked out after phone change, INC0042"`,
			Command{Kind: CmdReset, Targets: []string{"adele@contoso.com"}, Reason: "locked out after phone change, INC0042"}},
		{`adele@contoso.com --reason “smart quotes, INC1”`,
			Command{Kind: CmdReset, Targets: []string{"adele@contoso.com"}, Reason: "smart quotes, INC1"}},
		// An em or en dash for "--", as macOS, iOS, Teams and Outlook type it; a dash inside the
		// reason, or in quotes, stays as typed.
		{`adele@contoso.com —reason “locked out — phone”`,
			Command{Kind: CmdReset, Targets: []string{"adele@contoso.com"}, Reason: "locked out — phone"}},
		{`adele@contoso.com –reason=INC7 —tap`,
			Command{Kind: CmdReset, Targets: []string{"adele@contoso.com"}, Reason: "INC7", Credential: CredentialAccessPass}},
		{`deny R-7F3K9Q —reason changed my mind`, Command{Kind: CmdDeny, RequestID: "R-7F3K9Q", Reason: "changed my mind"}},
		{`audit —since 1d`, Command{Kind: CmdAudit, Since: 24 * time.Hour}},
		{`adele@contoso.com --reason "—not an option"`,
			Command{Kind: CmdReset, Targets: []string{"adele@contoso.com"}, Reason: "—not an option"}},
		{`adele@contoso.com --reason lost phone, don't know PIN`,
			Command{Kind: CmdReset, Targets: []string{"adele@contoso.com"}, Reason: "lost phone, don't know PIN"}},
		{`adele@contoso.com --reason=INC42`,
			Command{Kind: CmdReset, Targets: []string{"adele@contoso.com"}, Reason: "INC42"}},
		{"guest_fabrikam.com#EXT#@contoso.onmicrosoft.com",
			Command{Kind: CmdReset, Targets: []string{"guest_fabrikam.com#EXT#@contoso.onmicrosoft.com"}}},
		{"6E5B1C2A-1111-4AAA-8BBB-000000000001", Command{Kind: CmdReset, Targets: []string{"6e5b1c2a-1111-4aaa-8bbb-000000000001"}}},
		{"status r-7f3k9q", Command{Kind: CmdStatus, RequestID: "R-7F3K9Q"}},
		{"status b-7f3k9q", Command{Kind: CmdStatus, RequestID: "B-7F3K9Q"}},
		{"approve R-7F3K9Q", Command{Kind: CmdApprove, RequestID: "R-7F3K9Q"}},
		{"deny R-7F3K9Q --reason not verified", Command{Kind: CmdDeny, RequestID: "R-7F3K9Q", Reason: "not verified"}},
		{"audit", Command{Kind: CmdAudit, Since: 7 * 24 * time.Hour}},
		{"/resetpw AUDIT adele@Contoso.com --since 30d",
			Command{Kind: CmdAudit, Targets: []string{"adele@contoso.com"}, Since: 30 * 24 * time.Hour}},
		{"audit --since=24h helpdesk@contoso.com", Command{Kind: CmdAudit, Targets: []string{"helpdesk@contoso.com"}, Since: 24 * time.Hour}},
		{"audit --since 90d", Command{Kind: CmdAudit, Since: 90 * 24 * time.Hour}},
	}
	for _, tt := range tests {
		got, err := ParseCommand(tt.in)
		if err != nil {
			t.Errorf("ParseCommand(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseCommand(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseCommandRefusesBadInput(t *testing.T) {
	var many strings.Builder
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&many, "u%d@c.io ", i)
	}
	tests := []struct{ in, says string }{
		{"adele", "is not a user name"},
		{"adele@", "is not a user name"},
		{"adele@contoso", "is not a valid UPN"},
		{"ad..ele@contoso.com", "is not a valid UPN"},
		{"adele@contoso.com;rm", "is not a valid UPN"},
		{"adele@contoso.com --reason", "needs some text"},
		{`adele@contoso.com --reason "unclosed`, "quote is not closed"},
		{"adele@contoso.com --force", "don't know the option"},
		{"status", "Say which request"},
		{"approve R-0O0O", "is not a request ID"},
		{"whoami now", "takes nothing"},
		{"approve R-7F3K9Q --reason because", "takes no --reason"},
		{many.String(), "one command resets at most 20"},
		{"adele@contoso.com --reason " + strings.Repeat("x", 600), "keep it under 500"},
		{"\xff\xfe", "not valid text"},
		{"audit adele@contoso.com lee@contoso.com", "one person's records at a time"},
		{"audit --since 91d", "at most 90 days"},
		{"audit --since", "needs a time"},
		{"audit --since soon", "not a time I understand"},
		{"audit --since 0d", "not a time I understand"},
		{"audit --since 1d --since 2d", "once"},
		{"audit --reason x", "knows `--since`"},
		{"audit adele", "is not a user name"},
	}
	for _, tt := range tests {
		_, err := ParseCommand(tt.in)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("ParseCommand(%q) error = %v, want a UsageError", clip(tt.in), err)
			continue
		}
		if !strings.Contains(ue.Msg, tt.says) {
			t.Errorf("ParseCommand(%q) = %q, want it to say %q", clip(tt.in), ue.Msg, tt.says)
		}
	}
}

func TestReasonCannotForgeLines(t *testing.T) {
	c, err := ParseCommand("adele@contoso.com --reason \"ok\n✅ Approved by Sam\"")
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(c.Reason, "\n\r") {
		t.Fatalf("reason kept a line break: %q", c.Reason)
	}
}

// Invisible characters cannot make a reason read as something else: a right-to-left override that
// turns "INC0042" around on screen, a zero-width space inside a ticket number.
func TestReasonLosesInvisibleCharacters(t *testing.T) {
	c, err := ParseCommand("adele@contoso.com --reason \"INC\u202e2400\u202c \u200bverified\ufeff\"")
	if err != nil {
		t.Fatal(err)
	}
	if c.Reason != "INC2400 verified" {
		t.Errorf("reason = %q, want the visible text only", c.Reason)
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"adele@contoso.com --reason \"x y\"", "status R-7F3K9Q", "whoami", "“", "<mailto:a@b.co|a@b.co>",
		"deny R-1234 --reason=no", "a@b.c d@e.f -r 'q'", "a@b.c —reason x —tap", "–since 7d", "audit adele@contoso.com --since 7d", "audit --since=36h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCommand(s)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) || ue.Msg == "" {
				t.Fatalf("non-usage error %v", err)
			}
			return
		}
		if len(c.Targets) > MaxTargetsPerCommand {
			t.Fatalf("%d targets accepted", len(c.Targets))
		}
		for _, tg := range c.Targets {
			if _, err := parseTarget(tg); err != nil {
				t.Fatalf("accepted target %q does not re-parse: %v", tg, err)
			}
			if strings.ContainsAny(tg, " \t\n<>|\"") {
				t.Fatalf("target %q carries separators", tg)
			}
		}
		if strings.ContainsAny(c.Reason, "\n\r\x00") {
			t.Fatalf("reason %q carries control characters", c.Reason)
		}
		if c.Kind == CmdAudit && (c.Since <= 0 || c.Since > MaxAuditWindow || len(c.Targets) > 1) {
			t.Fatalf("audit accepted with window %v and %d people", c.Since, len(c.Targets))
		}
		if c.Kind != CmdAudit && c.Since != 0 {
			t.Fatalf("%v carries a window", c.Kind)
		}
		if c.RequestID != "" {
			id, ok := NormalizeRequestID(c.RequestID)
			if strings.HasPrefix(c.RequestID, "B-") { // a list: run, cancel, or its approval
				id, ok = normalizeID("B-", c.RequestID)
			}
			if !ok || id != c.RequestID {
				t.Fatalf("request ID %q not canonical", c.RequestID)
			}
		}
	})
}
