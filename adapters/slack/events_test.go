package slack

import "testing"

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
