package registry

import (
	"crypto/ed25519"
	"crypto/x509"
	"testing"
)

// FuzzCheckCSR: whatever the bytes, checkCSR does not panic, and it accepts only a request that
// parses, verifies and is for the desk's own key and name.
func FuzzCheckCSR(f *testing.F) {
	seed := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	desk := Desk{ID: "desk-fuzz-01", PublicKey: seed.Public().(ed25519.PublicKey)}
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		if ref := checkCSR(b, desk); ref != nil {
			return
		}
		csr, err := x509.ParseCertificateRequest(b)
		if err != nil || csr.CheckSignature() != nil || csr.Subject.CommonName != desk.ID {
			t.Fatalf("accepted a request that is not the desk's: %v", err)
		}
		if pub, ok := csr.PublicKey.(ed25519.PublicKey); !ok || !pub.Equal(desk.PublicKey) {
			t.Fatal("accepted a request for another key")
		}
	})
}
