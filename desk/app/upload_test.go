package app

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	hqsync "enrolldesk/sync"
	"enrolldesk/sync/registry"

	"enrolldesk/desk/provision"
)

type queueEvents struct {
	mu  sync.Mutex
	got []QueueStatus
	ch  chan struct{}
}

func (q *queueEvents) Emit(name string, data any) {
	if st, ok := data.(QueueStatus); ok && name == EventQueue {
		q.mu.Lock()
		q.got = append(q.got, st)
		q.mu.Unlock()
		select {
		case q.ch <- struct{}{}:
		default:
		}
	}
}

// wait returns the first queue event that satisfies ok, or fails after a minute.
func (q *queueEvents) wait(t *testing.T, ok func(QueueStatus) bool) QueueStatus {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		q.mu.Lock()
		for _, st := range q.got {
			if ok(st) {
				q.mu.Unlock()
				return st
			}
		}
		q.mu.Unlock()
		select {
		case <-q.ch:
		case <-deadline:
			t.Fatalf("no such queue event among %+v", q.got)
		}
	}
}

// A desk provisioned with the registry (a real registry on loopback, mutual TLS) uploads what it
// approves once unlocked, and the window hears the queue's progress.
func TestUnlockedDeskUploadsToTheRegistry(t *testing.T) {
	ctx := context.Background()
	svc, err := registry.Start(ctx, registry.Config{Dir: t.TempDir(), Listen: "127.0.0.1:0", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()

	dir := t.TempDir()
	id := registeredDesk(t, svc, dir)
	// No Registry option: the recipient comes from the enrollment file.
	d, err := Open(ctx, dir, Options{KDF: fastKDF})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ev := &queueEvents{ch: make(chan struct{}, 1)}
	defer d.Events.Attach(ev)()
	if err := d.backend.UnlockDesk(ctx, supervisor.Passphrase); err != nil {
		t.Fatal(err)
	}
	c, blobs := testRecord("001090000001")
	if _, err := d.backend.Release(ctx, c, blobs, nil); err != nil {
		t.Fatal(err)
	}
	st := ev.wait(t, func(s QueueStatus) bool { return s.Acked == 1 && s.Queued == 0 })
	if st.LastSynced == "" || st.LastError != "" {
		t.Fatalf("after the upload: %+v", st)
	}
	if h, err := svc.Store.Head(ctx, id); err != nil || h.Seq != 1 {
		t.Fatalf("registry head %+v %v", h, err)
	}
}

// A desk registered while the window runs (UseRegistry) uploads once unlocked; with the
// registry's listener down the queue holds the record and names the outage; once the registry
// is back, "sync now" empties the queue.
func TestRegisterWhileRunningThenOutageAndRecovery(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	regDir := t.TempDir()
	svc, err := registry.Start(ctx, registry.Config{Dir: regDir, Listen: "127.0.0.1:0", Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	addr := svc.URL[len("https://"):]
	defer func() { svc.Close() }()

	d, err := Open(ctx, t.TempDir(), Options{KDF: fastKDF, Registry: svc.Identity.Seal.Recipient()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	id, err := d.backend.Provision(ctx, supervisor)
	if err != nil {
		t.Fatal(err)
	}
	if r := d.Queue.SyncNow(); r.OK {
		t.Fatal("sync now without a logged-in officer")
	}
	if r := d.Session.Login(supervisor.SupervisorID, supervisor.SupervisorPIN); !r.OK {
		t.Fatalf("login: %+v", r.Error)
	}
	if r := d.Queue.SyncNow(); r.OK || r.Error.Code != CodeUnavailable {
		t.Fatalf("sync now before registration: %+v", r)
	}
	keys, err := provision.Unlock(ctx, d.DB, supervisor.Passphrase)
	if err != nil {
		t.Fatal(err)
	}
	enr, err := hqsync.Provision(ctx, svc.URL, svc.Identity.CAFingerprint(), svc.Identity.ProvisioningToken(id), id, keys.SigningKey)
	if err != nil {
		t.Fatal(err)
	}
	b, err := enr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// Another registry's enrollment seals to another key: refused.
	other, err := registry.Start(ctx, registry.Config{Dir: t.TempDir(), Listen: "127.0.0.1:0", Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	oenr, err := hqsync.Provision(ctx, other.URL, other.Identity.CAFingerprint(), other.Identity.ProvisioningToken(id), id, keys.SigningKey)
	other.Close()
	if err != nil {
		t.Fatal(err)
	}
	ob, err := oenr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.UseRegistry(ctx, ob); err == nil {
		t.Fatal("an enrollment sealing to another registry's key was accepted")
	}
	if err := d.UseRegistry(ctx, b); err != nil {
		t.Fatal(err)
	}
	ev := &queueEvents{ch: make(chan struct{}, 1)}
	defer d.Events.Attach(ev)()
	if r := d.Session.UnlockDesk(supervisor.Passphrase); !r.OK {
		t.Fatalf("unlock: %+v", r.Error)
	}
	if err := d.UseRegistry(ctx, b); err == nil {
		t.Fatal("UseRegistry on an unlocked desk was accepted")
	}
	release := func(citizen string) {
		t.Helper()
		c, blobs := testRecord(citizen)
		if _, err := d.backend.Release(ctx, c, blobs, nil); err != nil {
			t.Fatal(err)
		}
	}
	release("001090000001")
	ev.wait(t, func(s QueueStatus) bool { return s.Acked == 1 && s.Queued == 0 })

	// Outage: the registry's listener goes away.
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	release("001090000002")
	down := ev.wait(t, func(s QueueStatus) bool { return s.Queued == 1 && s.Problem != "" })
	if down.Problem != SyncUnreachable || down.LastError == "" {
		t.Fatalf("during the outage: %+v", down)
	}
	r := d.Queue.Status()
	if !r.OK {
		t.Fatalf("status: %+v", r.Error)
	}
	if st := r.Data.(QueueStatus); st.Queued != 1 || st.Problem != SyncUnreachable || !st.Uploading {
		t.Fatalf("queue status during the outage: %+v", st)
	}

	// Recovery on the same address; "sync now" does not wait for the backoff.
	svc, err = registry.Start(ctx, registry.Config{Dir: regDir, Listen: addr, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if r := d.Queue.SyncNow(); !r.OK {
		t.Fatalf("sync now: %+v", r.Error)
	}
	ev.wait(t, func(s QueueStatus) bool { return s.Acked == 2 && s.Queued == 0 && s.Problem == "" })
	r = d.Queue.Status()
	if st := r.Data.(QueueStatus); st.Queued != 0 || st.Acked != 2 || st.Problem != "" || st.LastSynced == "" {
		t.Fatalf("queue status after recovery: %+v", st)
	}
}

func TestSyncProblem(t *testing.T) {
	for _, c := range []struct{ msg, reason, want string }{
		{"", "", ""},
		{`head: Post "https://127.0.0.1:4431/v1/head": dial tcp 127.0.0.1:4431: connect: connection refused`, "", SyncUnreachable},
		{"read tcp 127.0.0.1:5->127.0.0.1:6: read: connection reset by peer", "", SyncUnreachable},
		{`Post "https://x/v1/batches": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, "", SyncTimeout},
		{"tls: failed to verify certificate: x509: certificate has expired or is not yet valid", "", SyncTLS},
		{"registry refused the batch: broken-chain at sequence 4", "broken-chain", SyncRefused},
		{"registry refused the batch: gap", "", SyncRefused},
		{"receipt signature does not verify", "", SyncOther},
	} {
		if got := SyncProblem(c.msg, c.reason); got != c.want {
			t.Errorf("SyncProblem(%q, %q) = %q, want %q", c.msg, c.reason, got, c.want)
		}
	}
	for msg, want := range map[string]string{
		"registry refused the batch: broken-chain at sequence 4": "broken-chain",
		"batches: registry refused the batch: gap":               "gap",
		"connection refused":                                     "",
	} {
		if got := refusalReason(msg); got != want {
			t.Errorf("refusalReason(%q) = %q, want %q", msg, got, want)
		}
	}
}
