// Package deskpolicy gives test desks their policy the way the registry does in the field: a
// signed desk-settings document (desk/settings) from a fixed test registry key. It is apart from
// desk/opstest because desk/settings' own tests use opstest.
package deskpolicy

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"time"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/settings"
	"enrolldesk/desk/store"
)

// RegistrySettingsKey is the Ed25519 key test desks pin as their registry's settings key. It is
// derived from a fixed label, so a desk configured twice (a restarted bridge) pins the same key.
// Never a real registry's key.
func RegistrySettingsKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("enrolldesk test registry: desk settings key"))
	return ed25519.NewKeyFromSeed(seed[:])
}

// Configure gives a provisioned test desk its settings the way the registry does in the field:
// it pins RegistrySettingsKey (once), takes the desk's current settings, lets mutate change them
// and applies them as the next signed desk-settings document (settings.ApplySigned: verified,
// serial anti-rollback, audited). The end-to-end desks use it so that their policy (supervisor
// review, operator check, freeze limits) is set explicitly, not by weakening the defaults.
func Configure(ctx context.Context, db *store.DB, log *audit.Log, deskID string, now func() time.Time, mutate func(*settings.Settings)) error {
	if now == nil {
		now = time.Now
	}
	st := settings.New(db, log, now)
	key := RegistrySettingsKey()
	if err := st.PinRegistryKey(ctx, "system", key.Public().(ed25519.PublicKey)); err != nil {
		return fmt.Errorf("configure test desk: %w", err)
	}
	cur, err := st.Load(ctx)
	if err != nil {
		return fmt.Errorf("configure test desk: %w", err)
	}
	mutate(&cur)
	last, err := st.LastApplied(ctx)
	if err != nil {
		return fmt.Errorf("configure test desk: %w", err)
	}
	env, err := settings.Sign(settings.Document{DeskID: deskID, Serial: last.Serial + 1, IssuedAt: now().UnixMilli(), Settings: cur}, key)
	if err != nil {
		return fmt.Errorf("configure test desk: %w", err)
	}
	if _, _, err := st.ApplySigned(ctx, env); err != nil {
		return fmt.Errorf("configure test desk: %w", err)
	}
	return nil
}

// Relaxed is the policy of the end-to-end and wizard test desks: records are released at once
// (no supervisor review, no operator check: the test officers have no enrolled biometrics), an
// exception still goes to the supervisor, and the trust-store age rule is off (the test CSCA
// stores carry no CRLs).
func Relaxed(s *settings.Settings) {
	s.Policy.SupervisorApproval = false
	s.Policy.OperatorCheck = false
	s.Freeze.MaxTrustStoreDays = 0
}
