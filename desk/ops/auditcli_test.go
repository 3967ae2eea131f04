package ops

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"enrolldesk/desk/config"
	"enrolldesk/desk/deskcli"
	"enrolldesk/desk/opstest"
	hqsync "enrolldesk/sync"
	"enrolldesk/sync/registry"
)

// `audit ship` against the real registry over mutual TLS: the log is sent, and after its tail is
// cut off behind the app's back the command fails and says so.
func TestAuditShipCommand(t *testing.T) {
	ctx := context.Background()
	f := opstest.New(t)
	data := filepath.Dir(f.DB.Path)
	if out, code := run(t, "audit", "ship", "-data", data); code == 0 || !strings.Contains(out, "not registered") {
		t.Fatalf("unregistered desk: %d %s", code, out)
	}
	svc, err := registry.Start(ctx, registry.Config{Dir: t.TempDir(), Listen: "127.0.0.1:0", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	enr, err := hqsync.Provision(ctx, svc.URL, svc.Identity.CAFingerprint(), svc.Identity.ProvisioningToken(f.Desk.ID), f.Desk.ID, f.Keys.SigningKey)
	if err != nil {
		t.Fatal(err)
	}
	b, err := enr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, config.RegistryFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(deskcli.EnvPassphrase, opstest.Passphrase)
	head := f.Head(t)
	out, code := run(t, "audit", "ship", "-data", data)
	if code != 0 || !strings.Contains(out, "up to entry") {
		t.Fatalf("ship: %d %s", code, out)
	}
	h, err := svc.Store.(registry.AuditStore).AuditHead(ctx, f.Desk.ID)
	if err != nil || h.Seq < head {
		t.Fatalf("registry audit head %+v %v (desk had %d)", h, err, head)
	}
	for _, q := range []string{`DROP TRIGGER audit_log_no_delete`, `DELETE FROM audit_log WHERE seq > ?`} {
		if _, err := f.DB.ExecContext(ctx, q, h.Seq-3); err != nil {
			t.Fatal(err)
		}
	}
	if out, code := run(t, "audit", "ship", "-data", data); code == 0 || !strings.Contains(out, "audit log truncated") {
		t.Fatalf("ship after truncation: %d %s", code, out)
	}
}
