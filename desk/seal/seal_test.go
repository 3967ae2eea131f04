package seal

import (
	"bytes"
	"errors"
	"testing"
)

// fast keeps unit tests quick; TestDefaultParams exercises the shipped costs once.
var fast = Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

func TestSealOpenRoundTrip(t *testing.T) {
	salt, err := NewSalt()
	if err != nil {
		t.Fatal(err)
	}
	key, err := DeriveKey([]byte("correct horse"), salt, fast)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := Seal(key, []byte("secret seed"), []byte("ctx"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Open(key, sealed, []byte("ctx"))
	if err != nil || !bytes.Equal(got, []byte("secret seed")) {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

func TestOpenRefusesWrongSecretContextOrTampering(t *testing.T) {
	salt, _ := NewSalt()
	key, _ := DeriveKey([]byte("correct horse"), salt, fast)
	wrong, _ := DeriveKey([]byte("correct horsf"), salt, fast)
	sealed, _ := Seal(key, []byte("secret seed"), []byte("ctx"))
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	for name, tc := range map[string]struct {
		key, sealed, ad []byte
	}{
		"wrong secret":  {wrong, sealed, []byte("ctx")},
		"wrong context": {key, sealed, []byte("other")},
		"tampered":      {key, tampered, []byte("ctx")},
		"truncated":     {key, sealed[:10], []byte("ctx")},
	} {
		if _, err := Open(tc.key, tc.sealed, tc.ad); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: Open error = %v, want ErrOpen", name, err)
		}
	}
}

func TestDeriveKeyIsDeterministicAndSaltBound(t *testing.T) {
	s1, _ := NewSalt()
	s2, _ := NewSalt()
	a, _ := DeriveKey([]byte("pin"), s1, fast)
	b, _ := DeriveKey([]byte("pin"), s1, fast)
	c, _ := DeriveKey([]byte("pin"), s2, fast)
	if !Equal(a, b) || Equal(a, c) {
		t.Fatal("same salt must give same key, different salt a different key")
	}
}

func TestValidateRefusesWeakParams(t *testing.T) {
	for _, p := range []Params{{0, 8192, 1}, {1, 1024, 1}, {1, 8192, 0}} {
		if _, err := DeriveKey([]byte("x"), make([]byte, 16), p); err == nil {
			t.Errorf("params %+v accepted", p)
		}
	}
	if _, err := DeriveKey([]byte("x"), make([]byte, 4), fast); err == nil {
		t.Error("short salt accepted")
	}
}

func TestDefaultParams(t *testing.T) {
	if err := Default.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := DeriveKey([]byte("x"), make([]byte, 16), Default); err != nil {
		t.Fatal(err)
	}
}
