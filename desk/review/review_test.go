package review

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"filippo.io/age"

	"enrolldesk/desk/exceptions"
	"enrolldesk/desk/officer"
	"enrolldesk/desk/opstest"
	"enrolldesk/desk/settings"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/record"
)

type env struct {
	*opstest.Fixture
	q        *Queue
	out      *outbox.Outbox
	settings *settings.Store
	regKey   ed25519.PrivateKey
	serial   uint64
	keys     map[string]ed25519.PrivateKey
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	f := opstest.New(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	out, err := outbox.New(f.DB, outbox.Config{DeskID: f.Desk.ID, DeskKey: f.Keys.SigningKey, DataKey: f.Keys.DataKey,
		Registry: id.Recipient(), Now: f.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	st := settings.New(f.DB, f.Audit, f.Clock.Now)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	if err := st.PinRegistryKey(ctx, "system", pub); err != nil {
		t.Fatal(err)
	}
	q, err := New(Config{DB: f.DB, Audit: f.Audit, Officers: f.Officers, Policies: st, Outbox: out, DataKey: f.Keys.DataKey, Now: f.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{Fixture: f, q: q, out: out, settings: st, regKey: priv, keys: map[string]ed25519.PrivateKey{}}
	for id, pin := range map[string]string{opstest.Officer: opstest.OfficerPIN, opstest.Officer2: opstest.Officer2PIN, opstest.Supervisor: opstest.SupervisorPIN} {
		k, err := f.Officers.UnlockSigningKey(ctx, id, pin)
		if err != nil {
			t.Fatal(err)
		}
		e.keys[id] = k
	}
	return e
}

// policy applies signed registry settings changing the policy.
func (e *env) policy(t *testing.T, mut func(*settings.Policy)) {
	t.Helper()
	st, err := e.settings.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mut(&st.Policy)
	e.serial++
	doc, err := settings.Sign(settings.Document{DeskID: e.Desk.ID, Serial: e.serial, Settings: st}, e.regKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.settings.ApplySigned(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
}

var citizenN int

// photo stands for a JPEG of the citizen's hand (any bytes: only its hash is checked here).
var photo = []byte("\xff\xd8\xff\xe0 hand photo")

func content(officerID string) (record.Content, []record.Blob) {
	citizenN++
	c := record.Content{
		OfficerID: officerID,
		CitizenID: fmt.Sprintf("0012030%05d", citizenN),
		DG1:       []byte(fmt.Sprintf("DG1-%d", citizenN)),
		Form:      record.Form{Mobile: "0912345678"},
		Chip:      record.ChipVerdict{Access: "PACE", PA: record.Pass, AA: record.Absent, CA: record.Pass},
		Face:      record.FaceResult{Score: 0.3, Threshold: 0.5, Decision: "match", Liveness: record.Pass},
		Fingers:   []record.FingerResult{{Position: 2, Quality: 70, Decision: "captured"}, {Position: 7, Quality: 65, Decision: "captured"}},
		Dedup:     record.Dedup{Decision: "unique", GallerySize: 10},
		Consent:   record.Consent{Given: true, Version: "v1", At: int64(1772413200000 + citizenN)},
	}
	blobs := []record.Blob{{Kind: record.KindPortrait, Format: "image/jpeg", Data: []byte(fmt.Sprintf("portrait-%d", citizenN))}}
	return c, blobs
}

func (e *env) submit(t *testing.T, officerID string, exc []exceptions.Exception, flags ...string) Outcome {
	t.Helper()
	c, b := content(officerID)
	for _, x := range exc {
		_, blob := exceptions.Declare(x.Position, x.Reason, photo)
		b = append(b, blob)
	}
	o, err := e.q.Submit(context.Background(), Submission{Content: c, Blobs: b, OfficerKey: e.keys[officerID], Exceptions: exc, Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// outboxRecords returns the outbox's records, verified with the desk key.
func (e *env) outboxRecords(t *testing.T) []*record.Record {
	t.Helper()
	ps, err := e.out.Next(context.Background(), 0, 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []*record.Record
	for _, p := range ps {
		s, err := record.Verify(p.Envelope, e.Keys.SigningKey.Public().(ed25519.PublicKey))
		if err != nil {
			t.Fatalf("record %d: %v", p.Seq, err)
		}
		out = append(out, s.Record)
	}
	return out
}

func TestSupervisorReviewReleasesWithoutGaps(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	a := e.submit(t, opstest.Officer, nil)
	b := e.submit(t, opstest.Officer, nil)
	c := e.submit(t, opstest.Officer2, nil)
	for _, o := range []Outcome{a, b, c} {
		if o.State != StatePending || o.Seq != 0 || !reflect.DeepEqual(o.Why, []string{"policy"}) {
			t.Fatalf("outcome %+v: want pending for policy", o)
		}
	}
	if n := len(e.outboxRecords(t)); n != 0 {
		t.Fatalf("%d records in the outbox before review", n)
	}
	pending, err := e.q.List(ctx, Filter{State: StatePending})
	if err != nil || len(pending) != 3 {
		t.Fatalf("pending: %v %v", pending, err)
	}
	d, err := e.q.Open(ctx, opstest.Supervisor, b.ItemID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Content.OfficerID != opstest.Officer || len(d.Blobs) != 1 || d.Item.ItemID != b.ItemID {
		t.Fatalf("detail %+v", d)
	}

	head := e.Head(t)
	// Wrong PIN, and an officer who is not a supervisor: refused before anything changes.
	if _, err := e.q.Approve(ctx, opstest.Supervisor, "000000", []string{a.ItemID}); !errors.Is(err, officer.ErrBadCredentials) {
		t.Fatalf("wrong PIN: %v", err)
	}
	if _, err := e.q.Approve(ctx, opstest.Officer2, opstest.Officer2PIN, []string{a.ItemID}); !errors.Is(err, ErrNotSupervisor) {
		t.Fatalf("officer approving: %v", err)
	}
	if err := e.q.Reject(ctx, opstest.Supervisor, opstest.SupervisorPIN, b.ItemID, "", ""); !errors.Is(err, ErrReasonRequired) {
		t.Fatalf("reject without reason: %v", err)
	}
	if err := e.q.Reject(ctx, opstest.Supervisor, opstest.SupervisorPIN, b.ItemID, "other", " "); !errors.Is(err, ErrReasonRequired) {
		t.Fatalf("reject 'other' without note: %v", err)
	}
	if err := e.q.Reject(ctx, opstest.Supervisor, opstest.SupervisorPIN, b.ItemID, "face-mismatch", "portrait blurred"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.q.Open(ctx, opstest.Supervisor, b.ItemID); !errors.Is(err, ErrNotPending) {
		t.Fatalf("open rejected: %v", err)
	}
	res, err := e.q.Approve(ctx, opstest.Supervisor, opstest.SupervisorPIN, []string{a.ItemID, b.ItemID, c.ItemID})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].Seq != 1 || !errors.Is(res[1].Err, ErrNotPending) || res[2].Err != nil || res[2].Seq != 2 {
		t.Fatalf("approve results %+v", res)
	}
	// The rejected record took no sequence: the outbox holds 1 and 2, chained. Each names its
	// enrolling officer and carries no countersignature of anyone else (the supervisor's release
	// is the review.approve entry, which names the record).
	recs := e.outboxRecords(t)
	if len(recs) != 2 {
		t.Fatalf("%d records in the outbox", len(recs))
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) || r.OfficerKey != nil {
			t.Fatalf("record %d: seq %d, officer key %x", i, r.Seq, r.OfficerKey)
		}
	}
	if recs[0].OfficerID != opstest.Officer || recs[1].OfficerID != opstest.Officer2 {
		t.Fatalf("enrolling officers: %s %s", recs[0].OfficerID, recs[1].OfficerID)
	}
	rep, err := outbox.VerifyChain(ctx, e.DB.DB, e.Keys.SigningKey.Public().(ed25519.PublicKey))
	if err != nil || rep.Records != 2 || rep.Countersigned != 0 {
		t.Fatalf("chain %+v %v", rep, err)
	}
	es, _ := e.Audit.Since(ctx, head, 1000)
	var approvals []string
	for _, x := range es {
		if x.Action == "review.approve" {
			if x.Actor != opstest.Supervisor {
				t.Fatalf("review entry by %s", x.Actor)
			}
			approvals = append(approvals, x.Subject+" "+x.Detail)
		}
	}
	wantApprovals := []string{
		fmt.Sprintf("%s record %s seq 1 officer %s", a.ItemID, recs[0].ID, opstest.Officer),
		fmt.Sprintf("%s record %s seq 2 officer %s", c.ItemID, recs[1].ID, opstest.Officer2),
	}
	if !slices.Equal(approvals, wantApprovals) {
		t.Fatalf("review entries %q, want %q", approvals, wantApprovals)
	}
	items, _ := e.q.List(ctx, Filter{})
	for _, it := range items {
		switch it.ItemID {
		case b.ItemID:
			if it.State != StateRejected || it.ReasonCode != "face-mismatch" || it.DecidedBy != opstest.Supervisor {
				t.Fatalf("rejected item %+v", it)
			}
		default:
			if it.State != StateReleased || it.DecidedBy != opstest.Supervisor || it.Seq == 0 {
				t.Fatalf("released item %+v", it)
			}
		}
	}
	// Payloads are erased once decided.
	var left int
	if err := e.DB.QueryRowContext(ctx, `SELECT count(*) FROM review_items WHERE length(payload) > 0`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d payloads kept after decisions (%v)", left, err)
	}
	got := e.Actions(t, head)
	for _, want := range []string{"sign.fail", "sign.ok", "review.reject", "review.approve", "record.release"} {
		if !slices.Contains(got, want) {
			t.Errorf("audit lacks %s: %v", want, got)
		}
	}
	counts, err := e.q.Counts(ctx, e.q.Today(), e.q.Today())
	if err != nil {
		t.Fatal(err)
	}
	want := []DayCount{
		{Day: "2026-03-02", OfficerID: opstest.Officer, Submitted: 2, Released: 1, Rejected: 1},
		{Day: "2026-03-02", OfficerID: opstest.Officer2, Submitted: 1, Released: 1},
	}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("counts %+v, want %+v", counts, want)
	}
	if _, err := e.Audit.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestFourEyesAndTamper(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	own := e.submit(t, opstest.Supervisor, nil)
	res, err := e.q.Approve(ctx, opstest.Supervisor, opstest.SupervisorPIN, []string{own.ItemID})
	if err != nil || !errors.Is(res[0].Err, ErrSelfApproval) {
		t.Fatalf("self approval: %+v %v", res, err)
	}
	if err := e.q.Reject(ctx, opstest.Supervisor, opstest.SupervisorPIN, own.ItemID, "other", "x"); !errors.Is(err, ErrSelfApproval) {
		t.Fatalf("self rejection: %v", err)
	}
	o := e.submit(t, opstest.Officer, nil)
	if _, err := e.DB.ExecContext(ctx, `UPDATE review_items SET payload = payload || x'00' WHERE item_id = ?`, o.ItemID); err != nil {
		t.Fatal(err)
	}
	res, err = e.q.Approve(ctx, opstest.Supervisor, opstest.SupervisorPIN, []string{o.ItemID})
	if err != nil || !errors.Is(res[0].Err, ErrPayloadChanged) {
		t.Fatalf("tampered: %+v %v", res, err)
	}
	// Submitting with another officer's key is refused.
	c, b := content(opstest.Officer)
	if _, err := e.q.Submit(ctx, Submission{Content: c, Blobs: b, OfficerKey: e.keys[opstest.Officer2]}); err == nil {
		t.Fatal("submission signed with someone else's key accepted")
	}
	if n := len(e.outboxRecords(t)); n != 0 {
		t.Fatalf("%d records released", n)
	}
}

func TestPolicyDecidesWhatWaits(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.policy(t, func(p *settings.Policy) { p.SupervisorApproval = false })
	// No review needed: released at once, countersigned by the officer, through Release (the
	// enrollment workflow's Releaser interface).
	c, b := content(opstest.Officer)
	app, err := e.q.Release(ctx, c, b, e.keys[opstest.Officer])
	if err != nil {
		t.Fatal(err)
	}
	if app.Seq != 1 || app.ID == "" {
		t.Fatalf("appended %+v", app)
	}
	recs := e.outboxRecords(t)
	if len(recs) != 1 || recs[0].ID.String() != app.ID ||
		!ed25519.PublicKey(recs[0].OfficerKey).Equal(e.keys[opstest.Officer].Public()) {
		t.Fatalf("released record %+v", recs)
	}
	// An exception or a flag still holds the record for the supervisor.
	ev := exceptions.EvidenceRef(photo)
	x := e.submit(t, opstest.Officer, []exceptions.Exception{{Position: 7, Reason: exceptions.Bandaged, Evidence: ev}})
	if x.State != StatePending || !reflect.DeepEqual(x.Why, []string{"exceptions"}) {
		t.Fatalf("exception outcome %+v", x)
	}
	f := e.submit(t, opstest.Officer, nil, "operator-face")
	if f.State != StatePending || !reflect.DeepEqual(f.Why, []string{"flag:operator-face"}) {
		t.Fatalf("flag outcome %+v", f)
	}
	d, err := e.q.Open(ctx, opstest.Supervisor, x.ItemID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Exceptions) != 1 || d.Exceptions[0].Position != 7 || d.Exceptions[0].Reason != exceptions.Bandaged || d.Exceptions[0].Evidence != ev {
		t.Fatalf("exceptions %+v", d.Exceptions)
	}
	if _, err := e.q.Submit(ctx, Submission{Content: c, Blobs: b, OfficerKey: e.keys[opstest.Officer],
		Exceptions: []exceptions.Exception{{Position: 2, Reason: exceptions.Missing}}}); err == nil {
		t.Fatal("exception without evidence accepted")
	}
	// The evidence reference must name a photo the record carries, for that finger and reason.
	exc, blob := exceptions.Declare(2, exceptions.Missing, photo)
	for _, bad := range []struct {
		name  string
		blobs []record.Blob
	}{
		{"no photo blob", b},
		{"photo of another finger", append(append([]record.Blob(nil), b...), record.Blob{Kind: blob.Kind, Format: blob.Format, Position: 3, Data: photo})},
		{"another reason", append(append([]record.Blob(nil), b...), record.Blob{Kind: blob.Kind, Format: "image/jpeg; reason=bandaged", Position: 2, Data: photo})},
	} {
		if _, err := e.q.Submit(ctx, Submission{Content: c, Blobs: bad.blobs, OfficerKey: e.keys[opstest.Officer],
			Exceptions: []exceptions.Exception{exc}}); err == nil {
			t.Fatalf("%s: accepted", bad.name)
		}
	}
	n, err := e.q.PendingCount(ctx)
	if err != nil || n != 2 {
		t.Fatalf("pending %d %v", n, err)
	}
	e.policy(t, func(p *settings.Policy) { p.ExceptionApproval = false })
	y := e.submit(t, opstest.Officer, []exceptions.Exception{{Position: 2, Reason: exceptions.Missing, Evidence: ev}})
	if y.State != StateReleased || y.Seq != 2 {
		t.Fatalf("exception with approval off: %+v", y)
	}
	// The signed record says which finger was not captured and why.
	recs = e.outboxRecords(t)
	i := slices.IndexFunc(recs[1].Blobs, func(r record.BlobRef) bool { return r.Kind == exceptions.KindEvidencePhoto })
	if i < 0 || recs[1].Blobs[i].Position != 2 || recs[1].Blobs[i].Format != "image/jpeg; reason=missing" ||
		"sha256:"+hex.EncodeToString(recs[1].Blobs[i].Plain[:]) != ev {
		t.Fatalf("record blobs %+v", recs[1].Blobs)
	}
}

func TestRecoverSettlesInterruptedReleases(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	a := e.submit(t, opstest.Officer, nil)
	b := e.submit(t, opstest.Officer2, nil)
	// Simulate crashes: both approved and marked 'releasing'; a's record reached the outbox
	// before the crash, b's did not.
	for _, id := range []string{a.ItemID, b.ItemID} {
		if _, err := e.DB.ExecContext(ctx, `UPDATE review_items SET state = 'releasing', decided_by = ? WHERE item_id = ?`, opstest.Supervisor, id); err != nil {
			t.Fatal(err)
		}
	}
	var r pendingRow
	err := e.DB.QueryRowContext(ctx, `SELECT officer_id, state, payload, payload_hash, officer_sig FROM review_items WHERE item_id = ?`, a.ItemID).
		Scan(&r.officerID, &r.state, &r.payload, &r.payloadHash, &r.officerSig)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.q.open(ctx, a.ItemID, r)
	if err != nil {
		t.Fatal(err)
	}
	app, err := e.out.Release(ctx, p.Content, p.Blobs, e.keys[opstest.Supervisor])
	if err != nil {
		t.Fatal(err)
	}
	rel, rev, err := e.q.Recover(ctx)
	if err != nil || rel != 1 || rev != 1 {
		t.Fatalf("recover: released %d reverted %d %v", rel, rev, err)
	}
	items, _ := e.q.List(ctx, Filter{})
	if items[0].State != StateReleased || items[0].Seq != app.Seq || items[1].State != StatePending {
		t.Fatalf("after recovery: %+v", items)
	}
	// The reverted one can be approved again and takes the next sequence.
	res, err := e.q.Approve(ctx, opstest.Supervisor, opstest.SupervisorPIN, []string{b.ItemID})
	if err != nil || res[0].Err != nil || res[0].Seq != 2 {
		t.Fatalf("approve after recovery %+v %v", res, err)
	}
	if rel, rev, err := e.q.Recover(ctx); err != nil || rel+rev != 0 {
		t.Fatalf("second recover: %d %d %v", rel, rev, err)
	}
}

func TestCountsByOfficeDay(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	// 16:59 UTC is 23:59 in Hanoi; 17:01 UTC is the next office day.
	e.Clock.Set(time.Date(2026, 3, 2, 16, 59, 0, 0, time.UTC))
	e.submit(t, opstest.Officer, nil)
	e.Clock.Set(time.Date(2026, 3, 2, 17, 1, 0, 0, time.UTC))
	e.submit(t, opstest.Officer, nil, "operator-face")
	counts, err := e.q.Counts(ctx, "2026-03-02", "2026-03-03")
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 2 || counts[0].Day != "2026-03-02" || counts[1].Day != "2026-03-03" || counts[1].Flagged != 1 || counts[0].Pending != 1 {
		t.Fatalf("counts %+v", counts)
	}
}

func TestFailedReleaseWaitsForSupervisor(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.policy(t, func(p *settings.Policy) { p.SupervisorApproval = false })
	c, _ := content(opstest.Officer)
	huge := []record.Blob{{Kind: record.KindPortrait, Format: "image/jpeg", Data: make([]byte, record.MaxBlobSize+1)}}
	if _, err := e.q.Submit(ctx, Submission{Content: c, Blobs: huge, OfficerKey: e.keys[opstest.Officer]}); err == nil {
		t.Fatal("a record the outbox refused was reported released")
	}
	items, err := e.q.List(ctx, Filter{})
	if err != nil || len(items) != 1 || items[0].State != StatePending || !items[0].NeedsReview {
		t.Fatalf("items %+v %v", items, err)
	}
	if n := len(e.outboxRecords(t)); n != 0 {
		t.Fatalf("%d records in the outbox", n)
	}
	if err := e.q.Reject(ctx, opstest.Supervisor, opstest.SupervisorPIN, items[0].ItemID, "poor-capture", ""); err != nil {
		t.Fatal(err)
	}
}

// failReleases makes marking an item released fail inside the release transaction, after the
// outbox has appended in it: what a crash or a full disk at that point would do.
func (e *env) failReleases(t *testing.T, on bool) {
	t.Helper()
	q := `CREATE TRIGGER test_fail_release BEFORE UPDATE OF state ON review_items WHEN NEW.state = 'released'
		BEGIN SELECT RAISE(ABORT, 'injected failure'); END`
	if !on {
		q = `DROP TRIGGER test_fail_release`
	}
	if _, err := e.DB.Exec(q); err != nil {
		t.Fatal(err)
	}
}

func TestReleaseIsOneTransaction(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	a := e.submit(t, opstest.Officer, nil)
	head := e.Head(t)

	// The decision fails after the append, in the same transaction: the append is undone too.
	e.failReleases(t, true)
	res, err := e.q.Approve(ctx, opstest.Supervisor, opstest.SupervisorPIN, []string{a.ItemID})
	if err != nil || res[0].Err == nil {
		t.Fatalf("approve with an injected failure: %+v %v", res, err)
	}
	if n := len(e.outboxRecords(t)); n != 0 {
		t.Fatalf("%d records in the outbox after a failed decision", n)
	}
	if items, _ := e.q.List(ctx, Filter{}); items[0].State != StatePending {
		t.Fatalf("item %+v", items[0])
	}
	for _, x := range e.Actions(t, head) {
		if x == "review.approve" || x == "record.release" {
			t.Fatalf("audit holds %s for a release that did not happen", x)
		}
	}
	// The immediate release (no review) is one transaction too: on failure nothing is in the
	// outbox and the submission waits for a supervisor.
	e.policy(t, func(p *settings.Policy) { p.SupervisorApproval = false })
	c, b := content(opstest.Officer2)
	if _, err := e.q.Submit(ctx, Submission{Content: c, Blobs: b, OfficerKey: e.keys[opstest.Officer2]}); err == nil {
		t.Fatal("failed release reported as done")
	}
	if n := len(e.outboxRecords(t)); n != 0 {
		t.Fatalf("%d records in the outbox after a failed immediate release", n)
	}
	pending, _ := e.q.List(ctx, Filter{State: StatePending})
	if len(pending) != 2 {
		t.Fatalf("pending %+v", pending)
	}

	// Without the fault both go through, sequences 1 and 2, no gap.
	e.failReleases(t, false)
	res, err = e.q.Approve(ctx, opstest.Supervisor, opstest.SupervisorPIN, []string{a.ItemID, pending[1].ItemID})
	if err != nil || res[0].Err != nil || res[1].Err != nil || res[0].Seq != 1 || res[1].Seq != 2 {
		t.Fatalf("approve %+v %v", res, err)
	}
	// Without review the officer who is present countersigns, and the record names them.
	c, b = content(opstest.Officer)
	o, err := e.q.Submit(ctx, Submission{Content: c, Blobs: b, OfficerKey: e.keys[opstest.Officer]})
	if err != nil || o.State != StateReleased || o.Seq != 3 {
		t.Fatalf("immediate release %+v %v", o, err)
	}
	recs := e.outboxRecords(t)
	if r := recs[2]; r.OfficerID != opstest.Officer || !ed25519.PublicKey(r.OfficerKey).Equal(e.keys[opstest.Officer].Public()) {
		t.Fatalf("record 3 names %s with key %x", r.OfficerID, r.OfficerKey)
	}
}
