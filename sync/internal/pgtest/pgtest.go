// Package pgtest starts a private PostgreSQL cluster for tests: initdb and pg_ctl from Debian's
// postgresql package, run as the postgres user (the server refuses root), on a unix socket in a
// fresh directory on a real disk, stopped and removed by Stop.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// Cluster is a running test cluster.
type Cluster struct {
	dir, bin, data, sock string
	port                 int
	n                    atomic.Int64
}

func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("pgtest: no /usr/lib/postgresql/*/bin/initdb: install Debian's postgresql")
}

func runAs(name string, args ...string) error {
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(name), err, out)
	}
	return nil
}

// Start creates and starts a cluster. It fails (never skips) when PostgreSQL is missing.
func Start() (*Cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir, err := os.MkdirTemp("/var/tmp", "enrolldesk-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c := &Cluster{dir: dir, bin: bin, data: filepath.Join(dir, "data"), sock: filepath.Join(dir, "sock")}
	if err := os.Mkdir(c.sock, 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	for _, p := range []string{dir, c.sock} {
		if err := os.Chown(p, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: chown: %w", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: pick a port: %w", err)
	}
	c.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if err := runAs(filepath.Join(bin, "initdb"), "-D", c.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses='' -c max_connections=300 -c shared_buffers=128MB", c.port, c.sock)
	if err := runAs(filepath.Join(bin, "pg_ctl"), "-D", c.data, "-l", filepath.Join(dir, "log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	return c, nil
}

// DSN is the connection string of database name.
func (c *Cluster) DSN(name string) string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable", c.sock, c.port, name)
}

// NewDatabase creates a fresh database and returns its connection string.
func (c *Cluster) NewDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("t%d", c.n.Add(1))
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	return c.DSN(name), nil
}

// Stop stops the cluster and removes its files.
func (c *Cluster) Stop() error {
	err := runAs(filepath.Join(c.bin, "pg_ctl"), "-D", c.data, "-m", "immediate", "-w", "stop")
	if rerr := os.RemoveAll(c.dir); err == nil {
		err = rerr
	}
	return err
}
