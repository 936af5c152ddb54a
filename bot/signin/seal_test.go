package signin

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, 32)
	for _, s := range []string{hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key), " " + hex.EncodeToString(key) + "\n"} {
		got, err := ParseKey(s)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("%q: %v", s, err)
		}
	}
	short := base64.StdEncoding.EncodeToString(key[:16])
	for _, s := range []string{"", short, "not a key at all", hex.EncodeToString(key[:31])} {
		_, err := ParseKey(s)
		if err == nil {
			t.Errorf("%q accepted", s)
			continue
		}
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("the error echoes the key: %v", err)
		}
		if !strings.Contains(err.Error(), EnvEncryptionKey) {
			t.Errorf("the error does not name the setting: %v", err)
		}
	}
	if _, err := New(Config{Key: key[:16]}); err == nil {
		t.Error("New accepted a short key")
	}
}

func TestSealBindsRow(t *testing.T) {
	s, err := newSealer(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte(`{"refresh_token":"rt-secret-value"}`)
	sealed, err := s.seal(secret, "token", "slack:T1:U1", "oid-1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("rt-secret-value")) {
		t.Fatal("the sealed bytes contain the secret")
	}
	if got, err := s.open(sealed, "token", "slack:T1:U1", "oid-1"); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open: %v", err)
	}
	other, _ := newSealer(bytes.Repeat([]byte{2}, 32))
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	for name, try := range map[string]func() error{
		"another agent":   func() error { _, err := s.open(sealed, "token", "slack:T1:U2", "oid-1"); return err },
		"another user":    func() error { _, err := s.open(sealed, "token", "slack:T1:U1", "oid-2"); return err },
		"another kind":    func() error { _, err := s.open(sealed, "pending", "slack:T1:U1", "oid-1"); return err },
		"another key":     func() error { _, err := other.open(sealed, "token", "slack:T1:U1", "oid-1"); return err },
		"a flipped bit":   func() error { _, err := s.open(flipped, "token", "slack:T1:U1", "oid-1"); return err },
		"truncated bytes": func() error { _, err := s.open(sealed[:10], "token", "slack:T1:U1", "oid-1"); return err },
	} {
		if err := try(); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
}
