package outbox_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"enrolldesk/desk/store"
	"enrolldesk/sync/internal/synctest"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/record"
)

type fixture struct {
	db       *store.DB
	ob       *outbox.Outbox
	deskPub  ed25519.PublicKey
	officer  ed25519.PrivateKey
	registry *age.X25519Identity
}

func newFixture(tb testing.TB, dir string) *fixture {
	tb.Helper()
	db, err := store.Open(context.Background(), filepath.Join(dir, store.FileName))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, officer, _ := ed25519.GenerateKey(rand.Reader)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		tb.Fatal(err)
	}
	dataKey := make([]byte, 32)
	rand.Read(dataKey)
	ob, err := outbox.New(db, outbox.Config{DeskID: "desk-hn-0001", DeskKey: priv, DataKey: dataKey, Registry: id.Recipient()})
	if err != nil {
		tb.Fatal(err)
	}
	return &fixture{db: db, ob: ob, deskPub: pub, officer: officer, registry: id}
}

func (f *fixture) append(tb testing.TB, n int, withOfficer bool) *outbox.Appended {
	tb.Helper()
	blobs, err := synctest.Blobs(n)
	if err != nil {
		tb.Fatal(err)
	}
	var off ed25519.PrivateKey
	if withOfficer {
		off = f.officer
	}
	a, err := f.ob.Release(context.Background(), synctest.Content(n), blobs, off)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func TestAppendVerifyAck(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, t.TempDir())
	for i := 1; i <= 10; i++ {
		a := f.append(t, i, i%2 == 0)
		if a.Seq != uint64(i) {
			t.Fatalf("append %d got sequence %d", i, a.Seq)
		}
	}
	// A record the outbox refuses leaves no gap.
	bad := synctest.Content(99)
	bad.CitizenID = ""
	if _, err := f.ob.Release(ctx, bad, nil, nil); err == nil {
		t.Fatal("record without citizen id appended")
	}
	if a := f.append(t, 11, false); a.Seq != 11 {
		t.Fatalf("after a refused record the sequence is %d, want 11", a.Seq)
	}
	rep, err := outbox.VerifyChain(ctx, f.db.DB, f.deskPub)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 11 || rep.Countersigned != 5 || rep.BlobsHeld != 33 {
		t.Fatalf("report %+v", rep)
	}
	// Pending records carry blobs that the registry, and only it, can unseal.
	ps, err := f.ob.Next(ctx, 0, 4, 0)
	if err != nil || len(ps) != 4 {
		t.Fatalf("next: %d, %v", len(ps), err)
	}
	for _, p := range ps {
		s, err := record.Verify(p.Envelope, f.deskPub)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := synctest.Blobs(int(p.Seq))
		for i, ref := range s.Record.Blobs {
			plain, err := record.Unseal(f.registry, ref, p.Blobs[i])
			if err != nil || string(plain) != string(want[i].Data) {
				t.Fatalf("seq %d blob %d: %v", p.Seq, i, err)
			}
		}
	}
	if ps, _ := f.ob.Next(ctx, 0, 100, 40_000); len(ps) < 1 || len(ps) > 3 {
		t.Fatalf("byte limit: %d records", len(ps))
	}
	if err := f.ob.MarkSent(ctx, 6); err != nil {
		t.Fatal(err)
	}
	if err := f.ob.Ack(ctx, 4, ps[0].Hash, []byte("receipt"), nil); !errors.Is(err, outbox.ErrForeignHead) {
		t.Fatalf("ack with another record's hash: %v", err)
	}
	if err := f.ob.Ack(ctx, 40, ps[3].Hash, nil, nil); !errors.Is(err, outbox.ErrForeignHead) {
		t.Fatalf("ack beyond the head: %v", err)
	}
	if err := f.ob.Ack(ctx, 4, ps[3].Hash, []byte("receipt"), nil); err != nil {
		t.Fatal(err)
	}
	c, err := f.ob.Counts(ctx)
	if err != nil || c != (outbox.Counts{Queued: 5, Sent: 2, Acked: 4}) {
		t.Fatalf("counts %+v %v", c, err)
	}
	st, _ := f.ob.SyncState(ctx)
	if st.AckedSeq != 4 || st.Head != 11 || !st.LastSynced.IsZero() {
		t.Fatalf("sync state %+v", st)
	}
	rep, err = outbox.VerifyChain(ctx, f.db.DB, f.deskPub)
	if err != nil || rep.BlobsPurged != 12 || rep.Acked != 4 {
		t.Fatalf("after ack: %+v %v", rep, err)
	}
	var n int
	f.db.QueryRow(`SELECT COUNT(*) FROM outbox_blobs WHERE seq <= 4`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d acknowledged blobs not purged", n)
	}
	// Acknowledging everything sets "last synced".
	last, _ := f.ob.Next(ctx, 10, 1, 0)
	if err := f.ob.Ack(ctx, 11, last[0].Hash, nil, nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.ob.SyncState(ctx); st.LastSynced.IsZero() || st.AckedSeq != 11 {
		t.Fatalf("sync state %+v", st)
	}
	// Records are immutable inside SQLite.
	if _, err := f.db.Exec(`UPDATE outbox SET envelope = x'00' WHERE seq = 1`); err == nil {
		t.Fatal("envelope updated")
	}
	if _, err := f.db.Exec(`DELETE FROM outbox WHERE seq = 11`); err == nil {
		t.Fatal("record deleted")
	}
}

func TestVerifyChainCatchesEdits(t *testing.T) {
	ctx := context.Background()
	for name, edit := range map[string]string{
		"envelope swapped": `UPDATE outbox SET envelope = (SELECT envelope FROM outbox WHERE seq = 2), hash = (SELECT hash FROM outbox WHERE seq = 2) WHERE seq = 3`,
		"record deleted":   `DELETE FROM outbox_blobs WHERE seq = 2; DELETE FROM outbox WHERE seq = 2`,
		"blobs dropped":    `DELETE FROM outbox_blobs WHERE seq = 3`,
		"hash changed":     `UPDATE outbox SET hash = zeroblob(32) WHERE seq = 2`,
		"byte flipped":     `UPDATE outbox SET envelope = substr(envelope, 1, 200) || x'00' || substr(envelope, 202) WHERE seq = 2`,
	} {
		f := newFixture(t, t.TempDir())
		for i := 1; i <= 4; i++ {
			f.append(t, i, true)
		}
		if _, err := f.db.Exec(`DROP TRIGGER outbox_immutable; DROP TRIGGER outbox_no_delete`); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.Exec(edit); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := outbox.VerifyChain(ctx, f.db.DB, f.deskPub); err == nil {
			t.Errorf("%s: chain verified", name)
		}
	}
}

func TestConcurrentAppendsHaveNoGaps(t *testing.T) {
	f := newFixture(t, t.TempDir())
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				blobs, _ := synctest.Blobs(i)
				if _, err := f.ob.Release(context.Background(), synctest.Content(w*100+i), blobs, nil); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rep, err := outbox.VerifyChain(context.Background(), f.db.DB, f.deskPub)
	if err != nil || rep.Records != 40 {
		t.Fatalf("%+v %v", rep, err)
	}
}

// benchDir returns a fresh directory on a real disk: tmpfs would make fsync free and the figure
// meaningless.
func benchDir(b *testing.B) string {
	b.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "outbox-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		b.Fatal(err)
	}
	const tmpfsMagic = 0x01021994
	if st.Type == tmpfsMagic {
		b.Fatalf("%s is tmpfs: the benchmark needs a real disk", dir)
	}
	return dir
}

// BenchmarkOutboxAppend: one op = one record signed by the desk and countersigned by the officer,
// committed with its three sealed biometric blobs (a real JPEG portrait, two templates) in its own
// transaction with synchronous=FULL. Sealing the blobs to the registry happens before release
// (Outbox.Seal) and is measured by BenchmarkSealBlobs.
//
// Beside wall time it reports the process CPU time per op, user (signing, CBOR, AES-GCM, SQLite)
// and system (the kernel's share of the writes and fsync) apart, and the disk's own floor: the median of a
// plain overwrite+fsync of a commit's size in the same directory, measured right after the loop.
// On this machine the wall figure is that fsync plus the CPU time, so a loaded or slow disk shows
// up as fsync-µs, not as code.
func BenchmarkOutboxAppend(b *testing.B) {
	dir := benchDir(b)
	f := newFixture(b, dir)
	var sync string
	if os.Getenv("PROBE_SYNC_OFF") != "" {
		f.db.SetMaxOpenConns(1)
		f.db.Exec(`PRAGMA synchronous=OFF`)
		sync = "2"
	} else {
		f.db.QueryRow(`PRAGMA synchronous`).Scan(&sync)
	}
	if sync != "2" {
		b.Fatalf("synchronous = %s, want 2 (FULL)", sync)
	}
	contents := make([]record.Content, 64)
	sealed := make([]*outbox.Sealed, 64)
	for i := range contents {
		contents[i] = synctest.Content(i)
		blobs, err := synctest.Blobs(i)
		if err != nil {
			b.Fatal(err)
		}
		if sealed[i], err = f.ob.Seal(blobs); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	user0, sys0 := cpuTime(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.ob.Append(ctx, contents[i%64], sealed[i%64], f.officer); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	user, sys := cpuTime(b)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64((user-user0).Microseconds())/float64(b.N), "user-µs/op")
	b.ReportMetric(float64((sys-sys0).Microseconds())/float64(b.N), "sys-µs/op")
	if st, err := os.Stat(f.db.Path + "-wal"); err == nil {
		b.ReportMetric(float64(st.Size()>>10), "wal-KiB")
	}
	b.ReportMetric(float64(fsyncFloor(b, dir, 36<<10, min(b.N, 200)).Microseconds()), "fsync-µs")
}

// cpuTime is the process's user and system CPU time so far. The system share includes the
// kernel's synchronous writeback inside fsync, which is I/O work charged to the caller.
func cpuTime(tb testing.TB) (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// fsyncFloor is the median time of n overwrites of size bytes followed by fsync (SQLite's unix
// VFS here calls fsync, not fdatasync) in dir: what one commit costs the disk whatever the code.
func fsyncFloor(tb testing.TB, dir string, size, n int) time.Duration {
	tb.Helper()
	fh, err := os.CreateTemp(dir, "fsync-probe-")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.Remove(fh.Name())
	defer fh.Close()
	buf := make([]byte, size)
	if _, err := fh.WriteAt(buf, 0); err != nil {
		tb.Fatal(err)
	}
	if err := fh.Sync(); err != nil {
		tb.Fatal(err)
	}
	ds := make([]time.Duration, n)
	for i := range ds {
		buf[i%size]++
		t := time.Now()
		if _, err := fh.WriteAt(buf, 0); err != nil {
			tb.Fatal(err)
		}
		if err := fh.Sync(); err != nil {
			tb.Fatal(err)
		}
		ds[i] = time.Since(t)
	}
	slices.Sort(ds)
	return ds[n/2]
}

// BenchmarkSealBlobs: one op = sealing one record's three blobs to the registry (age X25519).
func BenchmarkSealBlobs(b *testing.B) {
	f := newFixture(b, b.TempDir())
	blobs, err := synctest.Blobs(1)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		if _, err := f.ob.Seal(blobs); err != nil {
			b.Fatal(err)
		}
	}
}
