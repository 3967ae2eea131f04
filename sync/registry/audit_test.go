package registry_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"enrolldesk/desk/audit"
	"enrolldesk/sync/protocol"
	"enrolldesk/sync/registry"
)

func auditChain(n int, detail string) []protocol.AuditEntry {
	prev := protocol.AuditGenesis
	out := make([]protocol.AuditEntry, n)
	for i := range out {
		e := protocol.AuditEntry{Seq: int64(i + 1), At: fmt.Sprintf("2026-11-23T08:00:%02d.5Z", i%60), Actor: "sup1",
			Action: "login.ok", Detail: detail, Prev: prev}
		e.Hash = e.ComputeHash()
		out[i], prev = e, e.Hash
	}
	return out
}

// The audit store on every backend (SQLite and PostgreSQL), through the real handler over HTTP:
// the chain continues the head, replays are harmless, gaps and edits are refused, desks are kept
// apart, and concurrent uploads of one continuation store it once.
func TestAuditStoreEveryBackend(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			pub, _, _ := ed25519.GenerateKey(rand.Reader)
			regPub, regKey, _ := ed25519.GenerateKey(rand.Reader)
			for _, d := range []string{"desk-a", "desk-b"} {
				if err := st.RegisterDesk(ctx, registry.Desk{ID: d, PublicKey: pub}); err != nil {
					t.Fatal(err)
				}
			}
			hs := httptest.NewServer((&registry.Server{Store: st, Key: regKey}).Handler())
			defer hs.Close()
			remote := func(desk string) *audit.HTTPRemote {
				return &audit.HTTPRemote{BaseURL: hs.URL, DeskID: desk, RegistryKey: regPub}
			}
			a := remote("desk-a")
			if rc, err := a.Head(ctx); err != nil || rc.Seq != 0 {
				t.Fatalf("empty head %+v %v", rc, err)
			}
			chain := auditChain(8, "")
			send := func(r *audit.HTTPRemote, es []protocol.AuditEntry) (*protocol.AuditReceipt, error) {
				return r.Send(ctx, &protocol.AuditBatch{Version: protocol.Version, Entries: es})
			}
			if rc, err := send(a, chain[:5]); err != nil || rc.Seq != 5 || rc.Stored != 5 {
				t.Fatalf("first batch %+v %v", rc, err)
			}
			if rc, err := send(a, chain[:3]); err != nil || rc.Seq != 5 || rc.Stored != 0 {
				t.Fatalf("replay %+v %v", rc, err)
			}
			refused := func(what string, es []protocol.AuditEntry, want protocol.Reason) {
				t.Helper()
				_, err := send(a, es)
				if ref, ok := err.(*protocol.Refusal); !ok || ref.Reason != want || ref.Head != 5 {
					t.Fatalf("%s: %v, want %s", what, err, want)
				}
			}
			refused("gap", chain[6:], protocol.ReasonGap)
			refused("edit", auditChain(6, "forged")[4:], protocol.ReasonFork)
			// Another desk's chain is its own.
			if rc, err := send(remote("desk-b"), chain[:2]); err != nil || rc.Seq != 2 {
				t.Fatalf("desk b %+v %v", rc, err)
			}
			if _, err := send(remote("desk-c"), chain[:1]); err == nil {
				t.Fatal("an unknown desk's audit stored")
			}
			// Two uploads of the same continuation at once: stored once, both answered.
			var wg sync.WaitGroup
			errs := make([]error, 2)
			stored := make([]int, 2)
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rc, err := send(a, chain[3:])
					errs[i] = err
					if err == nil {
						stored[i] = rc.Stored
					}
				}()
			}
			wg.Wait()
			if errs[0] != nil || errs[1] != nil || stored[0]+stored[1] != 3 {
				t.Fatalf("concurrent: %v %v stored %v", errs[0], errs[1], stored)
			}
			as := st.(registry.AuditStore)
			got, err := as.AuditEntries(ctx, "desk-a", 1, 100)
			if err != nil || len(got) != 8 || string(got[7].Hash) != string(chain[7].Hash) || got[7].At != chain[7].At {
				t.Fatalf("stored %d entries %v", len(got), err)
			}
		})
	}
}

// A revoked desk's audit log is refused like its batches, with the operator's reason, over real
// HTTPS without a client certificate (the transport gate sees no desk): the handler checks the
// desk itself. Its stored chain stays as it was.
func TestAuditRefusesARevokedDesk(t *testing.T) {
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			pub, _, _ := ed25519.GenerateKey(rand.Reader)
			regPub, regKey, _ := ed25519.GenerateKey(rand.Reader)
			if err := st.RegisterDesk(ctx, registry.Desk{ID: "desk-rv", PublicKey: pub}); err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewTLSServer((&registry.Server{Store: st, Key: regKey}).Handler())
			defer hs.Close()
			remote := &audit.HTTPRemote{BaseURL: hs.URL, HTTP: hs.Client(), DeskID: "desk-rv", RegistryKey: regPub}
			chain := auditChain(4, "")
			if rc, err := remote.Send(ctx, &protocol.AuditBatch{Version: protocol.Version, Entries: chain[:2]}); err != nil || rc.Seq != 2 {
				t.Fatalf("before revocation %+v %v", rc, err)
			}
			if err := registry.RevokeDesk(ctx, st, "desk-rv", "stolen laptop", time.UnixMilli(1_790_000_000_000)); err != nil {
				t.Fatal(err)
			}
			_, err := remote.Send(ctx, &protocol.AuditBatch{Version: protocol.Version, Entries: chain[2:]})
			var ref *protocol.Refusal
			if !errors.As(err, &ref) || ref.Reason != protocol.ReasonRevoked || !strings.Contains(ref.Detail, "stolen laptop") {
				t.Fatalf("audit after revocation: %v", err)
			}
			if _, err := remote.Head(ctx); !errors.As(err, &ref) || ref.Reason != protocol.ReasonRevoked {
				t.Fatalf("audit head after revocation: %v", err)
			}
			got, err := st.(registry.AuditStore).AuditEntries(ctx, "desk-rv", 1, 100)
			if err != nil || len(got) != 2 {
				t.Fatalf("stored %d entries %v", len(got), err)
			}
		})
	}
}
