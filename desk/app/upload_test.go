package app

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	hqsync "enrolldesk/sync"
	"enrolldesk/sync/record"
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
	d, err := Open(ctx, dir, Options{KDF: fastKDF})
	if err != nil {
		t.Fatal(err)
	}
	id, err := d.backend.Provision(ctx, supervisor)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := provision.Unlock(ctx, d.DB, supervisor.Passphrase)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
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
	if err := os.WriteFile(filepath.Join(dir, RegistryFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	// No Registry option: the recipient comes from the enrollment file.
	d, err = Open(ctx, dir, Options{KDF: fastKDF})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ev := &queueEvents{ch: make(chan struct{}, 1)}
	defer d.Events.Attach(ev)()
	if err := d.backend.UnlockDesk(ctx, supervisor.Passphrase); err != nil {
		t.Fatal(err)
	}
	c := record.Content{OfficerID: supervisor.SupervisorID, CitizenID: "001090000001",
		DG1: []byte{0x61, 0x03, 0x5F, 0x1F, 0x00}, SOD: []byte{0x77, 0x00},
		Form:  record.Form{Mobile: "0912345678"},
		Chip:  record.ChipVerdict{Access: "PACE", PA: record.Pass, AA: record.Absent, CA: record.Pass},
		Face:  record.FaceResult{Score: 0.3, Threshold: 0.38, Decision: "match", Liveness: record.Pass},
		Dedup: record.Dedup{Decision: "unique"}}
	blobs := []record.Blob{{Kind: record.KindPortrait, Format: "image/jpeg", Data: []byte{0xFF, 0xD8, 0xFF, 0xD9}}}
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
