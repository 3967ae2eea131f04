package freeze

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"filippo.io/age"

	"enrolldesk/desk/opstest"
	"enrolldesk/desk/review"
	"enrolldesk/desk/settings"
	"enrolldesk/reader/pa"
	"enrolldesk/reader/vcard"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/record"
)

type env struct {
	*opstest.Fixture
	g        *Guard
	st       *settings.Store
	out      *outbox.Outbox
	q        *review.Queue
	pki      *vcard.PKI
	trustDir string
	regKey   ed25519.PrivateKey
	serial   uint64
}

func newEnv(t *testing.T, build Build) *env {
	t.Helper()
	ctx := context.Background()
	f := opstest.New(t)
	e := &env{Fixture: f, st: settings.New(f.DB, f.Audit, f.Clock.Now), trustDir: filepath.Join(t.TempDir(), "trust")}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	e.regKey = priv
	if err := e.st.PinRegistryKey(ctx, "system", pub); err != nil {
		t.Fatal(err)
	}
	var err error
	if e.pki, err = vcard.NewPKI(vcard.PKIOptions{Now: f.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := e.pki.WriteTrustStore(e.trustDir); err != nil {
		t.Fatal(err)
	}
	e.writeCRL(t, f.Clock.Now().Add(-time.Hour), f.Clock.Now().AddDate(0, 0, 30))
	id, _ := age.GenerateX25519Identity()
	if e.out, err = outbox.New(f.DB, outbox.Config{DeskID: f.Desk.ID, DeskKey: f.Keys.SigningKey, DataKey: f.Keys.DataKey,
		Registry: id.Recipient(), Now: f.Clock.Now}); err != nil {
		t.Fatal(err)
	}
	if e.q, err = review.New(review.Config{DB: f.DB, Audit: f.Audit, Officers: f.Officers, Policies: e.st, Outbox: e.out,
		DataKey: f.Keys.DataKey, Now: f.Clock.Now}); err != nil {
		t.Fatal(err)
	}
	e.g, err = New(Config{DB: f.DB, Audit: f.Audit, Policies: e.st, Build: build, Now: f.Clock.Now,
		TrustStore: func(context.Context) (*pa.TrustStore, error) { return pa.LoadTrustStore(e.trustDir) }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// writeCRL replaces the trust store's CRL with one issued at thisUpdate.
func (e *env) writeCRL(t *testing.T, thisUpdate, nextUpdate time.Time) {
	t.Helper()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(thisUpdate.Unix()),
		ThisUpdate: thisUpdate, NextUpdate: nextUpdate}, e.pki.CSCA, e.pki.CSCAKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.trustDir, "csca.crl"), der, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (e *env) freeze(t *testing.T, mut func(*settings.Freeze)) {
	t.Helper()
	s := settings.Defaults()
	mut(&s.Freeze)
	e.serial++
	doc, err := settings.Sign(settings.Document{DeskID: e.Desk.ID, Serial: e.serial, Settings: s}, e.regKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.st.ApplySigned(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
}

// codes lists the reason codes; every reason must say what is wrong and what lifts it.
func codes(s State) []string {
	out := []string{}
	for _, r := range s.Reasons {
		c := r.Code
		if r.Unfreeze == "" || r.What == "" {
			c += "(unexplained)"
		}
		out = append(out, c)
	}
	return out
}

func (e *env) state(t *testing.T) State {
	t.Helper()
	s, err := e.g.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Frozen != (len(s.Reasons) > 0) {
		t.Fatalf("frozen %v with reasons %v", s.Frozen, s.Reasons)
	}
	return s
}

func (e *env) submit(t *testing.T, n int) []string {
	t.Helper()
	key, err := e.Officers.UnlockSigningKey(context.Background(), opstest.Officer, opstest.OfficerPIN)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < n; i++ {
		c := record.Content{OfficerID: opstest.Officer, CitizenID: fmt.Sprintf("001203000%03d", i), DG1: []byte{byte(i)},
			Consent: record.Consent{Given: true, Version: "v1", At: int64(i)}}
		o, err := e.q.Submit(context.Background(), review.Submission{Content: c, OfficerKey: key})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ItemID)
	}
	return ids
}

func TestPendingLimitFreezesAndReviewUnfreezes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Build{Version: "1.2.0", Date: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)})
	e.freeze(t, func(f *settings.Freeze) { f.MaxPending = 2 })
	if s := e.state(t); s.Frozen {
		t.Fatalf("fresh desk frozen: %+v", s)
	}
	ids := e.submit(t, 3)
	s := e.state(t)
	if !reflect.DeepEqual(codes(s), []string{CodePending}) || s.AwaitingReview != 3 || s.Reasons[0].Value != "3" || s.Reasons[0].Limit != "2" {
		t.Fatalf("state %+v", s)
	}
	head := e.Head(t)
	var fe *FrozenError
	if err := e.g.Allow(ctx, opstest.Officer); !errors.As(err, &fe) || fe.State.Reasons[0].Code != CodePending {
		t.Fatalf("allow: %v", err)
	}
	if a := e.Actions(t, head); !reflect.DeepEqual(a, []string{"freeze.refuse"}) {
		t.Fatalf("audit %v", a)
	}
	// Approved records move to the outbox: still awaiting sync, so still frozen...
	if _, err := e.q.Approve(ctx, opstest.Supervisor, opstest.SupervisorPIN, ids); err != nil {
		t.Fatal(err)
	}
	s = e.state(t)
	if !s.Frozen || s.AwaitingReview != 0 || s.AwaitingSync != 3 {
		t.Fatalf("after review: %+v", s)
	}
	// ...until the registry acknowledges them.
	ps, err := e.out.Next(ctx, 0, 10, 0)
	if err != nil || len(ps) != 3 {
		t.Fatal(err)
	}
	if err := e.out.Ack(ctx, 3, ps[2].Hash, []byte("receipt"), nil); err != nil {
		t.Fatal(err)
	}
	if s := e.state(t); s.Frozen || s.AwaitingSync != 0 || s.LastSynced.IsZero() {
		t.Fatalf("after sync: %+v", s)
	}
	if err := e.g.Allow(ctx, opstest.Officer); err != nil {
		t.Fatal(err)
	}
}

func TestSyncOverdue(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Build{Version: "1.2.0"})
	e.freeze(t, func(f *settings.Freeze) { f.MaxUnsyncedDays = 3 })
	e.Clock.Add(3*24*time.Hour - time.Minute)
	e.writeCRL(t, e.Clock.Now().Add(-time.Hour), e.Clock.Now().AddDate(0, 0, 30))
	if s := e.state(t); s.Frozen {
		t.Fatalf("frozen before the limit: %+v", s)
	}
	e.Clock.Add(2 * time.Minute) // never synced: counted from provisioning
	if s := e.state(t); !reflect.DeepEqual(codes(s), []string{CodeSyncOverdue}) {
		t.Fatalf("state %+v", s)
	}
	if err := e.out.Ack(ctx, 0, record.Hash{}, []byte("receipt"), nil); err != nil { // registry: nothing stored, nothing to send
		t.Fatal(err)
	}
	if s := e.state(t); s.Frozen {
		t.Fatalf("frozen after a sync: %+v", s)
	}
	e.Clock.Add(4 * 24 * time.Hour)
	e.writeCRL(t, e.Clock.Now().Add(-time.Hour), e.Clock.Now().AddDate(0, 0, 30))
	if s := e.state(t); !reflect.DeepEqual(codes(s), []string{CodeSyncOverdue}) {
		t.Fatalf("state %+v", s)
	}
}

func TestTrustStoreAge(t *testing.T) {
	e := newEnv(t, Build{Version: "1.2.0"})
	e.freeze(t, func(f *settings.Freeze) { f.MaxTrustStoreDays = 30; f.MaxUnsyncedDays = 0 })
	now := e.Clock.Now()
	e.writeCRL(t, now.AddDate(0, 0, -29), now.AddDate(0, 0, 1))
	if s := e.state(t); s.Frozen {
		t.Fatalf("frozen: %+v", s)
	}
	e.writeCRL(t, now.AddDate(0, 0, -31), now.AddDate(0, 0, -1))
	if s := e.state(t); !reflect.DeepEqual(codes(s), []string{CodeTrustOld, CodeCRLExpired}) {
		t.Fatalf("state %+v", s)
	}
	if err := os.Remove(filepath.Join(e.trustDir, "csca.crl")); err != nil {
		t.Fatal(err)
	}
	if s := e.state(t); !reflect.DeepEqual(codes(s), []string{CodeTrustMissing}) {
		t.Fatalf("state %+v", s)
	}
	if err := os.RemoveAll(e.trustDir); err != nil {
		t.Fatal(err)
	}
	if s := e.state(t); !reflect.DeepEqual(codes(s), []string{CodeTrustMissing}) || s.Reasons[0].What != "the CSCA trust store cannot be read" {
		t.Fatalf("state %+v", s)
	}
}

func TestSoftwareAgeAndMinimum(t *testing.T) {
	e := newEnv(t, Build{Version: "1.2.0", Date: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	e.freeze(t, func(f *settings.Freeze) { f.MaxSoftwareDays = 365; f.MinSoftware = "1.3" })
	s := e.state(t)
	if !reflect.DeepEqual(codes(s), []string{CodeSoftwareOld, CodeSoftwareBelow}) || s.Reasons[1].Limit != "1.3" {
		t.Fatalf("state %+v", s)
	}
	e.freeze(t, func(f *settings.Freeze) { f.MaxSoftwareDays = 0; f.MinSoftware = "1.2.0" })
	if s := e.state(t); s.Frozen {
		t.Fatalf("state %+v", s)
	}
}
