// Package keys holds what resetbot does with the two secrets it keeps outside its database:
// RESETBOT_ENCRYPTION_KEY seals what must be stored but must never be readable from the store (an
// agent's tokens; a temporary password between its reset and its delivery), and RESETBOT_AUDIT_KEY
// authenticates what only resetbot may write (a request and its approval, so a row inserted into
// the database resets nobody).
//
// It is a leaf: it imports nothing of resetbot's.
package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Size is the length of every key: 32 bytes (AES-256, HMAC-SHA-256).
const Size = 32

// Parse reads a 32-byte key written in hex (64 digits) or base64 (standard or URL alphabet, padded
// or not). Errors name the setting and never echo the value.
func Parse(setting, value string) ([]byte, error) {
	s := strings.TrimSpace(value)
	if s == "" {
		return nil, fmt.Errorf("%s is not set: generate one with `openssl rand -base64 32`", setting)
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) == Size {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != Size {
				return nil, fmt.Errorf("%s holds %d bytes; it must be 32 (256 bits): generate one with `openssl rand -base64 32`", setting, len(b))
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("%s is neither 64 hex digits nor base64 of 32 bytes: generate one with `openssl rand -base64 32`", setting)
}

// Random makes a new key, for the sandbox and tests.
func Random() []byte {
	b := make([]byte, Size)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error()) // the platform's CSPRNG is gone; nothing is safe
	}
	return b
}

// derive makes a key of its own for each purpose, so one secret never serves two uses.
func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("resetbot key for " + purpose))
	return m.Sum(nil)
}

// Sealer seals values with AES-256-GCM. The associated data binds a sealed value to what it is and
// whose it is, so a value copied to another row does not open.
type Sealer struct {
	aead    cipher.AEAD
	purpose string
}

// ErrUnsealable is what Open says of a value that was tampered with, moved to another row, or
// sealed with another key.
var ErrUnsealable = errors.New("sealed value does not open: tampered, moved to another row, or sealed with another key")

const sealVersion = 1

// NewSealer makes a sealer for one purpose from a 32-byte key.
func NewSealer(key []byte, purpose string) (*Sealer, error) {
	if len(key) != Size {
		return nil, fmt.Errorf("an encryption key must be %d bytes", Size)
	}
	block, err := aes.NewCipher(derive(key, "sealing "+purpose))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, purpose: purpose}, nil
}

func (s *Sealer) associated(parts []string) []byte {
	return []byte("resetbot " + s.purpose + "\x00" + strings.Join(parts, "\x00"))
}

// Seal returns version ‖ nonce ‖ ciphertext.
func (s *Sealer) Seal(plain []byte, ad ...string) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append([]byte{sealVersion}, nonce...)
	return s.aead.Seal(out, nonce, plain, s.associated(ad)), nil
}

// Open returns what Seal sealed with the same associated data, or ErrUnsealable.
func (s *Sealer) Open(sealed []byte, ad ...string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, ErrUnsealable
	}
	plain, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], s.associated(ad))
	if err != nil {
		return nil, ErrUnsealable
	}
	return plain, nil
}

// MAC authenticates values with HMAC-SHA-256 under a key of its own purpose.
type MAC struct{ key []byte }

// NewMAC makes a MAC for one purpose from a 32-byte key.
func NewMAC(key []byte, purpose string) (*MAC, error) {
	if len(key) != Size {
		return nil, fmt.Errorf("an audit key must be %d bytes", Size)
	}
	return &MAC{key: derive(key, "authenticating "+purpose)}, nil
}

// Sum authenticates the parts, in order, as hex. Parts are length-prefixed, so no two lists of parts
// give the same input.
func (m *MAC) Sum(parts ...string) string {
	h := hmac.New(sha256.New, m.key)
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Verify reports whether sum authenticates the parts, in constant time.
func (m *MAC) Verify(sum string, parts ...string) bool {
	want, err := hex.DecodeString(sum)
	if err != nil || len(want) != sha256.Size {
		return false
	}
	got, _ := hex.DecodeString(m.Sum(parts...))
	return hmac.Equal(got, want)
}
