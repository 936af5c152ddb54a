package slack

import (
	"reflect"
	"testing"

	"github.com/resetbot/resetbot/bot"
)

func TestUnformat(t *testing.T) {
	for in, want := range map[string]string{
		"resetpw <mailto:adele@contoso.com|adele@contoso.com>":   "resetpw adele@contoso.com",
		"resetpw <mailto:adele@contoso.com>":                     "resetpw adele@contoso.com",
		"resetpw adele@contoso.com --reason &quot;x&quot; &amp;": "resetpw adele@contoso.com --reason &quot;x&quot; &",
		"see <https://aka.ms/sspr|aka.ms/sspr> &lt;now&gt;":      "see aka.ms/sspr <now>",
		"<@U123> hi": "@U123 hi",
	} {
		if got := unformat(in); got != want {
			t.Errorf("unformat(%q) = %q, want %q", in, got, want)
		}
	}
}

// An address Slack linked reaches the service as the address: the adapter removes the markup, and
// the command parser never sees it.
func TestLinkedAddressParsesAsTheAddress(t *testing.T) {
	in := "<mailto:adele@contoso.com|adele@contoso.com>"
	want := bot.Command{Kind: bot.CmdReset, Targets: []string{"adele@contoso.com"}}
	got, err := bot.ParseCommand(unformat(in))
	if err != nil {
		t.Fatalf("ParseCommand(unformat(%q)): %v", in, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseCommand(unformat(%q)) = %+v, want %+v", in, got, want)
	}
}
