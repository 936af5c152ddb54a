package bot

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseUserCSV(t *testing.T) {
	in := "\xef\xbb\xbfDisplayName,UserPrincipalName,Reason\r\n" +
		"Adele,adele@contoso.com,locked out\r\n" +
		"Lynne,LYNNE@Contoso.com,\r\n" +
		"Dup,adele@CONTOSO.com,again\r\n" +
		"Bad,not-a-upn,\r\n" +
		"Short\r\n" +
		",,\r\n" +
		"Nestor,nestor@contoso.com\r\n"
	rows, problems, err := ParseUserCSV(strings.NewReader(in), 100)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(rows)
	want := "[{2 adele@contoso.com locked out} {3 LYNNE@contoso.com } {8 nestor@contoso.com }]"
	if got != want {
		t.Errorf("rows = %s\nwant   %s", got, want)
	}
	var lines []string
	for _, p := range problems {
		lines = append(lines, fmt.Sprintf("%d:%s", p.Line, p.Problem))
	}
	wantProblems := []string{"4:the same user as line 2 (reset once)", "5:\"not-a-upn\" is not a user name", "6:no UserPrincipalName on this line"}
	if len(lines) != len(wantProblems) {
		t.Fatalf("problems = %q", lines)
	}
	for i := range wantProblems {
		if !strings.HasPrefix(lines[i], wantProblems[i]) {
			t.Errorf("problem %d = %q, want %q…", i, lines[i], wantProblems[i])
		}
	}
}

func TestParseUserCSVRefusesFiles(t *testing.T) {
	var big strings.Builder
	big.WriteString("UserPrincipalName\n")
	for i := range 100001 {
		fmt.Fprintf(&big, "u%d@contoso.com\n", i)
	}
	for _, c := range []struct{ name, in, says string }{
		{"empty", "", "empty"},
		{"blank", "\r\n\r\n", "empty"},
		{"no header", "adele@contoso.com\nlynne@contoso.com\n", "no UserPrincipalName column"},
		{"binary", "UserPrincipalName\n\x00\x01\x02PK", "not a CSV text file"},
		{"header only", "UserPrincipalName\n", "no users"},
		{"too many rows", big.String(), "more than 5000 rows"},
	} {
		_, _, err := ParseUserCSV(strings.NewReader(c.in), 5000)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want it to say %q", c.name, err, c.says)
		}
	}
}

func FuzzParseUserCSV(f *testing.F) {
	f.Add("UserPrincipalName,Reason\nadele@contoso.com,x\n")
	f.Add("\xef\xbb\xbfupn\r\n\"a@b.co\"\r\n\"unterminated\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, problems, err := ParseUserCSV(strings.NewReader(in), 50)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, r := range rows {
			if _, err := parseTarget(r.UPN); err != nil {
				t.Fatalf("accepted %q: %v", r.UPN, err)
			}
			k := strings.ToLower(r.UPN)
			if seen[k] {
				t.Fatalf("%q accepted twice", r.UPN)
			}
			seen[k] = true
			if strings.ContainsAny(r.Reason, "\r\n") {
				t.Fatalf("reason with a line break: %q", r.Reason)
			}
		}
		if len(rows)+len(problems) > 50+len(problems) {
			t.Fatal("more rows than allowed")
		}
	})
}
