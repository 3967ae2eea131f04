// Command seedreview submits enrollments to a desk's supervisor review queue through the real
// review.Queue.Submit, for the browser end-to-end suite (frontend/e2e/20-ops.spec.ts): the window's
// enrollment workflow releases straight to the outbox, so the review screen needs records that an
// officer submitted for review. It refuses a desk whose policy would release them at once.
//
//	seedreview -data DIR -officer ID -n N -portrait FACE.jpg [-evidence PHOTO.jpg]
//
// The desk passphrase and the officer's PIN come from $ENROLLDESK_PASSPHRASE and $ENROLLDESK_PIN.
// With -evidence the first record declares the left index finger bandaged with that photo.
package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/exceptions"
	"enrolldesk/desk/officer"
	"enrolldesk/desk/provision"
	"enrolldesk/desk/review"
	"enrolldesk/desk/settings"
	"enrolldesk/desk/store"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/record"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "seedreview:", err)
		os.Exit(1)
	}
}

func run() error {
	data := flag.String("data", "", "desk data directory")
	officerID := flag.String("officer", "", "enrolling officer id")
	n := flag.Int("n", 2, "records to submit")
	portrait := flag.String("portrait", "", "portrait JPEG")
	evidence := flag.String("evidence", "", "evidence photo JPEG for a declared exception on the first record")
	flag.Parse()
	pass, pin := os.Getenv("ENROLLDESK_PASSPHRASE"), os.Getenv("ENROLLDESK_PIN")
	if *data == "" || *officerID == "" || *portrait == "" || pass == "" || pin == "" || *n < 1 {
		return errors.New("usage: seedreview -data DIR -officer ID -n N -portrait FACE.jpg [-evidence PHOTO.jpg] with $ENROLLDESK_PASSPHRASE and $ENROLLDESK_PIN")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	face, err := os.ReadFile(*portrait)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, filepath.Join(*data, store.FileName))
	if err != nil {
		return err
	}
	defer db.Close()
	log := audit.New(db, nil)
	reg := officer.NewRegistry(db, log, officer.DefaultPolicy, nil)
	st := settings.New(db, log, nil)
	s, err := st.Load(ctx)
	if err != nil {
		return err
	}
	if !s.Policy.SupervisorApproval {
		return errors.New("this desk's policy releases records without review; nothing to seed")
	}
	keys, err := provision.Unlock(ctx, db, pass)
	if err != nil {
		return err
	}
	okey, err := reg.UnlockSigningKey(ctx, *officerID, pin)
	if err != nil {
		return err
	}
	// Submissions that wait for review are never sealed; the queue needs an outbox all the same.
	tmp, err := age.GenerateX25519Identity()
	if err != nil {
		return err
	}
	out, err := outbox.New(db, outbox.Config{DeskID: keys.ID, DeskKey: keys.SigningKey, DataKey: keys.DataKey, Registry: tmp.Recipient()})
	if err != nil {
		return err
	}
	q, err := review.New(review.Config{DB: db, Audit: log, Officers: reg, Policies: st, Outbox: out, DataKey: keys.DataKey})
	if err != nil {
		return err
	}
	for i := 0; i < *n; i++ {
		c := record.Content{OfficerID: *officerID, OfficerKey: okey.Public().(ed25519.PublicKey),
			CitizenID: fmt.Sprintf("0792%08d", time.Now().UnixNano()%1e8+int64(i)), DG1: []byte(fmt.Sprintf("seed-%d-%d", time.Now().UnixNano(), i)),
			Form: record.Form{Mobile: "0912345678"}, Chip: record.ChipVerdict{Access: "PACE", PA: record.Pass, AA: record.Absent, CA: record.Pass},
			Face:    record.FaceResult{Decision: "match", Liveness: record.Pass},
			Fingers: []record.FingerResult{{Position: 2, Quality: 72, Decision: "captured"}},
			Dedup:   record.Dedup{Decision: "unique"}, Consent: record.Consent{Given: true, Version: "v1", At: time.Now().UnixMilli() + int64(i)}}
		blobs := []record.Blob{{Kind: record.KindPortrait, Format: "image/jpeg", Data: face}}
		var exc []exceptions.Exception
		if i == 0 && *evidence != "" {
			photo, err := os.ReadFile(*evidence)
			if err != nil {
				return err
			}
			x, b := exceptions.Declare(7, exceptions.Bandaged, photo)
			exc, blobs = []exceptions.Exception{x}, append(blobs, b)
		}
		o, err := q.Submit(ctx, review.Submission{Content: c, Blobs: blobs, OfficerKey: okey, Exceptions: exc})
		if err != nil {
			return err
		}
		if o.State != review.StatePending {
			return fmt.Errorf("record %d was %s, not pending", i, o.State)
		}
		fmt.Println(o.ItemID)
	}
	return nil
}
