// Package hqsync is the desk↔registry sync feature: signed issuance records (sync/record), the
// crash-proof outbox and uploader (sync/outbox), the wire protocol (sync/protocol) and the HQ
// registry service (sync/registry). This root package offers the desk's CLI commands.
package hqsync

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"enrolldesk/desk/cli"
	"enrolldesk/desk/config"
	"enrolldesk/desk/store"
	"enrolldesk/sync/outbox"
)

// Commands returns `enrolldesk queue` and `enrolldesk verify-chain`.
func Commands() []cli.Command {
	return []cli.Command{
		{Path: "queue", Summary: "show the outbox: queued, sent and acknowledged records, last sync", Run: runQueue},
		{Path: "verify-chain", Summary: "check every record's signatures and the hash chain offline", Run: runVerifyChain},
	}
}

func openStore(ctx context.Context, dataFlag string) (*store.DB, error) {
	dir, err := config.DataDir(dataFlag)
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, filepath.Join(dir, store.FileName))
}

func runQueue(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("queue")
	data := fs.String("data", "", "desk data directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: unexpected arguments %v", cli.ErrUsage, fs.Args())
	}
	db, err := openStore(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := outbox.CountStates(ctx, db.DB)
	if err != nil {
		return err
	}
	st, err := outbox.ReadSyncState(ctx, db.DB)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "queued %d\nsent %d\nacked %d\nhead %d\n", c.Queued, c.Sent, c.Acked, st.Head)
	if st.LastSynced.IsZero() {
		fmt.Fprintln(env.Stdout, "last synced never")
	} else {
		fmt.Fprintf(env.Stdout, "last synced %s\n", st.LastSynced.Format(time.RFC3339))
	}
	if st.LastError != "" {
		fmt.Fprintf(env.Stdout, "last error %s\n", st.LastError)
	}
	return nil
}

func runVerifyChain(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("verify-chain")
	data := fs.String("data", "", "desk data directory")
	pubHex := fs.String("pubkey", "", "desk Ed25519 public key (hex); default: the provisioned desk's")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: unexpected arguments %v", cli.ErrUsage, fs.Args())
	}
	db, err := openStore(ctx, *data)
	if err != nil {
		return err
	}
	defer db.Close()
	var pub ed25519.PublicKey
	if *pubHex != "" {
		b, err := hex.DecodeString(*pubHex)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: -pubkey must be 64 hex digits", cli.ErrUsage)
		}
		pub = b
	} else {
		_, pub, err = outbox.DeskIdentity(ctx, db.DB)
		if errors.Is(err, outbox.ErrNotProvisioned) {
			return fmt.Errorf("verify chain: %w (give -pubkey)", err)
		}
		if err != nil {
			return err
		}
	}
	rep, err := outbox.VerifyChain(ctx, db.DB, pub)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "chain ok: %d records, head %d %x\ncountersigned %d, acknowledged %d, blobs held %d, blobs purged %d\n",
		rep.Records, rep.Head, rep.HeadHash[:8], rep.Countersigned, rep.Acked, rep.BlobsHeld, rep.BlobsPurged)
	return nil
}
