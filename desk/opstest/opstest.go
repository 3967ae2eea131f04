// Package opstest provisions a real desk store for the desk-operations tests: a fresh SQLite file,
// a desk identity and keys, one supervisor and two officers, and a clock the test moves.
package opstest

import (
	"context"
	"sync"
	"testing"
	"time"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/officer"
	"enrolldesk/desk/provision"
	"enrolldesk/desk/seal"
	"enrolldesk/desk/store"
	"enrolldesk/desk/store/storetest"
)

// Accounts created by New. PINs satisfy officer.CheckPIN.
const (
	Supervisor    = "sup1"
	SupervisorPIN = "482916"
	Officer       = "off1"
	OfficerPIN    = "715382"
	Officer2      = "off2"
	Officer2PIN   = "639174"
	Passphrase    = "correct horse battery staple"
)

// FastKDF keeps argon2id cheap in tests (the production cost is seal.Default).
var FastKDF = seal.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

// Clock is a settable test clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Fixture is a provisioned desk.
type Fixture struct {
	DB       *store.DB
	Audit    *audit.Log
	Officers *officer.Registry
	Desk     provision.Desk
	Keys     *provision.Keys
	Clock    *Clock
}

// New provisions a desk in a fresh store under tb.TempDir(), at 2026-03-02 08:00 Asia/Ho_Chi_Minh.
func New(tb testing.TB) *Fixture {
	tb.Helper()
	ctx := context.Background()
	db := storetest.Open(tb)
	clock := &Clock{t: time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)}
	log := audit.New(db, clock.Now)
	p := officer.DefaultPolicy
	p.KDF = FastKDF
	reg := officer.NewRegistry(db, log, p, clock.Now)
	d, err := provision.Provision(ctx, db, reg, log, Passphrase,
		officer.New{ID: Supervisor, Name: "Supervisor One", Role: officer.RoleSupervisor, PIN: SupervisorPIN},
		provision.Options{KDF: FastKDF, Now: clock.Now})
	if err != nil {
		tb.Fatalf("provision: %v", err)
	}
	for _, o := range []officer.New{
		{ID: Officer, Name: "Officer One", Role: officer.RoleOfficer, PIN: OfficerPIN},
		{ID: Officer2, Name: "Officer Two", Role: officer.RoleOfficer, PIN: Officer2PIN},
	} {
		if _, err := reg.Create(ctx, Supervisor, o); err != nil {
			tb.Fatalf("create %s: %v", o.ID, err)
		}
	}
	keys, err := provision.Unlock(ctx, db, Passphrase)
	if err != nil {
		tb.Fatalf("unlock desk: %v", err)
	}
	return &Fixture{DB: db, Audit: log, Officers: reg, Desk: d, Keys: keys, Clock: clock}
}

// Actions returns the audit actions written after seq, in order.
func (f *Fixture) Actions(tb testing.TB, after int64) []string {
	tb.Helper()
	es, err := f.Audit.Since(context.Background(), after, 10000)
	if err != nil {
		tb.Fatalf("audit since: %v", err)
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Action
	}
	return out
}

// Head returns the audit log's newest sequence number.
func (f *Fixture) Head(tb testing.TB) int64 {
	tb.Helper()
	h, err := f.Audit.Verify(context.Background())
	if err != nil {
		tb.Fatalf("audit verify: %v", err)
	}
	return h.Seq
}
