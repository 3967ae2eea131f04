package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"enrolldesk/desk/ops"
)

// Device events (desk/ops.DeviceEvent; issue 9: "every ... device event written to the
// hash-chained audit log"). The reader's watcher and the device panel's checks see a device's
// state far more often than it changes; the chain must hold the changes only.
const (
	devConnected    = "connected"
	devDisconnected = "disconnected"
	devTimeout      = "timeout"
	devError        = "error"
)

// deviceAudit writes device events to the desk's audit log: connected and disconnected when a
// device's state changes, and the capture timeouts and device errors of the wizard. It remembers
// the last state it wrote per device; the first time a device is seen in a run, the last state
// comes from the log itself, so restarting the window over an unchanged desk writes nothing. A
// device's first event on a desk is its connection.
//
// Nothing is written before the desk is provisioned (the chain starts with desk.provision) or
// in a build without desk operations; a failed write is logged, never returned: a device event
// must not fail the device panel or the card step.
type deviceAudit struct {
	ops *Ops

	mu sync.Mutex
	// last is each device's last written event (connected, disconnected; "": none yet); a
	// device not in it has not been looked up in the log yet. Only the event counts: the reader
	// a watcher names can change while connected (vpcd's second slot as the first one goes)
	// without anything being plugged.
	last map[string]string
	// ready: the desk was found provisioned (it stays so), no need to ask the store again.
	ready bool
}

func newDeviceAudit(o *Ops) *deviceAudit {
	return &deviceAudit{ops: o, last: map[string]string{}}
}

// observe records that device is now connected (named name) or not (why: a state code such as
// "no_reader", never free text from the device, which may echo what it read).
func (a *deviceAudit) observe(ctx context.Context, device string, connected bool, name, why string) {
	if a == nil || !a.ops.wired() || ctx.Err() != nil {
		return
	}
	event, detail := devConnected, name
	if !connected {
		event, detail = devDisconnected, why
		if name != "" {
			detail = why + ": " + name
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.provisioned(ctx) {
		return
	}
	last, seen := a.last[device]
	if !seen {
		var err error
		if last, err = a.logged(ctx, device); err != nil {
			slog.Warn("device audit: last logged state", "device", device, "err", err)
			return
		}
		a.last[device] = last
	}
	if last == event {
		return
	}
	if last == "" && !connected {
		// A device this desk never saw connected did not go away: a desk without a sensor
		// (or a reader still being found as pcscd starts) is not a disconnection.
		a.last[device] = event
		return
	}
	if err := a.ops.svc.DeviceEvent(ctx, a.ops.session.actor(), device, event, detail); err != nil {
		slog.Warn("device audit: write", "device", device, "event", event, "err", err)
		return
	}
	a.last[device] = event
}

// observeStatus records a device panel line (camera or sensor): ready (or a reader without a
// card) is connected, missing or in error is not.
func (a *deviceAudit) observeStatus(ctx context.Context, device string, st DeviceStatus) {
	switch st.State {
	case DeviceReady, DeviceNoCard:
		a.observe(ctx, device, true, st.Name, "")
	case DeviceMissing, DeviceError:
		a.observe(ctx, device, false, st.Name, st.State)
	}
}

// observeCard records the reader's watched state: a reader with or without a card is connected
// (cards coming and going are the wizard's business, not device events); the last reader seen
// names the disconnection.
func (a *deviceAudit) observeCard(ctx context.Context, s CardState, lastReader string) {
	switch s.State {
	case CardPresent, CardAbsent:
		a.observe(ctx, ops.DeviceCard, true, s.Reader, "")
	case CardNoReader, CardNoService:
		a.observe(ctx, ops.DeviceCard, false, lastReader, s.State)
	}
}

// provisioned tells whether the desk has its identity (and so its audit chain); caller holds a.mu.
func (a *deviceAudit) provisioned(ctx context.Context) bool {
	if a.ready {
		return true
	}
	id, err := a.ops.session.prov.DeskID(ctx)
	if err != nil {
		slog.Warn("device audit: desk id", "err", err)
		return false
	}
	a.ready = id != ""
	return a.ready
}

// logged returns the device's last connected/disconnected event in the audit log, "" when it
// has none.
func (a *deviceAudit) logged(ctx context.Context, device string) (string, error) {
	var action string
	err := a.ops.b.db.QueryRowContext(ctx, `SELECT action FROM audit_log
		WHERE subject = ? AND action IN ('device.connected', 'device.disconnected') ORDER BY seq DESC LIMIT 1`,
		device).Scan(&action)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("last %s event: %w", device, err)
	}
	return strings.TrimPrefix(action, "device."), nil
}

// deviceFault audits a wizard capture that failed because of the device: a timeout (CodeTimeout)
// or a device that could not be reached (CodeDeviceMissing, or CodeNoDrive for the export drive). Other failures (a poor face, a
// finger to place again) are the citizen's, not the device's, and are not device events. what
// names the step ("face capture"); the detail is the fault code, never the error's text.
func (o *Ops) deviceFault(ctx context.Context, device, what string, err error) {
	var ce *CodedError
	if !o.wired() || err == nil || !errors.As(err, &ce) {
		return
	}
	event := ""
	switch ce.Code {
	case CodeTimeout:
		event = devTimeout
	case CodeDeviceMissing, CodeNoDrive:
		event = devError
	default:
		return
	}
	if id, derr := o.session.prov.DeskID(ctx); derr != nil || id == "" {
		return
	}
	if werr := o.svc.DeviceEvent(ctx, o.session.actor(), device, event, what+": "+ce.Code); werr != nil {
		slog.Warn("device audit: write", "device", device, "event", event, "err", werr)
	}
}

// actor is the logged-in officer's id, or "system" when nobody is (the reader's watcher runs all
// day). It neither counts as activity nor ends an idle session (watchIdle does, and tells the
// window); an officer idle past the timeout is no longer the actor.
func (s *Session) actor() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.officer == nil || (s.idle > 0 && s.now().Sub(s.active) >= s.idle) {
		return "system"
	}
	return s.officer.ID
}
