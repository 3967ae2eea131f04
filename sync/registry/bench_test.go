package registry_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"enrolldesk/desk/store"
	hqsync "enrolldesk/sync"
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

// backlog fills a desk store with n records signed by desk (and countersigned by an officer),
// each with a real JPEG portrait and two templates sealed to the registry. To keep the set-up in
// minutes it seals 64 distinct blob sets and reuses them (the bytes on the wire and at the
// registry are the same as with fresh seals), and it appends with synchronous=OFF; the records
// are otherwise released through Outbox.Append.
func backlog(b *testing.B, dir string, n int, to age.Recipient, desk ed25519.PrivateKey) (string, []byte) {
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
	_, officer, _ := ed25519.GenerateKey(rand.Reader)
	dataKey := make([]byte, 32)
	rand.Read(dataKey)
	ob, err := outbox.New(db, outbox.Config{DeskID: benchDesk, DeskKey: desk, DataKey: dataKey, Registry: to})
	if err != nil {
		b.Fatal(err)
	}
	defer ob.Close()
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
	return path, dataKey
}

const benchDesk = "desk-bench"

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

// timedStore measures the wall time the registry spends inside Store.Append (SQLite inserts,
// commit with fsync, WAL checkpoints): the serial part of ingest.
type timedStore struct {
	registry.Store
	appendNs atomic.Int64 // wall
	cpuNs    atomic.Int64 // CPU time of the calling thread (the pure-Go SQLite runs on it)
	batches  atomic.Int64
}

func (t *timedStore) Append(ctx context.Context, deskID string, expect registry.Head, entries []registry.Entry) (registry.Head, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, cpu0 := time.Now(), threadCPU()
	h, err := t.Store.Append(ctx, deskID, expect, entries)
	t.cpuNs.Add(int64(threadCPU() - cpu0))
	t.appendNs.Add(int64(time.Since(start)))
	t.batches.Add(1)
	return h, err
}

// threadCPU is the calling OS thread's user+system CPU time (getrusage RUSAGE_THREAD, Linux).
func threadCPU() time.Duration {
	const rusageThread = 1
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchmarkBacklog syncs a backlog of n records to the real registry service: HTTPS on loopback,
// TLS 1.3 with the desk's client certificate (provisioned as in production), HTTP/2, SQLite with
// synchronous=FULL. Beside wall time it reports CPU seconds (desk and registry together, both
// cores: what a busy shared machine distorts least) and the wall time spent inside the registry's
// store (the serial part), so the rest (desk reads and decryption, encoding, TLS, decoding and
// signature verification on both cores, receipts) follows by difference.
func benchmarkBacklog(b *testing.B, n int) {
	dir := realDiskDir(b)
	ctx := context.Background()
	id, err := registry.LoadOrCreateIdentity(filepath.Join(dir, "identity"))
	if err != nil {
		b.Fatal(err)
	}
	_, deskKey, _ := ed25519.GenerateKey(rand.Reader)
	src, dataKey := backlog(b, dir, n, id.Seal.Recipient(), deskKey)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var cpu, storeWall, storeCPU time.Duration
	var batches int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		run := filepath.Join(dir, "run"+strconv.Itoa(i))
		os.MkdirAll(run, 0o700)
		copyFile(b, src, filepath.Join(run, "desk.sqlite"))
		copyFile(b, filepath.Join(dir, "identity", "registry-identity.pem"), filepath.Join(run, "registry-identity.pem"))
		sq, err := registry.OpenSQLite(ctx, filepath.Join(run, "registry.sqlite"))
		if err != nil {
			b.Fatal(err)
		}
		st := &timedStore{Store: sq}
		svc, err := registry.Start(ctx, registry.Config{Dir: run, Listen: "127.0.0.1:0", Store: st, Log: quiet})
		if err != nil {
			b.Fatal(err)
		}
		enr, err := hqsync.Provision(ctx, svc.URL, svc.Identity.CAFingerprint(), svc.Identity.ProvisioningToken(benchDesk), benchDesk, deskKey)
		if err != nil {
			b.Fatal(err)
		}
		client, err := enr.Client(deskKey)
		if err != nil {
			b.Fatal(err)
		}
		db, err := store.Open(ctx, filepath.Join(run, "desk.sqlite"))
		if err != nil {
			b.Fatal(err)
		}
		ob, err := outbox.New(db, outbox.Config{DeskID: benchDesk, DeskKey: deskKey, DataKey: dataKey, Registry: id.Seal.Recipient()})
		if err != nil {
			b.Fatal(err)
		}
		up := &outbox.Uploader{Outbox: ob, Client: client, Log: quiet}
		b.StartTimer()
		cpu0 := cpuTime()
		if err := up.SyncOnce(ctx); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - cpu0
		b.StopTimer()
		storeWall += time.Duration(st.appendNs.Load())
		storeCPU += time.Duration(st.cpuNs.Load())
		batches += st.batches.Load()
		if head, err := sq.Head(ctx, benchDesk); err != nil || head.Seq != uint64(n) {
			b.Fatalf("registry head %d, %v; want %d", head.Seq, err, n)
		}
		if c, _ := ob.Counts(ctx); c.Acked != n {
			b.Fatalf("desk counts %+v", c)
		}
		svc.Close()
		ob.Close()
		db.Close()
		sq.Close()
		os.RemoveAll(run)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(storeWall.Seconds()/float64(b.N), "store-s/op")
	b.ReportMetric(storeCPU.Seconds()/float64(b.N), "store-cpu-s/op")
	b.ReportMetric(float64(batches)/float64(b.N), "batches/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSyncBacklog100k: one op = a desk's backlog of 100,000 queued records (real JPEG portrait
// and two templates each, sealed) synced to the registry service over mutual TLS on loopback:
// every desk signature and officer countersignature verified, every sealed blob hash checked,
// stored with synchronous=FULL, receipts and log proofs verified, blobs purged at the desk.
func BenchmarkSyncBacklog100k(b *testing.B) { benchmarkBacklog(b, 100_000) }

// BenchmarkSyncBacklog10k is the same at a tenth of the size, for quick comparisons.
func BenchmarkSyncBacklog10k(b *testing.B) { benchmarkBacklog(b, 10_000) }
