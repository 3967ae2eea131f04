package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"enrolldesk/biometric/face/match"
	"enrolldesk/desk/audit"
	"enrolldesk/desk/enroll"
	"enrolldesk/desk/exceptions"
	"enrolldesk/desk/export"
	"enrolldesk/desk/freeze"
	"enrolldesk/desk/officer"
	"enrolldesk/desk/opcheck"
	"enrolldesk/desk/ops"
	"enrolldesk/desk/provision"
	"enrolldesk/desk/review"
	"enrolldesk/desk/seal"
	"enrolldesk/desk/settings"
	"enrolldesk/reader/pa"
	"enrolldesk/sync/outbox"
	"enrolldesk/sync/record"
)

// Fault codes of the desk-operations screens (translated as error.<code> in frontend/src/i18n.ts).
const (
	CodeSelfReview    = "review_self"    // a supervisor cannot decide on their own enrollment
	CodeNotPending    = "review_decided" // the item was decided meanwhile
	CodeReasonNeeded  = "review_reason"  // a rejection needs a reason code (and a note for "other")
	CodeNothingExport = "export_nothing" // every record is acknowledged already
	CodeBadReceipt    = "export_receipt" // the receipt is not the registry's, not this desk's, or inconsistent
	CodeNoDrive       = "export_drive"   // the export folder does not exist or is not writable
	// CodeFrozen refuses a new enrollment on a frozen desk (desk/freeze): Params["reasons"] lists
	// the reason codes (comma-separated, e.g. "pending-limit,sync-overdue"), and for each code
	// Params["<code>.value"] and Params["<code>.limit"] the figures the window shows beside what
	// lifts it.
	CodeFrozen = "frozen"
)

// frozenFault maps a *freeze.FrozenError to CodeFrozen with its reasons; other errors stay.
func frozenFault(err error) error {
	var fe *freeze.FrozenError
	if !errors.As(err, &fe) {
		return err
	}
	p := map[string]string{}
	codes := make([]string, 0, len(fe.State.Reasons))
	for _, r := range fe.State.Reasons {
		codes = append(codes, r.Code)
		p[r.Code+".value"], p[r.Code+".limit"] = r.Value, r.Limit
	}
	p["reasons"] = strings.Join(codes, ",")
	return coded(CodeFrozen, err, p)
}

// Ops is the bound service of the desk-operations screens: the supervisor's review (pending
// records per officer per office day, approve or reject with a reason after the PIN is entered
// again), biometric exceptions (the finger-count policy and the reasons), the freeze state (why
// new enrollments are stopped and what lifts it) and the export to a removable drive with its
// receipt. The backend is desk/ops over the desk store; the parts that need the desk keys open
// when the desk is unlocked with its passphrase (Session.UnlockDesk), which also starts the audit
// log's shipping to the registry (desk/audit.Shipper) when the desk is registered.
type Ops struct {
	session *Session
	b       *backend // nil: not wired (the screens answer unavailable)
	svc     *ops.Ops // nil with b
	now     func() time.Time

	face    FaceCapturer // the calibration of the face engine, for the operator check
	gallery gallery      // the de-duplication galleries released records join; nil without

	mu      sync.Mutex
	shipper *audit.Shipper
	ship    audit.ShipState
	dataKey []byte // the desk data key once unlocked: seals the pending gallery entries
}

// newOps builds the service over the desk's backend (Deps.Queue is the *backend in Open). It
// hooks the session's unlock so that the desk keys also open the review queue and the export.
func newOps(s *Session, d Deps) *Ops {
	o := &Ops{session: s, now: d.Now, face: d.Face}
	if g, ok := d.Dedup.(gallery); ok {
		o.gallery = g
	}
	b, isBackend := d.Queue.(*backend)
	if !isBackend || b == nil || d.Officers == nil {
		return o
	}
	var trust func(context.Context) (*pa.TrustStore, error)
	if r, ok := d.Card.(*PCSCReader); ok && r.Trust != nil {
		ts := r.Trust
		trust = func(context.Context) (*pa.TrustStore, error) { return ts, nil }
	} else {
		trust = func(context.Context) (*pa.TrustStore, error) {
			return nil, errors.New("no CSCA trust store configured (-csca)")
		}
	}
	svc, err := ops.New(ops.Config{DB: b.db, Audit: b.log, Officers: d.Officers, TrustStore: trust, Build: ops.CurrentBuild(), Now: d.Now})
	if err != nil {
		slog.Error("desk operations not available", "err", err)
		return o
	}
	o.b, o.svc = b, svc
	if st, err := svc.Settings.Load(context.Background()); err == nil {
		applyTimeouts(st.Timeouts)
		s.setIdle(st.Timeouts.Session.D())
		b.uploads.setTimeouts(st.Timeouts.SyncRetry.D(), st.Timeouts.SyncRetryMax.D(), st.Timeouts.Network.D())
	} else {
		slog.Warn("device timeouts stay at their defaults", "err", err)
	}
	b.onUnlock = o.unlock
	return o
}

// applyTimeouts sets the wizard's device timeouts from the desk settings (desk/settings.Timeouts,
// defaults there; a supervisor changes them with `enrolldesk settings set`, the registry with a
// signed settings document). They take effect when the window opens the desk. The card read is
// bounded by timeouts.card; a face capture by timeouts.face_capture; a finger capture, which
// waits for the finger and then runs a few sensor commands per impression, by
// timeouts.finger_place + 4 × timeouts.sensor; opening the sensor by timeouts.sensor. (The idle
// logout, timeouts.session, and the sync's back-off and request bound, timeouts.sync_retry,
// sync_retry_max and network, are set beside it in newOps.)
func applyTimeouts(t settings.Timeouts) {
	if d := t.Card.D(); d > 0 {
		CardTimeout = d
	}
	if d := t.FaceCapture.D(); d > 0 {
		FaceTimeout = d
	}
	if d := t.FingerPlace.D() + 4*t.Sensor.D(); d > 0 {
		FingerTimeout = d
	}
	if d := t.Sensor.D(); d > 0 {
		SensorOpenTimeout = d
	}
	if d := t.Camera.D(); d > 0 {
		EvidenceTimeout = d
	}
}

// unlock opens the review queue, the export and the audit shipper with the keys the desk was
// just unlocked with (backend.UnlockDesk calls it once its outbox is open). A failure leaves the
// desk unlocked for enrollments; review and export then say they are locked.
func (o *Ops) unlock(ctx context.Context, keys *provision.Keys, out *outbox.Outbox) {
	if err := o.svc.Unlock(ctx, keys, out, o.b.registry); err != nil {
		slog.Error("desk operations stay locked", "err", err)
		return
	}
	o.mu.Lock()
	o.dataKey = keys.DataKey
	o.mu.Unlock()
	// Records a supervisor released (or rejected) while the galleries were sealed.
	if err := o.settleGalleries(ctx); err != nil {
		slog.Warn("pending gallery entries not settled", "err", err)
	}
	o.startShipper()
}

// startShipper ships the audit log to the registry beside the outbox uploader, with the same
// mutual-TLS client, until the window stops.
func (o *Ops) startShipper() {
	if o.b.uploads == nil {
		return
	}
	// The uploader's Renewer owns the registry enrollment: sharing its client keeps the audit
	// sync on the current certificate after a renewal.
	ren := o.b.uploads.renewer()
	if ren == nil {
		return
	}
	c := ren.Client()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.shipper != nil {
		return
	}
	var perRequest time.Duration
	if st, err := o.svc.Settings.Load(o.ctx()); err == nil {
		perRequest = st.Timeouts.Network.D()
	}
	o.shipper = &audit.Shipper{Log: o.b.log, Timeout: perRequest, Remote: &audit.HTTPRemote{BaseURL: c.BaseURL, HTTP: c.HTTP, DeskID: c.DeskID, RegistryKey: c.RegistryKey},
		OnState: func(st audit.ShipState) { o.mu.Lock(); o.ship = st; o.mu.Unlock() }}
	go func(s *audit.Shipper, ctx context.Context) {
		if err := s.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			slog.Warn("audit sync stopped", "err", err)
		}
	}(o.shipper, o.session.context())
}

func (o *Ops) ctx() context.Context { return o.session.context() }

// officer returns the logged-in officer; supervisor additionally requires the role.
func (o *Ops) officer(supervisor bool) (Officer, error) {
	me, err := o.session.current()
	if err != nil {
		return Officer{}, err
	}
	if o.svc == nil {
		return Officer{}, coded(CodeUnavailable, errors.New("desk operations are not wired"), nil)
	}
	if supervisor && me.Role != RoleSupervisor {
		return Officer{}, coded(CodeForbidden, errors.New("supervisors only"), nil)
	}
	return me, nil
}

// opsFault maps the desk-operations errors to fault codes.
func opsFault(err error) error {
	var locked *officer.LockedError
	var frozen *freeze.FrozenError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ops.ErrLocked):
		return coded(CodeDeskLocked, err, nil)
	case errors.As(err, &locked):
		return coded(CodeLocked, err, map[string]string{"until": locked.Until.UTC().Format(time.RFC3339)})
	case errors.Is(err, officer.ErrBadCredentials):
		return coded(CodeWrongPIN, err, nil)
	case errors.Is(err, review.ErrNotSupervisor):
		return coded(CodeForbidden, err, nil)
	case errors.Is(err, review.ErrSelfApproval):
		return coded(CodeSelfReview, err, nil)
	case errors.Is(err, review.ErrNotPending):
		return coded(CodeNotPending, err, nil)
	case errors.Is(err, review.ErrReasonRequired):
		return coded(CodeReasonNeeded, err, nil)
	case errors.Is(err, export.ErrNothing):
		return coded(CodeNothingExport, err, nil)
	case errors.As(err, &frozen):
		return frozenFault(err)
	}
	return err
}

// OpsOverview is what the desk-operations screen opens with.
type OpsOverview struct {
	Unlocked bool          `json:"unlocked"` // review decisions and export are possible
	Freeze   freeze.State  `json:"freeze"`
	Fingers  FingerPolicy  `json:"fingers"`
	Timeouts []TimeoutView `json:"timeouts"`
	Audit    AuditSync     `json:"audit"`
}

// FingerPolicy is the finger-count policy as the exceptions panel states it.
type FingerPolicy struct {
	MinFingers int      `json:"minFingers"`
	Preference [][]int  `json:"preference"` // ISO/IEC 19794-2 positions, best first
	AllowNone  bool     `json:"allowNone"`
	MinQuality int      `json:"minQuality"`
	Reasons    []string `json:"reasons"`
	// ExceptionReview: a record with an exception waits for the supervisor.
	ExceptionReview bool `json:"exceptionReview"`
}

// TimeoutView is one configurable timeout (settings key and value, e.g. "timeouts.card", "20s").
type TimeoutView struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// AuditSync is the audit log's sync state.
type AuditSync struct {
	Running     bool   `json:"running"`
	Registry    int64  `json:"registry"`
	Local       int64  `json:"local"`
	LastShipped string `json:"lastShipped,omitempty"` // RFC 3339
	Error       string `json:"error,omitempty"`
	Tail        bool   `json:"tail,omitempty"` // the desk's log lost entries the registry holds
}

// Overview returns the freeze state, the finger policy, the timeouts and the audit sync state.
func (o *Ops) Overview() Response {
	if _, err := o.officer(false); err != nil {
		return fail("Ops.Overview", err)
	}
	ctx := o.ctx()
	st, err := o.svc.FreezeState(ctx)
	if err != nil {
		return fail("Ops.Overview", err)
	}
	s, err := o.svc.Settings.Load(ctx)
	if err != nil {
		return fail("Ops.Overview", err)
	}
	_, qerr := o.svc.Queue()
	ov := OpsOverview{Unlocked: qerr == nil, Freeze: st, Fingers: fingerPolicy(s), Timeouts: timeouts(s)}
	if ov.Freeze.Reasons == nil {
		ov.Freeze.Reasons = []freeze.Reason{}
	}
	o.mu.Lock()
	ov.Audit = AuditSync{Running: o.shipper != nil, Registry: o.ship.Registry, Local: o.ship.Local, Error: o.ship.Err, Tail: o.ship.Tail}
	if !o.ship.LastShipped.IsZero() {
		ov.Audit.LastShipped = o.ship.LastShipped.UTC().Format(time.RFC3339)
	}
	o.mu.Unlock()
	return ok(ov)
}

func fingerPolicy(s settings.Settings) FingerPolicy {
	fp := FingerPolicy{MinFingers: s.Policy.Fingers.MinFingers, Preference: s.Policy.Fingers.Preference, AllowNone: s.Policy.Fingers.AllowNone,
		MinQuality: s.Thresholds.FingerMinQuality, ExceptionReview: s.Policy.ExceptionApproval || s.Policy.SupervisorApproval}
	if fp.Preference == nil {
		fp.Preference = [][]int{}
	}
	for _, r := range exceptions.Reasons {
		fp.Reasons = append(fp.Reasons, string(r))
	}
	return fp
}

func timeouts(s settings.Settings) []TimeoutView {
	t := s.Timeouts
	out := []TimeoutView{
		{"timeouts.card", t.Card.D().String()}, {"timeouts.card_present", t.CardPresent.D().String()},
		{"timeouts.camera", t.Camera.D().String()}, {"timeouts.face_capture", t.FaceCapture.D().String()},
		{"timeouts.sensor", t.Sensor.D().String()}, {"timeouts.finger_place", t.FingerPlace.D().String()},
		{"timeouts.network", t.Network.D().String()}, {"timeouts.sync_retry", t.SyncRetry.D().String()},
		{"timeouts.sync_retry_max", t.SyncRetryMax.D().String()}, {"timeouts.session", t.Session.D().String()},
	}
	return out
}

// SetTimeouts changes device and network timeouts, e.g. {"timeouts.card": "45s"} (supervisors;
// each change is audited settings.change). The wizard takes them at the next start of the window.
func (o *Ops) SetTimeouts(values map[string]string) Response {
	me, err := o.officer(true)
	if err != nil {
		return fail("Ops.SetTimeouts", err)
	}
	raw := make(map[string]json.RawMessage, len(values))
	for k, v := range values {
		if !strings.HasPrefix(k, "timeouts.") {
			return fail("Ops.SetTimeouts", invalid(k, errors.New("not a timeout setting")))
		}
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return fail("Ops.SetTimeouts", invalid(k, err))
		}
		b, err := json.Marshal(d.String())
		if err != nil {
			return fail("Ops.SetTimeouts", err)
		}
		raw[k] = b
	}
	if _, err := o.svc.SetSettings(o.ctx(), me.ID, raw); err != nil {
		return fail("Ops.SetTimeouts", invalid("timeouts", err))
	}
	return o.Overview()
}

// ValidateFingers checks captured fingers and declared exceptions against the desk's finger-count
// policy, with one error per finger for the screen.
func (o *Ops) ValidateFingers(captured []exceptions.Capture, declared []exceptions.Exception) Response {
	if _, err := o.officer(false); err != nil {
		return fail("Ops.ValidateFingers", err)
	}
	r, err := o.svc.ValidateFingers(o.ctx(), captured, declared)
	if err != nil {
		return fail("Ops.ValidateFingers", err)
	}
	if r.Errors == nil {
		r.Errors = []exceptions.FingerError{}
	}
	return ok(r)
}

// ReviewView is the supervisor's review screen for one office day.
type ReviewView struct {
	Day     string            `json:"day"`
	Pending []review.Item     `json:"pending"` // every pending record, whatever its day
	Decided []review.Item     `json:"decided"` // released or rejected on Day
	Counts  []review.DayCount `json:"counts"`  // per officer, Day
	Reasons []string          `json:"reasons"` // rejection reason codes
}

// Review lists the records waiting for the supervisor and the day's decisions and counts per
// officer (day "YYYY-MM-DD", "" = today in office time). It needs no keys.
func (o *Ops) Review(day string) Response {
	if _, err := o.officer(true); err != nil {
		return fail("Ops.Review", err)
	}
	if day == "" {
		day = o.now().In(review.OfficeZone).Format(time.DateOnly)
	} else if _, err := time.Parse(time.DateOnly, day); err != nil {
		return fail("Ops.Review", invalid("day", err))
	}
	ctx := o.ctx()
	v := ReviewView{Day: day, Reasons: review.ReasonCodes, Pending: []review.Item{}, Decided: []review.Item{}, Counts: []review.DayCount{}}
	pending, err := review.List(ctx, o.b.db, review.Filter{State: review.StatePending})
	if err != nil {
		return fail("Ops.Review", err)
	}
	v.Pending = append(v.Pending, pending...)
	all, err := review.List(ctx, o.b.db, review.Filter{Day: day})
	if err != nil {
		return fail("Ops.Review", err)
	}
	for _, it := range all {
		if it.State == review.StateReleased || it.State == review.StateRejected {
			v.Decided = append(v.Decided, it)
		}
	}
	counts, err := review.Counts(ctx, o.b.db, day, day)
	if err != nil {
		return fail("Ops.Review", err)
	}
	v.Counts = append(v.Counts, counts...)
	return ok(v)
}

// ReviewDetail is one pending record as the supervisor examines it. Images are data: URLs.
type ReviewDetail struct {
	Item       review.Item           `json:"item"`
	CitizenID  string                `json:"citizenId"`
	Face       record.FaceResult     `json:"face"`
	Fingers    []record.FingerResult `json:"fingers"`
	Dedup      string                `json:"dedup"`
	Chip       record.ChipVerdict    `json:"chip"`
	Portrait   string                `json:"portrait,omitempty"`
	Exceptions []ExceptionView       `json:"exceptions"`
}

// ExceptionView is one declared finger with its evidence photo.
type ExceptionView struct {
	Position int    `json:"position"`
	Reason   string `json:"reason"`
	Photo    string `json:"photo,omitempty"` // data: URL of the evidence photo
}

func dataURL(format string, b []byte) string {
	mt, _, _ := strings.Cut(format, ";")
	if mt == "" {
		mt = "application/octet-stream"
	}
	return "data:" + strings.TrimSpace(mt) + ";base64," + base64.StdEncoding.EncodeToString(b)
}

// ReviewOpen opens one pending record for the supervisor (audited review.view).
func (o *Ops) ReviewOpen(itemID string) Response {
	me, err := o.officer(true)
	if err != nil {
		return fail("Ops.ReviewOpen", err)
	}
	d, err := o.svc.ReviewOpen(o.ctx(), me.ID, itemID)
	if err != nil {
		return fail("Ops.ReviewOpen", opsFault(err))
	}
	v := ReviewDetail{Item: d.Item, CitizenID: d.Content.CitizenID, Face: d.Content.Face, Fingers: d.Content.Fingers,
		Dedup: d.Content.Dedup.Decision, Chip: d.Content.Chip, Exceptions: []ExceptionView{}}
	if v.Fingers == nil {
		v.Fingers = []record.FingerResult{}
	}
	photos := map[int]string{}
	for _, b := range d.Blobs {
		switch b.Kind {
		case record.KindPortrait:
			v.Portrait = dataURL(b.Format, b.Data)
		case exceptions.KindEvidencePhoto:
			photos[b.Position] = dataURL(b.Format, b.Data)
		}
	}
	for _, x := range d.Exceptions {
		v.Exceptions = append(v.Exceptions, ExceptionView{Position: x.Position, Reason: string(x.Reason), Photo: photos[x.Position]})
	}
	sort.Slice(v.Exceptions, func(i, j int) bool { return v.Exceptions[i].Position < v.Exceptions[j].Position })
	return ok(v)
}

// ReviewApprove releases the given pending records after the supervisor enters their PIN again;
// each item reports its sequence or its own error code.
func (o *Ops) ReviewApprove(pin string, itemIDs []string) Response {
	me, err := o.officer(true)
	if err != nil {
		return fail("Ops.ReviewApprove", err)
	}
	if len(itemIDs) == 0 {
		return fail("Ops.ReviewApprove", invalid("items", errors.New("no record selected")))
	}
	res, err := o.svc.ReviewApprove(o.ctx(), me.ID, pin, itemIDs)
	if err != nil {
		return fail("Ops.ReviewApprove", opsFault(err))
	}
	type itemResult struct {
		ItemID   string `json:"itemId"`
		Seq      uint64 `json:"seq,omitempty"`
		RecordID string `json:"recordId,omitempty"`
		Code     string `json:"code,omitempty"`
	}
	out := make([]itemResult, len(res))
	released := false
	for i, r := range res {
		out[i] = itemResult{ItemID: r.ItemID, Seq: r.Seq, RecordID: r.RecordID}
		if r.Err != nil {
			out[i].Code = CodeInternal
			var ce *CodedError
			if errors.As(opsFault(r.Err), &ce) {
				out[i].Code = ce.Code
			} else {
				slog.Error("review approve", "item", r.ItemID, "err", r.Err)
			}
		} else {
			released = true
		}
	}
	if released {
		if err := o.settleGalleries(o.ctx()); err != nil {
			slog.Warn("released records not added to the de-duplication galleries", "err", err)
		}
		o.b.uploads.kick()
		o.session.events.Emit(EventQueue, nil)
	}
	return ok(out)
}

// ReviewReject rejects one pending record with a reason code (and a note, required for "other")
// after the supervisor enters their PIN again.
func (o *Ops) ReviewReject(pin, itemID, code, note string) Response {
	me, err := o.officer(true)
	if err != nil {
		return fail("Ops.ReviewReject", err)
	}
	if err := o.svc.ReviewReject(o.ctx(), me.ID, pin, itemID, code, note); err != nil {
		return fail("Ops.ReviewReject", opsFault(err))
	}
	if err := o.settleGalleries(o.ctx()); err != nil {
		slog.Warn("rejected record's gallery entry not dropped", "err", err)
	}
	return ok(nil)
}

// Drives lists the mounted removable drives an export can go to (directories under /media and
// /run/media, as the desktop mounts USB drives).
func (o *Ops) Drives() Response {
	if _, err := o.officer(false); err != nil {
		return fail("Ops.Drives", err)
	}
	var out []string
	for _, pat := range []string{"/media/*/*", "/run/media/*/*", "/media/*"} {
		m, _ := filepath.Glob(pat)
		for _, d := range m {
			if fi, err := os.Stat(d); err == nil && fi.IsDir() && !strings.HasPrefix(filepath.Base(d), ".") {
				out = append(out, d)
			}
		}
	}
	if out == nil {
		out = []string{}
	}
	return ok(out)
}

// Export writes every record not yet acknowledged by the registry to dir (the drive) as signed,
// encrypted bundles (audited export.write).
func (o *Ops) Export(dir string) Response {
	me, err := o.officer(false)
	if err != nil {
		return fail("Ops.Export", err)
	}
	dir = filepath.Clean(strings.TrimSpace(dir))
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || !filepath.IsAbs(dir) {
		err = coded(CodeNoDrive, fmt.Errorf("export folder %q is not a directory", dir), nil)
		o.deviceFault(o.ctx(), ops.DeviceDrive, "export", err)
		return fail("Ops.Export", err)
	}
	res, err := o.svc.Export(o.ctx(), me.ID, dir)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			// The drive went away or filled up while the bundle was written.
			err = coded(CodeNoDrive, err, nil)
			o.deviceFault(o.ctx(), ops.DeviceDrive, "export", err)
			return fail("Ops.Export", err)
		}
		return fail("Ops.Export", opsFault(err))
	}
	if res.Files == nil {
		res.Files = []string{}
	}
	return ok(res)
}

// ApplyReceipt applies the receipt file the registry wrote beside an imported bundle: the records
// it covers are acknowledged (audited export.receipt).
func (o *Ops) ApplyReceipt(path string) Response {
	me, err := o.officer(false)
	if err != nil {
		return fail("Ops.ApplyReceipt", err)
	}
	info, err := o.svc.ApplyReceipt(o.ctx(), me.ID, strings.TrimSpace(path))
	if err != nil {
		if errors.Is(err, ops.ErrLocked) {
			return fail("Ops.ApplyReceipt", coded(CodeDeskLocked, err, nil))
		}
		return fail("Ops.ApplyReceipt", coded(CodeBadReceipt, err, nil))
	}
	o.session.events.Emit(EventQueue, nil)
	return ok(info)
}

// --- The wizard's approvals -------------------------------------------------------------------

// wired reports whether approvals go through the review queue: desk operations are wired
// and unlocked. Without them (a build without ops) the wizard releases to the outbox directly.
func (o *Ops) wired() bool { return o != nil && o.svc != nil }

// queueReady answers desk_locked until the review queue is open.
func (o *Ops) queueReady() error {
	if _, err := o.svc.Queue(); err != nil {
		return coded(CodeDeskLocked, err, nil)
	}
	return nil
}

// candidate is what an approved enrollment adds to the de-duplication galleries.
type candidate struct {
	CitizenID string          `json:"citizen"`
	Face      enroll.Face     `json:"-"`
	Fingers   []enroll.Finger `json:"-"`
	// The sealed form keeps only what the galleries need.
	Descriptor []float32     `json:"descriptor,omitempty"`
	Templates  []galleryTmpl `json:"templates,omitempty"`
}

type galleryTmpl struct {
	Position int    `json:"position"`
	Template []byte `json:"template"`
}

// submit hands an approval from the wizard to the review queue: the operator check runs first
// (the officer's own enrolled face and fingers against the citizen's) and its flags travel with
// the submission; review.Queue.Submit then releases the record at once or keeps it for the
// supervisor as the desk's policy says. A released record joins the galleries under its record
// id; a pending one's gallery entry waits, sealed, for the supervisor's decision.
func (o *Ops) submit(ctx context.Context, officerID string, sub enroll.Submission, c candidate) (enroll.Approval, error) {
	flags, err := o.operatorFlags(ctx, officerID, c)
	if err != nil {
		return enroll.Approval{}, err
	}
	out, err := o.svc.Submit(ctx, sub.Content, sub.Blobs, sub.OfficerKey, sub.Exceptions, flags)
	if err != nil {
		return enroll.Approval{}, opsFault(err)
	}
	a := enroll.Approval{ItemID: out.ItemID, RecordID: out.RecordID, Seq: out.Seq, Pending: out.State != review.StateReleased, Why: out.Why}
	if !a.Pending {
		o.enrolled(ctx, out.RecordID, c)
		o.b.uploads.kick()
		return a, nil
	}
	if err := o.holdGallery(ctx, out.ItemID, c); err != nil {
		// The record waits safely for the supervisor; only its gallery entry is missing.
		slog.Warn("pending record's gallery entry not kept", "item", out.ItemID, "err", err)
	}
	return a, nil
}

// operatorFlags runs the operator check (desk/opcheck) when the policy asks for it. The face is
// compared when the face engine's calibration is known (its match FMR bounds the false flags);
// otherwise only the fingers are, and the check says so with its flag.
func (o *Ops) operatorFlags(ctx context.Context, officerID string, c candidate) ([]string, error) {
	st, err := o.svc.Settings.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("operator check: %w", err)
	}
	if !st.Policy.OperatorCheck {
		return nil, nil
	}
	cit := opcheck.Citizen{Face: c.Face.Descriptor, Engine: c.Face.Engine, ModelSet: c.Face.ModelSet}
	for _, f := range c.Fingers {
		if len(f.Template) > 0 {
			cit.Fingers = append(cit.Fingers, opcheck.Finger{Position: f.Position, Template: f.Template})
		}
	}
	var cal match.Calibration
	var extra []string
	if len(cit.Face) > 0 {
		if cit.Engine == "" {
			// A capturer that does not name its engine: the desk's selected one described it.
			if t, ok := o.face.(interface {
				GalleryCalibration() (match.Calibration, error)
			}); ok {
				if k, err := t.GalleryCalibration(); err == nil {
					cit.Engine, cit.ModelSet = k.Engine, k.ModelSetID
				}
			}
		}
		// The operator check's own calibration (desk/opcheck: FMR 0.1 % on the worst slice of
		// officer/citizen pairs), not the 1:1 chip-photo one.
		k, err := opcheck.Calibration(cit.Engine, cit.ModelSet)
		if err == nil {
			_, err = opcheck.FaceThreshold(k, 0)
		}
		if err != nil {
			cit.Face, extra = nil, []string{FlagOperatorFaceUnchecked}
		} else {
			cal = k
		}
	}
	res, err := o.svc.OperatorCheck(ctx, officerID, cit, cal)
	if err != nil {
		return nil, fmt.Errorf("operator check: %w", err)
	}
	return append(res.Flags, extra...), nil
}

// FlagOperatorFaceUnchecked: the operator check could not compare the face (no calibration of
// the engine that described it), so a supervisor looks at the record.
const FlagOperatorFaceUnchecked = "operator-face-unchecked"

// enrolled adds a released record to the galleries. The record is signed and queued whatever
// happens here; a gallery that missed it only weakens later searches, so a failure is logged.
func (o *Ops) enrolled(ctx context.Context, recordID string, c candidate) {
	if o.gallery == nil {
		return
	}
	if err := o.gallery.Enrolled(ctx, recordID, c.CitizenID, c.Face, c.Fingers); err != nil {
		slog.Warn("released enrollment not added to the de-duplication galleries", "record", recordID, "err", err)
	}
}

func galleryAD(itemID string) []byte { return []byte("review-gallery|" + itemID) }

// holdGallery keeps a pending item's gallery entry, sealed under the desk data key, until the
// supervisor decides (settleGalleries).
func (o *Ops) holdGallery(ctx context.Context, itemID string, c candidate) error {
	if o.gallery == nil {
		return nil
	}
	o.mu.Lock()
	key := o.dataKey
	o.mu.Unlock()
	if key == nil {
		return coded(CodeDeskLocked, errors.New("the desk keys are locked"), nil)
	}
	c.Descriptor = c.Face.Descriptor
	for _, f := range c.Fingers {
		if len(f.Template) > 0 {
			c.Templates = append(c.Templates, galleryTmpl{Position: f.Position, Template: f.Template})
		}
	}
	plain, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("gallery entry: %w", err)
	}
	sealed, err := seal.Seal(key, plain, galleryAD(itemID))
	if err != nil {
		return fmt.Errorf("gallery entry: %w", err)
	}
	if _, err := o.b.db.ExecContext(ctx, `INSERT INTO review_gallery(item_id, sealed) VALUES (?, ?)`, itemID, sealed); err != nil {
		return fmt.Errorf("gallery entry: %w", err)
	}
	return nil
}

// settleGalleries adds the records a supervisor released to the galleries (under their record
// ids) and drops the entries of rejected ones. It runs after each review decision and when the
// desk is unlocked, so a decision taken while the galleries were sealed (or a crash right after
// it) is caught up.
func (o *Ops) settleGalleries(ctx context.Context) error {
	if o.gallery == nil || o.b == nil {
		return nil
	}
	o.mu.Lock()
	key := o.dataKey
	o.mu.Unlock()
	if key == nil {
		return nil
	}
	rows, err := o.b.db.QueryContext(ctx, `SELECT g.item_id, g.sealed, r.state, coalesce(o.record_id, x'')
		FROM review_gallery g JOIN review_items r ON r.item_id = g.item_id
		LEFT JOIN outbox o ON o.seq = r.seq
		WHERE r.state IN ('released', 'rejected')`)
	if err != nil {
		return fmt.Errorf("settle galleries: %w", err)
	}
	type row struct {
		item, state string
		sealed, rec []byte
	}
	var todo []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.item, &r.sealed, &r.state, &r.rec); err != nil {
			rows.Close()
			return fmt.Errorf("settle galleries: %w", err)
		}
		todo = append(todo, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("settle galleries: %w", err)
	}
	var errs []error
	for _, r := range todo {
		if r.state == review.StateReleased {
			id, err := uuid.FromBytes(r.rec)
			if err != nil {
				errs = append(errs, fmt.Errorf("item %s: record id: %w", r.item, err))
				continue
			}
			plain, err := seal.Open(key, r.sealed, galleryAD(r.item))
			if err != nil {
				errs = append(errs, fmt.Errorf("item %s: %w", r.item, err))
				continue
			}
			var c candidate
			if err := json.Unmarshal(plain, &c); err != nil {
				errs = append(errs, fmt.Errorf("item %s: %w", r.item, err))
				continue
			}
			c.Face = enroll.Face{Descriptor: c.Descriptor}
			for _, t := range c.Templates {
				c.Fingers = append(c.Fingers, enroll.Finger{Position: t.Position, Template: t.Template})
			}
			if err := o.gallery.Enrolled(ctx, id.String(), c.CitizenID, c.Face, c.Fingers); err != nil {
				errs = append(errs, fmt.Errorf("item %s: %w", r.item, err))
				continue
			}
		}
		if _, err := o.b.db.ExecContext(ctx, `DELETE FROM review_gallery WHERE item_id = ?`, r.item); err != nil {
			errs = append(errs, fmt.Errorf("item %s: %w", r.item, err))
		}
	}
	return errors.Join(errs...)
}
