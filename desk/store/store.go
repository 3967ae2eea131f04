// Package store owns the desk's one SQLite file: opening it with the pragmas the desk relies on
// (WAL, foreign keys, busy timeout, synchronous=FULL) and running the versioned schema migrations.
// Feature packages (audit, officers, outbox, galleries) keep their own queries and take a *DB.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go, CGO_ENABLED=0 works)
)

// FileName is the store's file inside the desk data directory.
const FileName = "desk.sqlite"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DB is the desk store. It embeds *sql.DB so feature packages can run their own queries.
type DB struct {
	*sql.DB
	Path string
}

// Open opens (creating if needed) the SQLite file at path and migrates it to the newest schema.
//
// synchronous=FULL makes every commit fsync the WAL, so a record whose commit returned survives a
// power cut; journal_mode=WAL lets the sync worker read while the desk writes; _txlock=immediate
// takes the write lock at BEGIN so two writers queue on busy_timeout instead of deadlocking on
// a lock upgrade.
func Open(ctx context.Context, path string) (*DB, error) {
	s, err := openFile(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func openFile(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open store: create directory: %w", err)
	}
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(FULL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return &DB{DB: db, Path: path}, nil
}

// Migration is one schema step: migrations/NNNN_name.sql, applied once, in its own transaction.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must be NNNN_name.sql", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %q and %q share version %d", prev, name, v)
		}
		seen[v] = name
		body, err := migrationFiles.ReadFile("migrations/" + name)
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: rest, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate applies every embedded migration the file has not seen yet. Version numbers are
// ranges per feature (see migrations/README.md), so a version lower than the newest applied one
// can still arrive in a later release; it is applied all the same.
func (s *DB) Migrate(ctx context.Context) error {
	all, err := Migrations()
	if err != nil {
		return err
	}
	return s.migrate(ctx, all)
}

func (s *DB) migrate(ctx context.Context, all []Migration) error {
	if _, err := s.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := s.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("migrate: read applied versions: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("migrate: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range all {
		if applied[m.Version] {
			continue
		}
		if err := s.apply(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

func (s *DB) apply(ctx context.Context, m Migration) error {
	tx, err := s.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %04d %s: begin: %w", m.Version, m.Name, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("migration %04d %s: %w", m.Version, m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("migration %04d %s: record: %w", m.Version, m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %04d %s: commit: %w", m.Version, m.Name, err)
	}
	return nil
}

// SchemaVersions returns the versions applied to this file, ascending.
func (s *DB) SchemaVersions(ctx context.Context) ([]int, error) {
	rows, err := s.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("schema versions: %w", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("schema versions: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ErrNotFound is returned by feature packages when a row they were asked for does not exist.
var ErrNotFound = errors.New("not found")
