package outbox_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"enrolldesk/sync/internal/synctest"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/record"
)

// decisionsTable stands for a caller's own table (desk/review's decisions): the release and the
// decision must land together or not at all.
const decisionsTable = `CREATE TABLE decisions (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL REFERENCES outbox(seq), verdict TEXT NOT NULL)`

func (f *fixture) sealed(tb testing.TB, n int) *outbox.Sealed {
	tb.Helper()
	blobs, err := synctest.Blobs(n)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := f.ob.Seal(blobs)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func (f *fixture) head(tb testing.TB) (uint64, record.Hash) {
	tb.Helper()
	var seq uint64
	var h []byte
	if err := f.db.QueryRow(`SELECT seq, hash FROM outbox ORDER BY seq DESC LIMIT 1`).Scan(&seq, &h); err != nil {
		tb.Fatal(err)
	}
	var out record.Hash
	copy(out[:], h)
	return seq, out
}

func TestAppendTxCommitAndRollback(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, t.TempDir())
	if _, err := f.db.Exec(decisionsTable); err != nil {
		t.Fatal(err)
	}
	first := f.append(t, 1, true)

	// Commit: the record and the caller's row land together, and the record chains to the head.
	tx, err := f.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.ob.AppendTx(ctx, tx, synctest.Content(2), f.sealed(t, 2), f.officer)
	if err != nil {
		t.Fatal(err)
	}
	if a.Seq != 2 {
		t.Fatalf("AppendTx took sequence %d, want 2", a.Seq)
	}
	if _, err := tx.Exec(`INSERT INTO decisions(seq, verdict) VALUES (?, 'approved')`, a.Seq); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	ps, err := f.ob.Next(ctx, 1, 1, 0)
	if err != nil || len(ps) != 1 {
		t.Fatalf("next: %d %v", len(ps), err)
	}
	s, err := record.Verify(ps[0].Envelope, f.deskPub)
	if err != nil {
		t.Fatal(err)
	}
	if s.Record.Prev != first.Hash || s.Hash != a.Hash || len(ps[0].Blobs) != 3 {
		t.Fatalf("committed record: prev %x (want %x), hash %x (want %x), %d blobs", s.Record.Prev, first.Hash, s.Hash, a.Hash, len(ps[0].Blobs))
	}

	// Rollback: neither the records (two chained in one transaction) nor the caller's rows
	// remain, and the next release takes the same sequence and links to the real head.
	tx, err = f.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	r3, err := f.ob.AppendTx(ctx, tx, synctest.Content(3), f.sealed(t, 3), nil)
	if err != nil {
		t.Fatal(err)
	}
	r4, err := f.ob.AppendTx(ctx, tx, synctest.Content(4), nil, f.officer)
	if err != nil {
		t.Fatal(err)
	}
	if r3.Seq != 3 || r4.Seq != 4 {
		t.Fatalf("two releases in one transaction took %d and %d", r3.Seq, r4.Seq)
	}
	if _, err := tx.Exec(`INSERT INTO decisions(seq, verdict) VALUES (?, 'approved')`, r4.Seq); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if seq, h := f.head(t); seq != 2 || h != a.Hash {
		t.Fatalf("after rollback the head is %d %x, want 2 %x", seq, h, a.Hash)
	}
	var n int
	f.db.QueryRow(`SELECT COUNT(*) FROM decisions`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d decisions after rollback, want 1", n)
	}
	f.db.QueryRow(`SELECT COUNT(*) FROM outbox_blobs WHERE seq > 2`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d blob rows of rolled-back records", n)
	}
	again := f.append(t, 5, false)
	if again.Seq != 3 || again.Hash == r3.Hash {
		t.Fatalf("release after rollback: seq %d, hash equal to the rolled-back one: %v", again.Seq, again.Hash == r3.Hash)
	}

	// A caller's statement that fails after AppendTx aborts the whole release.
	tx, err = f.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	r4, err = f.ob.AppendTx(ctx, tx, synctest.Content(6), f.sealed(t, 6), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO decisions(seq, verdict) VALUES (?, NULL)`, r4.Seq); err == nil {
		t.Fatal("NULL verdict inserted")
	}
	tx.Rollback()

	rep, err := outbox.VerifyChain(ctx, f.db.DB, f.deskPub)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 3 || rep.Head != 3 || rep.HeadHash != again.Hash || rep.Countersigned != 2 || rep.BlobsHeld != 9 {
		t.Fatalf("chain report %+v", rep)
	}
	if _, err := f.ob.AppendTx(ctx, nil, synctest.Content(7), nil, nil); err == nil {
		t.Fatal("AppendTx with a nil transaction succeeded")
	}
	// A refused record inside a caller's transaction leaves the transaction usable and no trace.
	tx, err = f.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := synctest.Content(8)
	bad.OfficerID = ""
	if _, err := f.ob.AppendTx(ctx, tx, bad, nil, nil); err == nil {
		t.Fatal("record without officer appended")
	}
	ok, err := f.ob.AppendTx(ctx, tx, synctest.Content(9), nil, nil)
	if err != nil || ok.Seq != 4 {
		t.Fatalf("release after a refused one in the same transaction: %+v %v", ok, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if rep, err := outbox.VerifyChain(ctx, f.db.DB, f.deskPub); err != nil || rep.Records != 4 {
		t.Fatalf("%+v %v", rep, err)
	}
}

// Releases in callers' transactions (some rolled back) and plain Appends interleave from several
// goroutines: the chain stays gapless and every committed decision names a committed record.
func TestAppendTxConcurrentWithAppend(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, t.TempDir())
	if _, err := f.db.Exec(decisionsTable); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	var mu sync.Mutex
	committed := 0
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				if w%2 == 0 {
					if _, err := f.ob.Append(ctx, synctest.Content(w*100+i), nil, nil); err != nil {
						errs <- err
						return
					}
					mu.Lock()
					committed++
					mu.Unlock()
					continue
				}
				err := func() error {
					tx, err := f.db.BeginTx(ctx, nil)
					if err != nil {
						return err
					}
					defer tx.Rollback()
					a, err := f.ob.AppendTx(ctx, tx, synctest.Content(w*100+i), nil, f.officer)
					if err != nil {
						return err
					}
					if _, err := tx.Exec(`INSERT INTO decisions(seq, verdict) VALUES (?, 'approved')`, a.Seq); err != nil {
						return err
					}
					if i%3 == 0 {
						return errRolledBack
					}
					if err := tx.Commit(); err != nil {
						return err
					}
					mu.Lock()
					committed++
					mu.Unlock()
					return nil
				}()
				if err != nil && !errors.Is(err, errRolledBack) {
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
	rep, err := outbox.VerifyChain(ctx, f.db.DB, f.deskPub)
	if err != nil || rep.Records != committed || int(rep.Head) != committed {
		t.Fatalf("%+v %v (committed %d)", rep, err, committed)
	}
	var orphans, decisions int
	f.db.QueryRow(`SELECT COUNT(*) FROM decisions d LEFT JOIN outbox o ON o.seq = d.seq WHERE o.seq IS NULL`).Scan(&orphans)
	f.db.QueryRow(`SELECT COUNT(*) FROM decisions`).Scan(&decisions)
	if orphans != 0 || decisions != committed-16 {
		t.Fatalf("%d orphan decisions, %d decisions (want %d)", orphans, decisions, committed-16)
	}
}

var errRolledBack = errors.New("caller rolled back")

// A store whose pool holds one connection (the release statements must not need a second one
// while the caller's transaction holds the first).
func TestAppendOnPoolOfOne(t *testing.T) {
	f := newFixture(t, t.TempDir())
	f.db.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := f.ob.Append(ctx, synctest.Content(1), f.sealed(t, 1), f.officer); err != nil {
		t.Fatal(err)
	}
	tx, err := f.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ob.AppendTx(ctx, tx, synctest.Content(2), nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if rep, err := outbox.VerifyChain(ctx, f.db.DB, f.deskPub); err != nil || rep.Records != 2 {
		t.Fatalf("%+v %v", rep, err)
	}
	if err := f.ob.Close(); err != nil {
		t.Fatal(err)
	}
}
