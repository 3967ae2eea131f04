package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"enrolldesk/desk/provision"
	hqsync "enrolldesk/sync"
	"enrolldesk/sync/record"
	"enrolldesk/sync/registry"
)

// registeredDesk provisions a desk in dir, registers it with svc and leaves the desk closed, its
// enrollment in RegistryFile.
func registeredDesk(t *testing.T, svc *registry.Service, dir string) string {
	t.Helper()
	ctx := context.Background()
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
	if err := hqsync.SaveEnrollment(filepath.Join(dir, RegistryFile), enr); err != nil {
		t.Fatal(err)
	}
	return id
}

func testRecord(citizen string) (record.Content, []record.Blob) {
	c := record.Content{OfficerID: supervisor.SupervisorID, CitizenID: citizen,
		DG1: []byte{0x61, 0x03, 0x5F, 0x1F, 0x00}, SOD: []byte{0x77, 0x00},
		Form:  record.Form{Mobile: "0912345678"},
		Chip:  record.ChipVerdict{Access: "PACE", PA: record.Pass, AA: record.Absent, CA: record.Pass},
		Face:  record.FaceResult{Score: 0.3, Threshold: 0.38, Decision: "match", Liveness: record.Pass},
		Dedup: record.Dedup{Decision: "unique"}}
	return c, []record.Blob{{Kind: record.KindPortrait, Format: "image/jpeg", Data: []byte{0xFF, 0xD8, 0xFF, 0xD9}}}
}

// The registry issues short-lived desk certificates: an unlocked desk renews its certificate
// when it falls due (here at once), rewrites RegistryFile, and keeps uploading with the new one.
func TestUnlockedDeskRenewsItsCertificateAndKeepsSyncing(t *testing.T) {
	ctx := context.Background()
	// 10 minutes after a NotBefore one hour back: less than a third of the lifetime is left, so
	// renewal is due from the start.
	svc, err := registry.Start(ctx, registry.Config{Dir: t.TempDir(), Listen: "127.0.0.1:0",
		DeskCertValidity: 10 * time.Minute, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	dir := t.TempDir()
	id := registeredDesk(t, svc, dir)
	path := filepath.Join(dir, RegistryFile)
	// Certificate times have one-second resolution: a renewal in the same second would not
	// extend NotAfter, and the Renewer refuses a certificate that does not.
	time.Sleep(1100 * time.Millisecond)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

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
	deadline := time.Now().Add(60 * time.Second)
	for {
		after, err := os.ReadFile(path)
		if err == nil && !bytes.Equal(after, before) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the desk certificate was not renewed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := provision.Unlock(ctx, d.DB, supervisor.Passphrase)
	if err != nil {
		t.Fatal(err)
	}
	oldEnr, err := hqsync.ParseStoredEnrollment(before, keys.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	newEnr, err := hqsync.ParseEnrollment(after, keys.PublicKey)
	if err != nil {
		t.Fatalf("renewed enrollment: %v", err)
	}
	oc, _ := oldEnr.Cert()
	nc, err := newEnr.Cert()
	if err != nil {
		t.Fatal(err)
	}
	if nc.SerialNumber.Cmp(oc.SerialNumber) == 0 || !nc.NotAfter.After(oc.NotAfter) {
		t.Fatalf("renewed certificate: serial %v → %v, not after %v → %v", oc.SerialNumber, nc.SerialNumber, oc.NotAfter, nc.NotAfter)
	}

	c, blobs := testRecord("001090000011")
	if _, err := d.backend.Release(ctx, c, blobs, nil); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, func(s QueueStatus) bool { return s.Acked == 1 && s.Queued == 0 })
	if h, err := svc.Store.Head(ctx, id); err != nil || h.Seq != 1 {
		t.Fatalf("registry head %+v %v", h, err)
	}
}

// A desk that stayed offline past its certificate still opens, unlocks and queues what it
// approves (sealed to the registry); the queue names the failure instead of the desk refusing
// to start.
func TestDeskWithAnExpiredCertificateStillOpensAndQueues(t *testing.T) {
	ctx := context.Background()
	svc, err := registry.Start(ctx, registry.Config{Dir: t.TempDir(), Listen: "127.0.0.1:0",
		DeskCertValidity: time.Second, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	dir := t.TempDir()
	id := registeredDesk(t, svc, dir)
	time.Sleep(1500 * time.Millisecond) // past NotAfter

	d, err := Open(ctx, dir, Options{KDF: fastKDF})
	if err != nil {
		t.Fatalf("a desk with an expired certificate must still open: %v", err)
	}
	defer d.Close()
	ev := &queueEvents{ch: make(chan struct{}, 1)}
	defer d.Events.Attach(ev)()
	if err := d.backend.UnlockDesk(ctx, supervisor.Passphrase); err != nil {
		t.Fatal(err)
	}
	c, blobs := testRecord("001090000012")
	if _, err := d.backend.Release(ctx, c, blobs, nil); err != nil {
		t.Fatal(err)
	}
	// The uploader may already have failed once before the record was queued (it starts at
	// unlock), so wait for a status that shows both the queued record and a failure.
	st := ev.wait(t, func(s QueueStatus) bool { return s.LastError != "" && s.Queued+s.Sent+s.Acked > 0 })
	if st.Queued != 1 || st.Acked != 0 || st.Problem != "tls" {
		t.Fatalf("queue after a refused upload: %+v", st)
	}
	if h, err := svc.Store.Head(ctx, id); err == nil && h.Seq != 0 {
		t.Fatalf("the registry took a batch from an expired certificate: head %+v", h)
	}
}
