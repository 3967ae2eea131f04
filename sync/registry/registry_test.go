package registry_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"enrolldesk/desk/store"
	"enrolldesk/sync/internal/synctest"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/protocol"
	"enrolldesk/sync/record"
	"enrolldesk/sync/registry"
)

// backends lists the stores every registry test runs on.
var backends = map[string]func(t testing.TB) registry.Store{
	"sqlite": func(t testing.TB) registry.Store {
		s, err := registry.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "registry.sqlite"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	},
}

type harness struct {
	store   registry.Store
	srv     *httptest.Server
	regKey  ed25519.PrivateKey
	sealKey *age.X25519Identity
}

func newHarness(t testing.TB, st registry.Store) *harness {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	s := &registry.Server{Store: st, Key: key}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &harness{store: st, srv: srv, regKey: key, sealKey: id}
}

type desk struct {
	id   string
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
	db   *store.DB
	ob   *outbox.Outbox
	up   *outbox.Uploader
}

func (h *harness) newDesk(t testing.TB, id string, register bool) *desk {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	dk := make([]byte, 32)
	rand.Read(dk)
	ob, err := outbox.New(db, outbox.Config{DeskID: id, DeskKey: priv, DataKey: dk, Registry: h.sealKey.Recipient()})
	if err != nil {
		t.Fatal(err)
	}
	if register {
		if err := h.store.RegisterDesk(context.Background(), registry.Desk{ID: id, PublicKey: pub}); err != nil {
			t.Fatal(err)
		}
	}
	c := &outbox.Client{BaseURL: h.srv.URL, HTTP: h.srv.Client(), DeskID: id, RegistryKey: h.regKey.Public().(ed25519.PublicKey)}
	return &desk{id: id, pub: pub, priv: priv, db: db, ob: ob, up: &outbox.Uploader{Outbox: ob, Client: c, MaxRecords: 7}}
}

func (d *desk) release(t testing.TB, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		blobs, err := synctest.Blobs(i)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.ob.Release(context.Background(), synctest.Content(i), blobs, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func forEachBackend(t *testing.T, f func(t *testing.T, h *harness)) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) { f(t, newHarness(t, open(t))) })
	}
}

func TestSyncEndToEnd(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		d := h.newDesk(t, "desk-hn-0001", true)
		d.release(t, 1, 30)
		var events []outbox.Progress
		d.up.OnProgress = func(p outbox.Progress) { events = append(events, p) }
		if err := d.up.SyncOnce(ctx); err != nil {
			t.Fatal(err)
		}
		head, err := h.store.Head(ctx, d.id)
		if err != nil || head.Seq != 30 {
			t.Fatalf("registry head %+v %v", head, err)
		}
		c, _ := d.ob.Counts(ctx)
		if c != (outbox.Counts{Acked: 30}) {
			t.Fatalf("desk counts %+v", c)
		}
		st, _ := d.ob.SyncState(ctx)
		if st.LastSynced.IsZero() || st.AckedSeq != 30 || len(events) < 5 {
			t.Fatalf("sync state %+v, %d progress events", st, len(events))
		}
		rep, err := outbox.VerifyChain(ctx, d.db.DB, d.pub)
		if err != nil || rep.BlobsHeld != 0 || rep.BlobsPurged != 90 {
			t.Fatalf("desk chain %+v %v", rep, err)
		}
		// The registry holds the very envelopes, and can unseal the blobs.
		recs, err := h.store.Records(ctx, d.id, 1, 30)
		if err != nil || len(recs) != 30 {
			t.Fatalf("records %d %v", len(recs), err)
		}
		prev := record.GenesisHash
		for _, e := range recs {
			s, err := record.Verify(e.Envelope, d.pub)
			if err != nil || s.Record.Prev != prev {
				t.Fatalf("stored record %d: %v", e.Seq, err)
			}
			prev = s.Hash
			want, _ := synctest.Blobs(int(e.Seq))
			for i, ref := range s.Record.Blobs {
				plain, err := record.Unseal(h.sealKey, ref, e.Blobs[i])
				if err != nil || !bytes.Equal(plain, want[i].Data) {
					t.Fatalf("record %d blob %d: %v", e.Seq, i, err)
				}
			}
		}
		// More records later, then a sync that has nothing to do.
		d.release(t, 31, 3)
		if err := d.up.SyncOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if err := d.up.SyncOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if head, _ := h.store.Head(ctx, d.id); head.Seq != 33 {
			t.Fatalf("head %d", head.Seq)
		}
	})
}

// batchOf builds a batch from a desk's stored records from..to.
func batchOf(t testing.TB, d *desk, from, to uint64) *protocol.Batch {
	t.Helper()
	ps, err := d.ob.Next(context.Background(), from-1, int(to-from+1), 0)
	if err != nil {
		t.Fatal(err)
	}
	bt := &protocol.Batch{Version: protocol.Version, DeskID: d.id}
	for _, p := range ps {
		bt.Records = append(bt.Records, protocol.BatchRecord{Envelope: p.Envelope, Blobs: p.Blobs})
	}
	return bt
}

func TestRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		d := h.newDesk(t, "desk-hn-0002", true)
		d.release(t, 1, 10)
		send := func(bt *protocol.Batch) (*outbox.Receipt, error) { return d.up.Client.Send(ctx, bt) }
		if _, err := send(batchOf(t, d, 1, 5)); err != nil {
			t.Fatal(err)
		}
		// An impostor holding another key signs records in this desk's name.
		imp := h.newDesk(t, d.id, false)
		imp.release(t, 1, 8)
		// Another registered desk.
		other := h.newDesk(t, "desk-hn-0003", true)
		other.release(t, 1, 2)
		unknown := h.newDesk(t, "desk-unknown", false)
		unknown.release(t, 1, 1)

		tamper := func(bt *protocol.Batch, f func(bt *protocol.Batch)) *protocol.Batch { f(bt); return bt }
		cases := []struct {
			name string
			bt   *protocol.Batch
			want protocol.Reason
		}{
			{"unknown desk", batchOf(t, unknown, 1, 1), protocol.ReasonUnknownDesk},
			{"forged by another key", batchOf(t, imp, 6, 8), protocol.ReasonBadSignature},
			{"gap", batchOf(t, d, 7, 8), protocol.ReasonGap},
			{"reordered", tamper(batchOf(t, d, 6, 8), func(b *protocol.Batch) { b.Records[0], b.Records[1] = b.Records[1], b.Records[0] }), protocol.ReasonOrder},
			{"dropped middle", tamper(batchOf(t, d, 6, 8), func(b *protocol.Batch) { b.Records = append(b.Records[:1], b.Records[2:]...) }), protocol.ReasonOrder},
			{"tampered envelope", tamper(batchOf(t, d, 6, 7), func(b *protocol.Batch) { b.Records[1].Envelope[100] ^= 0x20 }), protocol.ReasonBadSignature},
			{"tampered blob", tamper(batchOf(t, d, 6, 7), func(b *protocol.Batch) { b.Records[0].Blobs[0][50] ^= 1 }), protocol.ReasonBadBlob},
			{"missing blob", tamper(batchOf(t, d, 6, 7), func(b *protocol.Batch) { b.Records[0].Blobs = b.Records[0].Blobs[:2] }), protocol.ReasonBadBlob},
			{"other desk's records", tamper(batchOf(t, other, 1, 2), func(b *protocol.Batch) { b.DeskID = d.id }), protocol.ReasonBadSignature},
			{"fork at a stored sequence", batchOf(t, imp, 1, 2), protocol.ReasonBadSignature},
			{"version", tamper(batchOf(t, d, 6, 6), func(b *protocol.Batch) { b.Version = 2 }), protocol.ReasonBadRequest},
		}
		for _, c := range cases {
			_, err := send(c.bt)
			ref, ok := outbox.IsRefusal(err)
			if !ok || ref.Reason != c.want {
				t.Errorf("%s: got %v, want refusal %s", c.name, err, c.want)
			}
		}
		// A validly signed fork: the desk's own key signs a different record 3 (a cloned store).
		forkDB, err := store.Open(ctx, filepath.Join(t.TempDir(), "fork.sqlite"))
		if err != nil {
			t.Fatal(err)
		}
		defer forkDB.Close()
		dk := make([]byte, 32)
		fork, _ := outbox.New(forkDB, outbox.Config{DeskID: d.id, DeskKey: d.priv, DataKey: dk, Registry: h.sealKey.Recipient()})
		for i := 100; i < 104; i++ {
			if _, err := fork.Release(ctx, synctest.Content(i), nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		forkDesk := &desk{id: d.id, ob: fork}
		if _, err := send(batchOf(t, forkDesk, 3, 4)); err == nil {
			t.Error("fork at stored sequences accepted")
		} else if ref, _ := outbox.IsRefusal(err); ref == nil || ref.Reason != protocol.ReasonFork {
			t.Errorf("fork: %v", err)
		}
		if _, err := send(batchOf(t, forkDesk, 1, 1)); err == nil {
			t.Error("fork at sequence 1 accepted")
		}
		// Nothing of the above was stored.
		head, _ := h.store.Head(ctx, d.id)
		if head.Seq != 5 {
			t.Fatalf("head %d after refusals, want 5", head.Seq)
		}
		// Replays are harmless; overlapping batches store only the new part.
		rc, err := send(batchOf(t, d, 1, 5))
		if err != nil || rc.Seq != 5 || rc.Stored != 0 {
			t.Fatalf("replay: %+v %v", rc, err)
		}
		rc, err = send(batchOf(t, d, 4, 10))
		if err != nil || rc.Seq != 10 || rc.Stored != 5 {
			t.Fatalf("overlap: %+v %v", rc, err)
		}
		// A receipt signed by another key is not believed.
		c2 := *d.up.Client
		_, wrong, _ := ed25519.GenerateKey(rand.Reader)
		c2.RegistryKey = wrong.Public().(ed25519.PublicKey)
		if _, err := c2.Head(ctx, 0); !errors.Is(err, record.ErrSignature) {
			t.Fatalf("receipt under another key: %v", err)
		}
	})
}

// TestLogCatchesRewrite: the desk keeps the last signed checkpoint and checks every receipt's
// inclusion and consistency proofs, so a registry that rewrites its log (same signing key,
// different history) is caught at the next sync.
func TestLogCatchesRewrite(t *testing.T) {
	ctx := context.Background()
	st1 := backends["sqlite"](t)
	h1 := newHarness(t, st1)
	d := h1.newDesk(t, "desk-log-01", true)
	d.release(t, 1, 6)
	if err := d.up.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	cpBytes, err := d.ob.Checkpoint(ctx)
	if err != nil || cpBytes == nil {
		t.Fatalf("no checkpoint kept: %v", err)
	}
	cp, err := protocol.VerifyCheckpoint(cpBytes, h1.regKey.Public().(ed25519.PublicKey))
	if err != nil || cp.Size != 6 {
		t.Fatalf("checkpoint %+v %v", cp, err)
	}
	// Honest growth verifies: more records, consistency proof from size 6.
	d.release(t, 7, 3)
	if err := d.up.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// A receipt whose inclusion proof was altered is refused.
	other := h1.newDesk(t, "desk-log-02", true)
	other.release(t, 1, 2)
	bt := batchOf(t, other, 1, 2)
	orc, err := other.up.Client.Send(ctx, bt)
	if err != nil {
		t.Fatal(err)
	}
	hs := []record.Hash{}
	for _, r := range bt.Records {
		hs = append(hs, record.ChainHash(r.Envelope))
	}
	if _, err := protocol.VerifyLog(orc.Receipt, h1.regKey.Public().(ed25519.PublicKey), nil, hs); err != nil {
		t.Fatalf("honest receipt: %v", err)
	}
	orc.Inclusion[1][0][3] ^= 1
	if _, err := protocol.VerifyLog(orc.Receipt, h1.regKey.Public().(ed25519.PublicKey), nil, hs); !errors.Is(err, protocol.ErrLogInconsistent) {
		t.Fatalf("altered inclusion proof: %v", err)
	}
	// A second registry with the same key but another history: the desk refuses its receipts.
	st2 := backends["sqlite"](t)
	s2 := &registry.Server{Store: st2, Key: h1.regKey}
	srv2 := httptest.NewServer(s2.Handler())
	defer srv2.Close()
	if err := st2.RegisterDesk(ctx, registry.Desk{ID: d.id, PublicKey: d.pub}); err != nil {
		t.Fatal(err)
	}
	d.up.Client.BaseURL = srv2.URL
	err = d.up.SyncOnce(ctx)
	if !errors.Is(err, outbox.ErrFork) || !strings.Contains(err.Error(), "inconsistent") {
		t.Fatalf("rewritten registry: %v", err)
	}
}

func TestUploaderRunKickBandwidthBackoff(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := newHarness(t, backends["sqlite"](t))
	d := h.newDesk(t, "desk-run-01", true)
	d.up.Interval = time.Hour // only Kick wakes it
	d.up.MinBackoff, d.up.MaxBackoff = 10*time.Millisecond, 40*time.Millisecond
	progress := make(chan outbox.Progress, 100)
	d.up.OnProgress = func(p outbox.Progress) {
		select {
		case progress <- p:
		default:
		}
	}
	done := make(chan error, 1)
	go func() { done <- d.up.Run(ctx) }()
	d.release(t, 1, 3)
	d.up.Kick()
	deadline := time.After(30 * time.Second)
	for acked := false; !acked; {
		select {
		case p := <-progress:
			acked = p.Acked == 3 && !p.LastSynced.IsZero()
		case <-deadline:
			t.Fatal("kicked uploader did not sync in 30 s")
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	// Backoff doubles per failure, jittered between half and all of the step, capped.
	for n, want := range []time.Duration{10, 20, 40, 40} {
		for i := 0; i < 20; i++ {
			if b := d.up.Backoff(n); b < want*time.Millisecond/2 || b > want*time.Millisecond {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", n, b, want*time.Millisecond/2, want*time.Millisecond)
			}
		}
	}
	// The bandwidth cap paces the upload.
	d.release(t, 4, 2)
	c := *d.up.Client
	c.BytesPerSecond = 100 << 10
	bt := batchOf(t, d, 4, 5)
	body, _ := protocol.EncMode.Marshal(bt)
	start := time.Now()
	if _, err := c.Send(context.Background(), bt); err != nil {
		t.Fatal(err)
	}
	if min := time.Duration(float64(len(body)-16<<10) / float64(c.BytesPerSecond) * float64(time.Second)); time.Since(start) < min {
		t.Fatalf("%d bytes at %d B/s took %v, want ≥ %v", len(body), c.BytesPerSecond, time.Since(start), min)
	}
}
