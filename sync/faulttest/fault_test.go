package faulttest

import (
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"enrolldesk/desk/store"
	"enrolldesk/sync/faultproxy"
	"enrolldesk/sync/internal/synctest"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/record"
	"enrolldesk/sync/registry"
)

// world is one registry and the keys of one desk.
type world struct {
	st       *registry.SQLiteStore
	srv      *httptest.Server
	regSeed  []byte
	regKey   ed25519.PrivateKey
	sealID   *age.X25519Identity
	deskID   string
	deskSeed []byte
	deskKey  ed25519.PrivateKey
	dataKey  []byte
}

func newWorld(t testing.TB, withServer bool) *world {
	t.Helper()
	w := &world{deskID: "desk-fault-01", regSeed: make([]byte, 32), deskSeed: make([]byte, 32), dataKey: make([]byte, 32)}
	crand.Read(w.regSeed)
	crand.Read(w.deskSeed)
	crand.Read(w.dataKey)
	w.regKey = ed25519.NewKeyFromSeed(w.regSeed)
	w.deskKey = ed25519.NewKeyFromSeed(w.deskSeed)
	var err error
	if w.sealID, err = age.GenerateX25519Identity(); err != nil {
		t.Fatal(err)
	}
	if withServer {
		w.st, err = registry.OpenSQLite(context.Background(), dbPath(t, "registry.sqlite"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.st.Close() })
		w.register(t, w.st)
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		w.srv = httptest.NewServer((&registry.Server{Store: w.st, Key: w.regKey, Log: quiet}).Handler())
		t.Cleanup(w.srv.Close)
	}
	return w
}

func (w *world) register(t testing.TB, st registry.Store) {
	t.Helper()
	if err := st.RegisterDesk(context.Background(), registry.Desk{ID: w.deskID, PublicKey: w.deskKey.Public().(ed25519.PublicKey)}); err != nil {
		t.Fatal(err)
	}
}

func (w *world) childConfig(db, url string, start, count int) childConfig {
	return childConfig{Mode: "desk", DB: db, DeskID: w.deskID, DeskSeed: hex.EncodeToString(w.deskSeed),
		DataKey: hex.EncodeToString(w.dataKey), Recipient: w.sealID.Recipient().String(), RegistryURL: url,
		RegistryPub: hex.EncodeToString(w.regKey.Public().(ed25519.PublicKey)), Start: start, Count: count}
}

func (w *world) openDesk(t testing.TB, path, url string, httpc *http.Client) (*store.DB, *outbox.Outbox, *outbox.Uploader) {
	t.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.New(db, outbox.Config{DeskID: w.deskID, DeskKey: w.deskKey, DataKey: w.dataKey, Registry: w.sealID.Recipient()})
	if err != nil {
		t.Fatal(err)
	}
	if httpc == nil {
		httpc = &http.Client{Timeout: 5 * time.Second}
	}
	up := &outbox.Uploader{Outbox: ob, MaxRecords: 6, Client: &outbox.Client{BaseURL: url, HTTP: httpc, DeskID: w.deskID,
		RegistryKey: w.regKey.Public().(ed25519.PublicKey)}}
	return db, ob, up
}

// checkRegistryChain verifies the registry's copy of the desk's chain end to end: every record
// once, in order, linked, signed, with its blobs.
func checkRegistryChain(t testing.TB, st registry.Store, w *world, want uint64) {
	t.Helper()
	ctx := context.Background()
	head, err := st.Head(ctx, w.deskID)
	if err != nil || head.Seq != want {
		t.Fatalf("registry head %d (%v), want %d", head.Seq, err, want)
	}
	recs, err := st.Records(ctx, w.deskID, 1, want+10)
	if err != nil || uint64(len(recs)) != want {
		t.Fatalf("registry holds %d records (%v), want %d", len(recs), err, want)
	}
	prev := record.GenesisHash
	for i, e := range recs {
		s, err := record.Verify(e.Envelope, w.deskKey.Public().(ed25519.PublicKey))
		if err != nil || e.Seq != uint64(i+1) || s.Record.Prev != prev || len(e.Blobs) != len(s.Record.Blobs) {
			t.Fatalf("registry record %d: %v", e.Seq, err)
		}
		prev = s.Hash
	}
	if head.Hash != prev {
		t.Fatal("registry head hash is not the last record's")
	}
}

func killRounds() int {
	if raceEnabled {
		return 30
	}
	return 60
}

// TestKill9Desk kills the desk process with SIGKILL at random points while it releases records
// and syncs. Every record whose release returned reaches the registry exactly once and both
// chains verify.
func TestKill9Desk(t *testing.T) {
	w := newWorld(t, true)
	deskDB := dbPath(t, "desk.sqlite")
	rng := rand.New(rand.NewPCG(7, 9))
	var acked []uint64
	next := 0
	for round := 0; round < killRounds(); round++ {
		c := startChild(t, w.childConfig(deskDB, w.srv.URL, next, 1000))
		// Kill after a random number of releases (1–4) plus a random delay, so the kill lands
		// anywhere in a release or an upload, however slow the machine is.
		want, seen := 1+rng.IntN(4), 0
		var early []string
		timeout := time.After(60 * time.Second)
	wait:
		for seen < want {
			select {
			case l, ok := <-c.lines:
				if !ok {
					break wait
				}
				early = append(early, l)
				if l != "ready" {
					seen++
				}
			case <-timeout:
				break wait
			}
		}
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		got := committed(append(early, c.kill()...))
		if seen < want {
			t.Fatalf("round %d: the desk child released %d records in 60 s", round, len(got))
		}
		acked = append(acked, got...)
		next += len(got) + 1
	}
	if len(acked) < killRounds() {
		t.Fatalf("only %d records committed over %d rounds: the children did not get to work", len(acked), killRounds())
	}
	// The store survived: integrity, chain, and every committed record is in it.
	ctx := context.Background()
	db, ob, up := w.openDesk(t, deskDB, w.srv.URL, nil)
	defer db.Close()
	var ic string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&ic); err != nil || ic != "ok" {
		t.Fatalf("integrity_check: %s %v", ic, err)
	}
	rep, err := outbox.VerifyChain(ctx, db.DB, w.deskKey.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range acked {
		if s > rep.Head {
			t.Fatalf("committed record %d lost: desk head %d", s, rep.Head)
		}
	}
	if h, _ := w.st.Head(ctx, w.deskID); h.Seq == 0 {
		t.Fatal("nothing reached the registry while the children ran: kills never hit a sync")
	}
	if err := up.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if c, _ := ob.Counts(ctx); c.Acked != rep.Records || c.Queued+c.Sent != 0 {
		t.Fatalf("desk counts %+v after final sync, %d records", c, rep.Records)
	}
	checkRegistryChain(t, w.st, w, rep.Head)
	t.Logf("%d kill -9 rounds, %d records committed and acknowledged", killRounds(), rep.Records)
}

// TestRegistryKilledMidBatch kills the registry process while desks upload large batches; after
// each restart its store is whole (no half-stored batch) and the upload resumes.
func TestRegistryKilledMidBatch(t *testing.T) {
	w := newWorld(t, false)
	regDB := dbPath(t, "registry.sqlite")
	st, err := registry.OpenSQLite(context.Background(), regDB)
	if err != nil {
		t.Fatal(err)
	}
	w.register(t, st)
	st.Close()
	ctx := context.Background()
	db, ob, up := w.openDesk(t, dbPath(t, "desk.sqlite"), "", &http.Client{Timeout: 10 * time.Second})
	defer db.Close()
	up.MaxRecords = 40
	total, rounds := 240, 12
	if raceEnabled {
		total, rounds = 120, 6
	}
	for i := 0; i < total; i++ {
		blobs, err := synctest.Blobs(i)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ob.Release(ctx, synctest.Content(i), blobs, nil); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < rounds; round++ {
		c := startChild(t, childConfig{Mode: "registry", DB: regDB, RegistryKey: hex.EncodeToString(w.regSeed)})
		addr, ok := <-c.lines
		if !ok {
			t.Fatal("registry child did not start")
		}
		up.Client.BaseURL = "http://" + addr[len("listening "):]
		syncErr := make(chan error, 1)
		go func() { syncErr <- up.SyncOnce(ctx) }()
		time.Sleep(time.Duration(5+rng.IntN(60)) * time.Millisecond)
		c.kill()
		<-syncErr
		st, err := registry.OpenSQLite(ctx, regDB)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.IntegrityCheck(ctx); err != nil {
			t.Fatal(err)
		}
		head, _ := st.Head(ctx, w.deskID)
		checkRegistryChain(t, st, w, head.Seq)
		st.Close()
	}
	// A last, undisturbed registry takes the rest.
	c := startChild(t, childConfig{Mode: "registry", DB: regDB, RegistryKey: hex.EncodeToString(w.regSeed)})
	addr := <-c.lines
	up.Client.BaseURL = "http://" + addr[len("listening "):]
	if err := up.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	c.kill()
	st, err = registry.OpenSQLite(ctx, regDB)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkRegistryChain(t, st, w, uint64(total))
}

// TestPowerLoss copies the desk's database and WAL at fsync points (when a commit returns), and
// also with a torn WAL tail (later frames written in part, never synced), and reopens each copy:
// it passes integrity_check and holds every record whose commit had returned.
func TestPowerLoss(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, false)
	dir := t.TempDir()
	path := filepath.Join(dir, store.FileName)
	db, ob, _ := w.openDesk(t, path, "", nil)
	defer db.Close()
	// One connection with frequent checkpoints, so that WAL restarts and database-file writes
	// happen among the snapshots.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`PRAGMA wal_autocheckpoint=40`); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	type snap struct {
		n       int
		db, wal []byte
		nextWAL []byte // the WAL after the following commit
	}
	var snaps []*snap
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return b
	}
	n := 40
	if raceEnabled {
		n = 20
	}
	for i := 1; i <= n; i++ {
		blobs, _ := synctest.Blobs(i)
		if _, err := ob.Release(ctx, synctest.Content(i), blobs, nil); err != nil {
			t.Fatal(err)
		}
		s := &snap{n: i, db: read(path), wal: read(path + "-wal")}
		if len(snaps) > 0 {
			snaps[len(snaps)-1].nextWAL = s.wal
		}
		snaps = append(snaps, s)
	}
	points, torns := 0, 0
	check := func(name string, s *snap, wal []byte, atLeast int) {
		t.Helper()
		cdir := t.TempDir()
		cp := filepath.Join(cdir, store.FileName)
		if err := os.WriteFile(cp, s.db, 0o600); err != nil {
			t.Fatal(err)
		}
		if wal != nil {
			if err := os.WriteFile(cp+"-wal", wal, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		cdb, err := store.Open(ctx, cp)
		if err != nil {
			t.Fatalf("%s after record %d: reopen: %v", name, s.n, err)
		}
		defer cdb.Close()
		var ic string
		if err := cdb.QueryRow(`PRAGMA integrity_check`).Scan(&ic); err != nil || ic != "ok" {
			t.Fatalf("%s after record %d: integrity_check %q %v", name, s.n, ic, err)
		}
		rep, err := outbox.VerifyChain(ctx, cdb.DB, w.deskKey.Public().(ed25519.PublicKey))
		if err != nil {
			t.Fatalf("%s after record %d: %v", name, s.n, err)
		}
		if rep.Records < atLeast {
			t.Fatalf("%s after record %d: %d records survive, want ≥ %d", name, s.n, rep.Records, atLeast)
		}
		points++
	}
	for _, s := range snaps {
		check("fsync point", s, s.wal, s.n)
		// Torn write: the next commit's WAL writes reached the disk only up to a random byte, the
		// rest of the file still holds what was there (SQLite writes the WAL sequentially, from
		// the restart point after a checkpoint).
		if s.nextWAL != nil {
			d0 := 0
			for d0 < len(s.nextWAL) && d0 < len(s.wal) && s.nextWAL[d0] == s.wal[d0] {
				d0++
			}
			if d0 < len(s.nextWAL) {
				cut := d0 + rng.IntN(len(s.nextWAL)-d0)
				torn := append([]byte(nil), s.nextWAL[:cut]...)
				if len(s.wal) > cut {
					torn = append(torn, s.wal[cut:]...)
				}
				check("torn WAL write", s, torn, s.n)
				torns++
			}
		}
		// Garbage after the last synced frame (sectors written with junk).
		if len(s.wal) > 0 {
			junk := make([]byte, 4096+rng.IntN(8192))
			for i := range junk {
				junk[i] = byte(rng.UintN(256))
			}
			check("junk WAL tail", s, append(append([]byte(nil), s.wal...), junk...), s.n)
		}
	}
	if torns < n/2 {
		t.Fatalf("only %d torn-write states", torns)
	}
	t.Logf("%d power-loss states checked (%d torn writes)", points, torns)
}

// TestFaultProxy syncs through a TCP proxy that drops, resets, delays, truncates and duplicates
// connections, while the desk keeps releasing records. The registry ends with every record once.
func TestFaultProxy(t *testing.T) {
	w := newWorld(t, true)
	px, err := faultproxy.New(w.srv.Listener.Addr().String(), 42, map[faultproxy.Fault]int{
		faultproxy.None: 2, faultproxy.Drop: 1, faultproxy.ResetRequest: 2, faultproxy.ResetResponse: 2,
		faultproxy.Delay: 1, faultproxy.Truncate: 2, faultproxy.Duplicate: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	// No keep-alive: each request gets a connection of its own, hence a fault of its own.
	httpc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	ctx := context.Background()
	db, ob, up := w.openDesk(t, dbPath(t, "desk.sqlite"), "http://"+px.Addr(), httpc)
	defer db.Close()
	up.MaxRecords = 5
	released, failures := 0, 0
	for attempt := 0; attempt < 300; attempt++ {
		if released < 80 {
			for k := 0; k < 3; k++ {
				blobs, _ := synctest.Blobs(released)
				if _, err := ob.Release(ctx, synctest.Content(released), blobs, nil); err != nil {
					t.Fatal(err)
				}
				released++
			}
		}
		if err := up.SyncOnce(ctx); err != nil {
			failures++
			continue
		}
		if released >= 80 {
			break
		}
	}
	c, _ := ob.Counts(ctx)
	if c.Acked != released {
		t.Fatalf("after 300 attempts: %+v of %d released", c, released)
	}
	checkRegistryChain(t, w.st, w, uint64(released))
	stats := px.Stats()
	for f := faultproxy.Drop; f <= faultproxy.Duplicate; f++ {
		if stats[f] == 0 {
			t.Errorf("fault %v never happened: %v", f, stats)
		}
	}
	if failures == 0 {
		t.Error("no sync attempt failed: the proxy injected nothing")
	}
	t.Logf("proxy faults %v; %d failed sync attempts; %d records synced once", stats, failures, released)
}
