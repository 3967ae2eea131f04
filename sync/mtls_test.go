package hqsync_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
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

func startRegistry(t *testing.T) *registry.Service {
	t.Helper()
	svc, err := registry.Start(context.Background(), registry.Config{Dir: t.TempDir(), Listen: "127.0.0.1:0",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

type provisioned struct {
	key ed25519.PrivateKey
	enr *hqsync.Enrollment
	ob  *outbox.Outbox
	up  *outbox.Uploader
}

func provisionDesk(t *testing.T, svc *registry.Service, id string) *provisioned {
	t.Helper()
	ctx := context.Background()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	enr, err := hqsync.Provision(ctx, svc.URL, svc.Identity.CAFingerprint(), svc.Identity.ProvisioningToken(id), id, key)
	if err != nil {
		t.Fatal(err)
	}
	// The enrollment survives storage.
	b, err := enr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if enr, err = hqsync.ParseEnrollment(b, key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
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
	ob, err := outbox.New(db, outbox.Config{DeskID: id, DeskKey: key, DataKey: dataKey, Registry: rcp})
	if err != nil {
		t.Fatal(err)
	}
	c, err := enr.Client(key)
	if err != nil {
		t.Fatal(err)
	}
	return &provisioned{key: key, enr: enr, ob: ob, up: &outbox.Uploader{Outbox: ob, Client: c, MaxRecords: 4}}
}

func TestMutualTLSProvisionAndSync(t *testing.T) {
	ctx := context.Background()
	svc := startRegistry(t)
	a := provisionDesk(t, svc, "desk-hcm-0001")
	b := provisionDesk(t, svc, "desk-hcm-0002")
	for i := 0; i < 9; i++ {
		blobs, _ := synctest.Blobs(i)
		if _, err := a.ob.Release(ctx, synctest.Content(i), blobs, a.key); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.up.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if h, _ := svc.Store.Head(ctx, "desk-hcm-0001"); h.Seq != 9 {
		t.Fatalf("registry head %d", h.Seq)
	}
	// HTTP/2 over TLS 1.3 with the desk certificate.
	hc, _ := a.enr.HTTPClient(a.key)
	resp, err := hc.Get(svc.URL + "/v1/desks/desk-hcm-0001/head")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 || resp.StatusCode != 200 {
		t.Fatalf("proto %s, TLS %v, status %d", resp.Proto, resp.TLS != nil, resp.StatusCode)
	}
	// Desk B's certificate cannot read or write desk A's chain.
	resp, err = func() (*http.Response, error) {
		hcb, _ := b.enr.HTTPClient(b.key)
		return hcb.Get(svc.URL + "/v1/desks/desk-hcm-0001/head")
	}()
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("desk B reading A's head: %v %v", resp, err)
	}
	resp.Body.Close()
	ps, _ := a.ob.Next(ctx, 0, 2, 0)
	bt := &protocol.Batch{Version: 1, DeskID: "desk-hcm-0001"}
	for _, p := range ps {
		bt.Records = append(bt.Records, protocol.BatchRecord{Envelope: p.Envelope, Blobs: p.Blobs})
	}
	cb := *b.up.Client
	if _, err := cb.Send(ctx, bt); err == nil || !strings.Contains(err.Error(), string(protocol.ReasonDeskMismatch)) {
		t.Fatalf("desk B sending A's batch: %v", err)
	}
	// Without a client certificate: no batches.
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}} //nolint:gosec // test
	body, _ := protocol.EncMode.Marshal(bt)
	resp, err = anon.Post(svc.URL+protocol.PathBatches, protocol.MediaType, bytes.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("anonymous batch: %v %v", resp, err)
	}
	resp.Body.Close()
	// A certificate from another CA is refused in the handshake.
	other := startRegistry(t)
	c := provisionDesk(t, other, "desk-hcm-0001")
	hcc, _ := c.enr.HTTPClient(c.key)
	hcc.Transport.(*http.Transport).TLSClientConfig.RootCAs = nil
	hcc.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify = true
	hcc.Timeout = 5 * time.Second
	if resp, err := hcc.Get(svc.URL + "/v1/desks/desk-hcm-0001/head"); err == nil {
		resp.Body.Close()
		t.Fatalf("foreign CA accepted: %d", resp.StatusCode)
	}
}

func TestProvisionRefusals(t *testing.T) {
	ctx := context.Background()
	svc := startRegistry(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	fp := svc.Identity.CAFingerprint()
	if _, err := hqsync.Provision(ctx, svc.URL, fp, svc.Identity.ProvisioningToken("desk-x"), "desk-y", key); err == nil {
		t.Fatal("token of another desk accepted")
	}
	wrongPin := strings.Repeat("ab", 32)
	if _, err := hqsync.Provision(ctx, svc.URL, wrongPin, svc.Identity.ProvisioningToken("desk-x"), "desk-x", key); err == nil || !strings.Contains(err.Error(), "pinned CA") {
		t.Fatalf("wrong CA pin: %v", err)
	}
	if _, err := hqsync.Provision(ctx, svc.URL, fp, svc.Identity.ProvisioningToken("desk-x"), "desk-x", key); err != nil {
		t.Fatal(err)
	}
	// Same desk again with the same key: fine (a re-install); with another key: refused.
	if _, err := hqsync.Provision(ctx, svc.URL, fp, svc.Identity.ProvisioningToken("desk-x"), "desk-x", key); err != nil {
		t.Fatal(err)
	}
	_, key2, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := hqsync.Provision(ctx, svc.URL, fp, svc.Identity.ProvisioningToken("desk-x"), "desk-x", key2); err == nil {
		t.Fatal("desk re-keyed with its token")
	}
}

func TestDownSyncBundles(t *testing.T) {
	ctx := context.Background()
	svc := startRegistry(t)
	a := provisionDesk(t, svc, "desk-dn-0001")
	b := provisionDesk(t, svc, "desk-dn-0002")
	for i, c := range []struct{ kind, desk, content string }{
		{protocol.BundleOfficers, "", "officers v1"},
		{protocol.BundleOfficers, "", "officers v2"},
		{protocol.BundleGallery, "desk-dn-0001", "delta for A"},
		{protocol.BundleGallery, "desk-dn-0002", "delta for B"},
		{protocol.BundleGallery, "desk-dn-0001", "second delta for A"},
	} {
		if _, err := svc.Bundles.Publish(c.kind, c.desk, []byte(c.content)); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	got, err := a.up.Client.Bundles(ctx, protocol.BundleOfficers, 0)
	if err != nil || len(got) != 2 || string(got[1].Content) != "officers v2" || got[1].Serial != 2 {
		t.Fatalf("officers: %v %v", got, err)
	}
	if got, err := a.up.Client.Bundles(ctx, protocol.BundleOfficers, 2); err != nil || len(got) != 0 {
		t.Fatalf("officers since 2: %v %v", got, err)
	}
	ga, err := a.up.Client.Bundles(ctx, protocol.BundleGallery, 0)
	if err != nil || len(ga) != 2 || string(ga[0].Content) != "delta for A" || string(ga[1].Content) != "second delta for A" {
		t.Fatalf("gallery for A: %v %v", ga, err)
	}
	// Desk B's certificate decides what it sees, whatever it claims in the query.
	cb := *b.up.Client
	cb.DeskID = "desk-dn-0001"
	if gb, err := cb.Bundles(ctx, protocol.BundleGallery, 0); err == nil {
		t.Fatalf("desk B got A's deltas: %v", gb)
	}
	gb, err := b.up.Client.Bundles(ctx, protocol.BundleGallery, 0)
	if err != nil || len(gb) != 1 || string(gb[0].Content) != "delta for B" {
		t.Fatalf("gallery for B: %v %v", gb, err)
	}
	// Bundles are signed by the registry key: a stored bundle edited on disk is refused, and so is
	// an older serial (rollback).
	files, _ := filepath.Glob(filepath.Join(svc.Bundles.Dir, protocol.BundleOfficers, "*.cose"))
	raw, _ := os.ReadFile(files[1])
	if _, err := protocol.VerifyBundle(raw, a.enr.ReceiptKey, protocol.BundleOfficers, "desk-dn-0001", 2); err == nil {
		t.Fatal("rollback to serial 2 accepted")
	}
	if _, err := protocol.VerifyBundle(raw, a.enr.ReceiptKey, protocol.BundleCSCA, "desk-dn-0001", 0); err == nil {
		t.Fatal("bundle accepted as another kind")
	}
	raw[len(raw)-20] ^= 1
	if err := os.WriteFile(files[1], raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := a.up.Client.Bundles(ctx, protocol.BundleOfficers, 1); err == nil {
		t.Fatal("tampered bundle accepted")
	}
	if _, err := a.up.Client.Bundles(ctx, "no-such-kind", 0); err == nil {
		t.Fatal("unknown kind served")
	}
}

// stallingListener accepts connections and never answers (a registry behind a dead proxy): the
// TLS handshake hangs until the client gives up.
func stallingListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "https://" + ln.Addr().String()
}

// Provision gives up when its context ends, not after a fixed client timeout; without a deadline
// it has its own (DefaultProvisionTimeout), so it cannot hang.
func TestProvisionStopsAtTheCallersDeadline(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	url := stallingListener(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	pin := strings.Repeat("ab", 32)
	_, err = hqsync.Provision(ctx, url, pin, "token", "desk-1", key)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a registry that never answers: %v", err)
	}
	if hqsync.DefaultProvisionTimeout <= 0 {
		t.Fatal("no default timeout")
	}
}
