package registry_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"enrolldesk/desk/store"
	"enrolldesk/sync/internal/synctest"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/registry"
)

// realDiskDir returns a fresh directory under /var/tmp (a real disk, not tmpfs).
func realDiskDir(b *testing.B) string {
	b.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "sync-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// backlog fills a desk store with n signed records, each with a real JPEG portrait and two
// templates sealed to the registry. To keep the set-up in minutes it seals 64 distinct blob sets
// and reuses them (the bytes on the wire and at the registry are the same as with fresh seals),
// and it appends with synchronous=OFF; the records are otherwise released through Outbox.Append.
func backlog(b *testing.B, dir string, n int, to age.Recipient) (string, ed25519.PublicKey, []byte) {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(dir, "desk.sqlite")
	db, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`PRAGMA synchronous=OFF`); err != nil {
		b.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, officer, _ := ed25519.GenerateKey(rand.Reader)
	dataKey := make([]byte, 32)
	rand.Read(dataKey)
	ob, err := outbox.New(db, outbox.Config{DeskID: "desk-bench", DeskKey: priv, DataKey: dataKey, Registry: to})
	if err != nil {
		b.Fatal(err)
	}
	sealed := make([]*outbox.Sealed, 64)
	for i := range sealed {
		blobs, err := synctest.Blobs(i)
		if err != nil {
			b.Fatal(err)
		}
		if sealed[i], err = ob.Seal(blobs); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		if _, err := ob.Append(ctx, synctest.Content(i), sealed[i%64], officer); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	return path, pub, dataKey
}

func copyFile(b *testing.B, src, dst string) {
	b.Helper()
	in, err := os.ReadFile(src)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(dst, in, 0o600); err != nil {
		b.Fatal(err)
	}
}

func benchmarkBacklog(b *testing.B, n int) {
	dir := realDiskDir(b)
	sealKey, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	src, deskPub, dataKey := backlog(b, dir, n, sealKey.Recipient())
	ctx := context.Background()
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		run := filepath.Join(dir, "run"+strconv.Itoa(i))
		os.MkdirAll(run, 0o700)
		copyFile(b, src, filepath.Join(run, "desk.sqlite"))
		st, err := registry.OpenSQLite(ctx, filepath.Join(run, "registry.sqlite"))
		if err != nil {
			b.Fatal(err)
		}
		h := newHarness(b, st)
		if err := st.RegisterDesk(ctx, registry.Desk{ID: "desk-bench", PublicKey: deskPub}); err != nil {
			b.Fatal(err)
		}
		db, err := store.Open(ctx, filepath.Join(run, "desk.sqlite"))
		if err != nil {
			b.Fatal(err)
		}
		_, anyKey, _ := ed25519.GenerateKey(rand.Reader) // the uploader never signs
		ob, err := outbox.New(db, outbox.Config{DeskID: "desk-bench", DeskKey: anyKey, DataKey: dataKey, Registry: sealKey.Recipient()})
		if err != nil {
			b.Fatal(err)
		}
		up := &outbox.Uploader{Outbox: ob, Client: &outbox.Client{BaseURL: h.srv.URL, HTTP: h.srv.Client(), DeskID: "desk-bench",
			RegistryKey: h.regKey.Public().(ed25519.PublicKey)}}
		b.StartTimer()
		cpu0 := cpuTime()
		if err := up.SyncOnce(ctx); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - cpu0
		b.StopTimer()
		if head, err := st.Head(ctx, "desk-bench"); err != nil || head.Seq != uint64(n) {
			b.Fatalf("registry head %d, %v; want %d", head.Seq, err, n)
		}
		if c, _ := ob.Counts(ctx); c.Acked != n {
			b.Fatalf("desk counts %+v", c)
		}
		h.srv.Close()
		db.Close()
		st.Close()
		os.RemoveAll(run)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
	// CPU seconds (desk and registry together, both cores) per op: a figure that a busy shared
	// machine distorts less than wall time.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSyncBacklog100k: one op = a desk's backlog of 100,000 queued records (real JPEG portrait
// and two templates each, sealed) synced to the registry on loopback: every desk signature and
// officer countersignature verified, every sealed blob hash checked, stored with
// synchronous=FULL, receipts verified, blobs purged at the desk.
func BenchmarkSyncBacklog100k(b *testing.B) { benchmarkBacklog(b, 100_000) }

// BenchmarkSyncBacklog10k is the same at a tenth of the size, for quick comparisons.
func BenchmarkSyncBacklog10k(b *testing.B) { benchmarkBacklog(b, 10_000) }
