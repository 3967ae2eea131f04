// Package freeze decides whether the desk may start new enrollments, from the limits in the
// registry's signed desk settings (settings.Freeze): too many records waiting for approval or for
// sync, too long since the last complete sync, a trust store (CSCA certificates and CRLs) or a
// software build older than allowed. State says whether the desk is frozen and, for each reason,
// what unfreezes it, so the screen can tell the officer exactly what to do; Allow is the check the
// enrollment workflow calls before it starts a session (refusals are audited).
//
// Records already captured are never lost by a freeze: review, sync and USB export keep working,
// and they are what lifts most freezes.
package freeze

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/provision"
	"enrolldesk/desk/review"
	"enrolldesk/desk/settings"
	"enrolldesk/desk/store"
	"enrolldesk/reader/pa"
	"enrolldesk/sync/outbox"
)

// Reason codes (stable, for the screen's translations).
const (
	CodePending       = "pending-limit" // too many records awaiting approval or sync
	CodeSyncOverdue   = "sync-overdue"  // no complete sync for too long
	CodeTrustMissing  = "trust-store-missing"
	CodeTrustOld      = "trust-store-old"    // the CRLs were issued too long ago
	CodeCRLExpired    = "crl-expired"        // a CRL is past its nextUpdate (RFC 5280 §5.1.2.5)
	CodeSoftwareOld   = "software-old"       // the build is older than allowed
	CodeSoftwareBelow = "software-below-min" // the version is below the registry's minimum
)

// Reason is one cause of a freeze.
type Reason struct {
	Code string `json:"code"`
	// What is the cause, Unfreeze what lifts it, both in English for logs; the screen translates
	// by Code and shows Value and Limit.
	What     string `json:"what"`
	Unfreeze string `json:"unfreeze"`
	Value    string `json:"value"`
	Limit    string `json:"limit"`
}

// State is the desk's freeze state.
type State struct {
	Frozen    bool      `json:"frozen"`
	Reasons   []Reason  `json:"reasons"`
	CheckedAt time.Time `json:"checked_at"`
	// Figures the screen shows even when not frozen.
	AwaitingReview int       `json:"awaiting_review"`
	AwaitingSync   int       `json:"awaiting_sync"`
	LastSynced     time.Time `json:"last_synced"` // zero: never
}

// Build identifies the running software.
type Build struct {
	Version string
	Date    time.Time // when it was built (release date)
}

// Policies gives the current settings (a *settings.Store).
type Policies interface {
	Load(ctx context.Context) (settings.Settings, error)
}

// Guard evaluates the freeze rules on a desk store.
type Guard struct {
	db       *store.DB
	audit    *audit.Log
	policies Policies
	trust    func(ctx context.Context) (*pa.TrustStore, error)
	build    Build
	now      func() time.Time
}

// Config wires a Guard.
type Config struct {
	DB       *store.DB
	Audit    *audit.Log
	Policies Policies
	// TrustStore returns the trust store passive authentication uses now (e.g. a closure over
	// pa.LoadTrustStore of the desk's trust directory).
	TrustStore func(ctx context.Context) (*pa.TrustStore, error)
	Build      Build
	Now        func() time.Time
}

// New returns a Guard.
func New(c Config) (*Guard, error) {
	if c.DB == nil || c.Audit == nil || c.Policies == nil || c.TrustStore == nil {
		return nil, errors.New("freeze: store, audit log, policies and trust store are required")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Guard{db: c.DB, audit: c.Audit, policies: c.Policies, trust: c.TrustStore, build: c.Build, now: c.Now}, nil
}

const day = 24 * time.Hour

func days(d time.Duration) string { return fmt.Sprintf("%.1f days", d.Hours()/24) }

// State evaluates every rule.
func (g *Guard) State(ctx context.Context) (State, error) {
	st, err := g.policies.Load(ctx)
	if err != nil {
		return State{}, fmt.Errorf("freeze state: %w", err)
	}
	f := st.Freeze
	now := g.now().UTC()
	s := State{CheckedAt: now, Reasons: []Reason{}}
	add := func(r Reason) { s.Reasons = append(s.Reasons, r) }

	if s.AwaitingReview, err = review.PendingCount(ctx, g.db); err != nil {
		return State{}, fmt.Errorf("freeze state: %w", err)
	}
	counts, err := outbox.CountStates(ctx, g.db.DB)
	if err != nil {
		return State{}, fmt.Errorf("freeze state: %w", err)
	}
	s.AwaitingSync = counts.Queued + counts.Sent
	if f.MaxPending > 0 && s.AwaitingReview+s.AwaitingSync > f.MaxPending {
		add(Reason{Code: CodePending,
			What:     fmt.Sprintf("%d records await approval (%d) or sync (%d)", s.AwaitingReview+s.AwaitingSync, s.AwaitingReview, s.AwaitingSync),
			Unfreeze: "a supervisor reviews the pending records and the desk syncs with the registry (or exports to USB and brings the receipt back)",
			Value:    fmt.Sprint(s.AwaitingReview + s.AwaitingSync), Limit: fmt.Sprint(f.MaxPending)})
	}

	sync, err := outbox.ReadSyncState(ctx, g.db.DB)
	if err != nil {
		return State{}, fmt.Errorf("freeze state: %w", err)
	}
	s.LastSynced = sync.LastSynced
	if f.MaxUnsyncedDays > 0 {
		ref := sync.LastSynced
		if ref.IsZero() {
			// Never synced: the clock starts at provisioning.
			d, err := provision.Load(ctx, g.db)
			if err != nil {
				return State{}, fmt.Errorf("freeze state: %w", err)
			}
			ref = d.CreatedAt
		}
		if age := now.Sub(ref); age > time.Duration(f.MaxUnsyncedDays)*day {
			add(Reason{Code: CodeSyncOverdue,
				What:     "the desk has not completed a sync with the registry for " + days(age),
				Unfreeze: "connect to the network and sync, or export to USB, import at the registry and bring the receipt back",
				Value:    days(age), Limit: fmt.Sprintf("%d days", f.MaxUnsyncedDays)})
		}
	}

	if f.MaxTrustStoreDays > 0 {
		for _, r := range g.trustReasons(ctx, now, time.Duration(f.MaxTrustStoreDays)*day) {
			add(r)
		}
	}

	if f.MaxSoftwareDays > 0 && !g.build.Date.IsZero() {
		if age := now.Sub(g.build.Date); age > time.Duration(f.MaxSoftwareDays)*day {
			add(Reason{Code: CodeSoftwareOld, What: fmt.Sprintf("this software (%s) was built %s ago", g.build.Version, days(age)),
				Unfreeze: "install the current release of the desk software",
				Value:    days(age), Limit: fmt.Sprintf("%d days", f.MaxSoftwareDays)})
		}
	}
	if f.MinSoftware != "" {
		min, err := settings.ParseVersion(f.MinSoftware)
		if err != nil {
			return State{}, fmt.Errorf("freeze state: %w", err)
		}
		cur, err := settings.ParseVersion(g.build.Version)
		if err != nil || cur.Less(min) {
			add(Reason{Code: CodeSoftwareBelow, What: fmt.Sprintf("this software is version %q, the registry requires %s or later", g.build.Version, f.MinSoftware),
				Unfreeze: "install version " + f.MinSoftware + " or later of the desk software",
				Value:    g.build.Version, Limit: f.MinSoftware})
		}
	}
	s.Frozen = len(s.Reasons) > 0
	return s, nil
}

func (g *Guard) trustReasons(ctx context.Context, now time.Time, maxAge time.Duration) []Reason {
	const fix = "install the current CSCA master list and CRLs from the registry (they come with sync, or on the USB receipt)"
	ts, err := g.trust(ctx)
	if err != nil || ts == nil || len(ts.CSCAs) == 0 {
		what := "no CSCA trust store is installed"
		if err != nil {
			what = "the CSCA trust store cannot be read"
		}
		return []Reason{{Code: CodeTrustMissing, What: what, Unfreeze: fix, Value: "none", Limit: fmt.Sprintf("%s old", days(maxAge))}}
	}
	if len(ts.CRLs) == 0 {
		return []Reason{{Code: CodeTrustMissing, What: "the trust store holds no CRL, so revoked document signers cannot be detected",
			Unfreeze: fix, Value: "no CRL", Limit: fmt.Sprintf("%s old", days(maxAge))}}
	}
	var out []Reason
	// The store is as old as its stalest CRL: each CSCA's CRL must be current (ICAO 9303-12 §7.1.4).
	var oldest *x509.RevocationList
	var expired []string
	for _, crl := range ts.CRLs {
		if oldest == nil || crl.ThisUpdate.Before(oldest.ThisUpdate) {
			oldest = crl
		}
		if !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate) {
			expired = append(expired, crl.Issuer.String())
		}
	}
	if age := now.Sub(oldest.ThisUpdate); age > maxAge {
		out = append(out, Reason{Code: CodeTrustOld, What: "the oldest CRL in the trust store was issued " + days(age) + " ago",
			Unfreeze: fix, Value: days(age), Limit: days(maxAge)})
	}
	if len(expired) > 0 {
		out = append(out, Reason{Code: CodeCRLExpired, What: "CRLs past their next update: " + strings.Join(expired, "; "),
			Unfreeze: fix, Value: fmt.Sprint(len(expired)), Limit: "0"})
	}
	return out
}

// FrozenError is returned by Allow while the desk is frozen.
type FrozenError struct{ State State }

func (e *FrozenError) Error() string {
	codes := make([]string, len(e.State.Reasons))
	for i, r := range e.State.Reasons {
		codes[i] = r.What
	}
	return "new enrollments are stopped: " + strings.Join(codes, "; ")
}

// Allow returns nil when officerID may start a new enrollment, else a *FrozenError; a refusal is
// audited ("freeze.refuse", detail the reason codes).
func (g *Guard) Allow(ctx context.Context, officerID string) error {
	s, err := g.State(ctx)
	if err != nil {
		return err
	}
	if !s.Frozen {
		return nil
	}
	codes := make([]string, len(s.Reasons))
	for i, r := range s.Reasons {
		codes[i] = r.Code
	}
	if _, err := g.audit.Append(ctx, audit.Entry{Actor: officerID, Action: "freeze.refuse", Detail: strings.Join(codes, ",")}); err != nil {
		return err
	}
	return &FrozenError{State: s}
}
