package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"enrolldesk/desk/export"
	"enrolldesk/desk/opstest"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/record"
	"enrolldesk/sync/registry"
)

// deskAndRegistry is a real desk store (opstest) registered with a registry data directory (its
// identity file and SQLite store), and the desk's exporter aimed at that registry.
type deskAndRegistry struct {
	*opstest.Fixture
	out   *outbox.Outbox
	exp   *export.Exporter
	dir   string // registry data directory
	id    *registry.Identity
	drive string
}

func newDeskAndRegistry(t *testing.T) *deskAndRegistry { return newDeskAndRegistryB(t) }

func newDeskAndRegistryB(t testing.TB) *deskAndRegistry {
	t.Helper()
	ctx := context.Background()
	f := opstest.New(t)
	dir := t.TempDir()
	id, err := registry.LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := registry.OpenSQLite(ctx, filepath.Join(dir, "registry.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RegisterDesk(ctx, registry.Desk{ID: f.Desk.ID, PublicKey: f.Desk.PublicKey}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out, err := outbox.New(f.DB, outbox.Config{DeskID: f.Desk.ID, DeskKey: f.Keys.SigningKey, DataKey: f.Keys.DataKey,
		Registry: id.Seal.Recipient(), Now: f.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	drive := filepath.Join(t.TempDir(), "usb")
	if err := os.Mkdir(drive, 0o755); err != nil {
		t.Fatal(err)
	}
	return &deskAndRegistry{Fixture: f, out: out, dir: dir, id: id, drive: drive,
		exp: &export.Exporter{Outbox: out, Audit: f.Audit, DeskID: f.Desk.ID, DeskKey: f.Keys.SigningKey,
			Registry: id.Seal.Recipient(), RegistryKey: id.SigningKey.Public().(ed25519.PublicKey), Now: f.Clock.Now}}
}

func (d *deskAndRegistry) release(t testing.TB, n int) {
	t.Helper()
	key, err := d.Officers.UnlockSigningKey(context.Background(), opstest.Officer, opstest.OfficerPIN)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		c := record.Content{OfficerID: opstest.Officer, OfficerKey: key.Public().(ed25519.PublicKey),
			CitizenID: fmt.Sprintf("0792040%05d", i), DG1: []byte{byte(i)}, Form: record.Form{Mobile: "0987654321"},
			Chip:    record.ChipVerdict{Access: "PACE", PA: record.Pass, AA: record.Absent, CA: record.Pass},
			Face:    record.FaceResult{Decision: "match", Liveness: record.Pass},
			Dedup:   record.Dedup{Decision: "unique"},
			Consent: record.Consent{Given: true, Version: "v1", At: int64(i)}}
		blobs := []record.Blob{{Kind: record.KindPortrait, Format: "image/jpeg", Data: []byte(fmt.Sprintf("portrait %d", i))}}
		if _, err := d.out.Release(context.Background(), c, blobs, key); err != nil {
			t.Fatal(err)
		}
	}
}

// registryHead opens the registry's SQLite file afresh (as another process would) and reads the
// desk's head and record count.
func (d *deskAndRegistry) registryHead(t *testing.T) (registry.Head, int) {
	t.Helper()
	ctx := context.Background()
	st, err := registry.OpenSQLite(ctx, filepath.Join(d.dir, "registry.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := st.Head(ctx, d.Desk.ID)
	if err != nil {
		t.Fatal(err)
	}
	leaves, err := st.LogLeaves(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return h, len(leaves)
}

func importBundles(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := runImportBundle(context.Background(), args, &out)
	return out.String(), err
}

func TestImportBundleOfflineAckReplayTamper(t *testing.T) {
	ctx := context.Background()
	d := newDeskAndRegistry(t)
	d.release(t, 3)
	res, err := d.exp.Export(ctx, opstest.Officer, d.drive)
	if err != nil || len(res.Files) != 1 || res.Records != 3 {
		t.Fatalf("export %+v %v", res, err)
	}
	bundle := res.Files[0]

	out, err := importBundles(t, "-data", d.dir, bundle)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if !strings.Contains(out, "3 new records") {
		t.Fatalf("output %q", out)
	}
	head, leaves := d.registryHead(t)
	if head.Seq != 3 || leaves != 3 {
		t.Fatalf("registry head %d, %d log leaves", head.Seq, leaves)
	}
	receipt := filepath.Join(d.drive, export.ReceiptName(filepath.Base(bundle)))

	// The receipt brought back acknowledges the records at the desk.
	info, err := d.exp.ApplyReceiptFile(ctx, opstest.Officer, receipt)
	if err != nil || info.Seq != 3 || info.Stored != 3 {
		t.Fatalf("apply receipt %+v %v", info, err)
	}
	if c, err := d.out.Counts(ctx); err != nil || c.Acked != 3 {
		t.Fatalf("desk counts %+v %v", c, err)
	}

	// A replayed bundle changes nothing: no new record, no new log leaf, a receipt for the same head.
	out, err = importBundles(t, "-data", d.dir, bundle)
	if err != nil || !strings.Contains(out, "0 new records") {
		t.Fatalf("replay: %v %q", err, out)
	}
	if h2, l2 := d.registryHead(t); h2 != head || l2 != leaves {
		t.Fatalf("replay moved the registry: %d/%d -> %d/%d", head.Seq, leaves, h2.Seq, l2)
	}
	if info, err := d.exp.ApplyReceiptFile(ctx, opstest.Officer, receipt); err != nil || !info.Superseded {
		t.Fatalf("replay receipt %+v %v", info, err)
	}

	// A tampered bundle (one ciphertext byte flipped) is refused with the reason, and stores nothing.
	d.release(t, 1)
	res, err = d.exp.Export(ctx, opstest.Officer, d.drive)
	if err != nil || res.From != 4 {
		t.Fatalf("second export %+v %v", res, err)
	}
	b, err := os.ReadFile(res.Files[0])
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	bad := filepath.Join(d.drive, "tampered"+export.Ext)
	if err := os.WriteFile(bad, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = importBundles(t, "-data", d.dir, bad)
	if err == nil || !strings.Contains(out, "refused") || !strings.Contains(err.Error(), "invalid bundle") {
		t.Fatalf("tampered bundle: %v %q", err, out)
	}
	if _, err := os.Stat(filepath.Join(d.drive, export.ReceiptName("tampered"+export.Ext))); !os.IsNotExist(err) {
		t.Fatalf("a receipt was written for a refused bundle: %v", err)
	}
	if h2, _ := d.registryHead(t); h2.Seq != 3 {
		t.Fatalf("tampered bundle stored records: head %d", h2.Seq)
	}
	// The genuine one still imports.
	if out, err := importBundles(t, "-data", d.dir, res.Files[0]); err != nil || !strings.Contains(out, "1 new records") {
		t.Fatalf("genuine after tampered: %v %q", err, out)
	}
}

func TestImportBundleThroughRunningService(t *testing.T) {
	ctx := context.Background()
	d := newDeskAndRegistry(t)
	svc, err := registry.Start(ctx, registry.Config{Dir: d.dir, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	d.release(t, 2)
	d.exp.MaxRecords = 1
	res, err := d.exp.Export(ctx, opstest.Officer, d.drive)
	if err != nil || len(res.Files) != 2 {
		t.Fatalf("export %+v %v", res, err)
	}
	// Imported out of order: the second bundle is a gap and refused with the registry's reason;
	// then both in order.
	out, err := importBundles(t, "-data", d.dir, "-url", svc.URL, res.Files[1])
	if err == nil || !strings.Contains(out, "gap") {
		t.Fatalf("out-of-order bundle: %v %q", err, out)
	}
	out, err = importBundles(t, "-data", d.dir, "-url", svc.URL, res.Files[0], res.Files[1])
	if err != nil || strings.Count(out, "1 new records") != 2 {
		t.Fatalf("import: %v %q", err, out)
	}
	// The running service keeps serving: its log knows the imported leaves (a head query's
	// receipt carries a checkpoint of size 2).
	h, err := svc.Store.Head(ctx, d.Desk.ID)
	if err != nil || h.Seq != 2 {
		t.Fatalf("head %+v %v", h, err)
	}
	info, err := d.exp.ApplyReceiptFile(ctx, opstest.Officer, filepath.Join(d.drive, export.ReceiptName(filepath.Base(res.Files[1]))))
	if err != nil || info.Seq != 2 {
		t.Fatalf("apply receipt %+v %v", info, err)
	}
	// A bundle from a desk the registry does not know is refused.
	other := newDeskAndRegistry(t)
	other.release(t, 1)
	other.exp.Registry = d.id.Seal.Recipient()
	ores, err := other.exp.Export(ctx, opstest.Officer, other.drive)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := importBundles(t, "-data", d.dir, "-url", svc.URL, ores.Files[0]); err == nil || !strings.Contains(out, "unknown desk") {
		t.Fatalf("unknown desk: %v %q", err, out)
	}
}

// BenchmarkImportBundle1000: one op imports a bundle of 1,000 records (portrait blobs sealed to
// the registry) into a fresh registry SQLite store in process: desk signature, decryption, every
// record signature and the chain verified, stored, receipt written.
func BenchmarkImportBundle1000(b *testing.B) {
	ctx := context.Background()
	d := newDeskAndRegistryB(b)
	d.release(b, 1000)
	res, err := d.exp.Export(ctx, opstest.Officer, d.drive)
	if err != nil || len(res.Files) != 1 {
		b.Fatalf("export %+v %v", res, err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		if err := os.Link(filepath.Join(d.dir, "registry-identity.pem"), filepath.Join(dir, "registry-identity.pem")); err != nil {
			b.Fatal(err)
		}
		st, err := registry.OpenSQLite(ctx, filepath.Join(dir, "registry.sqlite"))
		if err != nil {
			b.Fatal(err)
		}
		if err := st.RegisterDesk(ctx, registry.Desk{ID: d.Desk.ID, PublicKey: d.Desk.PublicKey}); err != nil {
			b.Fatal(err)
		}
		st.Close()
		b.StartTimer()
		var out bytes.Buffer
		if err := runImportBundle(ctx, []string{"-data", dir, res.Files[0]}, &out); err != nil || !strings.Contains(out.String(), "1000 new records") {
			b.Fatalf("%v %s", err, out.String())
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "records/s")
}
