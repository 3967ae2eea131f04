package app

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"enrolldesk/desk/enroll"
	"enrolldesk/desk/officer"
)

// Deps are the backends the bound services drive. Auth, Provisioner are required; the rest may be
// nil in a build that does not have that feature yet (its screens then answer "unavailable").
type Deps struct {
	Auth        Authenticator
	Provisioner Provisioner
	Settings    Settings
	Unlocker    Unlocker         // nil: the desk cannot sign approvals in this build
	Now         func() time.Time // injectable clock; time.Now when nil

	// The enrollment wizard and its panels; any may be nil (the screens then say what is missing).
	Officers *officer.Registry
	Workflow *enroll.Workflow
	Card     CardReader
	Face     FaceCapturer
	Finger   FingerCapturer
	Dedup    Deduper
	Queue    QueueSource
	DB       *sql.DB // the desk store, for the history screen
}

// App owns the bound services. main.go binds App.Bound() and calls Start/Stop from Wails'
// OnStartup/OnShutdown; Bridge serves the very same values over HTTP.
type App struct {
	Events     *Hub
	Session    *Session
	Enrollment *Enrollment
	Queue      *Queue
	Devices    *Devices
	Officers   *Officers
	History    *History
	Ops        *Ops // ops.go: review, exceptions, freeze, export
	// Settings is the supervisor's thresholds-and-devices screen (settings.go).
	Settings *DeskSettings

	mu     sync.Mutex
	cancel context.CancelFunc
}

// New builds the services over their backends.
func New(d Deps) (*App, error) {
	if d.Auth == nil || d.Provisioner == nil {
		return nil, errors.New("app: Auth and Provisioner are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	hub := &Hub{}
	s := newSession(d, hub)
	a := &App{
		Events:  hub,
		Session: s,
		Enrollment: &Enrollment{session: s, officers: d.Officers, wf: d.Workflow, card: d.Card, face: d.Face,
			finger: d.Finger, dedup: d.Dedup, events: hub, now: d.Now},
		Queue:    &Queue{session: s, src: d.Queue},
		Devices:  &Devices{session: s, card: d.Card, face: d.Face, finger: d.Finger, events: hub},
		Officers: &Officers{session: s, officers: d.Officers, face: d.Face, finger: d.Finger, events: hub},
		History:  &History{session: s, db: d.DB},
		Ops:      newOps(s, d),
	}
	a.Officers.ops = a.Ops // the officers' onboarding saves their profiles through desk operations
	a.Settings = newDeskSettings(a, d)
	a.Devices.audit = newDeviceAudit(a.Ops)      // deviceaudit.go: device events in the audit log
	tuneFace(d.Face, hub, faceMinQuality(a.Ops)) // preview.go: the live preview and face_min_quality
	return a, nil
}

// Bound lists the structs whose exported methods the window may call: the Bind list of Wails'
// options and the method set of Bridge. Nothing else is reachable from the UI.
func (a *App) Bound() []any {
	return []any{a.Session, a.Enrollment, a.Queue, a.Devices, a.Officers, a.History, a.Ops, a.Settings}
}

// Start is called from Wails' OnStartup (or by the bridge) with the application's context; the
// services use it for every call that blocks on a device, the store or the network.
func (a *App) Start(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	a.mu.Lock()
	a.cancel = cancel
	a.mu.Unlock()
	a.Session.start(ctx)
	a.Devices.start(ctx) // the reader's watcher runs from now on, logged in or not
}

// Stop is called from Wails' OnShutdown: it cancels every call in flight.
func (a *App) Stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil {
		a.cancel()
		a.cancel = nil
	}
}
