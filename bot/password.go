package bot

// Temporary passwords. Design (DESIGN.md "Reset", reference/security-and-peers.md §5):
//   - crypto/rand only, every choice uniform (crypto/rand.Int rejects rather than reduces modulo),
//     positions shuffled with crypto randomness (OWASP ASVS 6.4.1: "random");
//   - at least 16 characters (NIST SP 800-63B rev 4 asks ≥ 15 for single-factor passwords), and every
//     one of Entra's four classes present, since a one-pool generator fails Entra's "3 of 4 classes"
//     rule a few percent of the time (reference/graph.md §4);
//   - no characters that are misread when a person reads the password out or types it from a DM:
//     0 O o, 1 l I |, 5 S;
//   - symbols that survive chat rendering and every keyboard (see passwordSymbols).

import (
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// PasswordSpec says what kind of temporary password to make. The zero value is a 16-character
// password.
type PasswordSpec struct {
	Length     int  // characters; 0 means 16; 16 to 256 (Entra's maximum)
	Passphrase bool // words instead of characters, for passwords read out over the phone
	Words      int  // passphrase words; 0 means 4; 4 to 20
}

const (
	DefaultPasswordLength  = 16
	MinPasswordLength      = 16
	MaxPasswordLength      = 256 // Entra's cloud password policy: 8 to 256 characters
	DefaultPassphraseWords = 4
	MinPassphraseWords     = 4 // 4 words × log2(1,810) ≈ 43 bits, plus the digit and the capital
	MaxPassphraseWords     = 20
)

// The character classes, without look-alikes.
const (
	passwordLower  = "abcdefghijkmnpqrstuvwxyz" // no l, o
	passwordUpper  = "ABCDEFGHJKLMNPQRTUVWXYZ"  // no I, O, S
	passwordDigits = "2346789"                  // no 0, 1, 5
	// passwordSymbols are all in Entra's allowed set, and chosen to arrive intact and be typed right:
	//   - not * _ ~ ` : Markdown emphasis, strike-through and code in Slack mrkdwn, Teams and our own
	//     Message.Text (*bold*); a backtick would end the code span the DM shows the password in;
	//   - not & < > : Slack requires them escaped in message text, so a missed escape shows "&amp;";
	//   - not " ' \ or space: quoting and escaping in CSV (bulk results), JSON and shells;
	//   - not ^ ~ ` ' " : dead keys on French, German, Spanish and other layouts (^ then a gives â);
	//   - not | : looks like l, 1 and I; not @ : chat clients turn x@y.z into a mail link;
	//   - not . , ; : / ( ) [ ] { } : sentence punctuation, links, :emoji: codes, Markdown links.
	passwordSymbols = "!#$%+-=?"
	passwordLetters = passwordLower + passwordUpper
	passwordAll     = passwordLower + passwordUpper + passwordDigits + passwordSymbols
)

// GeneratePassword makes a temporary password from crypto/rand.
//
// A character password has spec.Length characters: the first is a letter (so a spreadsheet never
// reads a bulk result starting with = + - as a formula), the rest hold at least one lower-case
// letter, upper-case letter, digit and symbol, every character chosen uniformly and the positions
// shuffled.
//
// A passphrase is spec.Words words from a built-in list of short common English words, joined by
// "-", with one word capitalised and a digit after one word ("maple-Orbit-river7-candle"): all four
// of Entra's classes, easy to read out. Length is not used for passphrases but must still be valid.
func GeneratePassword(spec PasswordSpec) (TempPassword, error) {
	length := spec.Length
	if length == 0 {
		length = DefaultPasswordLength
	}
	if length < MinPasswordLength || length > MaxPasswordLength {
		return TempPassword{}, fmt.Errorf("temporary password length %d: it must be from %d to %d characters",
			spec.Length, MinPasswordLength, MaxPasswordLength)
	}
	if spec.Passphrase {
		words := spec.Words
		if words == 0 {
			words = DefaultPassphraseWords
		}
		if words < MinPassphraseWords || words > MaxPassphraseWords {
			return TempPassword{}, fmt.Errorf("passphrase of %d words: it must have from %d to %d words",
				spec.Words, MinPassphraseWords, MaxPassphraseWords)
		}
		s, err := passphrase(words)
		if err != nil {
			return TempPassword{}, err
		}
		return NewTempPassword(s), nil
	}
	s, err := characterPassword(length)
	if err != nil {
		return TempPassword{}, err
	}
	return NewTempPassword(s), nil
}

func characterPassword(length int) (string, error) {
	rest := make([]byte, 0, length-1)
	for _, class := range []string{passwordLower, passwordUpper, passwordDigits, passwordSymbols} {
		c, err := pick(class)
		if err != nil {
			return "", err
		}
		rest = append(rest, c)
	}
	for len(rest) < length-1 {
		c, err := pick(passwordAll)
		if err != nil {
			return "", err
		}
		rest = append(rest, c)
	}
	if err := shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] }); err != nil {
		return "", err
	}
	first, err := pick(passwordLetters)
	if err != nil {
		return "", err
	}
	return string(first) + string(rest), nil
}

func passphrase(n int) (string, error) {
	list := passphraseWords()
	for {
		words := make([]string, n)
		for i := range words {
			k, err := uniform(len(list))
			if err != nil {
				return "", err
			}
			words[i] = list[k]
		}
		// Capitalise a word that does not start with i, l or o: I reads as l, O as 0.
		var capitalisable []int
		for i, w := range words {
			if !strings.ContainsRune("ilo", rune(w[0])) {
				capitalisable = append(capitalisable, i)
			}
		}
		if len(capitalisable) == 0 {
			continue // every word starts with i, l or o: draw again (rare, and still uniform)
		}
		k, err := uniform(len(capitalisable))
		if err != nil {
			return "", err
		}
		c := capitalisable[k]
		words[c] = strings.ToUpper(words[c][:1]) + words[c][1:]
		d, err := pick(passwordDigits)
		if err != nil {
			return "", err
		}
		k, err = uniform(n)
		if err != nil {
			return "", err
		}
		words[k] += string(d)
		return strings.Join(words, "-"), nil
	}
}

// uniform returns a uniformly random integer in [0, n) from crypto/rand (which draws and rejects, so
// there is no modulo bias).
func uniform(n int) (int, error) {
	if n <= 0 {
		return 0, errors.New("password generator: empty choice")
	}
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("password generator: reading crypto/rand: %w", err)
	}
	return int(v.Int64()), nil
}

func pick(alphabet string) (byte, error) {
	i, err := uniform(len(alphabet))
	if err != nil {
		return 0, err
	}
	return alphabet[i], nil
}

// shuffle is Fisher–Yates with crypto randomness.
func shuffle(n int, swap func(i, j int)) error {
	for i := n - 1; i > 0; i-- {
		j, err := uniform(i + 1)
		if err != nil {
			return err
		}
		swap(i, j)
	}
	return nil
}

// passphraseWords is the word list: short (3 to 7 letters), common, inoffensive English words,
// lower-case a–z, no duplicates (checked by TestPassphraseWordList).
func passphraseWords() []string { return passphraseList }

var passphraseList = strings.Fields(passphraseWordText)

// passphraseWordText was written for resetbot (sorted, one space between words).
//
//go:embed passphrase_words.txt
var passphraseWordText string
