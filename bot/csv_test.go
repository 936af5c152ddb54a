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

// What spreadsheets and PowerShell write comes in as the same list.
func TestParseUserCSVReadsRealExports(t *testing.T) {
	utf16le := func(s string) string {
		b := []byte{0xff, 0xfe}
		for _, r := range s {
			b = append(b, byte(r), byte(r>>8))
		}
		return string(b)
	}
	utf16be := func(s string) string {
		b := []byte{0xfe, 0xff}
		for _, r := range s {
			b = append(b, byte(r>>8), byte(r))
		}
		return string(b)
	}
	want := "[{2 adele@contoso.com INC1} {3 lynne@contoso.com INC2}]"
	for _, c := range []struct{ name, in, want string }{
		{"commas", "UserPrincipalName,Reason\nadele@contoso.com,INC1\nlynne@contoso.com,INC2\n", want},
		{"semicolons (Excel in many locales)", "UserPrincipalName;Reason\r\nadele@contoso.com;INC1\r\nlynne@contoso.com;INC2\r\n", want},
		{"a semicolon inside a quoted value", "UserPrincipalName;Reason\nadele@contoso.com;\"INC1\"\nlynne@contoso.com;INC2\n", want},
		{"tabs", "DisplayName\tUserPrincipalName\tReason\nAdele\tadele@contoso.com\tINC1\nLynne\tlynne@contoso.com\tINC2\n", want},
		{"Excel's Unicode text (UTF-16 LE, tabs)", utf16le("UserPrincipalName\tReason\r\nadele@contoso.com\tINC1\r\nlynne@contoso.com\tINC2\r\n"), want},
		{"UTF-16 BE", utf16be("UserPrincipalName,Reason\nadele@contoso.com,INC1\nlynne@contoso.com,INC2\n"), want},
		{"Windows PowerShell's #TYPE line", "#TYPE Selected.Microsoft.Graph.PowerShell.Models.MicrosoftGraphUser\r\n\"UserPrincipalName\",\"Reason\"\r\n\"adele@contoso.com\",\"INC1\"\r\n\"lynne@contoso.com\",\"INC2\"\r\n",
			"[{3 adele@contoso.com INC1} {4 lynne@contoso.com INC2}]"},
		{"the admin center's column name", "User principal name,Display name\nadele@contoso.com,Adele\n", "[{2 adele@contoso.com }]"},
		{"object IDs", "Id,DisplayName\n10000000-0000-4000-8000-000000000001,Adele\n", "[{2 10000000-0000-4000-8000-000000000001 }]"},
		{"mail addresses", "Mail\nadele@contoso.com\n", "[{2 adele@contoso.com }]"},
	} {
		rows, problems, err := ParseUserCSV(strings.NewReader(c.in), 100)
		if err != nil || len(problems) > 0 {
			t.Errorf("%s: %v %v", c.name, err, problems)
			continue
		}
		if got := fmt.Sprint(rows); got != c.want {
			t.Errorf("%s: rows = %s, want %s", c.name, got, c.want)
		}
	}
}

// A bad line is named in words a person can act on.
func TestParseUserCSVSaysWhatIsWrong(t *testing.T) {
	_, problems, err := ParseUserCSV(strings.NewReader("UserPrincipalName,Reason\nadele@contoso.com,x\nlynne@contoso.com,he said \"hi\"\n"), 100)
	if err != nil || len(problems) != 1 {
		t.Fatalf("%v %v", problems, err)
	}
	// The preview prints "line 3: " before the problem; the problem does not say it again.
	if p := problems[0]; p.Line != 3 || !strings.HasPrefix(p.Problem, "has a quote (\") inside a value that does not start with one: put the whole value in quotes") ||
		strings.Contains(p.Problem, "bare") {
		t.Errorf("problem = %+v", p)
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
		{"a line of a million commas", "UserPrincipalName\n" + strings.Repeat(",", 1<<20), "line 2 has 1048577 columns"},
		{"UTF-16 cut in half", "\xff\xfeU\x00P\x00N", "damaged"},
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
