package hqsync_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"enrolldesk/desk/store"
	hqsync "enrolldesk/sync"
	"enrolldesk/sync/internal/synctest"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/protocol"
	"enrolldesk/sync/registry"
)

// startRegistryOn starts the registry service on an explicit store and data directory, so a test
// can restart it with another certificate lifetime and keep its CA, keys and desks.
func startRegistryOn(t *testing.T, dir string, st registry.Store, validity time.Duration) *registry.Service {
	t.Helper()
	svc, err := registry.Start(context.Background(), registry.Config{Dir: dir, Listen: "127.0.0.1:0", Store: st,
		DeskCertValidity: validity, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

func openRegistryStore(t *testing.T, dir string) *registry.SQLiteStore {
	t.Helper()
	st, err := registry.OpenSQLite(context.Background(), filepath.Join(dir, "registry.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// deskOutbox opens a desk store with an outbox that seals to the registry of enr and holds n records.
func deskOutbox(t *testing.T, enr *hqsync.Enrollment, key ed25519.PrivateKey, n int) *outbox.Outbox {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rcp, err := enr.Recipient()
	if err != nil {
		t.Fatal(err)
	}
	dataKey := make([]byte, 32)
	rand.Read(dataKey)
	ob, err := outbox.New(db, outbox.Config{DeskID: enr.DeskID, DeskKey: key, DataKey: dataKey, Registry: rcp})
	if err != nil {
		t.Fatal(err)
	}
	release(t, ob, 1, n)
	return ob
}

func release(t *testing.T, ob *outbox.Outbox, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		blobs, err := synctest.Blobs(i)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ob.Release(context.Background(), synctest.Content(i), blobs, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// The registry issues a 3-second certificate at provisioning; restarted with a one-hour lifetime,
// it renews the desk's certificate over mutual TLS. The renewed enrollment replaces registry.cbor
// atomically and the client built before the renewal presents the new certificate: it still
// syncs after the old one has expired, while the old certificate is refused in the handshake.
func TestCertificateRenewalAndExpiry(t *testing.T) {
	ctx := context.Background()
	regDir := t.TempDir()
	st := openRegistryStore(t, regDir)
	svc := startRegistryOn(t, regDir, st, 3*time.Second)
	const id = "desk-renew-01"
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	enr, err := hqsync.Provision(ctx, svc.URL, svc.Identity.CAFingerprint(), svc.Identity.ProvisioningToken(id), id, key)
	if err != nil {
		t.Fatal(err)
	}
	oldCert, err := enr.Cert()
	if err != nil {
		t.Fatal(err)
	}
	if life := time.Until(oldCert.NotAfter); life > 4*time.Second {
		t.Fatalf("provisioned certificate lasts %v, want the configured 3 s", life)
	}
	svc.Close()
	svc = startRegistryOn(t, regDir, st, time.Hour)
	enr.RegistryURL = svc.URL

	deskDir := t.TempDir()
	path := filepath.Join(deskDir, "registry.cbor")
	if err := hqsync.SaveEnrollment(path, enr); err != nil {
		t.Fatal(err)
	}
	r, err := hqsync.OpenRenewer(path, key)
	if err != nil {
		t.Fatal(err)
	}
	up := &outbox.Uploader{Outbox: deskOutbox(t, enr, key, 5), Client: r.Client()} // built before the renewal

	// A third of the 1 h + 3 s lifetime (NotBefore is an hour back) is left: due now.
	renewed, err := r.RenewIfDue(ctx)
	if err != nil || !renewed {
		t.Fatalf("renew: %v %v", renewed, err)
	}
	onDisk, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := hqsync.ParseEnrollment(onDisk, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	newCert, err := saved.Cert()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(saved.Certificate, r.Enrollment().Certificate) || newCert.SerialNumber.Cmp(oldCert.SerialNumber) == 0 ||
		time.Until(newCert.NotAfter) < 50*time.Minute || newCert.Subject.CommonName != id {
		t.Fatalf("renewed certificate: serial %v (old %v), ends in %v, CN %q", newCert.SerialNumber, oldCert.SerialNumber, time.Until(newCert.NotAfter), newCert.Subject.CommonName)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(deskDir, ".registry.cbor.tmp-*")); len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
	if renewed, err := r.RenewIfDue(ctx); err != nil || renewed {
		t.Fatalf("renewed again right away: %v %v", renewed, err)
	}

	time.Sleep(time.Until(oldCert.NotAfter) + 1500*time.Millisecond)
	r.HTTPClient().CloseIdleConnections() // the next request must shake hands with what the renewer holds
	if err := up.SyncOnce(ctx); err != nil {
		t.Fatalf("sync with the renewed certificate: %v", err)
	}
	if h, _ := st.Head(ctx, id); h.Seq != 5 {
		t.Fatalf("registry head %d, want 5", h.Seq)
	}
	// The expired certificate: the registry refuses it in the TLS handshake (over HTTP/2 the
	// alert surfaces as a connection that could not be established)...
	stale, err := enr.Client(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stale.Head(ctx, 0); err == nil {
		t.Fatal("expired certificate accepted")
	}
	// ...and a desk that still holds only that one says so before it even connects.
	stalePath := filepath.Join(t.TempDir(), "registry.cbor")
	if err := hqsync.SaveEnrollment(stalePath, enr); err != nil {
		t.Fatal(err)
	}
	rs, err := hqsync.OpenRenewer(stalePath, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Renew(ctx); !errors.Is(err, hqsync.ErrCertExpired) {
		t.Fatalf("renewing an expired certificate: %v", err)
	}
	if _, err := rs.Client().Head(ctx, 0); !errors.Is(err, hqsync.ErrCertExpired) {
		t.Fatalf("head with an expired certificate: %v", err)
	}
	// Re-provisioning with the operator's token recovers the desk (same key, fresh certificate).
	if _, err := hqsync.Provision(ctx, svc.URL, svc.Identity.CAFingerprint(), svc.Identity.ProvisioningToken(id), id, key); err != nil {
		t.Fatalf("re-provision after expiry: %v", err)
	}
}

// Certificate requests that are not the desk's own are refused with bad-csr, and nothing is issued.
func TestRenewalRefusesForeignRequests(t *testing.T) {
	regDir := t.TempDir()
	svc := startRegistryOn(t, regDir, openRegistryStore(t, regDir), time.Hour)
	a := provisionDesk(t, svc, "desk-csr-a")
	provisionDesk(t, svc, "desk-csr-b")
	hc, err := a.enr.HTTPClient(a.key)
	if err != nil {
		t.Fatal(err)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	csr := func(cn string, k ed25519.PrivateKey) []byte {
		b, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tampered := csr("desk-csr-a", a.key)
	tampered[len(tampered)-1] ^= 1
	for name, c := range map[string]struct {
		desk   string
		body   []byte
		status int
		reason protocol.Reason
	}{
		"another key":          {"desk-csr-a", csr("desk-csr-a", other), http.StatusUnprocessableEntity, protocol.ReasonBadCSR},
		"another desk's name":  {"desk-csr-a", csr("desk-csr-b", a.key), http.StatusUnprocessableEntity, protocol.ReasonBadCSR},
		"bad self-signature":   {"desk-csr-a", tampered, http.StatusUnprocessableEntity, protocol.ReasonBadCSR},
		"not a request":        {"desk-csr-a", []byte("hello"), http.StatusUnprocessableEntity, protocol.ReasonBadCSR},
		"for another desk URL": {"desk-csr-b", csr("desk-csr-b", a.key), http.StatusForbidden, protocol.ReasonDeskMismatch},
	} {
		u := svc.URL + strings.Replace(protocol.PathDeskCert, "{id}", c.desk, 1)
		resp, err := hc.Post(u, protocol.MediaCSR, bytes.NewReader(c.body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ref, derr := protocol.DecodeRefusal(b)
		if resp.StatusCode != c.status || derr != nil || ref.Reason != c.reason {
			t.Errorf("%s: HTTP %d, refusal %v %v; want %d %s", name, resp.StatusCode, ref, derr, c.status, c.reason)
		}
	}
	// The desk's own request passes.
	resp, err := hc.Post(svc.URL+"/v1/desks/desk-csr-a/cert", protocol.MediaCSR, bytes.NewReader(csr("desk-csr-a", a.key)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("own request: HTTP %d", resp.StatusCode)
	}
}

// A revoked desk: its batches, head queries, renewals and re-provisioning are refused with the
// operator's reason, on the online path and on the in-process ingest path; nothing is stored.
func TestRevokedDeskIsRefused(t *testing.T) {
	ctx := context.Background()
	regDir := t.TempDir()
	st := openRegistryStore(t, regDir)
	svc := startRegistryOn(t, regDir, st, time.Hour)
	const id = "desk-revoke-01"
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	enr, err := hqsync.Provision(ctx, svc.URL, svc.Identity.CAFingerprint(), svc.Identity.ProvisioningToken(id), id, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "registry.cbor")
	if err := hqsync.SaveEnrollment(path, enr); err != nil {
		t.Fatal(err)
	}
	r, err := hqsync.OpenRenewer(path, key)
	if err != nil {
		t.Fatal(err)
	}
	ob := deskOutbox(t, enr, key, 3)
	up := &outbox.Uploader{Outbox: ob, Client: r.Client()}
	if err := up.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}

	if err := registry.RevokeDesk(ctx, st, id, "", time.Now()); err == nil {
		t.Fatal("revocation without a reason accepted")
	}
	if err := registry.RevokeDesk(ctx, st, "desk-never-seen", "x", time.Now()); !errors.Is(err, registry.ErrUnknownDesk) {
		t.Fatalf("revoking an unknown desk: %v", err)
	}
	const why = "desk stolen from ward 7, police report 2026-118"
	if err := registry.RevokeDesk(ctx, st, id, why, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := registry.RevokeDesk(ctx, st, id, "second thoughts", time.Now()); err != nil {
		t.Fatal(err)
	}
	if d, err := st.Desk(ctx, id); err != nil || d.Revoked.IsZero() || d.RevokeReason != why {
		t.Fatalf("desk after revocation: %+v %v", d, err)
	}

	release(t, ob, 4, 2)
	err = up.SyncOnce(ctx)
	ref, ok := outbox.IsRefusal(err)
	if !ok || ref.Reason != protocol.ReasonRevoked || !strings.Contains(ref.Detail, why) {
		t.Fatalf("sync of a revoked desk: %v", err)
	}
	if st, _ := ob.SyncState(ctx); !strings.Contains(st.LastError, "revoked") {
		t.Fatalf("the desk's status line does not say revoked: %q", st.LastError)
	}
	// The batch itself, sent directly, is refused too (the head query above was refused first).
	ps, err := ob.Next(ctx, 3, 10, 0)
	if err != nil || len(ps) != 2 {
		t.Fatalf("pending: %d %v", len(ps), err)
	}
	bt := &protocol.Batch{Version: protocol.Version, DeskID: id}
	for _, p := range ps {
		bt.Records = append(bt.Records, protocol.BatchRecord{Envelope: p.Envelope, Blobs: p.Blobs})
	}
	if _, err := r.Client().Send(ctx, bt); err == nil || !strings.Contains(err.Error(), string(protocol.ReasonRevoked)) {
		t.Fatalf("batch of a revoked desk: %v", err)
	}
	// The in-process path (air-gapped import) refuses it as well.
	in := &registry.Server{Store: st, Key: svc.Identity.SigningKey}
	if _, _, ref := in.Ingest(ctx, "", bt); ref == nil || ref.Reason != protocol.ReasonRevoked {
		t.Fatalf("in-process ingest of a revoked desk: %v", ref)
	}
	if h, _ := st.Head(ctx, id); h.Seq != 3 {
		t.Fatalf("registry head %d after revocation, want 3", h.Seq)
	}
	if err := r.Renew(ctx); err == nil || !strings.Contains(err.Error(), string(protocol.ReasonRevoked)) {
		t.Fatalf("renewal of a revoked desk: %v", err)
	}
	if _, err := hqsync.Provision(ctx, svc.URL, svc.Identity.CAFingerprint(), svc.Identity.ProvisioningToken(id), id, key); err == nil ||
		!strings.Contains(err.Error(), string(protocol.ReasonRevoked)) {
		t.Fatalf("re-provisioning a revoked desk: %v", err)
	}
	// Other desks are not affected.
	other := provisionDesk(t, svc, "desk-revoke-02")
	release(t, other.ob, 1, 2)
	if err := other.up.SyncOnce(ctx); err != nil {
		t.Fatalf("another desk after a revocation: %v", err)
	}
}

// Run renews by itself once renewal is due, then stops with its context.
func TestRenewerRun(t *testing.T) {
	regDir := t.TempDir()
	svc := startRegistryOn(t, regDir, openRegistryStore(t, regDir), time.Hour)
	const id = "desk-run-01"
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	enr, err := hqsync.Provision(ctx, svc.URL, svc.Identity.CAFingerprint(), svc.Identity.ProvisioningToken(id), id, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "registry.cbor")
	if err := hqsync.SaveEnrollment(path, enr); err != nil {
		t.Fatal(err)
	}
	r, err := hqsync.OpenRenewer(path, key)
	if err != nil {
		t.Fatal(err)
	}
	first := r.Enrollment()
	at, err := r.RenewAt()
	if err != nil {
		t.Fatal(err)
	}
	// The clock stands past the renewal time until the certificate has changed. Certificate
	// times have one-second resolution: the renewed one must end later than the first.
	r.Now = func() time.Time {
		if r.Enrollment() == first {
			return at.Add(time.Minute)
		}
		return time.Now()
	}
	r.Interval = 50 * time.Millisecond
	r.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	time.Sleep(1100 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	for r.Enrollment() == first {
		if ctx.Err() != nil {
			t.Fatal("Run did not renew a due certificate")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if bytes.Equal(r.Enrollment().Certificate, first.Certificate) {
		t.Fatal("certificate unchanged")
	}
}
