// Package settings holds the desk's typed settings: every device and network timeout, quality
// thresholds, the approval and finger-count policy, and the freeze limits. Values live in the
// store's settings table, one JSON value per dotted key ("timeouts.card"), over built-in defaults,
// so a key the desk has never stored reads as its default and a newer release can add keys.
//
// A supervisor may change the local keys (timeouts and thresholds) at the desk; the policy and
// freeze keys come only from the registry's signed desk settings (see signed.go), applied
// atomically. Every change is audited as "settings.change" with the key and the old and new
// values; settings never hold personal data.
package settings

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/store"
)

// Duration is a time.Duration written in JSON as Go's duration string ("30s", "2m").
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalCBOR writes the duration as its integer nanoseconds (for the signed encoding).
func (d Duration) MarshalCBOR() ([]byte, error) { return cborEnc.Marshal(int64(d)) }

// UnmarshalCBOR reads integer nanoseconds.
func (d *Duration) UnmarshalCBOR(b []byte) error {
	var v int64
	if err := cborDec.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Timeouts are how long the desk waits on each device and on the network before it tells the
// officer what went wrong (MOSIP hard-codes these; here each is a setting).
type Timeouts struct {
	Card         Duration `json:"card" cbor:"card"`                     // whole chip read (PACE/BAC + data groups)
	CardPresent  Duration `json:"card_present" cbor:"card_present"`     // waiting for a card to be placed
	Camera       Duration `json:"camera" cbor:"camera"`                 // opening the camera and getting a usable frame
	FaceCapture  Duration `json:"face_capture" cbor:"face_capture"`     // a compliant portrait before giving up
	Sensor       Duration `json:"sensor" cbor:"sensor"`                 // one sensor command round trip
	FingerPlace  Duration `json:"finger_place" cbor:"finger_place"`     // waiting for a finger on the sensor
	Network      Duration `json:"network" cbor:"network"`               // one HTTP request to the registry
	SyncRetry    Duration `json:"sync_retry" cbor:"sync_retry"`         // first back-off after a failed sync
	SyncRetryMax Duration `json:"sync_retry_max" cbor:"sync_retry_max"` // back-off ceiling
	Session      Duration `json:"session" cbor:"session"`               // idle time before the officer is logged out
}

// Thresholds are quality gates the desk applies before a record can be approved.
type Thresholds struct {
	FingerMinQuality int     `json:"finger_min_quality" cbor:"finger_min_quality"` // 0..100, below it a capture is refused
	FaceMinQuality   float64 `json:"face_min_quality" cbor:"face_min_quality"`     // 0..1 portrait quality score
	// OperatorFaceMargin narrows the face-match threshold used by the operator check (see
	// desk/opcheck): the check flags a citizen whose face distance to the logged-in officer is at
	// most the calibrated match threshold plus this margin (0 = exactly the match threshold).
	OperatorFaceMargin float64 `json:"operator_face_margin" cbor:"operator_face_margin"`
	// OperatorFingerScore: a citizen finger scoring at least this against the officer's own
	// enrolled finger flags the enrollment.
	OperatorFingerScore float64 `json:"operator_finger_score" cbor:"operator_finger_score"`
}

// FingerPolicy says which fingers a record needs. Preference lists finger groups (ISO/IEC
// 19794-2 position codes: 1 right thumb, 2 right index ... 6 left thumb, 7 left index ... 10 left
// little) best first; the record needs MinFingers captured fingers, taken in that order, and every
// finger ranked before the last one used must be captured or declared an exception.
type FingerPolicy struct {
	MinFingers int     `json:"min_fingers" cbor:"min_fingers"`
	Preference [][]int `json:"preference" cbor:"preference"`
	// AllowNone lets a record with every finger declared an exception (e.g. both hands missing)
	// be approved; such a record always needs the supervisor's approval.
	AllowNone bool `json:"allow_none" cbor:"allow_none"`
}

// Policy is how the desk's office works.
type Policy struct {
	// SupervisorApproval holds every record an officer approves until a supervisor approves it too.
	SupervisorApproval bool `json:"supervisor_approval" cbor:"supervisor_approval"`
	// ExceptionApproval holds records with a biometric exception for the supervisor even when
	// SupervisorApproval is off.
	ExceptionApproval bool         `json:"exception_approval" cbor:"exception_approval"`
	Fingers           FingerPolicy `json:"fingers" cbor:"fingers"`
	// OperatorCheck turns on the comparison of the citizen with the logged-in officer.
	OperatorCheck bool `json:"operator_check" cbor:"operator_check"`
	// FaceEngine selects the face-embedding engine of the 1:1 face decision (FaceEngineFacenet
	// or FaceEngineDlib): the chip photo and the live face both go through it and the decision
	// uses its calibration (biometric/face/match). Set by the registry, like the rest of the
	// policy, so that every desk of a region decides alike.
	FaceEngine string `json:"face_engine" cbor:"face_engine"`
}

// Face engines (Policy.FaceEngine). docs/face-engines.md measures both per population slice.
const (
	// FaceEngineFacenet is biometric/facenet's shipped model (Faceplugin fr_feature with mirrored
	// averaging): FNMR 4.55 % at FMR 0.1 % on the East Asian slice, its worst; the default.
	FaceEngineFacenet = "facenet"
	// FaceEngineDlib is dlib's ResNet through go-face: FNMR ≈ 30 % at FMR 0.1 % on the same slice.
	FaceEngineDlib = "dlib"
)

// Freeze are the limits past which the desk stops new enrollments (see desk/freeze). Zero turns a
// limit off.
type Freeze struct {
	MaxPending        int    `json:"max_pending" cbor:"max_pending"`                   // records awaiting approval or sync
	MaxUnsyncedDays   int    `json:"max_unsynced_days" cbor:"max_unsynced_days"`       // days since the last complete sync
	MaxTrustStoreDays int    `json:"max_trust_store_days" cbor:"max_trust_store_days"` // age of the CSCA master list / CRLs
	MaxSoftwareDays   int    `json:"max_software_days" cbor:"max_software_days"`       // age of the installed build
	MinSoftware       string `json:"min_software" cbor:"min_software"`                 // lowest allowed version, "1.4.0"
}

// Settings are all of the desk's settings.
type Settings struct {
	Timeouts   Timeouts   `json:"timeouts" cbor:"timeouts"`
	Thresholds Thresholds `json:"thresholds" cbor:"thresholds"`
	Policy     Policy     `json:"policy" cbor:"policy"`
	Freeze     Freeze     `json:"freeze" cbor:"freeze"`
}

// Defaults are the settings of a new desk: generous timeouts for slow readers and old sensors,
// supervisor approval on, both index fingers preferred.
func Defaults() Settings {
	return Settings{
		Timeouts: Timeouts{
			Card:         Duration(20 * time.Second),
			CardPresent:  Duration(2 * time.Minute),
			Camera:       Duration(10 * time.Second),
			FaceCapture:  Duration(60 * time.Second),
			Sensor:       Duration(15 * time.Second),
			FingerPlace:  Duration(30 * time.Second),
			Network:      Duration(30 * time.Second),
			SyncRetry:    Duration(10 * time.Second),
			SyncRetryMax: Duration(15 * time.Minute),
			Session:      Duration(10 * time.Minute),
		},
		// OperatorFingerScore 8 (biometric/finger's field-weighted matcher; finger.ScoreForFMR(1e-4)
		// is 7.64): on FVC2002 DB1_B (desk/opcheck's test) the highest impostor score of 720 is 3.7,
		// and 66 of 70 same-finger impressions (94 %) score at least 8.
		Thresholds: Thresholds{FingerMinQuality: 40, FaceMinQuality: 0.5, OperatorFaceMargin: 0, OperatorFingerScore: 8},
		Policy: Policy{
			SupervisorApproval: true,
			ExceptionApproval:  true,
			Fingers: FingerPolicy{
				MinFingers: 2,
				// Index fingers first (what the chip's DG3 and most AFIS prefer), then thumbs,
				// middle, ring and little fingers.
				Preference: [][]int{{2, 7}, {1, 6}, {3, 8}, {4, 9}, {5, 10}},
			},
			OperatorCheck: true,
			// The engine that wins on the worst population slice (docs/face-engines.md).
			FaceEngine: FaceEngineFacenet,
		},
		Freeze: Freeze{MaxPending: 500, MaxUnsyncedDays: 7, MaxTrustStoreDays: 30, MaxSoftwareDays: 365},
	}
}

// Validate checks every value's range, naming the key at fault.
func (s Settings) Validate() error {
	var errs []error
	bad := func(key, why string) { errs = append(errs, fmt.Errorf("%s: %s", key, why)) }
	for key, d := range map[string]Duration{
		"timeouts.card": s.Timeouts.Card, "timeouts.card_present": s.Timeouts.CardPresent,
		"timeouts.camera": s.Timeouts.Camera, "timeouts.face_capture": s.Timeouts.FaceCapture,
		"timeouts.sensor": s.Timeouts.Sensor, "timeouts.finger_place": s.Timeouts.FingerPlace,
		"timeouts.network": s.Timeouts.Network, "timeouts.sync_retry": s.Timeouts.SyncRetry,
		"timeouts.sync_retry_max": s.Timeouts.SyncRetryMax, "timeouts.session": s.Timeouts.Session,
	} {
		if d.D() < 100*time.Millisecond || d.D() > 24*time.Hour {
			bad(key, fmt.Sprintf("%s is outside 100ms..24h", d.D()))
		}
	}
	if s.Timeouts.SyncRetryMax < s.Timeouts.SyncRetry {
		bad("timeouts.sync_retry_max", "is below timeouts.sync_retry")
	}
	if q := s.Thresholds.FingerMinQuality; q < 0 || q > 100 {
		bad("thresholds.finger_min_quality", fmt.Sprintf("%d is outside 0..100", q))
	}
	if q := s.Thresholds.FaceMinQuality; !(q >= 0 && q <= 1) {
		bad("thresholds.face_min_quality", fmt.Sprintf("%g is outside 0..1", q))
	}
	if m := s.Thresholds.OperatorFaceMargin; !(m >= -1 && m <= 1) {
		bad("thresholds.operator_face_margin", fmt.Sprintf("%g is outside -1..1", m))
	}
	if v := s.Thresholds.OperatorFingerScore; !(v >= 0) {
		bad("thresholds.operator_finger_score", "must be 0 or more")
	}
	fp := s.Policy.Fingers
	if fp.MinFingers < 0 || fp.MinFingers > 10 {
		bad("policy.fingers.min_fingers", fmt.Sprintf("%d is outside 0..10", fp.MinFingers))
	}
	seen := map[int]bool{}
	n := 0
	for _, g := range fp.Preference {
		for _, p := range g {
			if p < 1 || p > 10 {
				bad("policy.fingers.preference", fmt.Sprintf("finger position %d is outside 1..10", p))
				continue
			}
			if seen[p] {
				bad("policy.fingers.preference", fmt.Sprintf("finger position %d is listed twice", p))
			}
			seen[p] = true
			n++
		}
	}
	if n < fp.MinFingers {
		bad("policy.fingers.preference", fmt.Sprintf("lists %d fingers, fewer than min_fingers %d", n, fp.MinFingers))
	}
	if e := s.Policy.FaceEngine; e != FaceEngineFacenet && e != FaceEngineDlib {
		bad("policy.face_engine", fmt.Sprintf("%q is neither %q nor %q", e, FaceEngineFacenet, FaceEngineDlib))
	}
	f := s.Freeze
	for key, v := range map[string]int{"freeze.max_pending": f.MaxPending, "freeze.max_unsynced_days": f.MaxUnsyncedDays,
		"freeze.max_trust_store_days": f.MaxTrustStoreDays, "freeze.max_software_days": f.MaxSoftwareDays} {
		if v < 0 {
			bad(key, "must be 0 (off) or more")
		}
	}
	if f.MinSoftware != "" {
		if _, err := ParseVersion(f.MinSoftware); err != nil {
			bad("freeze.min_software", err.Error())
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	if len(errs) > 0 {
		return fmt.Errorf("invalid settings: %w", errors.Join(errs...))
	}
	return nil
}

// localPrefixes are the keys a supervisor may change at the desk; everything else is set by the
// registry's signed settings.
var localPrefixes = []string{"timeouts.", "thresholds."}

// IsLocal reports whether key may be changed at the desk.
func IsLocal(key string) bool {
	for _, p := range localPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// Flatten returns s as dotted keys and JSON values ("timeouts.card" → "\"20s\"").
func Flatten(s Settings) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode settings: %w", err)
	}
	var tree map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("encode settings: %w", err)
	}
	out := map[string]json.RawMessage{}
	var walk func(prefix string, v map[string]any) error
	walk = func(prefix string, v map[string]any) error {
		for k, x := range v {
			if m, ok := x.(map[string]any); ok {
				if err := walk(prefix+k+".", m); err != nil {
					return err
				}
				continue
			}
			raw, err := json.Marshal(x)
			if err != nil {
				return err
			}
			out[prefix+k] = raw
		}
		return nil
	}
	if err := walk("", tree); err != nil {
		return nil, fmt.Errorf("encode settings: %w", err)
	}
	return out, nil
}

// unflatten rebuilds Settings from dotted keys; keys it does not know are an error.
func unflatten(flat map[string]json.RawMessage) (Settings, error) {
	tree := map[string]any{}
	for key, raw := range flat {
		parts := strings.Split(key, ".")
		node := tree
		for _, p := range parts[:len(parts)-1] {
			next, ok := node[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				node[p] = next
			}
			node = next
		}
		node[parts[len(parts)-1]] = raw
	}
	b, err := json.Marshal(tree)
	if err != nil {
		return Settings{}, err
	}
	var s Settings
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// Store reads and changes the settings of a desk store.
type Store struct {
	db    *store.DB
	audit *audit.Log
	now   func() time.Time
}

// New returns the settings of db. now may be nil (time.Now).
func New(db *store.DB, log *audit.Log, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, audit: log, now: now}
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// Load returns the current settings: stored values over the defaults. Stored keys this release
// does not know are ignored (a newer release may have written them).
func (s *Store) Load(ctx context.Context) (Settings, error) {
	return load(ctx, s.db)
}

func load(ctx context.Context, q querier) (Settings, error) {
	flat, err := Flatten(Defaults())
	if err != nil {
		return Settings{}, err
	}
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM settings`)
	if err != nil {
		return Settings{}, fmt.Errorf("load settings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return Settings{}, fmt.Errorf("load settings: %w", err)
		}
		if _, known := flat[k]; known {
			flat[k] = json.RawMessage(v)
		}
	}
	if err := rows.Err(); err != nil {
		return Settings{}, fmt.Errorf("load settings: %w", err)
	}
	st, err := unflatten(flat)
	if err != nil {
		return Settings{}, fmt.Errorf("load settings: %w", err)
	}
	return st, nil
}

// Change is one key's change.
type Change struct {
	Key      string `json:"key"`
	Old, New string // JSON values
}

// ErrNotLocal is returned when a supervisor tries to change a key that only the registry sets.
var ErrNotLocal = errors.New("set by the registry's signed desk settings, not at the desk")

// Set changes local keys at the desk, e.g. {"timeouts.card": "\"30s\""}. actor is the supervisor
// (the caller's session checks the role). The new settings are validated as a whole and written
// with one audit entry per changed key, all in one transaction.
func (s *Store) Set(ctx context.Context, actor string, values map[string]json.RawMessage) ([]Change, error) {
	for k := range values {
		if !IsLocal(k) {
			return nil, fmt.Errorf("setting %q: %w", k, ErrNotLocal)
		}
	}
	return s.write(ctx, actor, func(cur map[string]json.RawMessage) error {
		for k, v := range values {
			if _, ok := cur[k]; !ok {
				return fmt.Errorf("setting %q: unknown key", k)
			}
			cur[k] = v
		}
		return nil
	}, nil)
}

// write loads, modifies, validates and stores the flattened settings in one transaction; extra
// runs inside the same transaction before the commit.
func (s *Store) write(ctx context.Context, actor string, modify func(map[string]json.RawMessage) error,
	extra func(*sql.Tx) error) ([]Change, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("change settings: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	cur, err := load(ctx, tx)
	if err != nil {
		return nil, err
	}
	before, err := Flatten(cur)
	if err != nil {
		return nil, err
	}
	after := make(map[string]json.RawMessage, len(before))
	for k, v := range before {
		after[k] = v
	}
	if err := modify(after); err != nil {
		return nil, err
	}
	next, err := unflatten(after)
	if err != nil {
		return nil, fmt.Errorf("change settings: %w", err)
	}
	if err := next.Validate(); err != nil {
		return nil, err
	}
	// Re-flatten so values are stored in their canonical form ("30s", not "30000ms").
	canon, err := Flatten(next)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(canon))
	for k := range canon {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	now := s.now().UTC().Format(time.RFC3339Nano)
	var changes []Change
	for _, k := range keys {
		if bytes.Equal(before[k], canon[k]) {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings(key, value, updated_at) VALUES (?,?,?)
			ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, k, string(canon[k]), now); err != nil {
			return nil, fmt.Errorf("change settings: store %s: %w", k, err)
		}
		c := Change{Key: k, Old: string(before[k]), New: string(canon[k])}
		if _, err := s.audit.AppendTx(ctx, tx, audit.Entry{Actor: actor, Action: "settings.change", Subject: k,
			Detail: c.Old + " -> " + c.New}); err != nil {
			return nil, err
		}
		changes = append(changes, c)
	}
	if extra != nil {
		if err := extra(tx); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("change settings: commit: %w", err)
	}
	return changes, nil
}
