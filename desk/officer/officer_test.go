package officer

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/seal"
	"enrolldesk/desk/store/storetest"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newRegistry(t *testing.T) (*Registry, *audit.Log, *clock) {
	t.Helper()
	db := storetest.Open(t)
	c := &clock{t: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	log := audit.New(db, c.now)
	p := DefaultPolicy
	p.KDF = seal.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}
	return NewRegistry(db, log, p, c.now), log, c
}

func TestWrongPINRefusedThenLocksAfterMaxAttempts(t *testing.T) {
	ctx := context.Background()
	r, log, c := newRegistry(t)
	if _, err := r.Create(ctx, "system", New{ID: "off1", Name: "Trần Thị Bình", Role: RoleOfficer, PIN: "271828"}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < DefaultPolicy.MaxAttempts; i++ {
		if _, err := r.Authenticate(ctx, "off1", "000001"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("attempt %d: %v, want ErrBadCredentials", i, err)
		}
	}
	_, err := r.Authenticate(ctx, "off1", "000001")
	var locked *LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("attempt %d: %v, want LockedError", DefaultPolicy.MaxAttempts, err)
	}
	if want := c.t.Add(DefaultPolicy.LockFor); !locked.Until.Equal(want) {
		t.Fatalf("locked until %v, want %v", locked.Until, want)
	}
	// While locked, even the right PIN is refused.
	if _, err := r.Authenticate(ctx, "off1", "271828"); !errors.As(err, &locked) {
		t.Fatalf("right PIN while locked: %v, want LockedError", err)
	}
	c.t = c.t.Add(DefaultPolicy.LockFor + time.Second)
	o, err := r.Authenticate(ctx, "off1", "271828")
	if err != nil || o.ID != "off1" || o.Role != RoleOfficer {
		t.Fatalf("after the lock expired: %+v, %v", o, err)
	}
	// Every attempt was audited, and the chain holds.
	head, err := log.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head.Seq != int64(1+DefaultPolicy.MaxAttempts+2) {
		t.Fatalf("%d audit entries, want %d", head.Seq, 1+DefaultPolicy.MaxAttempts+2)
	}
}

func TestSuccessResetsFailureCount(t *testing.T) {
	ctx := context.Background()
	r, _, _ := newRegistry(t)
	r.Create(ctx, "system", New{ID: "off1", Name: "A", Role: RoleOfficer, PIN: "271828"})
	for round := 0; round < 3; round++ {
		for i := 1; i < DefaultPolicy.MaxAttempts; i++ {
			r.Authenticate(ctx, "off1", "999990")
		}
		if _, err := r.Authenticate(ctx, "off1", "271828"); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}

func TestUnknownIDLooksLikeWrongPIN(t *testing.T) {
	r, _, _ := newRegistry(t)
	if _, err := r.Authenticate(context.Background(), "ghost", "271828"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestSigningKeyOpensOnlyWithPIN(t *testing.T) {
	ctx := context.Background()
	r, _, _ := newRegistry(t)
	o, err := r.Create(ctx, "system", New{ID: "sup1", Name: "B", Role: RoleSupervisor, PIN: "271828"})
	if err != nil {
		t.Fatal(err)
	}
	key, err := r.UnlockSigningKey(ctx, "sup1", "271828")
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(o.PublicKey, []byte("m"), ed25519.Sign(key, []byte("m"))) {
		t.Fatal("officer key does not match the stored public key")
	}
	if _, err := r.UnlockSigningKey(ctx, "sup1", "271829"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong PIN opened the key: %v", err)
	}
}

func TestCreateValidates(t *testing.T) {
	ctx := context.Background()
	r, _, _ := newRegistry(t)
	for _, n := range []New{
		{ID: "x", Name: "A", Role: RoleOfficer, PIN: "271828"},                     // id too short
		{ID: "off1", Name: "", Role: RoleOfficer, PIN: "271828"},                   // no name
		{ID: "off1", Name: "A", Role: "admin", PIN: "271828"},                      // unknown role
		{ID: "off1", Name: "A", Role: RoleOfficer, PIN: "1234"},                    // short PIN
		{ID: "off1", Name: "A", Role: RoleOfficer, PIN: "111111"},                  // repeated
		{ID: "off1", Name: "A", Role: RoleOfficer, PIN: "987654"},                  // sequential
		{ID: "off1", Name: "A", Role: RoleOfficer, PIN: "27182a"},                  // not digits
		{ID: "off 1", Name: "A", Role: RoleOfficer, PIN: "271828"},                 // space in id
		{ID: strings.Repeat("a", 40), Name: "A", Role: RoleOfficer, PIN: "271828"}, // too long
	} {
		if _, err := r.Create(ctx, "system", n); err == nil {
			t.Errorf("accepted %+v", n)
		}
	}
	if _, err := r.Create(ctx, "system", New{ID: "off1", Name: "A", Role: RoleOfficer, PIN: "271828"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(ctx, "system", New{ID: "off1", Name: "B", Role: RoleOfficer, PIN: "271828"}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate id: %v", err)
	}
}

func TestDisabledAndUnlock(t *testing.T) {
	ctx := context.Background()
	r, _, _ := newRegistry(t)
	r.Create(ctx, "system", New{ID: "off1", Name: "A", Role: RoleOfficer, PIN: "271828"})
	if err := r.SetDisabled(ctx, "sup1", "off1", true); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Authenticate(ctx, "off1", "271828"); !errors.Is(err, ErrDisabled) {
		t.Fatalf("disabled account: %v", err)
	}
	r.SetDisabled(ctx, "sup1", "off1", false)
	for i := 0; i < DefaultPolicy.MaxAttempts; i++ {
		r.Authenticate(ctx, "off1", "999990")
	}
	if err := r.Unlock(ctx, "sup1", "off1"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Authenticate(ctx, "off1", "271828"); err != nil {
		t.Fatalf("after supervisor unlock: %v", err)
	}
	list, err := r.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v", list, err)
	}
}
