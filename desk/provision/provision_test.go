package provision

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/officer"
	"enrolldesk/desk/seal"
	"enrolldesk/desk/store"
	"enrolldesk/desk/store/storetest"
)

var fast = seal.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

func setup(t *testing.T) (*store.DB, *officer.Registry, *audit.Log) {
	t.Helper()
	db := storetest.Open(t)
	log := audit.New(db, nil)
	p := officer.DefaultPolicy
	p.KDF = fast
	return db, officer.NewRegistry(db, log, p, nil), log
}

var sup = officer.New{ID: "sup1", Name: "Nguyễn Văn An", Role: officer.RoleSupervisor, PIN: "314159"}

func TestProvisionThenUnlock(t *testing.T) {
	ctx := context.Background()
	db, reg, log := setup(t)
	if _, err := Load(ctx, db); !errors.Is(err, ErrNotProvisioned) {
		t.Fatalf("Load on a new store = %v, want ErrNotProvisioned", err)
	}
	d, err := Provision(ctx, db, reg, log, "correct horse battery", sup, Options{KDF: fast})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := Unlock(ctx, db, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if keys.ID != d.ID || len(keys.DataKey) != 32 {
		t.Fatalf("unlocked %+v for desk %s", keys.Desk, d.ID)
	}
	sig := ed25519.Sign(keys.SigningKey, []byte("record"))
	if !ed25519.Verify(d.PublicKey, []byte("record"), sig) {
		t.Fatal("unlocked key does not sign for the desk's public key")
	}
	if _, err := reg.Authenticate(ctx, "sup1", "314159"); err != nil {
		t.Fatalf("first supervisor cannot log in: %v", err)
	}
	if _, err := log.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := Provision(ctx, db, reg, log, "another passphrase", sup, Options{KDF: fast}); !errors.Is(err, ErrProvisioned) {
		t.Fatalf("second provisioning = %v, want ErrProvisioned", err)
	}
}

func TestDeskKeyCannotBeReadWithoutThePassphrase(t *testing.T) {
	ctx := context.Background()
	db, reg, log := setup(t)
	if _, err := Provision(ctx, db, reg, log, "correct horse battery", sup, Options{KDF: fast}); err != nil {
		t.Fatal(err)
	}
	if _, err := Unlock(ctx, db, "correct horse batterz"); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	// Nothing in the file is the key in the clear.
	var sealed, pub []byte
	if err := db.QueryRow(`SELECT sealed_key, public_key FROM desk`).Scan(&sealed, &pub); err != nil {
		t.Fatal(err)
	}
	keys, _ := Unlock(ctx, db, "correct horse battery")
	if containsBytes(sealed, keys.SigningKey.Seed()) {
		t.Fatal("sealed blob holds the seed in the clear")
	}
}

func TestSwappedSealedKeyIsRefused(t *testing.T) {
	ctx := context.Background()
	db, reg, log := setup(t)
	if _, err := Provision(ctx, db, reg, log, "correct horse battery", sup, Options{KDF: fast}); err != nil {
		t.Fatal(err)
	}
	// Replace the public key with another desk's: Unlock must notice the mismatch.
	other, _, _ := ed25519.GenerateKey(nil)
	if _, err := db.Exec(`UPDATE desk SET public_key = ?`, []byte(other)); err != nil {
		t.Fatal(err)
	}
	if _, err := Unlock(ctx, db, "correct horse battery"); err == nil {
		t.Fatal("mismatched public key accepted")
	}
}

func TestProvisionRefusesWeakInput(t *testing.T) {
	ctx := context.Background()
	db, reg, log := setup(t)
	if _, err := Provision(ctx, db, reg, log, "short", sup, Options{KDF: fast}); err == nil {
		t.Error("short passphrase accepted")
	}
	o := sup
	o.Role = officer.RoleOfficer
	if _, err := Provision(ctx, db, reg, log, "correct horse battery", o, Options{KDF: fast}); err == nil {
		t.Error("first account as plain officer accepted")
	}
	o = sup
	o.PIN = "123456"
	if _, err := Provision(ctx, db, reg, log, "correct horse battery", o, Options{KDF: fast}); err == nil {
		t.Error("sequential PIN accepted")
	}
	if _, err := Load(ctx, db); !errors.Is(err, ErrNotProvisioned) {
		t.Fatalf("a refused provisioning left a desk behind: %v", err)
	}
}

func containsBytes(haystack, needle []byte) bool {
	for i := 0; i+len(needle) <= len(haystack); i++ {
		if string(haystack[i:i+len(needle)]) == string(needle) {
			return true
		}
	}
	return false
}
