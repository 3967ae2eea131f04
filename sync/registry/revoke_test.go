package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"enrolldesk/sync/protocol"
	"enrolldesk/sync/registry"
)

// Revocation on both stores: the first reason sticks, an unknown desk is an error, and a revoked
// desk's batches are refused with the reason while its stored chain stays as it was.
func TestRevokeDesk(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		d := h.newDesk(t, "desk-rv-0001", true)
		d.release(t, 1, 4)
		if err := d.up.SyncOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if got, err := h.store.Desk(ctx, d.id); err != nil || !got.Revoked.IsZero() || got.RevokeReason != "" {
			t.Fatalf("fresh desk: %+v %v", got, err)
		}
		at := time.UnixMilli(1_790_000_000_000).UTC()
		if err := registry.RevokeDesk(ctx, h.store, d.id, "key leaked", at); err != nil {
			t.Fatal(err)
		}
		if err := registry.RevokeDesk(ctx, h.store, d.id, "again", at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, err := h.store.Desk(ctx, d.id)
		if err != nil || !got.Revoked.Equal(at) || got.RevokeReason != "key leaked" || !got.PublicKey.Equal(d.pub) {
			t.Fatalf("revoked desk: %+v %v", got, err)
		}
		if err := h.store.RevokeDesk(ctx, "desk-rv-none", "x", at); !errors.Is(err, registry.ErrUnknownDesk) {
			t.Fatalf("unknown desk: %v", err)
		}
		d.release(t, 5, 3)
		err = d.up.SyncOnce(ctx)
		var ref *protocol.Refusal
		if !errors.As(err, &ref) || ref.Reason != protocol.ReasonRevoked || !strings.Contains(ref.Detail, "key leaked") {
			t.Fatalf("sync after revocation: %v", err)
		}
		if head, _ := h.store.Head(ctx, d.id); head.Seq != 4 {
			t.Fatalf("head %d after revocation, want 4", head.Seq)
		}
	})
}
