package registry_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	hqsync "enrolldesk/sync"
	"enrolldesk/sync/internal/synctest"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/protocol"
	"enrolldesk/sync/record"
	"enrolldesk/sync/registry"
)

// TestLoad200Desks: 200 simulated desks, each provisioned with its own certificate and holding its
// own signed chain, push batches concurrently over mutual TLS (HTTP/2) to one registry for a
// bounded time, on SQLite and on PostgreSQL. Nothing is lost or duplicated, every chain verifies;
// the ingest rate and the p99 batch latency are printed.
//
// Under the race detector (CI) every desk is ~10× slower and 200 concurrent TLS clients on two
// cores time out: the race run uses 40 desks with directly issued certificates; the figures come
// from the plain run (build/bench.d/sync-load).
func TestLoad200Desks(t *testing.T) {
	const batch = 5
	desks, perDesk, budget := 200, 20, 12*time.Second
	if raceEnabled {
		desks, perDesk, budget = 40, 10, 6*time.Second
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			svc, err := registry.Start(ctx, registry.Config{Dir: t.TempDir(), Listen: "127.0.0.1:0", Store: st,
				Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer svc.Close()
			blobs, err := synctest.Blobs(1)
			if err != nil {
				t.Fatal(err)
			}
			sealed, ref, err := record.Seal(svc.Identity.Seal.Recipient(), blobs[1])
			if err != nil {
				t.Fatal(err)
			}
			type sim struct {
				id      string
				pub     ed25519.PublicKey
				client  *hqsync.Enrollment
				key     ed25519.PrivateKey
				records []protocol.BatchRecord
			}
			sims := make([]*sim, desks)
			setupStart := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, desks)
			setup := make(chan struct{}, 16) // provisioning is set-up, not load: 16 at a time
			for i := range sims {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					setup <- struct{}{}
					defer func() { <-setup }()
					s := &sim{id: fmt.Sprintf("desk-load-%03d", i)}
					s.pub, s.key, _ = ed25519.GenerateKey(rand.Reader)
					var enr *hqsync.Enrollment
					var err error
					if raceEnabled {
						enr = &hqsync.Enrollment{RegistryURL: svc.URL, DeskID: s.id, CA: svc.Identity.CA.Raw,
							ReceiptKey: svc.Identity.SigningKey.Public().(ed25519.PublicKey), SealTo: svc.Identity.Seal.Recipient().String()}
						if enr.Certificate, err = svc.Identity.IssueDeskCert(s.id, s.pub, time.Hour); err == nil {
							err = st.RegisterDesk(ctx, registry.Desk{ID: s.id, PublicKey: s.pub})
						}
					} else {
						enr, err = hqsync.Provision(ctx, svc.URL, svc.Identity.CAFingerprint(), svc.Identity.ProvisioningToken(s.id), s.id, s.key)
					}
					if err != nil {
						errs <- err
						return
					}
					s.client = enr
					prev := record.GenesisHash
					for n := 1; n <= perDesk; n++ {
						id, _ := record.NewID()
						r := &record.Record{Version: 1, ID: id, DeskID: s.id, Seq: uint64(n), Prev: prev, Time: time.Now().UnixMilli(),
							Content: synctest.Content(i*1000 + n), Blobs: []record.BlobRef{ref}}
						sg, err := record.Sign(r, s.key, nil)
						if err != nil {
							errs <- err
							return
						}
						prev = sg.Hash
						s.records = append(s.records, protocol.BatchRecord{Envelope: sg.Envelope, Blobs: [][]byte{sealed}})
					}
					sims[i] = s
				}(i)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			t.Logf("%s: set-up of %d desks took %v", name, desks, time.Since(setupStart).Round(time.Millisecond))
			var mu sync.Mutex
			var lat []time.Duration
			retries := 0
			sent := make([]int, desks)
			deadline := time.Now().Add(budget)
			start := time.Now()
			errs = make(chan error, desks)
			for i, s := range sims {
				wg.Add(1)
				go func(i int, s *sim) {
					defer wg.Done()
					c, err := s.client.Client(s.key)
					if err != nil {
						errs <- err
						return
					}
					defer c.HTTP.CloseIdleConnections()
					for sent[i] < perDesk && time.Now().Before(deadline) {
						bt := &protocol.Batch{Version: 1, DeskID: s.id, Records: s.records[sent[i]:min(sent[i]+batch, perDesk)]}
						t0 := time.Now()
						rc, err := c.Send(ctx, bt)
						if _, refused := outbox.IsRefusal(err); err != nil && !refused {
							// A transport error (the machine is saturated): retry as the uploader
							// would, until the time is up; the registry must stay consistent anyway.
							mu.Lock()
							retries++
							mu.Unlock()
							time.Sleep(100 * time.Millisecond)
							continue
						}
						if err != nil {
							errs <- fmt.Errorf("%s: %w", s.id, err)
							return
						}
						mu.Lock()
						lat = append(lat, time.Since(t0))
						mu.Unlock()
						if rc.Seq != uint64(sent[i]+len(bt.Records)) {
							errs <- fmt.Errorf("%s: receipt %d after sending up to %d", s.id, rc.Seq, sent[i]+len(bt.Records))
							return
						}
						sent[i] += len(bt.Records)
					}
				}(i, s)
			}
			wg.Wait()
			elapsed := time.Since(start)
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			total := 0
			for i, s := range sims {
				total += sent[i]
				h, err := st.Head(ctx, s.id)
				if err != nil || h.Seq != uint64(sent[i]) {
					t.Fatalf("%s: registry head %d (%v), sent %d", s.id, h.Seq, err, sent[i])
				}
				recs, err := st.Records(ctx, s.id, 1, uint64(perDesk)+5)
				if err != nil || len(recs) != sent[i] {
					t.Fatalf("%s: %d records stored, %d sent (%v)", s.id, len(recs), sent[i], err)
				}
				prev := record.GenesisHash
				for _, e := range recs {
					v, err := record.Verify(e.Envelope, s.pub)
					if err != nil || v.Record.Prev != prev {
						t.Fatalf("%s record %d: %v", s.id, e.Seq, err)
					}
					prev = v.Hash
				}
			}
			if !raceEnabled && retries > len(lat)/10 {
				t.Errorf("%d transport retries for %d batches", retries, len(lat))
			}
			if total < desks {
				t.Fatalf("only %d records ingested in %v", total, budget)
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			p99 := lat[len(lat)*99/100]
			t.Logf("%s: %d desks, %d records in %d batches (%d retried), %.0f records/s, p50 %v, p99 batch latency %v",
				name, desks, total, len(lat), retries, float64(total)/elapsed.Seconds(), lat[len(lat)/2].Round(time.Millisecond), p99.Round(time.Millisecond))
		})
	}
}
