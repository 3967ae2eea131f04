package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"enrolldesk/desk/ops"
	"enrolldesk/sync/outbox"
)

// QueueSource reads the outbox's counts and sync state (sync/outbox; no keys needed).
type QueueSource interface {
	Counts(ctx context.Context) (outbox.Counts, error)
	SyncState(ctx context.Context) (outbox.SyncState, error)
}

// QueueStatus is what the queue and sync panel shows.
type QueueStatus struct {
	Queued      int    `json:"queued"`
	Sent        int    `json:"sent"`
	Acked       int    `json:"acked"`
	LastSynced  string `json:"lastSynced,omitempty"`  // RFC 3339; empty: never
	LastAttempt string `json:"lastAttempt,omitempty"` // RFC 3339
	LastError   string `json:"lastError,omitempty"`   // the registry's refusal or the network error
	// Problem classifies LastError for the officer (SyncUnreachable, SyncTimeout, SyncTLS,
	// SyncRefused, SyncOther; "" when the last attempt succeeded); the window translates it.
	Problem string `json:"problem,omitempty"`
	Reason  string `json:"reason,omitempty"`  // the registry's refusal reason (protocol.Reason), if it refused
	Syncing bool   `json:"syncing,omitempty"` // a batch is in flight
	RetryIn int    `json:"retryIn,omitempty"` // seconds until the uploader tries again after a failure
	// Uploading tells whether this desk runs an uploader now (registered and unlocked).
	Uploading bool `json:"uploading"`
}

// syncKicker is the optional side of a QueueSource that can ask the uploader to sync now.
type syncKicker interface {
	SyncNow() bool
}

// Queue is the bound service of the queue and sync panel.
type Queue struct {
	session *Session
	src     QueueSource
}

// Status returns the outbox counts and the last sync outcome. It works with the network down.
func (q *Queue) Status() Response {
	if _, err := q.session.current(); err != nil {
		return fail("Queue.Status", err)
	}
	if q.src == nil {
		return fail("Queue.Status", coded(CodeUnavailable, fmt.Errorf("no outbox in this build"), nil))
	}
	ctx := q.session.context()
	c, err := q.src.Counts(ctx)
	if err != nil {
		return fail("Queue.Status", err)
	}
	s, err := q.src.SyncState(ctx)
	if err != nil {
		return fail("Queue.Status", err)
	}
	st := QueueStatus{Queued: c.Queued, Sent: c.Sent, Acked: c.Acked, LastError: s.LastError,
		Problem: SyncProblem(s.LastError, refusalReason(s.LastError))}
	if k, ok := q.src.(interface{ Uploading() bool }); ok {
		st.Uploading = k.Uploading()
	}
	if !s.LastSynced.IsZero() {
		st.LastSynced = s.LastSynced.UTC().Format(time.RFC3339)
	}
	if !s.LastAttempt.IsZero() {
		st.LastAttempt = s.LastAttempt.UTC().Format(time.RFC3339)
	}
	return ok(st)
}

// refusalReason reads the registry's reason back from a stored refusal ("registry refused the
// batch: REASON ...", protocol.Refusal.Error).
func refusalReason(msg string) string {
	const p = "registry refused the batch: "
	i := strings.Index(msg, p)
	if i < 0 {
		return ""
	}
	r := msg[i+len(p):]
	if j := strings.IndexAny(r, " :;,"); j >= 0 {
		r = r[:j]
	}
	return r
}

// SyncNow asks the uploader to send the queue at once (after the network came back, say) and
// returns the queue status. Without a registry enrollment or before the desk is unlocked there
// is no uploader: the answer is "unavailable".
func (q *Queue) SyncNow() Response {
	if _, err := q.session.current(); err != nil {
		return fail("Queue.SyncNow", err)
	}
	k, ok := q.src.(syncKicker)
	if !ok || !k.SyncNow() {
		return fail("Queue.SyncNow", coded(CodeUnavailable, errors.New("no uploader runs: the desk is not registered with the registry or not unlocked"), nil))
	}
	return q.Status()
}

// Devices is the bound service of the device panel.
type Devices struct {
	session *Session
	card    CardReader
	face    FaceCapturer
	finger  FingerCapturer
	events  Emitter
	// audit writes the devices' connections and disconnections to the audit log (nil: none).
	audit *deviceAudit

	// The card reader's watcher (CardWatcher), started with the application (start) or, in a
	// build that never calls it, by the first CardState call; it runs until the context it was
	// started with ends.
	watchMu    sync.Mutex
	watching   bool
	cardState  CardState
	lastReader string        // the last reader the watcher saw, which names its disconnection
	stateSeen  chan struct{} // closed once the watcher reported its first state
	watchDone  chan struct{} // closed when the watcher has stopped
}

// start follows the card reader from the start of the application, so that the reader's state
// reaches the window and the audit log all day, whether an officer is logged in or not.
func (d *Devices) start(ctx context.Context) {
	if w, ok := d.card.(CardWatcher); ok {
		d.watch(ctx, w)
	}
}

// watch starts the reader's watcher unless one runs, and returns the channel closed once it has
// reported its first state.
func (d *Devices) watch(ctx context.Context, w CardWatcher) <-chan struct{} {
	d.watchMu.Lock()
	defer d.watchMu.Unlock()
	if d.watching {
		return d.stateSeen
	}
	d.watching = true
	seen, done := make(chan struct{}), make(chan struct{})
	d.stateSeen, d.watchDone = seen, done
	go func() {
		defer close(done)
		first := true
		w.Watch(ctx, func(s CardState) {
			d.watchMu.Lock()
			d.cardState = s
			prev := d.lastReader
			if s.Reader != "" {
				d.lastReader = s.Reader
			}
			d.watchMu.Unlock()
			// Audited before the window hears of it: whoever sees the event sees the log
			// that goes with it.
			d.audit.observeCard(ctx, s, prev)
			if first {
				first = false
				close(seen)
			}
			// The panel's line first: a listener that has the card state has the line too.
			d.events.Emit(EventDevices, []DeviceStatus{s.DeviceStatus()})
			d.events.Emit(EventCardState, s)
		})
		// The application stopped: the next call starts a new watcher.
		d.watchMu.Lock()
		d.watching = false
		d.watchMu.Unlock()
		if first {
			close(seen)
		}
	}()
	return seen
}

// CardState returns the reader and card as they are now (starting the reader's watcher if the
// application did not). Every change is pushed as EventCardState (the card step's "place the
// card" / "card present") and as EventDevices with the reader's line (the device panel),
// including readers plugged or unplugged and pcscd stopping and coming back, so no manual
// Reconnect is needed.
func (d *Devices) CardState() Response {
	if _, err := d.session.current(); err != nil {
		return fail("Devices.CardState", err)
	}
	w, canWatch := d.card.(CardWatcher)
	if !canWatch {
		if d.card == nil {
			return ok(CardState{State: CardNoReader})
		}
		// A reader without a watcher: ask it now.
		st := d.card.Status(d.session.context())
		cs := CardState{State: CardAbsent, Reader: st.Name}
		switch st.State {
		case DeviceReady:
			cs.State = CardPresent
		case DeviceMissing, DeviceError:
			cs.State = CardNoReader
		}
		return ok(cs)
	}
	ctx := d.session.context()
	seen := d.watch(ctx, w)
	select {
	case <-seen:
	case <-ctx.Done():
		return fail("Devices.CardState", ctx.Err())
	case <-time.After(5 * time.Second):
	}
	d.watchMu.Lock()
	defer d.watchMu.Unlock()
	if d.cardState.State == "" {
		return ok(CardState{State: CardNoService})
	}
	return ok(d.cardState)
}

// statuses checks every device afresh (the reader connects to the card).
func (d *Devices) statuses(ctx context.Context) []DeviceStatus { return d.check(ctx, true) }

// check checks every device; the reader is asked afresh unless fresh is false and the reader's
// watcher already knows its state (asking would connect to a card that may be being read).
func (d *Devices) check(ctx context.Context, fresh bool) []DeviceStatus {
	out := make([]DeviceStatus, 0, 3)
	d.watchMu.Lock()
	watched := d.cardState
	d.watchMu.Unlock()
	switch {
	case d.card != nil && !fresh && watched.State != "":
		out = append(out, watched.DeviceStatus())
	case d.card != nil:
		out = append(out, d.card.Status(ctx))
	default:
		out = append(out, DeviceStatus{Kind: "reader", State: DeviceMissing, Detail: "no card reader configured"})
	}
	if d.face != nil {
		out = append(out, d.face.Status(ctx))
	} else {
		out = append(out, DeviceStatus{Kind: "camera", State: DeviceMissing, Detail: "no camera configured"})
	}
	if d.finger != nil {
		out = append(out, d.finger.Status(ctx))
	} else {
		out = append(out, DeviceStatus{Kind: "sensor", State: DeviceMissing, Detail: "no fingerprint sensor configured"})
	}
	d.auditStatuses(ctx, out)
	return out
}

// auditStatuses writes what changed since the last check to the audit log. A device that is
// not configured is not audited (it never connects). The reader's watcher, when there is one,
// is the reader's only witness: a fresh Status connects to the card and can disagree with the
// watcher for a moment, which would write a disconnection that never happened; its state is
// passed again here because the watcher only reports changes, and one seen before the desk was
// provisioned must still reach the log.
func (d *Devices) auditStatuses(ctx context.Context, out []DeviceStatus) {
	if d.audit == nil {
		return
	}
	if _, isWatcher := d.card.(CardWatcher); isWatcher {
		// Held while writing, so that the watcher cannot write a newer state in between and
		// see it overwritten by this older one (the watcher writes after releasing watchMu).
		d.watchMu.Lock()
		if d.cardState.State != "" {
			d.audit.observeCard(ctx, d.cardState, d.lastReader)
		}
		d.watchMu.Unlock()
	} else if d.card != nil {
		d.audit.observeStatus(ctx, ops.DeviceCard, out[0])
	}
	if d.face != nil {
		d.audit.observeStatus(ctx, ops.DeviceCamera, out[1])
	}
	if d.finger != nil {
		d.audit.observeStatus(ctx, ops.DeviceSensor, out[2])
	}
}

// Status checks the reader, the camera and the sensor now.
func (d *Devices) Status() Response {
	if _, err := d.session.current(); err != nil {
		return fail("Devices.Status", err)
	}
	return ok(d.check(d.session.context(), false))
}

// Reconnect checks the devices again (each check opens the device afresh) and tells every window.
func (d *Devices) Reconnect() Response {
	if _, err := d.session.current(); err != nil {
		return fail("Devices.Reconnect", err)
	}
	st := d.statuses(d.session.context())
	d.events.Emit(EventDevices, st)
	return ok(st)
}
