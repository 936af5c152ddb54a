package bot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

// entraSymbols is the symbol class of Entra's cloud password policy (entra-docs
// docs/identity/authentication/concept-sspr-policy.md; reference/graph.md §4), space included.
const entraSymbols = "@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<> "

// pwLookAlikes are the characters a person misreads: they must never appear in a character password.
const pwLookAlikes = "0Oo1lI|5S"

// pwChatHostile are characters chat platforms or keyboards mangle (see passwordSymbols).
const pwChatHostile = "*_~`&<>\"'\\ ^@.,;:/()[]{}"

// pwClasses counts which of Entra's four classes a password uses.
func pwClasses(s string) (lower, upper, digit, symbol bool) {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= '0' && r <= '9':
			digit = true
		case strings.ContainsRune(entraSymbols, r):
			symbol = true
		}
	}
	return
}

// pwEntraCompliant checks Entra's cloud policy: 8–256 characters, only allowed characters (no
// Unicode), at least 3 of the 4 classes.
func pwEntraCompliant(t *testing.T, s string) {
	t.Helper()
	if n := len(s); n < 8 || n > 256 {
		t.Fatalf("%d characters: Entra wants 8 to 256", n)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(entraSymbols, r)) {
			t.Fatalf("character %q is not allowed by Entra's password policy", r)
		}
	}
	l, u, d, y := pwClasses(s)
	n := 0
	for _, b := range []bool{l, u, d, y} {
		if b {
			n++
		}
	}
	if n < 3 {
		t.Fatalf("only %d of Entra's 4 character classes", n)
	}
}

func TestGeneratePasswordMeetsTheRules(t *testing.T) {
	const n = 10000
	counts := map[rune]int{}
	seen := make(map[string]bool, n)
	for i := 0; i < n; i++ {
		pw, err := GeneratePassword(PasswordSpec{})
		if err != nil {
			t.Fatal(err)
		}
		s := pw.Reveal()
		if len(s) != 16 {
			t.Fatalf("default length %d, want 16", len(s))
		}
		pwCheckCharacterPassword(t, s)
		if seen[s] {
			t.Fatalf("the same password came out twice after %d", i)
		}
		seen[s] = true
		for _, r := range s[1:] { // the first character is always a letter; count the free positions
			counts[r]++
		}
	}

	// Every allowed character turns up, and none far less often than a uniform draw would give: the
	// free positions draw from all characters, so each is expected about 15·10,000/62 ≈ 2,400 times
	// (symbols more, as one is forced in). A missing or starved character means a broken alphabet
	// or a biased draw. Not a statistical test: the bound is loose enough never to flake.
	allowed := passwordLower + passwordUpper + passwordDigits + passwordSymbols
	for _, r := range allowed {
		if counts[r] < 800 {
			t.Errorf("character %q appeared %d times in %d passwords; expected about 2,400", r, counts[r], n)
		}
	}
	for r := range counts {
		if !strings.ContainsRune(allowed, r) {
			t.Errorf("character %q is not in the allowed set", r)
		}
	}
}

func pwCheckCharacterPassword(t *testing.T, s string) {
	t.Helper()
	for i := 0; i < len(s); i++ {
		if s[i] > 0x7e || s[i] < 0x21 {
			t.Fatalf("non-printable or non-ASCII byte %#x", s[i])
		}
	}
	if strings.ContainsAny(s, pwLookAlikes) {
		t.Fatalf("a look-alike character (one of %q) in a password", pwLookAlikes)
	}
	if strings.ContainsAny(s, pwChatHostile) {
		t.Fatalf("a character chat or keyboards mangle (one of %q) in a password", pwChatHostile)
	}
	l, u, d, y := pwClasses(s)
	if !l || !u || !d || !y {
		t.Fatalf("missing a class: lower %v upper %v digit %v symbol %v", l, u, d, y)
	}
	if c := s[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		t.Fatalf("first character %q is not a letter (a spreadsheet could read = + - as a formula)", c)
	}
	pwEntraCompliant(t, s)
}

func TestGeneratePasswordLengths(t *testing.T) {
	for _, n := range []int{16, 17, 20, 64, 255, 256} {
		for i := 0; i < 200; i++ {
			pw, err := GeneratePassword(PasswordSpec{Length: n})
			if err != nil {
				t.Fatalf("length %d: %v", n, err)
			}
			if got := len(pw.Reveal()); got != n {
				t.Fatalf("length %d: got %d characters", n, got)
			}
			pwCheckCharacterPassword(t, pw.Reveal())
		}
	}
}

func TestGeneratePasswordRejectsBadSpecs(t *testing.T) {
	for _, spec := range []PasswordSpec{
		{Length: 8},
		{Length: 15},
		{Length: -1},
		{Length: 257},
		{Length: 1 << 20},
		{Passphrase: true, Words: 3},
		{Passphrase: true, Words: 1},
		{Passphrase: true, Words: -4},
		{Passphrase: true, Words: 21},
		{Passphrase: true, Length: 8},
	} {
		pw, err := GeneratePassword(spec)
		if err == nil {
			t.Errorf("%+v: no error", spec)
		}
		if !pw.IsZero() {
			t.Errorf("%+v: a password came back with the error", spec)
		}
	}
}

func TestGeneratePassphrase(t *testing.T) {
	inList := map[string]bool{}
	for _, w := range passphraseWords() {
		inList[w] = true
	}
	shape := regexp.MustCompile(`^[A-Za-z2-9]+(-[A-Za-z2-9]+)*$`)
	for _, words := range []int{0, 4, 5, 8, 20} {
		want := words
		if want == 0 {
			want = 4
		}
		for i := 0; i < 2000; i++ {
			pw, err := GeneratePassword(PasswordSpec{Passphrase: true, Words: words})
			if err != nil {
				t.Fatal(err)
			}
			s := pw.Reveal()
			pwEntraCompliant(t, s)
			if len(s) < 16 {
				t.Fatalf("passphrase %d characters, want at least 16", len(s))
			}
			if !shape.MatchString(s) {
				t.Fatalf("passphrase has an unexpected shape")
			}
			parts := strings.Split(s, "-")
			if len(parts) != want {
				t.Fatalf("%d words, want %d", len(parts), want)
			}
			capitals, digits := 0, 0
			for _, p := range parts {
				for j, r := range p {
					switch {
					case r >= 'A' && r <= 'Z':
						capitals++
						if j != 0 {
							t.Fatal("a capital inside a word")
						}
						if strings.ContainsRune("ILO", r) {
							t.Fatalf("capital %q reads as a digit or another letter", r)
						}
					case r >= '0' && r <= '9':
						digits++
						if j != len(p)-1 {
							t.Fatal("the digit is not at the end of its word")
						}
						if strings.ContainsRune("015", r) {
							t.Fatalf("digit %q is a look-alike", r)
						}
					}
				}
				w := strings.ToLower(strings.TrimRight(p, "0123456789"))
				if !inList[w] {
					t.Fatalf("word %q is not from the list", w)
				}
			}
			if capitals != 1 || digits != 1 {
				t.Fatalf("%d capitals and %d digits, want one each", capitals, digits)
			}
			l, u, d, y := pwClasses(s)
			if !l || !u || !d || !y {
				t.Fatal("a passphrase should have all four classes")
			}
		}
	}
}

func TestPassphraseWordList(t *testing.T) {
	list := passphraseWords()
	if len(list) < 1024 {
		t.Fatalf("%d words, want at least 1,024", len(list))
	}
	word := regexp.MustCompile(`^[a-z]{3,7}$`)
	seen := map[string]bool{}
	for _, w := range list {
		if !word.MatchString(w) {
			t.Errorf("word %q is not 3 to 7 lower-case letters", w)
		}
		if seen[w] {
			t.Errorf("word %q twice", w)
		}
		seen[w] = true
	}
}

func TestTempPasswordIsRedacted(t *testing.T) {
	pw, err := GeneratePassword(PasswordSpec{})
	if err != nil {
		t.Fatal(err)
	}
	secret := pw.Reveal()
	if secret == "" || pw.IsZero() {
		t.Fatal("no password")
	}
	holder := struct {
		Password TempPassword
		Ptr      *TempPassword
	}{pw, &pw}
	var outs []string
	for _, verb := range []string{"%v", "%s", "%+v", "%#v", "%q"} {
		outs = append(outs, fmt.Sprintf(verb, pw), fmt.Sprintf(verb, holder))
	}
	outs = append(outs, pw.String(), fmt.Sprint(pw), fmt.Sprintln(pw))
	if b, err := json.Marshal(holder); err != nil {
		t.Fatal(err)
	} else {
		outs = append(outs, string(b))
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("reset", "password", pw, "holder", holder)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("reset", "password", pw)
	outs = append(outs, logs.String())
	for _, out := range outs {
		if strings.Contains(out, secret) {
			t.Errorf("the password leaked: %s", out)
		}
	}
	if got := fmt.Sprint(pw); got != "[redacted]" {
		t.Errorf("fmt.Sprint = %q, want [redacted]", got)
	}
	if got := pw.String(); got != "[redacted]" {
		t.Errorf("String() = %q, want [redacted]", got)
	}
}
