package hqsync_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"enrolldesk/desk/cli"
	"enrolldesk/desk/store"
	hqsync "enrolldesk/sync"
	"enrolldesk/sync/internal/synctest"
	"enrolldesk/sync/outbox"
)

func TestQueueAndVerifyChainCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	id, _ := age.GenerateX25519Identity()
	ob, err := outbox.New(db, outbox.Config{DeskID: "desk-cli", DeskKey: priv, DataKey: make([]byte, 32), Registry: id.Recipient()})
	if err != nil {
		t.Fatal(err)
	}
	var hashes []outbox.Appended
	for i := 0; i < 5; i++ {
		blobs, err := synctest.Blobs(i)
		if err != nil {
			t.Fatal(err)
		}
		a, err := ob.Release(ctx, synctest.Content(i), blobs, nil)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, *a)
	}
	if err := ob.MarkSent(ctx, 4); err != nil {
		t.Fatal(err)
	}
	if err := ob.Ack(ctx, 2, hashes[1].Hash, nil, nil); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := cli.Run(ctx, &cli.Env{Stdout: &out, Stderr: &errb}, args, hqsync.Commands())
		return code, out.String(), errb.String()
	}
	code, out, _ := run("queue", "-data", dir)
	if code != 0 || !strings.Contains(out, "queued 1\nsent 2\nacked 2\nhead 5\n") || !strings.Contains(out, "last synced never") {
		t.Fatalf("queue: %d %q", code, out)
	}
	// Without a provisioned desk row the key must be given.
	if code, _, errOut := run("verify-chain", "-data", dir); code != 1 || !strings.Contains(errOut, "not provisioned") {
		t.Fatalf("verify-chain unprovisioned: %d %q", code, errOut)
	}
	code, out, errOut := run("verify-chain", "-data", dir, "-pubkey", hex.EncodeToString(pub))
	if code != 0 || !strings.Contains(out, "chain ok: 5 records, head 5") || !strings.Contains(out, "acknowledged 2, blobs held 9, blobs purged 6") {
		t.Fatalf("verify-chain: %d %q %q", code, out, errOut)
	}
	// The provisioned desk's key is read from the store.
	if _, err := db.Exec(`INSERT INTO desk(singleton, desk_id, public_key, sealed_key, data_key, kdf_salt, kdf_time, kdf_memory, kdf_threads, created_at)
		VALUES (1, 'desk-cli', ?, x'00', x'00', x'00', 1, 1, 1, '2026-01-01T00:00:00Z')`, []byte(pub)); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := run("verify-chain", "-data", dir); code != 0 || !strings.Contains(out, "chain ok") {
		t.Fatalf("verify-chain provisioned: %d %q", code, out)
	}
	// A record edited behind the app's back fails the check.
	if _, err := db.Exec(`DROP TRIGGER outbox_immutable`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE outbox SET envelope = substr(envelope, 1, 300) || x'41' || substr(envelope, 302) WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run("verify-chain", "-data", dir); code != 1 || !strings.Contains(errOut, "sequence 3") {
		t.Fatalf("verify-chain after edit: %d %q", code, errOut)
	}
	db.Close()
}
