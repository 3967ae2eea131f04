// Package ops wires the desk-operations features into one service for the window and the CLI:
// settings (desk/settings), the supervisor's review queue (desk/review), biometric exceptions
// (desk/exceptions), the freeze rules (desk/freeze), the operator check (desk/opcheck) and the
// air-gapped export (desk/export), with the audit of device events. Each method is a thin call
// into its package; the screens map errors by errors.Is/As on the packages' error values.
//
// Parts that need the desk's keys (the review queue, the operator-check profiles and the export)
// are available after Unlock, which the window calls when the desk passphrase has opened the
// keys and the outbox.
package ops

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"filippo.io/age"

	"enrolldesk/biometric/face/match"
	"enrolldesk/desk/audit"
	"enrolldesk/desk/exceptions"
	"enrolldesk/desk/export"
	"enrolldesk/desk/freeze"
	"enrolldesk/desk/officer"
	"enrolldesk/desk/opcheck"
	"enrolldesk/desk/provision"
	"enrolldesk/desk/review"
	"enrolldesk/desk/settings"
	"enrolldesk/desk/store"
	"enrolldesk/reader/pa"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/record"
)

// ErrLocked is returned by the keyed parts before Unlock.
var ErrLocked = errors.New("the desk keys are locked: unlock the desk with its passphrase first")

// Config is what Ops needs without the desk keys.
type Config struct {
	DB         *store.DB
	Audit      *audit.Log
	Officers   *officer.Registry
	TrustStore func(ctx context.Context) (*pa.TrustStore, error) // the CSCA store passive authentication uses
	Build      freeze.Build
	Now        func() time.Time
}

// Ops is the desk-operations service.
type Ops struct {
	cfg      Config
	Settings *settings.Store
	Freeze   *freeze.Guard

	mu       sync.Mutex
	queue    *review.Queue
	profiles *opcheck.Store
	exporter *export.Exporter
}

// New returns the service on an open desk store.
func New(c Config) (*Ops, error) {
	if c.DB == nil || c.Audit == nil || c.Officers == nil || c.TrustStore == nil {
		return nil, errors.New("ops: store, audit log, officers and trust store are required")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	st := settings.New(c.DB, c.Audit, c.Now)
	g, err := freeze.New(freeze.Config{DB: c.DB, Audit: c.Audit, Policies: st, TrustStore: c.TrustStore, Build: c.Build, Now: c.Now})
	if err != nil {
		return nil, err
	}
	return &Ops{cfg: c, Settings: st, Freeze: g}, nil
}

// Unlock enables the keyed parts with the desk keys, the open outbox and the registry's age
// recipient (bundles are encrypted to it). It also settles releases a crash interrupted
// (review.Queue.Recover). The registry's Ed25519 key that verifies receipts is the one pinned
// in settings (Settings.PinRegistryKey at provisioning).
func (o *Ops) Unlock(ctx context.Context, keys *provision.Keys, out *outbox.Outbox, registry age.Recipient) error {
	q, err := review.New(review.Config{DB: o.cfg.DB, Audit: o.cfg.Audit, Officers: o.cfg.Officers, Policies: o.Settings,
		Outbox: out, DataKey: keys.DataKey, Now: o.cfg.Now})
	if err != nil {
		return err
	}
	if _, _, err := q.Recover(ctx); err != nil {
		return fmt.Errorf("ops unlock: %w", err)
	}
	prof, err := opcheck.NewStore(o.cfg.DB, o.cfg.Audit, keys.DataKey, o.cfg.Now)
	if err != nil {
		return err
	}
	regKey, err := o.Settings.RegistryKey(ctx)
	if err != nil && !errors.Is(err, settings.ErrNoRegistryKey) {
		return err
	}
	exp := &export.Exporter{Outbox: out, Audit: o.cfg.Audit, DeskID: keys.ID, DeskKey: keys.SigningKey, Registry: registry,
		RegistryKey: regKey, Now: o.cfg.Now}
	o.mu.Lock()
	o.queue, o.profiles, o.exporter = q, prof, exp
	o.mu.Unlock()
	return nil
}

func (o *Ops) keyed() (*review.Queue, *opcheck.Store, *export.Exporter, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.queue == nil {
		return nil, nil, nil, ErrLocked
	}
	return o.queue, o.profiles, o.exporter, nil
}

// Queue returns the review queue (the enrollment workflow's Releaser), or ErrLocked.
func (o *Ops) Queue() (*review.Queue, error) {
	q, _, _, err := o.keyed()
	return q, err
}

// --- Settings screen -------------------------------------------------------------------------

// SettingsView is the settings screen's content: the values, which keys are editable at the
// desk, and the newest signed document applied.
type SettingsView struct {
	Settings settings.Settings          `json:"settings"`
	Values   map[string]json.RawMessage `json:"values"` // dotted keys
	Local    []string                   `json:"local"`  // keys a supervisor may change here
	Signed   settings.Applied           `json:"signed"`
}

// SettingsView returns the current settings.
func (o *Ops) SettingsView(ctx context.Context) (SettingsView, error) {
	s, err := o.Settings.Load(ctx)
	if err != nil {
		return SettingsView{}, err
	}
	flat, err := settings.Flatten(s)
	if err != nil {
		return SettingsView{}, err
	}
	v := SettingsView{Settings: s, Values: flat, Local: []string{}}
	for k := range flat {
		if settings.IsLocal(k) {
			v.Local = append(v.Local, k)
		}
	}
	if v.Signed, err = o.Settings.LastApplied(ctx); err != nil {
		return SettingsView{}, err
	}
	return v, nil
}

// SetSettings changes local keys; the caller's session must be a supervisor's.
func (o *Ops) SetSettings(ctx context.Context, supervisorID string, values map[string]json.RawMessage) ([]settings.Change, error) {
	return o.Settings.Set(ctx, supervisorID, values)
}

// ApplySignedSettings applies a signed desk-settings document from the registry (sync or USB).
func (o *Ops) ApplySignedSettings(ctx context.Context, envelope []byte) (settings.Document, []settings.Change, error) {
	return o.Settings.ApplySigned(ctx, envelope)
}

// --- Freeze banner ---------------------------------------------------------------------------

// FreezeState is what the home screen's freeze banner shows.
func (o *Ops) FreezeState(ctx context.Context) (freeze.State, error) { return o.Freeze.State(ctx) }

// AllowEnrollment is called before a new enrollment starts; a *freeze.FrozenError refuses it.
func (o *Ops) AllowEnrollment(ctx context.Context, officerID string) error {
	return o.Freeze.Allow(ctx, officerID)
}

// --- Exceptions (finger step) ----------------------------------------------------------------

// ValidateFingers checks captures and declared exceptions against the desk's finger policy and
// quality threshold; Result.Errors are per finger, with stable codes.
func (o *Ops) ValidateFingers(ctx context.Context, captured []exceptions.Capture, declared []exceptions.Exception) (exceptions.Result, error) {
	s, err := o.Settings.Load(ctx)
	if err != nil {
		return exceptions.Result{}, err
	}
	return exceptions.Validate(s.Policy.Fingers, s.Thresholds.FingerMinQuality, captured, declared), nil
}

// --- Supervisor review screen ------------------------------------------------------------------

// ReviewScreen is the supervisor's end-of-day view for one office day.
type ReviewScreen struct {
	Day     string            `json:"day"`
	Pending []review.Item     `json:"pending"` // every pending item, whatever its day
	Decided []review.Item     `json:"decided"` // released or rejected items of Day
	Counts  []review.DayCount `json:"counts"`  // per officer, for Day
	Reasons []string          `json:"reasons"` // rejection reason codes
}

// ReviewScreen returns the review screen for day ("" = today, office time).
func (o *Ops) ReviewScreen(ctx context.Context, day string) (ReviewScreen, error) {
	q, _, _, err := o.keyed()
	if err != nil {
		return ReviewScreen{}, err
	}
	if day == "" {
		day = q.Today()
	}
	rs := ReviewScreen{Day: day, Reasons: review.ReasonCodes}
	if rs.Pending, err = q.List(ctx, review.Filter{State: review.StatePending}); err != nil {
		return ReviewScreen{}, err
	}
	all, err := q.List(ctx, review.Filter{Day: day})
	if err != nil {
		return ReviewScreen{}, err
	}
	rs.Decided = []review.Item{}
	for _, it := range all {
		if it.State == review.StateReleased || it.State == review.StateRejected {
			rs.Decided = append(rs.Decided, it)
		}
	}
	if rs.Counts, err = q.Counts(ctx, day, day); err != nil {
		return ReviewScreen{}, err
	}
	if rs.Pending == nil {
		rs.Pending = []review.Item{}
	}
	if rs.Counts == nil {
		rs.Counts = []review.DayCount{}
	}
	return rs, nil
}

// ReviewOpen returns one pending item's record (portrait, fingers, exceptions) for the supervisor.
func (o *Ops) ReviewOpen(ctx context.Context, supervisorID, itemID string) (*review.Detail, error) {
	q, _, _, err := o.keyed()
	if err != nil {
		return nil, err
	}
	return q.Open(ctx, supervisorID, itemID)
}

// ReviewApprove releases items after the supervisor re-enters their PIN.
func (o *Ops) ReviewApprove(ctx context.Context, supervisorID, pin string, itemIDs []string) ([]review.ItemResult, error) {
	q, _, _, err := o.keyed()
	if err != nil {
		return nil, err
	}
	return q.Approve(ctx, supervisorID, pin, itemIDs)
}

// ReviewReject rejects one item with a reason code and note after the supervisor re-enters their PIN.
func (o *Ops) ReviewReject(ctx context.Context, supervisorID, pin, itemID, code, note string) error {
	q, _, _, err := o.keyed()
	if err != nil {
		return err
	}
	return q.Reject(ctx, supervisorID, pin, itemID, code, note)
}

// --- Operator check --------------------------------------------------------------------------

// EnrollOfficerBiometrics stores an officer's own face descriptors and finger templates,
// captured by supervisorID through the citizens' capture path.
func (o *Ops) EnrollOfficerBiometrics(ctx context.Context, supervisorID, officerID string, p opcheck.Profile) error {
	_, prof, _, err := o.keyed()
	if err != nil {
		return err
	}
	return prof.Enroll(ctx, supervisorID, officerID, p)
}

// OperatorCheck compares the citizen with the logged-in officer; the returned Flags go into
// review.Submission.Flags. cal is the face engine's calibration for cit's engine and model set.
func (o *Ops) OperatorCheck(ctx context.Context, officerID string, cit opcheck.Citizen, cal match.Calibration) (opcheck.Result, error) {
	_, prof, _, err := o.keyed()
	if err != nil {
		return opcheck.Result{}, err
	}
	s, err := o.Settings.Load(ctx)
	if err != nil {
		return opcheck.Result{}, err
	}
	if !s.Policy.OperatorCheck {
		return opcheck.Result{Flags: []string{}, FingerHits: []opcheck.FingerHit{}}, nil
	}
	th, err := opcheck.FaceThreshold(cal, s.Thresholds.OperatorFaceMargin)
	if err != nil && len(cit.Face) > 0 {
		return opcheck.Result{}, err
	}
	c := &opcheck.Checker{Profiles: prof, Audit: o.cfg.Audit, FaceThreshold: th, FingerThreshold: s.Thresholds.OperatorFingerScore}
	return c.Check(ctx, officerID, cit)
}

// Submit hands an approved enrollment to the review queue with its exceptions and flags (the
// richer form of review.Queue.Release).
func (o *Ops) Submit(ctx context.Context, c record.Content, blobs []record.Blob, officerKey ed25519.PrivateKey,
	exc []exceptions.Exception, flags []string) (review.Outcome, error) {
	q, _, _, err := o.keyed()
	if err != nil {
		return review.Outcome{}, err
	}
	return q.Submit(ctx, review.Submission{Content: c, Blobs: blobs, OfficerKey: officerKey, Exceptions: exc, Flags: flags})
}

// --- Export screen ---------------------------------------------------------------------------

// Export writes every unacknowledged record to dir (the mounted removable drive).
func (o *Ops) Export(ctx context.Context, actor, dir string) (export.Result, error) {
	_, _, exp, err := o.keyed()
	if err != nil {
		return export.Result{}, err
	}
	return exp.Export(ctx, actor, dir)
}

// ApplyReceipt applies a receipt file the registry wrote for an imported bundle.
func (o *Ops) ApplyReceipt(ctx context.Context, actor, path string) (export.ReceiptInfo, error) {
	_, _, exp, err := o.keyed()
	if err != nil {
		return export.ReceiptInfo{}, err
	}
	if len(exp.RegistryKey) == 0 {
		k, err := o.Settings.RegistryKey(ctx)
		if err != nil {
			return export.ReceiptInfo{}, err
		}
		exp.RegistryKey = k
	}
	return exp.ApplyReceiptFile(ctx, actor, path)
}

// --- Devices ---------------------------------------------------------------------------------

// Device names for DeviceEvent.
const (
	DeviceCard   = "card-reader"
	DeviceCamera = "camera"
	DeviceSensor = "finger-sensor"
	DeviceDrive  = "usb-drive"
)

// DeviceEvent audits a device event ("device.<event>", subject the device): connected,
// disconnected, error, timeout. detail must not hold personal data (a reader name, an error code).
func (o *Ops) DeviceEvent(ctx context.Context, actor, device, event, detail string) error {
	switch event {
	case "connected", "disconnected", "error", "timeout":
	default:
		return fmt.Errorf("device event %q: want connected, disconnected, error or timeout", event)
	}
	if actor == "" {
		actor = "system"
	}
	_, err := o.cfg.Audit.Append(ctx, audit.Entry{Actor: actor, Action: "device." + event, Subject: device, Detail: detail})
	return err
}
