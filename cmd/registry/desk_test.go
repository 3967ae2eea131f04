package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"

	"enrolldesk/sync/registry"
)

// `registry desk revoke` on the SQLite store of a data directory, with the flag after the desk id
// as an operator types it; `registry desk show` reports it.
func TestDeskRevokeCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := registry.OpenSQLite(ctx, filepath.Join(dir, "registry.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	if err := st.RegisterDesk(ctx, registry.Desk{ID: "desk-cli-01", PublicKey: pub}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	var out bytes.Buffer
	if err := runDesk(ctx, []string{"show", "-data", dir, "desk-cli-01"}, &out); err != nil || !strings.Contains(out.String(), "status active") {
		t.Fatalf("show: %v\n%s", err, out.String())
	}
	if err := runDesk(ctx, []string{"revoke", "-data", dir, "desk-cli-01"}, &out); err == nil {
		t.Fatal("revoke without a reason accepted")
	}
	if err := runDesk(ctx, []string{"revoke", "-data", dir, "desk-unknown", "-reason", "x"}, &out); err == nil {
		t.Fatal("unknown desk revoked")
	}
	out.Reset()
	if err := runDesk(ctx, []string{"revoke", "-data", dir, "desk-cli-01", "-reason", "desk stolen"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "status revoked") || !strings.Contains(out.String(), "reason desk stolen") {
		t.Fatalf("revoke output:\n%s", out.String())
	}
	st, err = registry.OpenSQLite(ctx, filepath.Join(dir, "registry.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if d, err := st.Desk(ctx, "desk-cli-01"); err != nil || d.RevokeReason != "desk stolen" || d.Revoked.IsZero() {
		t.Fatalf("store after revoke: %+v %v", d, err)
	}
	if err := run([]string{"desk", "list"}); err == nil {
		t.Fatal("unknown desk subcommand accepted")
	}
}
