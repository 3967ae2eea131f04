package index

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// Sealer protects descriptors and templates at rest (DESIGN.md: biometrics stay AES-256-GCM
// encrypted under the desk data key). The additional data binds a blob to its row, so a blob
// copied into another row does not open.
type Sealer interface {
	Seal(plain, ad []byte) ([]byte, error)
	Open(sealed, ad []byte) ([]byte, error)
}

// gcmSealer is AES-256-GCM with a random 96-bit nonce prepended (NIST SP 800-38D).
type gcmSealer struct{ aead cipher.AEAD }

// NewAESGCMSealer returns a Sealer over a 32-byte AES-256 key (the desk's unwrapped data key).
func NewAESGCMSealer(key []byte) (Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("gallery sealer: key is %d bytes, want 32 (AES-256)", len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("gallery sealer: %w", err)
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("gallery sealer: %w", err)
	}
	return gcmSealer{aead: a}, nil
}

func (s gcmSealer) Seal(plain, ad []byte) ([]byte, error) {
	out := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return s.aead.Seal(out, out, plain, ad), nil
}

// errOpen hides which check failed: a wrong key, a wrong row and a flipped bit look the same.
var errOpen = errors.New("sealed blob does not open (wrong key, wrong row or damaged)")

func (s gcmSealer) Open(sealed, ad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errOpen
	}
	p, err := s.aead.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, errOpen
	}
	return p, nil
}
