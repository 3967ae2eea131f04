package export

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"filippo.io/age"

	"enrolldesk/desk/opstest"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/protocol"
	"enrolldesk/sync/record"
	"enrolldesk/sync/registry"
)

type env struct {
	*opstest.Fixture
	out      *outbox.Outbox
	exp      *Exporter
	imp      *Importer
	regStore *registry.SQLiteStore
	client   *outbox.Client
	drive    string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	f := opstest.New(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	regPub, regPriv, _ := ed25519.GenerateKey(rand.Reader)
	out, err := outbox.New(f.DB, outbox.Config{DeskID: f.Desk.ID, DeskKey: f.Keys.SigningKey, DataKey: f.Keys.DataKey,
		Registry: id.Recipient(), Now: f.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	st, err := registry.OpenSQLite(ctx, filepath.Join(t.TempDir(), "registry.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.RegisterDesk(ctx, registry.Desk{ID: f.Desk.ID, PublicKey: f.Desk.PublicKey}); err != nil {
		t.Fatal(err)
	}
	srv := &registry.Server{Store: st, Key: regPriv}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	drive := filepath.Join(t.TempDir(), "usb")
	if err := os.Mkdir(drive, 0o755); err != nil {
		t.Fatal(err)
	}
	return &env{
		Fixture: f, out: out, regStore: st, drive: drive,
		exp: &Exporter{Outbox: out, Audit: f.Audit, DeskID: f.Desk.ID, DeskKey: f.Keys.SigningKey, Registry: id.Recipient(),
			RegistryKey: regPub, Now: f.Clock.Now},
		imp:    &Importer{Server: srv, Identity: id},
		client: &outbox.Client{BaseURL: hs.URL, DeskID: f.Desk.ID, RegistryKey: regPub},
	}
}

func (e *env) release(t *testing.T, n int) {
	t.Helper()
	key, err := e.Officers.UnlockSigningKey(context.Background(), opstest.Officer, opstest.OfficerPIN)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		c := record.Content{OfficerID: opstest.Officer, OfficerKey: key.Public().(ed25519.PublicKey),
			CitizenID: fmt.Sprintf("0012030%05d", i), DG1: []byte{byte(i)}, Form: record.Form{Mobile: "0912345678"},
			Chip:    record.ChipVerdict{Access: "PACE", PA: record.Pass, AA: record.Absent, CA: record.Pass},
			Face:    record.FaceResult{Decision: "match", Liveness: record.Pass},
			Dedup:   record.Dedup{Decision: "unique"},
			Consent: record.Consent{Given: true, Version: "v1", At: int64(i)}}
		blobs := []record.Blob{{Kind: record.KindPortrait, Format: "image/jpeg", Data: []byte(fmt.Sprintf("portrait %d", i))}}
		if _, err := e.out.Release(context.Background(), c, blobs, key); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *env) registryHead(t *testing.T) registry.Head {
	t.Helper()
	h, err := e.regStore.Head(context.Background(), e.Desk.ID)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestExportImportReceiptRoundTrip(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.release(t, 5)
	// Records 1 and 2 reach the registry online, but the receipt is lost: the desk still counts
	// them unacknowledged, and the export carries them again.
	ps, err := e.out.Next(ctx, 0, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	bt := &protocol.Batch{Version: protocol.Version, DeskID: e.Desk.ID}
	for _, p := range ps {
		bt.Records = append(bt.Records, protocol.BatchRecord{Envelope: p.Envelope, Blobs: p.Blobs})
	}
	if _, err := e.client.Send(ctx, bt); err != nil {
		t.Fatal(err)
	}

	head := e.Head(t)
	e.exp.MaxRecords = 2
	res, err := e.exp.Export(ctx, opstest.Officer, e.drive)
	if err != nil {
		t.Fatal(err)
	}
	if res.From != 1 || res.To != 5 || res.Records != 5 || len(res.Files) != 3 {
		t.Fatalf("export %+v", res)
	}
	if a := e.Actions(t, head); !slices.Equal(a, []string{"export.write", "export.write", "export.write"}) {
		t.Fatalf("audit %v", a)
	}
	// Nothing but the bundles on the drive (no temporary files left), none readable in clear.
	names, _ := filepath.Glob(filepath.Join(e.drive, "*"))
	if !slices.Equal(names, res.Files) {
		t.Fatalf("drive holds %v, want %v", names, res.Files)
	}
	for _, f := range res.Files {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte("0912345678")) {
			t.Fatalf("%s holds the citizen's data in clear", f)
		}
	}

	// The registry imports them like online batches: 1-2 are known, 3-5 are new.
	var stored []int
	var receipts []string
	for _, f := range res.Files {
		rp, n, err := e.imp.ImportFile(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		stored, receipts = append(stored, n), append(receipts, rp)
	}
	if !slices.Equal(stored, []int{0, 2, 1}) || e.registryHead(t).Seq != 5 {
		t.Fatalf("stored %v, head %d", stored, e.registryHead(t).Seq)
	}
	// A replayed bundle changes nothing.
	before := e.registryHead(t)
	if _, n, err := e.imp.ImportFile(ctx, res.Files[1]); err != nil || n != 0 || e.registryHead(t) != before {
		t.Fatalf("replay: stored %d, err %v", n, err)
	}
	recs, err := e.regStore.Records(ctx, e.Desk.ID, 1, 5)
	if err != nil || len(recs) != 5 || len(recs[4].Blobs) != 1 {
		t.Fatalf("registry records %d %v", len(recs), err)
	}

	// The last receipt brought back acknowledges everything; blobs are purged at the desk.
	head = e.Head(t)
	info, err := e.exp.ApplyReceiptFile(ctx, opstest.Officer, receipts[2])
	if err != nil {
		t.Fatal(err)
	}
	if info.Seq != 5 {
		t.Fatalf("receipt %+v", info)
	}
	c, err := e.out.Counts(ctx)
	if err != nil || c.Acked != 5 || c.Queued+c.Sent != 0 {
		t.Fatalf("counts %+v %v", c, err)
	}
	rep, err := outbox.VerifyChain(ctx, e.DB.DB, e.Desk.PublicKey)
	if err != nil || rep.BlobsHeld != 0 {
		t.Fatalf("chain %+v %v", rep, err)
	}
	if a := e.Actions(t, head); !slices.Equal(a, []string{"export.receipt"}) {
		t.Fatalf("audit %v", a)
	}
	if _, err := e.exp.Export(ctx, opstest.Officer, e.drive); !errors.Is(err, ErrNothing) {
		t.Fatalf("second export: %v", err)
	}
	// An older receipt applied later changes nothing.
	if info, err := e.exp.ApplyReceiptFile(ctx, opstest.Officer, receipts[0]); err != nil || info.Seq != 2 {
		t.Fatalf("old receipt: %+v %v", info, err)
	}
	if c, _ := e.out.Counts(ctx); c.Acked != 5 {
		t.Fatalf("old receipt moved acks back: %+v", c)
	}
	// A second export after the first receipt: its receipt must prove the registry's log
	// consistent with the checkpoint the desk kept from the first one.
	e.release(t, 2)
	res, err = e.exp.Export(ctx, opstest.Officer, e.drive)
	if err != nil || res.From != 6 || res.To != 7 {
		t.Fatalf("second export %+v %v", res, err)
	}
	rp, n, err := e.imp.ImportFile(ctx, res.Files[len(res.Files)-1])
	if err != nil || n != 2 {
		t.Fatalf("second import %d %v", n, err)
	}
	if info, err := e.exp.ApplyReceiptFile(ctx, opstest.Officer, rp); err != nil || info.Seq != 7 || info.Superseded {
		t.Fatalf("second receipt %+v %v", info, err)
	}
	cp, err := e.out.Checkpoint(ctx)
	if err != nil || cp == nil {
		t.Fatalf("no checkpoint kept: %v", err)
	}
}

func TestForgedBundlesAndReceiptsRefused(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.release(t, 2)
	res, err := e.exp.Export(ctx, opstest.Officer, e.drive)
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(res.Files[0])
	if err != nil {
		t.Fatal(err)
	}
	f, h, err := Parse(good)
	if err != nil {
		t.Fatal(err)
	}

	// Ciphertext altered after signing.
	bad := *f
	bad.Ciphertext = append([]byte(nil), f.Ciphertext...)
	bad.Ciphertext[len(bad.Ciphertext)-1] ^= 1
	b, _ := enc.Marshal(bad)
	if _, _, err := e.imp.Import(ctx, b); !errors.Is(err, ErrBundle) {
		t.Fatalf("altered ciphertext: %v", err)
	}
	// Signed by another key under this desk's id.
	_, mallory, _ := ed25519.GenerateKey(rand.Reader)
	forged := *f
	forged.Signature = ed25519.Sign(mallory, append([]byte(signContext), f.Header...))
	b, _ = enc.Marshal(forged)
	if _, _, err := e.imp.Import(ctx, b); !errors.Is(err, ErrBundle) {
		t.Fatalf("forged signature: %v", err)
	}
	// A desk the registry does not know.
	h2 := *h
	h2.DeskID = "unknown-desk"
	hb, _ := enc.Marshal(h2)
	other := File{Header: hb, Ciphertext: f.Ciphertext, Signature: ed25519.Sign(e.Keys.SigningKey, append([]byte(signContext), hb...))}
	b, _ = enc.Marshal(other)
	if _, _, err := e.imp.Import(ctx, b); !errors.Is(err, registry.ErrUnknownDesk) {
		t.Fatalf("unknown desk: %v", err)
	}
	if e.registryHead(t).Seq != 0 {
		t.Fatal("a refused bundle stored records")
	}
	// A receipt signed by someone other than the registry.
	fake, _ := protocol.SignReceipt(&protocol.Receipt{Version: protocol.Version, DeskID: e.Desk.ID, Seq: 2}, mallory)
	head := e.Head(t)
	if _, err := e.exp.ApplyReceipt(ctx, opstest.Officer, fake); err == nil {
		t.Fatal("forged receipt applied")
	}
	if a := e.Actions(t, head); !slices.Equal(a, []string{"export.receipt.refuse"}) {
		t.Fatalf("audit %v", a)
	}
	if c, _ := e.out.Counts(ctx); c.Acked != 0 {
		t.Fatalf("forged receipt acknowledged records: %+v", c)
	}
	// The genuine bundle still imports.
	if _, n, err := e.imp.Import(ctx, good); err != nil || n != 2 {
		t.Fatalf("genuine: %d %v", n, err)
	}
}

// FuzzParse feeds arbitrary files to the bundle parser: never a panic, never a header that does
// not re-encode to itself.
func FuzzParse(f *testing.F) {
	h := Header{Version: Version, DeskID: "d", From: 1, To: 2, Records: 2}
	hb, _ := enc.Marshal(h)
	b, _ := enc.Marshal(File{Header: hb, Ciphertext: []byte("x"), Signature: make([]byte, 64)})
	f.Add(b)
	f.Add([]byte{0xa3, 0x63, 'h', 'd', 'r'})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, h, err := Parse(b)
		if err != nil {
			return
		}
		if h.Version != Version {
			t.Fatalf("version %d accepted", h.Version)
		}
	})
}
