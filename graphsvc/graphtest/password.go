package graphtest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Microsoft Entra's cloud password policy, as the simulator enforces it (entra-docs
// concept-sspr-policy.md): 8–256 characters; at least three of lower case, upper case, digits and
// symbols; ASCII only; not containing the user's account name; nothing on the banned list. The real
// banned-password check scores fuzzy matches against a global and a tenant list; a handful of terms
// matched after undoing common substitutions is enough to catch a generator that produces words.

const complexityMessage = "The specified password does not comply with password complexity requirements. Please provide a different password."

var bannedTerms = []string{"password", "contoso", "welcome", "letmein", "qwerty"}

// leet undoes the substitutions Entra normalises before matching banned terms.
var leet = strings.NewReplacer("0", "o", "1", "l", "$", "s", "@", "a", "3", "e")

// CheckPassword reports why Entra's cloud policy would refuse password for the user with that UPN,
// or nil. The server answers such a password 400 with Graph's complexity message.
func CheckPassword(password, upn string) error { return checkPassword(password, upn, true) }

// checkPassword applies the policy; strong=false is passwordPolicies DisableStrongPassword, which
// drops the character-class rule but keeps length and the banned list.
func checkPassword(password, upn string, strong bool) error {
	if n := len(password); n < 8 || n > 256 {
		return fmt.Errorf("length %d is outside 8–256", n)
	}
	var lowerC, upperC, digit, symbol bool
	for _, r := range password {
		switch {
		case r < 0x20 || r > 0x7e:
			return errors.New("contains a character that is not printable ASCII")
		case 'a' <= r && r <= 'z':
			lowerC = true
		case 'A' <= r && r <= 'Z':
			upperC = true
		case '0' <= r && r <= '9':
			digit = true
		default:
			symbol = true
		}
	}
	classes := 0
	for _, has := range []bool{lowerC, upperC, digit, symbol} {
		if has {
			classes++
		}
	}
	if strong && classes < 3 {
		return fmt.Errorf("has %d of the 4 character classes, needs 3", classes)
	}
	pw := lower(password)
	if local, _, _ := strings.Cut(lower(upn), "@"); len(local) >= 3 && strings.Contains(pw, local) {
		return errors.New("contains the user's account name")
	}
	norm := leet.Replace(pw)
	for _, term := range bannedTerms {
		if strings.Contains(pw, term) || strings.Contains(norm, term) {
			return fmt.Errorf("contains the banned term %q", term)
		}
	}
	return nil
}

// generatePassword makes the password resetPassword sets when the caller supplies none.
func generatePassword(upn string) string {
	for {
		if pw := randomPassword(); checkPassword(pw, upn, true) == nil {
			return pw
		}
	}
}

func randomPassword() string {
	const (
		lowers  = "abcdefghijkmnpqrstuvwxyz"
		uppers  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
		digits  = "23456789"
		symbols = "!#%+-=?_"
	)
	pick := func(set string) byte {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		return set[n.Int64()]
	}
	// Two of each class, then fill: every class is present, so the policy always passes.
	b := []byte{pick(lowers), pick(lowers), pick(uppers), pick(uppers), pick(digits), pick(digits), pick(symbols), pick(symbols)}
	for len(b) < 16 {
		b = append(b, pick(lowers+uppers+digits+symbols))
	}
	for i := len(b) - 1; i > 0; i-- {
		j, _ := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		b[i], b[j.Int64()] = b[j.Int64()], b[i]
	}
	return string(b)
}
