package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/opstest"
	hqsync "enrolldesk/sync"
	"enrolldesk/sync/protocol"
	"enrolldesk/sync/registry"
)

type shipEnv struct {
	*opstest.Fixture
	reg    *registry.SQLiteStore
	remote *audit.HTTPRemote
	ship   *audit.Shipper
}

// newShipEnv is a provisioned desk store and a real registry (SQLite file) over plain HTTP on
// loopback; the mutual-TLS path is TestShipOverMutualTLS.
func newShipEnv(t *testing.T) *shipEnv { return newShipEnvB(t) }

func newShipEnvB(t testing.TB) *shipEnv {
	t.Helper()
	ctx := context.Background()
	f := opstest.New(t)
	st, err := registry.OpenSQLite(ctx, filepath.Join(t.TempDir(), "registry.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.RegisterDesk(ctx, registry.Desk{ID: f.Desk.ID, PublicKey: f.Desk.PublicKey}); err != nil {
		t.Fatal(err)
	}
	regPub, regKey, _ := ed25519.GenerateKey(rand.Reader)
	hs := httptest.NewServer((&registry.Server{Store: st, Key: regKey}).Handler())
	t.Cleanup(hs.Close)
	r := &audit.HTTPRemote{BaseURL: hs.URL, DeskID: f.Desk.ID, RegistryKey: regPub}
	return &shipEnv{Fixture: f, reg: st, remote: r, ship: &audit.Shipper{Log: f.Audit, Remote: r, Batch: 4}}
}

func (e *shipEnv) add(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		e.Clock.Add(time.Second)
		if _, err := e.Audit.Append(context.Background(), audit.Entry{Actor: opstest.Officer, Action: "login.ok", Subject: opstest.Officer}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestShipContinuesTheRegistryHead(t *testing.T) {
	ctx := context.Background()
	e := newShipEnv(t)
	local := e.Head(t)
	res, err := e.ship.Ship(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != int(local) || res.Registry != local {
		t.Fatalf("first round %+v, local head %d", res, local)
	}
	// The registry holds exactly the desk's entries, hashes and all.
	got, err := e.reg.AuditEntries(ctx, e.Desk.ID, 1, local)
	if err != nil || int64(len(got)) != local {
		t.Fatalf("registry holds %d entries, %v", len(got), err)
	}
	mine, _ := e.Audit.Since(ctx, 0, 1000)
	for i := range mine {
		if want := audit.ToProtocol(mine[i]); got[i].At != want.At || string(got[i].Hash) != string(want.Hash) {
			t.Fatalf("entry %d differs at the registry", i+1)
		}
	}
	// Nothing new: nothing sent. New entries: only they are sent.
	if res, err := e.ship.Ship(ctx); err != nil || res.Sent != 0 {
		t.Fatalf("idle round %+v %v", res, err)
	}
	e.add(t, 6)
	if res, err := e.ship.Ship(ctx); err != nil || res.Sent != 6 || res.Registry != local+6 {
		t.Fatalf("round after 6 entries %+v %v", res, err)
	}
	// A replayed batch is harmless.
	es, _ := e.Audit.Since(ctx, 0, 3)
	bt := &protocol.AuditBatch{Version: protocol.Version}
	for _, x := range es {
		bt.Entries = append(bt.Entries, audit.ToProtocol(x))
	}
	if rc, err := e.remote.Send(ctx, bt); err != nil || rc.Stored != 0 || rc.Seq != local+6 {
		t.Fatalf("replay %+v %v", rc, err)
	}
}

func TestTruncatedTailIsCaughtAgainstTheRegistry(t *testing.T) {
	ctx := context.Background()
	e := newShipEnv(t)
	e.add(t, 5)
	if _, err := e.ship.Ship(ctx); err != nil {
		t.Fatal(err)
	}
	head := e.Head(t)
	// Someone with the file drops the triggers and cuts off the last two entries: the local
	// chain still verifies...
	for _, q := range []string{`DROP TRIGGER audit_log_no_delete`, `DELETE FROM audit_log WHERE seq > ?`} {
		if _, err := e.DB.ExecContext(ctx, q, head-2); err != nil {
			t.Fatal(err)
		}
	}
	if h, err := e.Audit.Verify(ctx); err != nil || h.Seq != head-2 {
		t.Fatalf("local verify %+v %v", h, err)
	}
	// ...but not against the registry's head.
	_, err := e.ship.Ship(ctx)
	var te *audit.TailError
	if !errors.As(err, &te) || te.Rewritten || te.Registry != head || te.Local != head-2 {
		t.Fatalf("ship after truncation: %v", err)
	}
	// New entries chained onto the cut log hide nothing: the entry at the registry's head now
	// differs, and the registry refuses them as a fork.
	e.add(t, 3)
	if _, err := e.ship.Ship(ctx); !errors.As(err, &te) || !te.Rewritten {
		t.Fatalf("ship after truncation and new entries: %v", err)
	}
	es, _ := e.Audit.Since(ctx, head-2, 10)
	bt := &protocol.AuditBatch{Version: protocol.Version}
	for _, x := range es {
		bt.Entries = append(bt.Entries, audit.ToProtocol(x))
	}
	_, err = e.remote.Send(ctx, bt)
	if ref, ok := err.(*protocol.Refusal); !ok || ref.Reason != protocol.ReasonFork || ref.Head != uint64(head) {
		t.Fatalf("re-chained entries: %v", err)
	}
}

func TestRegistryRefusesEditsGapsAndBrokenLinks(t *testing.T) {
	ctx := context.Background()
	e := newShipEnv(t)
	e.add(t, 4)
	if _, err := e.ship.Ship(ctx); err != nil {
		t.Fatal(err)
	}
	head := e.Head(t)
	all, _ := e.Audit.Since(ctx, 0, 1000)
	pe := func(xs []audit.Entry) []protocol.AuditEntry {
		out := make([]protocol.AuditEntry, len(xs))
		for i, x := range xs {
			out[i] = audit.ToProtocol(x)
		}
		return out
	}
	e.add(t, 4)
	fresh, _ := e.Audit.Since(ctx, head, 10)

	// Edited content with a re-computed hash at an already-shipped sequence: fork.
	edited := pe(all[len(all)-2:])
	edited[0].Detail = "nothing happened"
	edited[0].Hash = edited[0].ComputeHash()
	edited[1].Prev = edited[0].Hash
	edited[1].Hash = edited[1].ComputeHash()
	// Content that does not match its hash: a broken chain, refused before storage is read.
	tampered := pe(fresh[:1])
	tampered[0].Actor = "sup1"
	cases := []struct {
		name    string
		entries []protocol.AuditEntry
		reason  protocol.Reason
	}{
		{"edit", edited, protocol.ReasonFork},
		{"gap", pe(fresh[1:]), protocol.ReasonGap},
		{"content", tampered, protocol.ReasonBrokenChain},
	}
	for _, c := range cases {
		_, err := e.remote.Send(ctx, &protocol.AuditBatch{Version: protocol.Version, Entries: c.entries})
		ref, ok := err.(*protocol.Refusal)
		if !ok || ref.Reason != c.reason {
			t.Errorf("%s: %v, want %s", c.name, err, c.reason)
		}
	}
	// Entries chained to something else than the registry's head: broken chain.
	other := newShipEnv(t)
	other.add(t, int(head)+2)
	foreign, _ := other.Audit.Since(ctx, head, 2)
	e2 := &audit.HTTPRemote{BaseURL: e.remote.BaseURL, DeskID: e.Desk.ID, RegistryKey: e.remote.RegistryKey}
	if _, err := e2.Send(ctx, &protocol.AuditBatch{Version: protocol.Version, Entries: pe(foreign)}); err == nil {
		t.Fatal("entries of another chain accepted")
	} else if ref, ok := err.(*protocol.Refusal); !ok || ref.Reason != protocol.ReasonBrokenChain {
		t.Fatalf("foreign chain: %v", err)
	}
	if h, _ := e.reg.AuditHead(ctx, e.Desk.ID); h.Seq != head {
		t.Fatalf("a refused batch moved the registry head to %d", h.Seq)
	}
	// The genuine continuation is still accepted.
	if res, err := e.ship.Ship(ctx); err != nil || res.Sent != 4 {
		t.Fatalf("genuine %+v %v", res, err)
	}
}

func TestRewrittenEntryIsCaught(t *testing.T) {
	ctx := context.Background()
	e := newShipEnv(t)
	if _, err := e.ship.Ship(ctx); err != nil {
		t.Fatal(err)
	}
	head := e.Head(t)
	// Rewrite the newest entry with a valid hash (the local chain still verifies).
	es, _ := e.Audit.Since(ctx, head-1, 1)
	x := es[0]
	x.Detail = "rewritten"
	h := audit.Hash(x)
	if _, err := e.DB.ExecContext(ctx, `DROP TRIGGER audit_log_no_update`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DB.ExecContext(ctx, `UPDATE audit_log SET detail = ?, hash = ? WHERE seq = ?`, x.Detail, h, head); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Audit.Verify(ctx); err != nil {
		t.Fatalf("local chain: %v", err)
	}
	_, err := e.ship.Ship(ctx)
	var te *audit.TailError
	if !errors.As(err, &te) || !te.Rewritten || te.Registry != head {
		t.Fatalf("ship after rewrite: %v", err)
	}
}

func TestShipOverMutualTLS(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := opstest.New(t)
	svc, err := registry.Start(ctx, registry.Config{Dir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	enroll := func(id string, key ed25519.PrivateKey) *audit.HTTPRemote {
		enr, err := hqsync.Provision(ctx, svc.URL, svc.Identity.CAFingerprint(), svc.Identity.ProvisioningToken(id), id, key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := enr.Client(key)
		if err != nil {
			t.Fatal(err)
		}
		return &audit.HTTPRemote{BaseURL: c.BaseURL, HTTP: c.HTTP, DeskID: c.DeskID, RegistryKey: c.RegistryKey}
	}
	mine := enroll(f.Desk.ID, f.Keys.SigningKey)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	other := enroll("desk-other", otherKey)

	// The shipper's loop, kicked, reports its state.
	var mu sync.Mutex
	var states []audit.ShipState
	got := make(chan struct{}, 8)
	s := &audit.Shipper{Log: f.Audit, Remote: mine, Interval: time.Hour, OnState: func(st audit.ShipState) {
		mu.Lock()
		states = append(states, st)
		mu.Unlock()
		got <- struct{}{}
	}}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-got
	if _, err := f.Audit.Append(ctx, audit.Entry{Actor: opstest.Supervisor, Action: "settings.change", Subject: "timeouts.card"}); err != nil {
		t.Fatal(err)
	}
	s.Kick()
	<-got
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	mu.Lock()
	last := states[len(states)-1]
	mu.Unlock()
	if last.Err != "" || last.Registry != f.Head(t) || last.LastShipped.IsZero() {
		t.Fatalf("state %+v, local head %d", last, f.Head(t))
	}

	// Another desk's certificate cannot read or write this desk's audit log.
	spoof := &audit.HTTPRemote{BaseURL: other.BaseURL, HTTP: other.HTTP, DeskID: f.Desk.ID, RegistryKey: other.RegistryKey}
	if _, err := spoof.Head(context.Background()); err == nil {
		t.Fatal("another desk read this desk's audit head")
	} else if ref, ok := err.(*protocol.Refusal); !ok || ref.Reason != protocol.ReasonDeskMismatch {
		t.Fatalf("spoofed head: %v", err)
	}
	es, _ := f.Audit.Since(context.Background(), 0, 1)
	if _, err := spoof.Send(context.Background(), &protocol.AuditBatch{Version: protocol.Version, Entries: []protocol.AuditEntry{audit.ToProtocol(es[0])}}); err == nil {
		t.Fatal("another desk wrote this desk's audit log")
	}
}

// A registry that stops answering ends the round after the configured network timeout.
func TestShipperRequestTimeout(t *testing.T) {
	f := opstest.New(t)
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hs.Close()
	defer close(release)
	s := &audit.Shipper{Log: f.Audit, Timeout: 300 * time.Millisecond,
		Remote: &audit.HTTPRemote{BaseURL: hs.URL, DeskID: f.Desk.ID, RegistryKey: make(ed25519.PublicKey, ed25519.PublicKeySize)}}
	start := time.Now()
	_, err := s.Ship(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("ship against a silent registry: %v after %s", err, time.Since(start))
	}
}
