package reader

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"sync"
	"testing"
)

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

func testRSAKey(tb testing.TB) *rsa.PrivateKey {
	rsaOnce.Do(func() { rsaKey, _ = rsa.GenerateKey(rand.Reader, 1024) })
	if rsaKey == nil {
		tb.Fatal("no RSA key")
	}
	return rsaKey
}

// FuzzVerify9796 feeds arbitrary signatures to the ISO/IEC 9796-2 verifier: no panic, no pass.
func FuzzVerify9796(f *testing.F) {
	k := testRSAKey(f)
	f.Add(make([]byte, 128))
	f.Add(k.N.Bytes())
	f.Fuzz(func(t *testing.T, sig []byte) {
		err := verify9796(&k.PublicKey, []byte("12345678"), sig)
		if err == nil {
			t.Fatal("arbitrary signature accepted")
		}
		if !errors.Is(err, errAAFailed) {
			t.Fatalf("error not marked as an AA failure: %v", err)
		}
	})
}
