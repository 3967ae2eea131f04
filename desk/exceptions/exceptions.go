// Package exceptions handles biometric exceptions — a finger that is missing, bandaged or
// unreadable, declared with a reason and an evidence photo — and validates a capture against the
// desk's finger-count policy before the officer may approve, with one clear error per finger
// (MOSIP's registration client only says that biometrics are incomplete).
//
// Finger positions are the ISO/IEC 19794-2:2005 §7.4.1.1 (table 2) codes, also used by
// ISO/IEC 19794-4: 1 right thumb, 2 right index, 3 right middle, 4 right ring, 5 right little,
// 6 left thumb, 7 left index, 8 left middle, 9 left ring, 10 left little.
package exceptions

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/settings"
	"enrolldesk/sync/record"
)

// Reason is why a finger was not captured.
type Reason string

// Reasons. Missing is permanent (amputation, congenital); Bandaged is temporary (the citizen may
// come back); Unreadable means the sensor cannot get a usable image (worn or scarred ridges).
const (
	Missing    Reason = "missing"
	Bandaged   Reason = "bandaged"
	Unreadable Reason = "unreadable"
)

// Reasons lists the valid reasons, for the screen.
var Reasons = []Reason{Missing, Bandaged, Unreadable}

// Exception is one declared finger.
type Exception struct {
	Position int    `json:"position"`
	Reason   Reason `json:"reason"`
	// Evidence references the evidence photo: "sha256:" and the hex SHA-256 of the photo blob
	// (KindEvidencePhoto) the record carries; see Declare.
	Evidence string `json:"evidence"`
}

// Capture is one captured finger as the policy sees it.
type Capture struct {
	Position int `json:"position"`
	Quality  int `json:"quality"` // 0..100
}

// FingerName is the English name of a position, for messages ("right index finger").
func FingerName(pos int) string {
	names := [...]string{"", "right thumb", "right index finger", "right middle finger", "right ring finger",
		"right little finger", "left thumb", "left index finger", "left middle finger", "left ring finger", "left little finger"}
	if pos < 1 || pos > 10 {
		return fmt.Sprintf("finger %d", pos)
	}
	return names[pos]
}

// Problem codes (stable, for the screen's translations).
const (
	CodeMissing         = "finger.missing"      // ranked finger neither captured nor declared
	CodeLowQuality      = "finger.low_quality"  // captured below the quality threshold, not declared
	CodeTooFew          = "fingers.too_few"     // fewer usable fingers than the policy needs
	CodeNone            = "fingers.none"        // every finger declared and the policy needs at least one
	CodeBadPosition     = "exception.position"  // not 1..10
	CodeBadReason       = "exception.reason"    // not one of Reasons
	CodeNoEvidence      = "exception.evidence"  // no or malformed evidence photo reference
	CodeDuplicate       = "exception.duplicate" // the same finger declared twice
	CodeCapturedAndOK   = "exception.captured"  // declared, yet captured with good quality
	CodeCaptureConflict = "capture.duplicate"   // the same finger captured twice
	CodeCapturePosition = "capture.position"    // capture position not 1..10
)

// FingerError is one per-finger problem.
type FingerError struct {
	Position int    `json:"position"` // 0 when it concerns the whole hand set
	Code     string `json:"code"`
	Message  string `json:"message"`
}

// Result is the outcome of Validate.
type Result struct {
	// Used are the captured positions that satisfy the policy, in preference order.
	Used []int `json:"used"`
	// Declared are the positions covered by an exception.
	Declared []int `json:"declared"`
	// NeedsSupervisor is set when any exception is declared (the desk's policy decides whether
	// that holds the record for review; see settings.Policy.ExceptionApproval).
	NeedsSupervisor bool          `json:"needs_supervisor"`
	Errors          []FingerError `json:"errors"`
}

// OK reports whether the capture may be approved.
func (r Result) OK() bool { return len(r.Errors) == 0 }

// PolicyError carries the per-finger errors of a failed validation.
type PolicyError struct{ Errors []FingerError }

func (e *PolicyError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		msgs[i] = fe.Message
	}
	return "finger policy: " + strings.Join(msgs, "; ")
}

// Err returns nil when OK, else a *PolicyError.
func (r Result) Err() error {
	if r.OK() {
		return nil
	}
	return &PolicyError{Errors: r.Errors}
}

// CheckEvidence checks an evidence reference's form.
func CheckEvidence(ref string) error {
	h, ok := strings.CutPrefix(ref, "sha256:")
	if !ok || len(h) != 64 {
		return errors.New(`evidence must be "sha256:" and 64 hex digits`)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	return nil
}

// Validate checks captures and exceptions against policy: walking the preference list best first,
// each finger is either captured at quality ≥ minQuality (and counts), or declared an exception
// (and is skipped), until MinFingers fingers count; a finger ranked before that point that is
// neither is an error naming it. Malformed exceptions are errors too.
func Validate(p settings.FingerPolicy, minQuality int, captured []Capture, exceptions []Exception) Result {
	var r Result
	add := func(pos int, code, msg string) {
		r.Errors = append(r.Errors, FingerError{Position: pos, Code: code, Message: msg})
	}

	quality := map[int]int{}
	for _, c := range captured {
		if c.Position < 1 || c.Position > 10 {
			add(c.Position, CodeCapturePosition, fmt.Sprintf("captured finger position %d is not 1..10", c.Position))
			continue
		}
		if _, dup := quality[c.Position]; dup {
			add(c.Position, CodeCaptureConflict, fmt.Sprintf("%s captured twice: keep one capture", FingerName(c.Position)))
			continue
		}
		quality[c.Position] = c.Quality
	}
	declared := map[int]Exception{}
	for _, e := range exceptions {
		name := FingerName(e.Position)
		switch {
		case e.Position < 1 || e.Position > 10:
			add(e.Position, CodeBadPosition, fmt.Sprintf("exception for finger position %d: not 1..10", e.Position))
			continue
		case e.Reason != Missing && e.Reason != Bandaged && e.Reason != Unreadable:
			add(e.Position, CodeBadReason, fmt.Sprintf("%s: say whether it is missing, bandaged or unreadable", name))
		case CheckEvidence(e.Evidence) != nil:
			add(e.Position, CodeNoEvidence, fmt.Sprintf("%s: take the evidence photo of the hand", name))
		}
		if _, dup := declared[e.Position]; dup {
			add(e.Position, CodeDuplicate, fmt.Sprintf("%s: declared twice", name))
			continue
		}
		if q, ok := quality[e.Position]; ok && q >= minQuality {
			add(e.Position, CodeCapturedAndOK, fmt.Sprintf("%s was captured with good quality: remove the exception", name))
		}
		declared[e.Position] = e
	}
	for pos := range declared {
		r.Declared = append(r.Declared, pos)
	}
	sort.Ints(r.Declared)
	r.NeedsSupervisor = len(declared) > 0

	var order []int
	for _, g := range p.Preference {
		order = append(order, g...)
	}
	// A ranked finger that is neither usable nor declared is an error and takes its slot (it is
	// what the officer must capture next), so the errors name exactly the fingers still owed.
	owed := 0
	for _, pos := range order {
		if len(r.Used)+owed >= p.MinFingers {
			break
		}
		name := FingerName(pos)
		q, got := quality[pos]
		_, excepted := declared[pos]
		switch {
		case got && q >= minQuality:
			r.Used = append(r.Used, pos)
		case excepted:
			// Declared: the policy moves on to the next best finger.
		case got:
			owed++
			add(pos, CodeLowQuality, fmt.Sprintf("%s: quality %d is below %d — capture it again (clean and dry the finger) or declare it unreadable", name, q, minQuality))
		default:
			owed++
			add(pos, CodeMissing, fmt.Sprintf("%s: not captured — capture it or declare it missing, bandaged or unreadable", name))
		}
	}
	if len(r.Errors) == 0 && len(r.Used) < p.MinFingers {
		switch {
		case len(r.Used) == 0 && !p.AllowNone:
			add(0, CodeNone, "no finger could be captured and this desk's policy does not allow a record without fingers")
		case len(r.Used) == 0:
			// Every finger is declared: allowed, always for the supervisor.
			r.NeedsSupervisor = true
		default:
			// Every other finger the policy ranks is declared an exception: accepted, with the
			// exceptions as the explanation, for the supervisor to confirm.
			r.NeedsSupervisor = true
		}
	}
	return r
}

// Declared is an exception as stored for a submission.
type Declared struct {
	Exception
	ItemID     string    `json:"item_id"`
	DeclaredBy string    `json:"declared_by"`
	DeclaredAt time.Time `json:"declared_at"`
}

// InsertTx stores a submission's exceptions and audits each ("exception.declare", subject the
// item id, detail position and reason) inside the caller's transaction.
func InsertTx(ctx context.Context, tx *sql.Tx, log *audit.Log, itemID, officerID string, at time.Time, exc []Exception) error {
	for _, e := range exc {
		if _, err := tx.ExecContext(ctx, `INSERT INTO finger_exceptions(item_id, position, reason, evidence, declared_by, declared_at)
			VALUES (?,?,?,?,?,?)`, itemID, e.Position, string(e.Reason), e.Evidence, officerID, at.UTC().Format(time.RFC3339Nano)); err != nil {
			return fmt.Errorf("store exception for finger %d: %w", e.Position, err)
		}
		if _, err := log.AppendTx(ctx, tx, audit.Entry{Actor: officerID, Action: "exception.declare", Subject: itemID,
			Detail: fmt.Sprintf("finger %d %s", e.Position, e.Reason)}); err != nil {
			return err
		}
	}
	return nil
}

// Querier is *sql.DB, *sql.Tx or *store.DB.
type Querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// ForItem returns a submission's exceptions, by position.
func ForItem(ctx context.Context, q Querier, itemID string) ([]Declared, error) {
	rows, err := q.QueryContext(ctx, `SELECT position, reason, evidence, declared_by, declared_at FROM finger_exceptions
		WHERE item_id = ? ORDER BY position`, itemID)
	if err != nil {
		return nil, fmt.Errorf("exceptions of %s: %w", itemID, err)
	}
	defer rows.Close()
	var out []Declared
	for rows.Next() {
		d := Declared{ItemID: itemID}
		var reason, at string
		if err := rows.Scan(&d.Position, &reason, &d.Evidence, &d.DeclaredBy, &at); err != nil {
			return nil, fmt.Errorf("exceptions of %s: %w", itemID, err)
		}
		d.Reason = Reason(reason)
		d.DeclaredAt, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, d)
	}
	return out, rows.Err()
}

// KindEvidencePhoto is the record blob kind of an exception's evidence photo. The signed record
// thus says which finger was not captured and why: the blob's Position is the finger and its
// Format carries the reason as a media-type parameter (RFC 6838 §4.3), e.g.
// "image/jpeg; reason=bandaged".
const KindEvidencePhoto = "exception-photo"

// EvidenceRef is the reference of an evidence photo: "sha256:" and its hex SHA-256.
func EvidenceRef(photo []byte) string {
	h := sha256.Sum256(photo)
	return "sha256:" + hex.EncodeToString(h[:])
}

// Declare builds an exception and the record blob of its evidence photo (a JPEG of the hand),
// consistent with each other; the workflow adds the blob to the record's blobs.
func Declare(position int, reason Reason, photoJPEG []byte) (Exception, record.Blob) {
	return Exception{Position: position, Reason: reason, Evidence: EvidenceRef(photoJPEG)},
		record.Blob{Kind: KindEvidencePhoto, Format: "image/jpeg; reason=" + string(reason), Position: position, Data: photoJPEG}
}

// CheckAgainstBlobs checks that every exception's evidence photo travels with the record: a blob
// of KindEvidencePhoto for the same finger, with the declared reason, whose SHA-256 is the
// evidence reference.
func CheckAgainstBlobs(exc []Exception, blobs []record.Blob) error {
	for _, e := range exc {
		found := false
		for _, b := range blobs {
			if b.Kind == KindEvidencePhoto && b.Position == e.Position && EvidenceRef(b.Data) == e.Evidence &&
				strings.HasSuffix(b.Format, "reason="+string(e.Reason)) {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("%s: the evidence photo is not among the record's blobs (use exceptions.Declare)", FingerName(e.Position))
		}
	}
	return nil
}
