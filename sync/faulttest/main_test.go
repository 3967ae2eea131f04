// Package faulttest holds the sync fault tests: kill -9 of the desk and of the registry, power
// loss at fsync points, and a TCP fault proxy between desk and registry. The test binary doubles
// as the child process that gets killed (see TestMain).
package faulttest

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"enrolldesk/desk/store"
	"enrolldesk/sync/internal/synctest"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/registry"
)

const childEnv = "ENROLLDESK_SYNC_FAULT_CHILD"

// childConfig is what a child process gets from its parent.
type childConfig struct {
	Mode        string // "desk" or "registry"
	DB          string
	DeskID      string
	DeskSeed    string // hex Ed25519 seed
	DataKey     string // hex
	Recipient   string // age X25519 recipient
	RegistryURL string
	RegistryPub string // hex
	RegistryKey string // hex seed (registry mode)
	Start       int    // first content index
	Count       int    // records to release before exiting
}

func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		var cfg childConfig
		if err := json.Unmarshal([]byte(v), &cfg); err != nil {
			fmt.Fprintln(os.Stderr, "child config:", err)
			os.Exit(3)
		}
		var err error
		switch cfg.Mode {
		case "desk":
			err = runDeskChild(cfg)
		case "registry":
			err = runRegistryChild(cfg)
		default:
			err = fmt.Errorf("unknown mode %q", cfg.Mode)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// runDeskChild releases records one by one, printing "committed N" after each Append returns,
// while an uploader syncs in the background, until Count records are released and synced.
func runDeskChild(cfg childConfig) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := store.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	rcp, err := age.ParseX25519Recipient(cfg.Recipient)
	if err != nil {
		return err
	}
	ob, err := outbox.New(db, outbox.Config{DeskID: cfg.DeskID, DeskKey: ed25519.NewKeyFromSeed(mustHex(cfg.DeskSeed)),
		DataKey: mustHex(cfg.DataKey), Registry: rcp})
	if err != nil {
		return err
	}
	up := &outbox.Uploader{Outbox: ob, MaxRecords: 4, Client: &outbox.Client{BaseURL: cfg.RegistryURL,
		HTTP: &http.Client{Timeout: 5 * time.Second}, DeskID: cfg.DeskID, RegistryKey: mustHex(cfg.RegistryPub)}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			up.SyncOnce(ctx) //nolint:errcheck // retried in the loop; the parent checks the outcome
			time.Sleep(2 * time.Millisecond)
		}
	}()
	if _, err := synctest.Portraits(); err != nil { // load the test images before saying ready
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "ready")
	out.Flush()
	for i := cfg.Start; i < cfg.Start+cfg.Count; i++ {
		blobs, err := synctest.Blobs(i)
		if err != nil {
			return err
		}
		a, err := ob.Release(ctx, synctest.Content(i), blobs, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "committed %d\n", a.Seq)
		out.Flush()
	}
	cancel()
	<-done
	return nil
}

// runRegistryChild serves the registry on a loopback port and prints "listening ADDR".
func runRegistryChild(cfg childConfig) error {
	ctx := context.Background()
	st, err := registry.OpenSQLite(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer st.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &registry.Server{Store: st, Key: ed25519.NewKeyFromSeed(mustHex(cfg.RegistryKey))}
	fmt.Printf("listening %s\n", ln.Addr())
	return http.Serve(ln, srv.Handler())
}

// child is a running child process.
type child struct {
	cmd   *exec.Cmd
	lines chan string
}

func startChild(t testing.TB, cfg childConfig) *child {
	t.Helper()
	b, _ := json.Marshal(cfg)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 1024)}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	return c
}

// kill sends SIGKILL and waits; it returns the lines the child printed.
func (c *child) kill() []string {
	c.cmd.Process.Kill() //nolint:errcheck // it may have exited already
	c.cmd.Wait()         //nolint:errcheck // killed on purpose
	var out []string
	for l := range c.lines {
		out = append(out, l)
	}
	return out
}

func committed(lines []string) []uint64 {
	var out []uint64
	for _, l := range lines {
		if s, ok := strings.CutPrefix(l, "committed "); ok {
			n, err := strconv.ParseUint(s, 10, 64)
			if err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func dbPath(t testing.TB, name string) string { return filepath.Join(t.TempDir(), name) }
