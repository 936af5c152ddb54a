package signin

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// EnvEncryptionKey names the setting that holds the key sealing agents' tokens at rest.
const EnvEncryptionKey = "RESETBOT_ENCRYPTION_KEY"

// ParseKey reads a 32-byte AES-256 key written in hex (64 digits) or base64 (standard or URL
// alphabet, padded or not). Errors name the setting and never echo the value.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%s is not set: agent sign-in keeps tokens encrypted with it; generate one with `openssl rand -base64 32`", EnvEncryptionKey)
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != 32 {
				return nil, fmt.Errorf("%s holds %d bytes; it must be 32 (256 bits): generate one with `openssl rand -base64 32`", EnvEncryptionKey, len(b))
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("%s is neither 64 hex digits nor base64 of 32 bytes: generate one with `openssl rand -base64 32`", EnvEncryptionKey)
}

// sealer seals what the store keeps for sign-ins with AES-256-GCM. The associated data binds each
// sealed value to what it is and whose it is (its kind and the agent's actor key, and for tokens
// the Entra object ID), so a row copied to another agent, or a pending sign-in's secrets moved to
// another state, does not open.
type sealer struct{ aead cipher.AEAD }

const sealVersion = 1

var errUnsealable = errors.New("sealed value does not open: tampered, moved to another row, or sealed with another key")

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("%s must be 32 bytes", EnvEncryptionKey)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func associated(parts ...string) []byte {
	return []byte("resetbot-signin\x00" + strings.Join(parts, "\x00"))
}

// seal returns version ‖ nonce ‖ ciphertext.
func (s *sealer) seal(plain []byte, ad ...string) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append([]byte{sealVersion}, nonce...)
	return s.aead.Seal(out, nonce, plain, associated(ad...)), nil
}

func (s *sealer) open(sealed []byte, ad ...string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, errUnsealable
	}
	plain, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], associated(ad...))
	if err != nil {
		return nil, errUnsealable
	}
	return plain, nil
}
