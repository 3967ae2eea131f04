package record

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
)

// Blob is one biometric item in the clear, as the desk's workflow hands it to the outbox.
type Blob struct {
	Kind     string
	Format   string
	Position int
	Data     []byte
}

// MaxBlobSize bounds one biometric blob (a 500 ppi finger image is ~150 KB, a portrait less).
const MaxBlobSize = 4 << 20

// Seal encrypts a blob to the registry's X25519 public key with age (age-encryption.org/v1:
// X25519 recipient stanza, ChaCha20-Poly1305 payload). Once the desk forgets the plaintext it cannot
// read the sealed bytes back. It returns the sealed bytes and the reference that the signed record
// carries.
func Seal(to age.Recipient, b Blob) ([]byte, BlobRef, error) {
	if len(b.Data) == 0 || len(b.Data) > MaxBlobSize {
		return nil, BlobRef{}, fmt.Errorf("seal %s: size %d out of range", b.Kind, len(b.Data))
	}
	var buf bytes.Buffer
	buf.Grow(len(b.Data) + 256)
	w, err := age.Encrypt(&buf, to)
	if err != nil {
		return nil, BlobRef{}, fmt.Errorf("seal %s: %w", b.Kind, err)
	}
	if _, err := w.Write(b.Data); err != nil {
		return nil, BlobRef{}, fmt.Errorf("seal %s: %w", b.Kind, err)
	}
	if err := w.Close(); err != nil {
		return nil, BlobRef{}, fmt.Errorf("seal %s: %w", b.Kind, err)
	}
	sealed := buf.Bytes()
	return sealed, BlobRef{
		Kind: b.Kind, Format: b.Format, Position: b.Position,
		Size: len(b.Data), Plain: sha256.Sum256(b.Data),
		Sealed: sha256.Sum256(sealed), SealedSize: len(sealed),
	}, nil
}

// CheckSealed reports whether sealed bytes are the ones a reference names.
func CheckSealed(ref BlobRef, sealed []byte) error {
	if len(sealed) != ref.SealedSize || sha256.Sum256(sealed) != ref.Sealed {
		return errors.New("sealed blob does not match its reference")
	}
	return nil
}

// Unseal decrypts a sealed blob with the registry's identity and checks it against its reference.
func Unseal(id age.Identity, ref BlobRef, sealed []byte) ([]byte, error) {
	if err := CheckSealed(ref, sealed); err != nil {
		return nil, fmt.Errorf("unseal %s: %w", ref.Kind, err)
	}
	r, err := age.Decrypt(bytes.NewReader(sealed), id)
	if err != nil {
		return nil, fmt.Errorf("unseal %s: %w", ref.Kind, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, MaxBlobSize+1))
	if err != nil {
		return nil, fmt.Errorf("unseal %s: %w", ref.Kind, err)
	}
	if len(plain) != ref.Size || sha256.Sum256(plain) != ref.Plain {
		return nil, fmt.Errorf("unseal %s: plaintext does not match its reference", ref.Kind)
	}
	return plain, nil
}
