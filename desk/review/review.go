// Package review is the gate between an officer's approval of an enrollment and the outbox: the
// supervisor's end-of-day review.
//
// Queue implements the enrollment workflow's Releaser (desk/enroll): the officer approves with
// their PIN, and the workflow hands over the record content, its raw biometric blobs and the
// officer's unlocked key. When the desk's policy needs no supervisor the record goes to the outbox
// at once, countersigned by the officer. Otherwise (always, or for records with a biometric
// exception or a check flag, see settings.Policy) it waits here — content and blobs encrypted
// under the desk data key, bound by the officer's Ed25519 signature — until a supervisor, who
// enters their PIN again, approves or rejects it with a reason code. A supervisor never decides on
// their own enrollment (four-eyes rule).
//
// Sequence numbers and previous-record hashes are assigned by the outbox when it appends, i.e.
// at release: a rejected record never takes a sequence, so the chain has no gaps. A release is one
// SQLite transaction (outbox.AppendTx): the review decision, the record's append to the outbox and
// their audit entries commit together or not at all, so no crash can leave a decided item without
// its record or a record without its decision. (Recover still settles items that an older build
// left 'releasing' between its two transactions.)
//
// Who signs what. The record names the enrolling officer (Content.OfficerID). When no review is
// needed the officer is at the desk and countersigns the record (RFC 9338; Content.OfficerKey is
// their key). A countersignature covers the desk signature and so the sequence number, which
// exists only at release; a record released at review is released when the enrolling officer has
// left, so it carries no countersignature (OfficerKey empty) rather than someone else's: the
// enrolling officer's approval is their Ed25519 signature over the submission (kept in
// review_items, checked before release), and the supervisor's release is a review entry — the
// audit entry review.approve (actor: the supervisor, who re-entered their PIN; subject: the item;
// detail: record id, sequence and enrolling officer) in the desk's hash-chained audit log, which
// is synced to the registry (desk/audit.Shipper). A record is thus never signed by one officer
// while naming another.
//
// Every submission, approval, rejection and view is written to the audit log, naming items by id.
package review

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/exceptions"
	"enrolldesk/desk/officer"
	"enrolldesk/desk/seal"
	"enrolldesk/desk/settings"
	"enrolldesk/desk/store"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/record"
)

// States of a submission.
const (
	StatePending   = "pending"   // waiting for the supervisor
	StateReleasing = "releasing" // being appended to the outbox (or interrupted: see Recover)
	StateReleased  = "released"  // in the outbox, with a sequence number
	StateRejected  = "rejected"  // refused with a reason; its payload is erased
)

// Outbox is where released records go (*outbox.Outbox). AppendTx appends inside the review's own
// transaction; Seal runs before it, so the store's write lock is not held while blobs are sealed.
type Outbox interface {
	Seal(blobs []record.Blob) (*outbox.Sealed, error)
	AppendTx(ctx context.Context, tx *sql.Tx, c record.Content, sealed *outbox.Sealed, officer ed25519.PrivateKey) (*outbox.Appended, error)
	Next(ctx context.Context, after uint64, maxRecords, maxBytes int) ([]outbox.Pending, error)
}

// Policies gives the desk's current settings (a *settings.Store).
type Policies interface {
	Load(ctx context.Context) (settings.Settings, error)
}

// Authenticator re-checks a PIN and unlocks the signing key (an *officer.Registry).
type Authenticator interface {
	UnlockSigningKey(ctx context.Context, id, pin string) (ed25519.PrivateKey, error)
	Get(ctx context.Context, id string) (officer.Officer, error)
}

// OfficeZone is Vietnam's time (UTC+7, no daylight saving), which days are counted in.
var OfficeZone = time.FixedZone("ICT", 7*3600)

// Queue is the desk's review queue.
type Queue struct {
	db       *store.DB
	audit    *audit.Log
	officers Authenticator
	policies Policies
	out      Outbox
	dataKey  []byte
	now      func() time.Time
	zone     *time.Location
}

// Config wires a Queue.
type Config struct {
	DB       *store.DB
	Audit    *audit.Log
	Officers Authenticator
	Policies Policies
	Outbox   Outbox
	DataKey  []byte // the desk data key (provision.Keys.DataKey): payloads are sealed under it
	Now      func() time.Time
	Zone     *time.Location // nil: OfficeZone
}

// New returns the review queue.
func New(c Config) (*Queue, error) {
	if c.DB == nil || c.Audit == nil || c.Officers == nil || c.Policies == nil || c.Outbox == nil {
		return nil, errors.New("review: store, audit log, officers, policies and outbox are required")
	}
	if len(c.DataKey) != seal.KeySize {
		return nil, fmt.Errorf("review: data key is %d bytes, want %d", len(c.DataKey), seal.KeySize)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Zone == nil {
		c.Zone = OfficeZone
	}
	return &Queue{db: c.DB, audit: c.Audit, officers: c.Officers, policies: c.Policies, out: c.Outbox,
		dataKey: c.DataKey, now: c.Now, zone: c.Zone}, nil
}

// Submission is an officer's approved enrollment.
type Submission struct {
	Content record.Content
	Blobs   []record.Blob
	// OfficerKey is the enrolling officer's key, unlocked by the PIN they entered to approve. It
	// signs the submission and, when no review is needed, countersigns the released record.
	OfficerKey ed25519.PrivateKey
	// Exceptions are the biometric exceptions the capture declares (validated by the workflow
	// with exceptions.Validate before approval).
	Exceptions []exceptions.Exception
	// Flags are check codes that force a supervisor's review whatever the policy, e.g.
	// "operator-face" from the operator check. Codes only, no personal data.
	Flags []string
}

// Outcome is what happened to a submission.
type Outcome struct {
	ItemID   string `json:"item_id"`
	State    string `json:"state"` // StatePending or StateReleased
	Seq      uint64 `json:"seq,omitempty"`
	RecordID string `json:"record_id,omitempty"` // set when released
	// Why lists the reasons a supervisor must review it (empty when released at once).
	Why []string `json:"why,omitempty"`
}

// Errors the screens map to messages.
var (
	ErrNotSupervisor  = errors.New("only a supervisor may review records")
	ErrSelfApproval   = errors.New("a supervisor cannot approve or reject their own enrollment")
	ErrNotPending     = errors.New("the record is no longer waiting for review")
	ErrReasonRequired = errors.New("a rejection needs a reason")
	ErrPayloadChanged = errors.New("the stored record does not match what the officer approved")
)

func isCode(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func submissionDigest(itemID, officerID string, payloadHash []byte) []byte {
	h := sha256.New()
	h.Write([]byte("enrolldesk/review-submission/v1\x00"))
	h.Write([]byte(itemID + "\x00" + officerID + "\x00"))
	h.Write(payloadHash)
	return h.Sum(nil)
}

// matchKey identifies an enrollment's record in the outbox without the header fields the outbox
// adds: the officer, the citizen, the consent time (milliseconds) and the raw DG1.
func matchKey(c record.Content) []byte {
	h := sha256.New()
	h.Write([]byte("enrolldesk/review-match/v1\x00"))
	h.Write([]byte(c.OfficerID + "\x00" + c.CitizenID + "\x00"))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(c.Consent.At)))
	d := sha256.Sum256(c.DG1)
	h.Write(d[:])
	return h.Sum(nil)
}

type payload struct {
	Content record.Content `cbor:"c"`
	Blobs   []record.Blob  `cbor:"b"`
}

var payloadEnc, payloadDec = func() (cbor.EncMode, cbor.DecMode) {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err) // static options: unreachable
	}
	dm, err := cbor.DecOptions{IndefLength: cbor.IndefLengthForbidden, MaxArrayElements: 4096}.DecMode()
	if err != nil {
		panic(err)
	}
	return em, dm
}()

// Release implements the enrollment workflow's Releaser: it submits the record with no
// exceptions and no flags. Appended.Seq is 0 while the record waits for review; Appended.ID is
// then the review item id, else the record id.
func (q *Queue) Release(ctx context.Context, c record.Content, blobs []record.Blob, officerKey ed25519.PrivateKey) (*outbox.Appended, error) {
	o, err := q.Submit(ctx, Submission{Content: c, Blobs: blobs, OfficerKey: officerKey})
	if err != nil {
		return nil, err
	}
	if o.State == StateReleased {
		return &outbox.Appended{Seq: o.Seq, ID: o.RecordID}, nil
	}
	return &outbox.Appended{ID: o.ItemID}, nil
}

// Submit takes an officer's approved record. If the policy needs no supervisor it is released at
// once; otherwise it waits in the queue.
func (q *Queue) Submit(ctx context.Context, s Submission) (Outcome, error) {
	officerID := s.Content.OfficerID
	if officerID == "" || len(s.OfficerKey) != ed25519.PrivateKeySize {
		return Outcome{}, errors.New("submit: the officer and their unlocked key are required")
	}
	o, err := q.officers.Get(ctx, officerID)
	if err != nil {
		return Outcome{}, fmt.Errorf("submit: %w", err)
	}
	if !o.PublicKey.Equal(s.OfficerKey.Public()) {
		return Outcome{}, fmt.Errorf("submit: the key given is not officer %s's key", officerID)
	}
	for _, f := range s.Flags {
		if !isCode(f) {
			return Outcome{}, fmt.Errorf("submit: flag %q is not a check code", f)
		}
	}
	for _, e := range s.Exceptions {
		if err := exceptions.CheckEvidence(e.Evidence); err != nil {
			return Outcome{}, fmt.Errorf("submit: exception for %s: %w", exceptions.FingerName(e.Position), err)
		}
	}
	if err := exceptions.CheckAgainstBlobs(s.Exceptions, s.Blobs); err != nil {
		return Outcome{}, fmt.Errorf("submit: %w", err)
	}
	st, err := q.policies.Load(ctx)
	if err != nil {
		return Outcome{}, fmt.Errorf("submit: %w", err)
	}
	var why []string
	if st.Policy.SupervisorApproval {
		why = append(why, "policy")
	}
	if len(s.Exceptions) > 0 && st.Policy.ExceptionApproval {
		why = append(why, "exceptions")
	}
	flags := append([]string(nil), s.Flags...)
	sort.Strings(flags)
	for _, f := range flags {
		why = append(why, "flag:"+f)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Outcome{}, fmt.Errorf("submit: id: %w", err)
	}
	itemID := id.String()
	plain, err := payloadEnc.Marshal(payload{Content: s.Content, Blobs: s.Blobs})
	if err != nil {
		return Outcome{}, fmt.Errorf("submit: encode: %w", err)
	}
	ph := sha256.Sum256(plain)
	sig := ed25519.Sign(s.OfficerKey, submissionDigest(itemID, officerID, ph[:]))
	sealed, err := seal.Seal(q.dataKey, plain, []byte("review|"+itemID))
	if err != nil {
		return Outcome{}, fmt.Errorf("submit: %w", err)
	}
	now := q.now()
	it := newItem{id: itemID, officerID: officerID, flags: strings.Join(flags, ","), sealed: sealed, payloadHash: ph[:],
		matchKey: matchKey(s.Content), sig: sig, now: now, exceptions: s.Exceptions}
	if len(why) == 0 {
		// No review: the officer is here and countersigns; the item, its exceptions, the record
		// and the audit entries commit in one transaction.
		app, err := q.releaseNow(ctx, it, s.Content, s.Blobs, s.OfficerKey)
		if err == nil {
			return Outcome{ItemID: itemID, State: StateReleased, Seq: app.Seq, RecordID: app.ID}, nil
		}
		// Nothing was stored. The officer's approval is not lost: the item waits for a
		// supervisor, and the caller learns that the release failed.
		it.why = []string{"release-failed"}
		if perr := q.storePending(ctx, it); perr != nil {
			return Outcome{}, errors.Join(fmt.Errorf("release %s: %w", itemID, err), perr)
		}
		return Outcome{}, fmt.Errorf("release %s (kept for a supervisor): %w", itemID, err)
	}
	it.why = why
	if err := q.storePending(ctx, it); err != nil {
		return Outcome{}, err
	}
	return Outcome{ItemID: itemID, State: StatePending, Why: why}, nil
}

// newItem is a submission ready to store.
type newItem struct {
	id, officerID, flags string
	sealed, payloadHash  []byte
	matchKey, sig        []byte
	now                  time.Time
	exceptions           []exceptions.Exception
	why                  []string
}

// insertTx stores the item, its exceptions and the review.submit audit entry.
func (q *Queue) insertTx(ctx context.Context, tx *sql.Tx, it newItem, state string, needs bool) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO review_items(item_id, officer_id, state, needs_review, exceptions, flags,
		payload, payload_hash, match_key, officer_sig, submitted_at, day) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		it.id, it.officerID, state, needs, len(it.exceptions), it.flags, it.sealed, it.payloadHash, it.matchKey, it.sig,
		it.now.UTC().Format(time.RFC3339Nano), it.now.In(q.zone).Format(time.DateOnly)); err != nil {
		return fmt.Errorf("submit: store: %w", err)
	}
	if err := exceptions.InsertTx(ctx, tx, q.audit, it.id, it.officerID, it.now, it.exceptions); err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	if _, err := q.audit.AppendTx(ctx, tx, audit.Entry{Actor: it.officerID, Action: "review.submit", Subject: it.id,
		Detail: strings.Join(it.why, ",")}); err != nil {
		return err
	}
	return nil
}

func (q *Queue) storePending(ctx context.Context, it newItem) error {
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("submit: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if err := q.insertTx(ctx, tx, it, StatePending, true); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("submit: commit: %w", err)
	}
	return nil
}

// releaseNow stores a submission that needs no review and appends its record, countersigned by
// the enrolling officer, in one transaction.
func (q *Queue) releaseNow(ctx context.Context, it newItem, c record.Content, blobs []record.Blob, key ed25519.PrivateKey) (*outbox.Appended, error) {
	sealedBlobs, err := q.out.Seal(blobs)
	if err != nil {
		return nil, err
	}
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if err := q.insertTx(ctx, tx, it, StatePending, false); err != nil {
		return nil, err
	}
	c.OfficerKey = key.Public().(ed25519.PublicKey)
	app, err := q.out.AppendTx(ctx, tx, c, sealedBlobs, key)
	if err != nil {
		return nil, err
	}
	if err := q.releasedTx(ctx, tx, it.id, it.officerID, app, ""); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return app, nil
}

// releasedTx marks an item released with its record and writes the audit entries: review.approve
// (the supervisor's review entry, when reviewer is set) and record.release.
func (q *Queue) releasedTx(ctx context.Context, tx *sql.Tx, itemID, officerID string, app *outbox.Appended, reviewer string) error {
	actor, decidedBy := officerID, any(nil)
	if reviewer != "" {
		actor, decidedBy = reviewer, reviewer
	}
	res, err := tx.ExecContext(ctx, `UPDATE review_items SET state = 'released', seq = ?, decided_by = coalesce(?, decided_by),
		decided_at = ?, payload = x'' WHERE item_id = ? AND state IN ('pending', 'releasing')`,
		app.Seq, decidedBy, q.now().UTC().Format(time.RFC3339Nano), itemID)
	if err != nil {
		return fmt.Errorf("release %s: mark released: %w", itemID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("release %s: %w", itemID, ErrNotPending)
	}
	if reviewer != "" {
		if _, err := q.audit.AppendTx(ctx, tx, audit.Entry{Actor: reviewer, Action: "review.approve", Subject: itemID,
			Detail: fmt.Sprintf("record %s seq %d officer %s", app.ID, app.Seq, officerID)}); err != nil {
			return err
		}
	}
	if _, err := q.audit.AppendTx(ctx, tx, audit.Entry{Actor: actor, Action: "record.release", Subject: app.ID,
		Detail: fmt.Sprintf("item %s seq %d", itemID, app.Seq)}); err != nil {
		return err
	}
	return nil
}

func (q *Queue) markReleased(ctx context.Context, itemID, actor string, seq uint64, recordID string, reviewed bool) error {
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("release %s: begin: %w", itemID, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	var officerID string
	if err := tx.QueryRowContext(ctx, `SELECT officer_id FROM review_items WHERE item_id = ?`, itemID).Scan(&officerID); err != nil {
		return fmt.Errorf("release %s: %w", itemID, err)
	}
	reviewer := ""
	if reviewed {
		reviewer = actor
	}
	if err := q.releasedTx(ctx, tx, itemID, officerID, &outbox.Appended{Seq: seq, ID: recordID}, reviewer); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("release %s: commit: %w", itemID, err)
	}
	return nil
}

// Recover settles items that an older build (two transactions per release) left 'releasing' by a
// crash between the outbox append and marking the item released: an item whose record is in the outbox (after the last released sequence) is
// marked released with that sequence, any other goes back to 'pending'. Call it at start-up,
// before the desk takes new enrollments.
func (q *Queue) Recover(ctx context.Context) (released, reverted int, err error) {
	rows, err := q.db.QueryContext(ctx, `SELECT item_id, match_key, coalesce(decided_by, '') FROM review_items WHERE state = 'releasing'`)
	if err != nil {
		return 0, 0, fmt.Errorf("recover releases: %w", err)
	}
	type doubt struct {
		id, by string
		key    []byte
	}
	var ds []doubt
	for rows.Next() {
		var d doubt
		if err := rows.Scan(&d.id, &d.key, &d.by); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("recover releases: %w", err)
		}
		ds = append(ds, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ds) == 0 {
		return 0, 0, err
	}
	var after uint64
	if err := q.db.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM review_items WHERE state = 'released'`).Scan(&after); err != nil {
		return 0, 0, fmt.Errorf("recover releases: %w", err)
	}
	found := map[string]record.Record{}
	for {
		ps, err := q.out.Next(ctx, after, 256, 0)
		if err != nil {
			return 0, 0, fmt.Errorf("recover releases: %w", err)
		}
		if len(ps) == 0 {
			break
		}
		for _, p := range ps {
			r, _, err := record.Parse(p.Envelope)
			if err != nil {
				return 0, 0, fmt.Errorf("recover releases: record %d: %w", p.Seq, err)
			}
			found[string(matchKey(r.Content))] = *r
			after = p.Seq
		}
	}
	for _, d := range ds {
		if r, ok := found[string(d.key)]; ok {
			actor, reviewed := d.by, d.by != ""
			if !reviewed {
				actor = r.OfficerID
			}
			if err := q.markReleased(ctx, d.id, actor, r.Seq, r.ID.String(), reviewed); err != nil {
				return released, reverted, err
			}
			released++
			continue
		}
		if _, err := q.db.ExecContext(ctx, `UPDATE review_items SET state = 'pending', needs_review = 1 WHERE item_id = ? AND state = 'releasing'`, d.id); err != nil {
			return released, reverted, fmt.Errorf("recover releases: %w", err)
		}
		if _, err := q.audit.Append(ctx, audit.Entry{Actor: "system", Action: "review.recover", Subject: d.id, Detail: "back to pending"}); err != nil {
			return released, reverted, err
		}
		reverted++
	}
	return released, reverted, nil
}

// supervisor re-authenticates a supervisor and returns their signing key.
func (q *Queue) supervisor(ctx context.Context, id, pin string) (ed25519.PrivateKey, error) {
	o, err := q.officers.Get(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	// Authenticate first (an unknown id and a wrong PIN look alike and count towards lockout).
	key, err := q.officers.UnlockSigningKey(ctx, id, pin)
	if err != nil {
		return nil, err
	}
	if o.Role != officer.RoleSupervisor {
		return nil, ErrNotSupervisor
	}
	return key, nil
}

// ItemResult is the outcome of one item of a review decision.
type ItemResult struct {
	ItemID   string `json:"item_id"`
	Seq      uint64 `json:"seq,omitempty"`
	RecordID string `json:"record_id,omitempty"`
	Err      error  `json:"-"`
	Error    string `json:"error,omitempty"`
}

// Approve releases the given pending items to the outbox, in the order given, each in its own
// transaction (one bad item does not hold back the others). The supervisor enters their PIN
// again (re-authentication, counted towards lockout); each release is audited as their review
// entry.
func (q *Queue) Approve(ctx context.Context, supervisorID, pin string, itemIDs []string) ([]ItemResult, error) {
	if _, err := q.supervisor(ctx, supervisorID, pin); err != nil {
		return nil, fmt.Errorf("approve: %w", err)
	}
	out := make([]ItemResult, 0, len(itemIDs))
	for _, id := range itemIDs {
		app, err := q.approveOne(ctx, supervisorID, id)
		r := ItemResult{ItemID: id, Err: err}
		if err != nil {
			r.Error = err.Error()
		} else {
			r.Seq, r.RecordID = app.Seq, app.ID
		}
		out = append(out, r)
	}
	return out, nil
}

type pendingRow struct {
	officerID   string
	state       string
	payload     []byte
	payloadHash []byte
	officerSig  []byte
}

func (q *Queue) loadTx(ctx context.Context, tx *sql.Tx, id string) (pendingRow, error) {
	return scanPending(tx.QueryRowContext(ctx, selectPending, id), id)
}

func (q *Queue) load(ctx context.Context, id string) (pendingRow, error) {
	return scanPending(q.db.QueryRowContext(ctx, selectPending, id), id)
}

const selectPending = `SELECT officer_id, state, payload, payload_hash, officer_sig FROM review_items WHERE item_id = ?`

func scanPending(row *sql.Row, id string) (pendingRow, error) {
	var r pendingRow
	err := row.Scan(&r.officerID, &r.state, &r.payload, &r.payloadHash, &r.officerSig)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("item %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("item %s: %w", id, err)
	}
	return r, nil
}

// open decrypts a pending payload and checks it against the officer's signature.
func (q *Queue) open(ctx context.Context, id string, r pendingRow) (payload, error) {
	plain, err := seal.Open(q.dataKey, r.payload, []byte("review|"+id))
	if err != nil {
		return payload{}, fmt.Errorf("item %s: %w: %v", id, ErrPayloadChanged, err)
	}
	ph := sha256.Sum256(plain)
	if !bytes.Equal(ph[:], r.payloadHash) {
		return payload{}, fmt.Errorf("item %s: %w", id, ErrPayloadChanged)
	}
	o, err := q.officers.Get(ctx, r.officerID)
	if err != nil {
		return payload{}, fmt.Errorf("item %s: %w", id, err)
	}
	if !ed25519.Verify(o.PublicKey, submissionDigest(id, r.officerID, r.payloadHash), r.officerSig) {
		return payload{}, fmt.Errorf("item %s: %w (officer signature)", id, ErrPayloadChanged)
	}
	var p payload
	if err := payloadDec.Unmarshal(plain, &p); err != nil {
		return payload{}, fmt.Errorf("item %s: decode: %w", id, err)
	}
	return p, nil
}

func (q *Queue) approveOne(ctx context.Context, supervisorID string, id string) (*outbox.Appended, error) {
	// Read and check the item, and seal its blobs, before the write transaction.
	r, err := q.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.state != StatePending {
		return nil, fmt.Errorf("item %s is %s: %w", id, r.state, ErrNotPending)
	}
	if r.officerID == supervisorID {
		return nil, ErrSelfApproval
	}
	p, err := q.open(ctx, id, r)
	if err != nil {
		return nil, err
	}
	sealedBlobs, err := q.out.Seal(p.Blobs)
	if err != nil {
		return nil, fmt.Errorf("approve %s: %w", id, err)
	}
	// The enrolling officer is named and is not here to countersign: no countersignature (see the
	// package comment); the supervisor's release is the review.approve entry.
	c := p.Content
	c.OfficerKey = nil

	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("approve %s: begin: %w", id, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	again, err := q.loadTx(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if again.state != StatePending || !bytes.Equal(again.payloadHash, r.payloadHash) {
		return nil, fmt.Errorf("item %s is %s: %w", id, again.state, ErrNotPending)
	}
	app, err := q.out.AppendTx(ctx, tx, c, sealedBlobs, nil)
	if err != nil {
		return nil, fmt.Errorf("approve %s: %w", id, err)
	}
	if err := q.releasedTx(ctx, tx, id, r.officerID, app, supervisorID); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("approve %s: commit: %w", id, err)
	}
	return app, nil
}

// Reason codes for a rejection (what the screen offers; Note carries free text).
var ReasonCodes = []string{"face-mismatch", "document-doubt", "poor-capture", "exception-unjustified",
	"operator-self", "duplicate", "form-error", "other"}

// Reject refuses a pending item with a reason code (one of ReasonCodes) and an optional note.
// The payload is erased: a rejected citizen is enrolled again from the start.
func (q *Queue) Reject(ctx context.Context, supervisorID, pin, itemID, code, note string) error {
	known := false
	for _, c := range ReasonCodes {
		known = known || c == code
	}
	if !known {
		return fmt.Errorf("reject: %w (one of %s)", ErrReasonRequired, strings.Join(ReasonCodes, ", "))
	}
	if code == "other" && strings.TrimSpace(note) == "" {
		return fmt.Errorf("reject: %w: say why in the note", ErrReasonRequired)
	}
	if len(note) > 500 {
		return errors.New("reject: note longer than 500 bytes")
	}
	if _, err := q.supervisor(ctx, supervisorID, pin); err != nil {
		return fmt.Errorf("reject: %w", err)
	}
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("reject: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	r, err := q.loadTx(ctx, tx, itemID)
	if err != nil {
		return fmt.Errorf("reject: %w", err)
	}
	if r.state != StatePending {
		return fmt.Errorf("reject: item %s is %s: %w", itemID, r.state, ErrNotPending)
	}
	if r.officerID == supervisorID {
		return fmt.Errorf("reject: %w", ErrSelfApproval)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE review_items SET state = 'rejected', payload = x'', decided_by = ?, decided_at = ?,
		reason_code = ?, reason_note = ? WHERE item_id = ?`, supervisorID, q.now().UTC().Format(time.RFC3339Nano), code, note, itemID); err != nil {
		return fmt.Errorf("reject %s: %w", itemID, err)
	}
	if _, err := q.audit.AppendTx(ctx, tx, audit.Entry{Actor: supervisorID, Action: "review.reject", Subject: itemID, Detail: code}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("reject %s: commit: %w", itemID, err)
	}
	return nil
}

// Item is a submission as the review screen lists it (no payload).
type Item struct {
	ItemID      string    `json:"item_id"`
	OfficerID   string    `json:"officer_id"`
	State       string    `json:"state"`
	NeedsReview bool      `json:"needs_review"`
	Exceptions  int       `json:"exceptions"`
	Flags       []string  `json:"flags"`
	SubmittedAt time.Time `json:"submitted_at"`
	Day         string    `json:"day"`
	DecidedBy   string    `json:"decided_by,omitempty"`
	DecidedAt   time.Time `json:"decided_at,omitempty"`
	ReasonCode  string    `json:"reason_code,omitempty"`
	ReasonNote  string    `json:"reason_note,omitempty"`
	Seq         uint64    `json:"seq,omitempty"`
}

// Filter selects items; zero fields match everything.
type Filter struct {
	State     string
	Day       string // YYYY-MM-DD, office-local
	OfficerID string
	Limit     int // 0: 1000
}

// List returns items oldest first.
func (q *Queue) List(ctx context.Context, f Filter) ([]Item, error) { return List(ctx, q.db, f) }

// List returns a store's items oldest first (needs no keys).
func List(ctx context.Context, db *store.DB, f Filter) ([]Item, error) {
	where := []string{"1"}
	var args []any
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, f.State)
	}
	if f.Day != "" {
		where, args = append(where, "day = ?"), append(args, f.Day)
	}
	if f.OfficerID != "" {
		where, args = append(where, "officer_id = ?"), append(args, f.OfficerID)
	}
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	return list(ctx, db, strings.Join(where, " AND ")+" ORDER BY submitted_at, item_id LIMIT ?", append(args, f.Limit)...)
}

func list(ctx context.Context, db *store.DB, where string, args ...any) ([]Item, error) {
	rows, err := db.QueryContext(ctx, `SELECT item_id, officer_id, state, needs_review, exceptions, flags, submitted_at, day,
		coalesce(decided_by, ''), coalesce(decided_at, ''), reason_code, reason_note, coalesce(seq, 0) FROM review_items WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list review items: %w", err)
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		var it Item
		var flags, sub, dec string
		if err := rows.Scan(&it.ItemID, &it.OfficerID, &it.State, &it.NeedsReview, &it.Exceptions, &flags, &sub, &it.Day,
			&it.DecidedBy, &dec, &it.ReasonCode, &it.ReasonNote, &it.Seq); err != nil {
			return nil, fmt.Errorf("list review items: %w", err)
		}
		it.Flags = []string{}
		if flags != "" {
			it.Flags = strings.Split(flags, ",")
		}
		it.SubmittedAt, _ = time.Parse(time.RFC3339Nano, sub)
		if dec != "" {
			it.DecidedAt, _ = time.Parse(time.RFC3339Nano, dec)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Detail is a pending item as the supervisor examines it.
type Detail struct {
	Item       Item                  `json:"item"`
	Content    record.Content        `json:"content"`
	Blobs      []record.Blob         `json:"blobs"` // portrait, finger images, exception photos
	Exceptions []exceptions.Declared `json:"exceptions"`
}

// Open returns a pending item's record for the supervisor to examine; viewing is audited.
func (q *Queue) Open(ctx context.Context, viewer, itemID string) (*Detail, error) {
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("open item: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	r, err := q.loadTx(ctx, tx, itemID)
	if err != nil {
		return nil, err
	}
	if r.state != StatePending {
		return nil, fmt.Errorf("item %s is %s: %w", itemID, r.state, ErrNotPending)
	}
	p, err := q.open(ctx, itemID, r)
	if err != nil {
		return nil, err
	}
	exc, err := exceptions.ForItem(ctx, tx, itemID)
	if err != nil {
		return nil, err
	}
	if _, err := q.audit.AppendTx(ctx, tx, audit.Entry{Actor: viewer, Action: "review.view", Subject: itemID}); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("open item: commit: %w", err)
	}
	items, err := list(ctx, q.db, "item_id = ?", itemID)
	if err != nil || len(items) != 1 {
		return nil, fmt.Errorf("open item %s: %w", itemID, errors.Join(err, store.ErrNotFound))
	}
	return &Detail{Item: items[0], Content: p.Content, Blobs: p.Blobs, Exceptions: exc}, nil
}

// DayCount is one officer's numbers for one office day.
type DayCount struct {
	Day       string `json:"day"`
	OfficerID string `json:"officer_id"`
	Submitted int    `json:"submitted"`
	Pending   int    `json:"pending"`
	Released  int    `json:"released"`
	Rejected  int    `json:"rejected"`
	// Exceptions counts submissions that declared at least one biometric exception; Flagged
	// those with a check flag.
	Exceptions int `json:"exceptions"`
	Flagged    int `json:"flagged"`
}

// Counts returns per-officer counts for the office days from..to inclusive (YYYY-MM-DD).
func (q *Queue) Counts(ctx context.Context, from, to string) ([]DayCount, error) {
	return Counts(ctx, q.db, from, to)
}

// Counts returns a store's per-officer counts for the office days from..to (needs no keys).
func Counts(ctx context.Context, db *store.DB, from, to string) ([]DayCount, error) {
	rows, err := db.QueryContext(ctx, `SELECT day, officer_id, count(*),
		sum(state = 'pending'), sum(state = 'released'), sum(state = 'rejected'), sum(exceptions > 0), sum(flags != '')
		FROM review_items WHERE day BETWEEN ? AND ? GROUP BY day, officer_id ORDER BY day, officer_id`, from, to)
	if err != nil {
		return nil, fmt.Errorf("review counts: %w", err)
	}
	defer rows.Close()
	var out []DayCount
	for rows.Next() {
		var c DayCount
		if err := rows.Scan(&c.Day, &c.OfficerID, &c.Submitted, &c.Pending, &c.Released, &c.Rejected, &c.Exceptions, &c.Flagged); err != nil {
			return nil, fmt.Errorf("review counts: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PendingCount is how many items wait for a supervisor (the freeze rules count them).
func (q *Queue) PendingCount(ctx context.Context) (int, error) { return PendingCount(ctx, q.db) }

// PendingCount counts pending items in a store (needs no keys).
func PendingCount(ctx context.Context, db *store.DB) (int, error) {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM review_items WHERE state IN ('pending', 'releasing')`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count pending reviews: %w", err)
	}
	return n, nil
}

// Today is the office-local date of t.
func (q *Queue) Today() string { return q.now().In(q.zone).Format(time.DateOnly) }
