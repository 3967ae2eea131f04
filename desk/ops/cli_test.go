package ops

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"enrolldesk/desk/cli"
	"enrolldesk/desk/deskcli"
	"enrolldesk/desk/export"
	"enrolldesk/desk/opstest"
	"enrolldesk/desk/review"
	"enrolldesk/desk/settings"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/record"
	"enrolldesk/sync/registry"
)

func run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), &cli.Env{Stdout: &out, Stderr: &errb}, args, Commands())
	return out.String() + errb.String(), code
}

func TestCommands(t *testing.T) {
	ctx := context.Background()
	f := opstest.New(t)
	data := filepath.Dir(f.DB.Path)
	regPub, regPriv, _ := ed25519.GenerateKey(rand.Reader)
	id, _ := age.GenerateX25519Identity()
	rcp := id.Recipient().String()

	if out, code := run(t, "settings", "pin-registry", "-data", data, "-key", hex.EncodeToString(regPub)); code != 0 {
		t.Fatalf("pin: %s", out)
	}
	t.Setenv(deskcli.EnvPIN, opstest.SupervisorPIN)
	if out, code := run(t, "settings", "set", "-data", data, "-supervisor", opstest.Supervisor, `timeouts.camera="12s"`); code != 0 || !strings.Contains(out, `timeouts.camera: "10s" -> "12s"`) {
		t.Fatalf("set: %d %s", code, out)
	}
	if out, code := run(t, "settings", "set", "-data", data, "-supervisor", opstest.Supervisor, `policy.supervisor_approval=false`); code == 0 || !strings.Contains(out, "signed desk settings") {
		t.Fatalf("set registry key: %d %s", code, out)
	}
	st := settings.Defaults()
	st.Freeze.MaxPending = 1
	doc, _ := settings.Sign(settings.Document{DeskID: f.Desk.ID, Serial: 7, Settings: st}, regPriv)
	docFile := filepath.Join(t.TempDir(), "settings.cbor")
	if err := os.WriteFile(docFile, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := run(t, "settings", "apply", "-data", data, docFile); code != 0 || !strings.Contains(out, "serial 7") {
		t.Fatalf("apply: %s", out)
	}
	if out, code := run(t, "settings", "show", "-data", data); code != 0 || !strings.Contains(out, `"max_pending": 1`) || !strings.Contains(out, `"Serial": 7`) {
		t.Fatalf("show: %s", out)
	}

	// Two enrollments wait for review.
	out, err := outbox.New(f.DB, outbox.Config{DeskID: f.Desk.ID, DeskKey: f.Keys.SigningKey, DataKey: f.Keys.DataKey, Registry: id.Recipient()})
	if err != nil {
		t.Fatal(err)
	}
	o, err := New(Config{DB: f.DB, Audit: f.Audit, Officers: f.Officers, TrustStore: nil})
	if err == nil || o != nil {
		t.Fatal("ops without a trust store accepted")
	}
	o, _ = newOps(f.DB, f.Audit, f.Officers, "")
	if err := o.Unlock(ctx, f.Keys, out, id.Recipient()); err != nil {
		t.Fatal(err)
	}
	key, _ := f.Officers.UnlockSigningKey(ctx, opstest.Officer, opstest.OfficerPIN)
	var items []string
	for i := 0; i < 2; i++ {
		c := record.Content{OfficerID: opstest.Officer, CitizenID: fmt.Sprintf("0012030000%02d", i), DG1: []byte{byte(i)},
			Consent: record.Consent{Given: true, Version: "v1", At: int64(i)}}
		oc, err := o.Submit(ctx, c, nil, key, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, oc.ItemID)
	}
	if out, code := run(t, "review", "list", "-data", data); code != 0 || strings.Count(out, "pending") != 2 {
		t.Fatalf("list: %s", out)
	}
	if out, _ := run(t, "freeze", "status", "-data", data); !strings.Contains(out, "FROZEN") || !strings.Contains(out, "[pending-limit]") || !strings.Contains(out, "[trust-store-missing]") {
		t.Fatalf("freeze: %s", out)
	}
	t.Setenv(deskcli.EnvPassphrase, opstest.Passphrase)
	if out, code := run(t, "review", "reject", "-data", data, "-supervisor", opstest.Supervisor, "-item", items[1], "-reason", "form-error", "-registry-age", rcp); code != 0 {
		t.Fatalf("reject: %s", out)
	}
	if out, code := run(t, "review", "approve", "-data", data, "-supervisor", opstest.Supervisor, "-registry-age", rcp, items[0], items[1]); code != 1 ||
		!strings.Contains(out, "sequence 1") || !strings.Contains(out, items[1]+": NOT released") {
		t.Fatalf("approve: %d %s", code, out)
	}
	if out, code := run(t, "review", "counts", "-data", data); code != 0 || !strings.Contains(out, opstest.Officer) {
		t.Fatalf("counts: %s", out)
	}

	drive := t.TempDir()
	outText, code := run(t, "export", "usb", "-data", data, "-dir", drive, "-officer", opstest.Supervisor, "-registry-age", rcp)
	if code != 0 || !strings.Contains(outText, "1 records (sequence 1 to 1) in 1 bundles") {
		t.Fatalf("export: %s", outText)
	}
	bundles, _ := filepath.Glob(filepath.Join(drive, "*"+export.Ext))
	rst, err := registry.OpenSQLite(ctx, filepath.Join(t.TempDir(), "registry.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer rst.Close()
	if err := rst.RegisterDesk(ctx, registry.Desk{ID: f.Desk.ID, PublicKey: f.Desk.PublicKey}); err != nil {
		t.Fatal(err)
	}
	rp, _, err := (&export.Importer{Server: &registry.Server{Store: rst, Key: regPriv}, Identity: id}).ImportFile(ctx, bundles[0])
	if err != nil {
		t.Fatal(err)
	}
	if out, code := run(t, "export", "receipt", "-data", data, "-file", rp, "-officer", opstest.Supervisor, "-registry-age", rcp); code != 0 || !strings.Contains(out, "up to sequence 1") {
		t.Fatalf("receipt: %s", out)
	}
	items2, err := review.List(ctx, f.DB, review.Filter{})
	if err != nil || items2[0].State != review.StateReleased || items2[1].State != review.StateRejected {
		t.Fatalf("items %+v %v", items2, err)
	}
	if _, err := f.Audit.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}
