package deskcli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"enrolldesk/desk/cli"
	"enrolldesk/desk/store"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), &cli.Env{Stdout: &out, Stderr: &errb}, args, Commands())
	return code, out.String(), errb.String()
}

func TestProvisionAuditVerifyAndTamperDetection(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvPassphrase, "correct horse battery")
	t.Setenv(EnvPIN, "314159")
	if code, out, errs := run(t, "provision", "-data", dir, "-officer-id", "sup1", "-officer-name", "Lê Văn Cường"); code != 0 {
		t.Fatalf("provision: %d %s %s", code, out, errs)
	}
	code, out, errs := run(t, "audit", "verify", "-data", dir)
	if code != 0 || !strings.Contains(out, "intact: 2 entries") {
		t.Fatalf("audit verify: %d %q %q", code, out, errs)
	}
	t.Setenv("ENROLLDESK_NEW_PIN", "975318")
	if code, out, errs := run(t, "officer", "add", "-data", dir, "-supervisor", "sup1", "-id", "off1", "-name", "Phạm Thu"); code != 0 {
		t.Fatalf("officer add: %d %s %s", code, out, errs)
	}
	if _, out, _ := run(t, "officer", "list", "-data", dir); !strings.Contains(out, "off1") || !strings.Contains(out, "sup1") {
		t.Fatalf("officer list: %q", out)
	}

	// Edit the log behind the app's back; the command must fail and say where.
	db, err := store.Open(context.Background(), filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(`DROP TRIGGER audit_log_no_update`)
	if _, err := db.Exec(`UPDATE audit_log SET actor = 'someone' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, _, errs = run(t, "audit", "verify", "-data", dir)
	if code != 1 || !strings.Contains(errs, "entry 2") {
		t.Fatalf("tampered audit verify: %d %q", code, errs)
	}
}

func TestUsageErrors(t *testing.T) {
	if code, _, _ := run(t, "provision"); code != 2 {
		t.Fatalf("provision without flags exit %d, want 2", code)
	}
	if code, _, errs := run(t, "nonsense"); code != 2 || !strings.Contains(errs, "audit verify") {
		t.Fatalf("unknown command: %d %q", code, errs)
	}
}
