// Package seal derives keys from human secrets (argon2id, RFC 9106) and seals small secrets with
// AES-256-GCM. The desk uses it for its signing key and data key (under the desk passphrase) and
// for each officer's signing key (under the officer's PIN).
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters. They are stored beside every derived key so that costs can
// be raised later without breaking old rows.
type Params struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32
	Threads   uint8
}

// Default is RFC 9106 §4's second recommended option (t=3, m=64 MiB), with two lanes for the
// desk's two cores: about 0.1–0.2 s per derivation here, paid once per login or unlock.
var Default = Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 2}

// KeySize is the size of derived keys and of AES-256 keys.
const KeySize = 32

// SaltSize follows RFC 9106 §3.1's recommendation of 128-bit salts.
const SaltSize = 16

// ErrOpen is returned when a sealed value does not open: wrong key or altered ciphertext.
var ErrOpen = errors.New("sealed value does not open (wrong secret or altered data)")

// NewSalt returns a fresh random salt.
func NewSalt() ([]byte, error) {
	s := make([]byte, SaltSize)
	if _, err := rand.Read(s); err != nil {
		return nil, fmt.Errorf("new salt: %w", err)
	}
	return s, nil
}

// Validate refuses parameters too weak to mean anything or too large for the appliance.
func (p Params) Validate() error {
	switch {
	case p.Time < 1 || p.Time > 20:
		return fmt.Errorf("argon2id time %d out of range 1..20", p.Time)
	case p.MemoryKiB < 8*1024 || p.MemoryKiB > 1024*1024:
		return fmt.Errorf("argon2id memory %d KiB out of range 8 MiB..1 GiB", p.MemoryKiB)
	case p.Threads < 1 || p.Threads > 16:
		return fmt.Errorf("argon2id threads %d out of range 1..16", p.Threads)
	}
	return nil
}

// DeriveKey derives a 32-byte key from a secret with argon2id.
func DeriveKey(secret, salt []byte, p Params) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if len(salt) < SaltSize {
		return nil, fmt.Errorf("salt of %d bytes, want at least %d", len(salt), SaltSize)
	}
	return argon2.IDKey(secret, salt, p.Time, p.MemoryKiB, p.Threads, KeySize), nil
}

// Equal compares two derived values in constant time.
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// Seal encrypts plaintext under a 32-byte key with AES-256-GCM and a random 96-bit nonce; the
// additional data binds the value to its context (e.g. "desk-key|<desk id>") so a sealed value
// cannot be moved to another row. Output: nonce || ciphertext || tag.
func Seal(key, plaintext, additional []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, plaintext, additional), nil
}

// Open reverses Seal. It returns ErrOpen for a wrong key, wrong additional data or altered bytes.
func Open(key, sealed, additional []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("open: %d bytes is too short: %w", len(sealed), ErrOpen)
	}
	n := aead.NonceSize()
	out, err := aead.Open(nil, sealed[:n], sealed[n:], additional)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("AES-256-GCM key of %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	return cipher.NewGCM(block)
}
