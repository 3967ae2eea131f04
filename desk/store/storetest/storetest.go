// Package storetest opens real desk stores in a test's temporary directory.
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"enrolldesk/desk/store"
)

// Open opens a fresh store file under tb.TempDir() and closes it when the test ends.
func Open(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), store.FileName))
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}
