package registry_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"enrolldesk/sync/internal/pgtest"
	"enrolldesk/sync/registry"
)

var pg *pgtest.Cluster

// TestMain starts a private PostgreSQL cluster so that every registry test also runs on
// PostgreSQL; it fails when the cluster cannot start.
func TestMain(m *testing.M) {
	var err error
	pg, err = pgtest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "registry tests need PostgreSQL:", err)
		os.Exit(1)
	}
	backends["postgres"] = func(t testing.TB) registry.Store {
		dsn, err := pg.NewDatabase(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		s, err := registry.OpenPostgres(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	code := m.Run()
	if err := pg.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop PostgreSQL:", err)
	}
	os.Exit(code)
}
