package deskcli

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/config"
	"enrolldesk/desk/provision"
	"enrolldesk/desk/settings"
	"enrolldesk/desk/store"
	hqsync "enrolldesk/sync"
	"enrolldesk/sync/registry"
)

// TestRegisterWithTheRealRegistry provisions a desk, then enrolls it with a registry served on
// loopback: a wrong token is refused and writes nothing; the right one writes an enrollment that
// parses for this desk's key; a second registration is refused.
func TestRegisterWithTheRealRegistry(t *testing.T) {
	ctx := context.Background()
	svc, err := registry.Start(ctx, registry.Config{Dir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()

	dir := provisionedDesk(t)
	db, err := store.Open(ctx, filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	desk, err := provision.Load(ctx, db)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	enrollment := filepath.Join(dir, config.RegistryFile)

	ca := svc.Identity.CAFingerprint()
	code, _, errs := run(t, "register", "-data", dir, "-registry", svc.URL, "-ca", ca, "-token", "not-the-token")
	if code != 1 {
		t.Fatalf("wrong token: exit %d (%s)", code, errs)
	}
	if _, err := os.Stat(enrollment); !os.IsNotExist(err) {
		t.Fatalf("a refused registration left %s behind (%v)", enrollment, err)
	}

	token := svc.Identity.ProvisioningToken(desk.ID)
	if code, out, errs := run(t, "register", "-data", dir, "-registry", svc.URL, "-ca", ca, "-token", token); code != 0 || !strings.Contains(out, desk.ID) {
		t.Fatalf("register: %d %q %q", code, out, errs)
	}
	b, err := os.ReadFile(enrollment)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hqsync.ParseEnrollment(b, desk.PublicKey); err != nil {
		t.Fatalf("written enrollment does not parse for this desk: %v", err)
	}
	// hqsync.SaveEnrollment: owner-only, and no temporary file left beside it.
	if fi, err := os.Stat(enrollment); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("enrollment file mode: %v %v", fi, err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(enrollment), "*tmp*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	if code, _, errs := run(t, "register", "-data", dir, "-registry", svc.URL, "-ca", ca, "-token", token); code != 1 || !strings.Contains(errs, "already registered") {
		t.Fatalf("second registration: %d %q", code, errs)
	}
	if code, out, _ := run(t, "audit", "verify", "-data", dir); code != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("audit after register: %d %q", code, out)
	}
}

// A registry that accepts the connection and never answers: register gives up after the desk's
// timeouts.network setting (a supervisor's choice), or after -timeout when given, and writes
// nothing.
func TestRegisterGivesUpAfterTheNetworkTimeout(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(held)
				return
			}
			held <- c
		}
	}()
	defer func() {
		ln.Close()
		for c := range held {
			c.Close()
		}
	}()

	dir := provisionedDesk(t)
	db, err := store.Open(ctx, filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	_, err = settings.New(db, audit.New(db, nil), nil).Set(ctx, "sup1", map[string]json.RawMessage{"timeouts.network": json.RawMessage(`"400ms"`)})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	url, ca := "https://"+ln.Addr().String(), strings.Repeat("ab", 32)
	code, _, errs := run(t, "register", "-data", dir, "-registry", url, "-ca", ca, "-token", "t")
	if code != 1 || !strings.Contains(errs, "no answer within 400ms") {
		t.Fatalf("setting's timeout: %d %q", code, errs)
	}
	code, _, errs = run(t, "register", "-data", dir, "-registry", url, "-ca", ca, "-token", "t", "-timeout", "150ms")
	if code != 1 || !strings.Contains(errs, "no answer within 150ms") {
		t.Fatalf("-timeout: %d %q", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, config.RegistryFile)); !os.IsNotExist(err) {
		t.Fatalf("a registration that timed out left an enrollment: %v", err)
	}
}

// provisionedDesk is a desk data directory provisioned with supervisor sup1; the passphrase and
// PIN stay in the environment for the commands that follow.
func provisionedDesk(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv(EnvPassphrase, "correct horse battery")
	t.Setenv(EnvPIN, "314159")
	if code, out, errs := run(t, "provision", "-data", dir, "-officer-id", "sup1", "-officer-name", "Lê Văn Cường"); code != 0 {
		t.Fatalf("provision: %d %s %s", code, out, errs)
	}
	return dir
}
