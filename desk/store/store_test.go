package store

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

func TestOpenMigratesEmptyFileAndSetsPragmas(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.SchemaVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(all) || len(got) == 0 {
		t.Fatalf("applied %v, want all %d migrations", got, len(all))
	}
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "synchronous": "2", "busy_timeout": "10000"} {
		var v string
		if err := db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, v, want)
		}
	}
}

func TestMigrateExistingFileAppliesOnlyWhatIsMissing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	all, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	// A file written by the first release: only the foundation migration, with data in it.
	old, err := openFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.migrate(ctx, all[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := old.ExecContext(ctx, `INSERT INTO settings(key, value, updated_at) VALUES ('k', '"v"', 'now')`); err != nil {
		t.Fatal(err)
	}
	old.Close()

	for round := 0; round < 2; round++ { // the second open must find nothing left to do
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("open %d: %v", round, err)
		}
		got, _ := db.SchemaVersions(ctx)
		want := make([]int, 0, len(all))
		for _, m := range all {
			want = append(want, m.Version)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("versions %v, want %v", got, want)
		}
		var v string
		if err := db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key='k'`).Scan(&v); err != nil || v != `"v"` {
			t.Fatalf("data lost across migration: %q %v", v, err)
		}
		db.Close()
	}
}

func TestFailedMigrationLeavesNoTrace(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bad := Migration{Version: 9999, Name: "broken", SQL: `CREATE TABLE half(x); INSERT INTO nowhere VALUES (1);`}
	if err := db.migrate(ctx, []Migration{bad}); err == nil {
		t.Fatal("broken migration applied")
	}
	var n int
	db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name='half'`).Scan(&n)
	if n != 0 {
		t.Fatal("a failed migration left its table behind")
	}
	vs, _ := db.SchemaVersions(ctx)
	if slices.Contains(vs, 9999) {
		t.Fatal("a failed migration was recorded as applied")
	}
}

func TestMigrationsAreWellFormed(t *testing.T) {
	all, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Version <= all[i-1].Version {
			t.Fatalf("migrations out of order: %d after %d", all[i].Version, all[i-1].Version)
		}
	}
}
