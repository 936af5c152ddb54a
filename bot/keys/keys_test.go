package keys_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/bot/keys"
)

func TestParse(t *testing.T) {
	k := keys.Random()
	for _, s := range []string{hex.EncodeToString(k), base64.StdEncoding.EncodeToString(k), base64.RawURLEncoding.EncodeToString(k), " " + hex.EncodeToString(k) + "\n"} {
		got, err := keys.Parse("RESETBOT_AUDIT_KEY", s)
		if err != nil || !bytes.Equal(got, k) {
			t.Errorf("Parse(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "short", base64.StdEncoding.EncodeToString(k[:16]), "zz" + hex.EncodeToString(k)[2:]} {
		_, err := keys.Parse("RESETBOT_AUDIT_KEY", s)
		if err == nil || !strings.Contains(err.Error(), "RESETBOT_AUDIT_KEY") {
			t.Errorf("Parse(%q) = %v, want an error naming the setting", s, err)
		}
		if s != "" && err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("the error echoes the value: %v", err)
		}
	}
}

// A sealed value opens only with its own key, purpose and associated data.
func TestSealerBindsTheValueToItsRow(t *testing.T) {
	k := keys.Random()
	s, _ := keys.NewSealer(k, "temporary passwords")
	sealed, err := s.Seal([]byte("Kx7#mP2q-Vt9wLr4"), "R-7F3K9Q", "0", "user-1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("Kx7#")) {
		t.Fatal("the sealed value shows the password")
	}
	if plain, err := s.Open(sealed, "R-7F3K9Q", "0", "user-1"); err != nil || string(plain) != "Kx7#mP2q-Vt9wLr4" {
		t.Fatalf("Open = %q, %v", plain, err)
	}
	other, _ := keys.NewSealer(keys.Random(), "temporary passwords")
	tokens, _ := keys.NewSealer(k, "agent tokens")
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	for name, open := range map[string]func() ([]byte, error){
		"another row":     func() ([]byte, error) { return s.Open(sealed, "R-7F3K9Q", "1", "user-2") },
		"another key":     func() ([]byte, error) { return other.Open(sealed, "R-7F3K9Q", "0", "user-1") },
		"another purpose": func() ([]byte, error) { return tokens.Open(sealed, "R-7F3K9Q", "0", "user-1") },
		"tampered":        func() ([]byte, error) { return s.Open(tampered, "R-7F3K9Q", "0", "user-1") },
	} {
		if _, err := open(); !errors.Is(err, keys.ErrUnsealable) {
			t.Errorf("%s: Open = %v, want ErrUnsealable", name, err)
		}
	}
}

func TestMAC(t *testing.T) {
	k := keys.Random()
	m, _ := keys.NewMAC(k, "requests")
	sum := m.Sum("R-7F3K9Q", "slack:T1:U1", "user-1")
	if !m.Verify(sum, "R-7F3K9Q", "slack:T1:U1", "user-1") {
		t.Fatal("a sum does not verify")
	}
	other, _ := keys.NewMAC(k, "approvals")
	for name, ok := range map[string]bool{
		"another part":       m.Verify(sum, "R-7F3K9Q", "slack:T1:U2", "user-1"),
		"parts run together": m.Verify(sum, "R-7F3K9Qslack:T1:U1", "user-1"),
		"another purpose":    other.Verify(sum, "R-7F3K9Q", "slack:T1:U1", "user-1"),
		"not hex":            m.Verify("zz", "R-7F3K9Q"),
		"empty":              m.Verify("", "R-7F3K9Q", "slack:T1:U1", "user-1"),
	} {
		if ok {
			t.Errorf("%s verifies", name)
		}
	}
}
