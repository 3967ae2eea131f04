package registry_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"enrolldesk/sync/registry"
)

// The SQLite store checkpoints beside ingest: records reach the database file without a Close
// and without SQLite's automatic checkpoint (off), and the WAL does not grow without bound.
func TestSQLiteCheckpointsInBackground(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.sqlite")
	st, err := registry.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := newHarness(t, st)
	d := h.newDesk(t, "desk-ck-0001", true)
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	before := size(path)
	d.release(t, 1, 40)
	if err := d.up.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for size(path) < before+500<<10 { // 40 records with a portrait each: well over 500 KiB
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes (WAL %d) 20 s after ingest: no checkpoint ran", size(path), size(path+"-wal"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Another round reuses the WAL from its start once the checkpoint caught up.
	wal := size(path + "-wal")
	d.release(t, 41, 40)
	if err := d.up.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if grown := size(path + "-wal"); grown > 2*wal+(1<<20) {
		t.Fatalf("WAL grew from %d to %d bytes: it is not being reset", wal, grown)
	}
}
