package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/creack/pty"

	"enrolldesk/desk/settings"
	"enrolldesk/sync/registry"
)

// setLocal writes local timeout settings into a closed desk's store (as `enrolldesk settings
// set` does); they take effect when the desk is opened again.
func setLocal(t *testing.T, dir string, values map[string]string) {
	t.Helper()
	ctx := context.Background()
	d, err := Open(ctx, dir, Options{KDF: fastKDF})
	if err != nil {
		t.Fatal(err)
	}
	raw := map[string]json.RawMessage{}
	for k, v := range values {
		raw[k] = json.RawMessage(`"` + v + `"`)
	}
	if _, err := settings.New(d.DB, d.Audit, nil).Set(ctx, "gs.lan", raw); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

// timeouts.session: an officer idle for longer is logged out (the next call is unauthorized with
// reason idle, the session state names no officer); activity keeps the session.
func TestIdleLogoutFollowsTheSetting(t *testing.T) {
	dir := t.TempDir()
	setLocal(t, dir, map[string]string{"timeouts.session": "2m"})
	clk := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	d, err := Open(context.Background(), dir, Options{KDF: fastKDF, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Start(context.Background())
	loggedIn(t, d)
	for i := 0; i < 3; i++ { // 90 s apart: never idle for 2 minutes
		clk.add(90 * time.Second)
		if r := d.Queue.Status(); !r.OK {
			t.Fatalf("call after 90 s: %+v", r.Error)
		}
	}
	clk.add(2*time.Minute + time.Second)
	f := wantFault(t, d.Queue.Status(), CodeUnauthorized)
	if f.Params["reason"] != "idle" {
		t.Fatalf("idle logout fault %+v", f)
	}
	if st := stateOf(t, d.Session.State()); st.Officer != nil {
		t.Fatalf("still logged in: %+v", st)
	}
	// Logged in again, the clock starts over.
	stateOf(t, d.Session.Login(supervisor.SupervisorID, supervisor.SupervisorPIN))
	if r := d.Queue.Status(); !r.OK {
		t.Fatalf("after a new login: %+v", r.Error)
	}
}

// timeouts.sensor bounds opening the sensor: a serial port that never answers (a real pty with
// nobody behind it) fails after the setting, not after the former fixed 15 s.
func TestSensorOpenTimeoutFollowsTheSetting(t *testing.T) {
	saved := []time.Duration{CardTimeout, FaceTimeout, FingerTimeout, SensorOpenTimeout}
	t.Cleanup(func() {
		CardTimeout, FaceTimeout, FingerTimeout, SensorOpenTimeout = saved[0], saved[1], saved[2], saved[3]
	})
	dir := t.TempDir()
	setLocal(t, dir, map[string]string{"timeouts.sensor": "400ms"})
	d, err := Open(context.Background(), dir, Options{KDF: fastKDF})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if SensorOpenTimeout != 400*time.Millisecond {
		t.Fatalf("sensor open timeout %s", SensorOpenTimeout)
	}
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	go func() { _, _ = io.Copy(io.Discard, ptmx) }() // swallow the commands, answer nothing
	sf := &SensorFinger{Path: tty.Name(), Timeout: time.Minute}
	defer sf.Close()
	start := time.Now()
	_, err = sf.device(context.Background())
	if err == nil {
		t.Fatal("a silent sensor opened")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("opening a silent sensor took %s with timeouts.sensor 400ms", took)
	}
}

// timeouts.sync_retry, sync_retry_max and network: the uploader started at unlock backs off
// by the desk's settings after a failed sync and bounds each request by timeouts.network.
func TestSyncTimeoutsFollowTheSettings(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := registry.Start(ctx, registry.Config{Dir: t.TempDir(), Listen: "127.0.0.1:0", Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { svc.Close() }()
	dir := t.TempDir()
	registeredDesk(t, svc, dir)
	setLocal(t, dir, map[string]string{"timeouts.sync_retry": "40s", "timeouts.sync_retry_max": "40s", "timeouts.network": "3s"})
	d, err := Open(ctx, dir, Options{KDF: fastKDF})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Start(ctx)
	stateOf(t, d.Session.Login(supervisor.SupervisorID, supervisor.SupervisorPIN))
	// The registry is gone before the first sync.
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	ev := &queueEvents{ch: make(chan struct{}, 1)}
	defer d.Events.Attach(ev)()
	stateOf(t, d.Session.UnlockDesk(supervisor.Passphrase))
	up := d.backend.uploads.uploader()
	if up == nil || up.MinBackoff != 40*time.Second || up.MaxBackoff != 40*time.Second || up.Client.HTTP.Timeout != 3*time.Second {
		t.Fatalf("uploader %+v", up)
	}
	c, blobs := testRecord("001090000001")
	if _, err := d.backend.Release(ctx, c, blobs, nil); err != nil {
		t.Fatal(err)
	}
	down := ev.wait(t, func(s QueueStatus) bool { return s.Problem != "" && s.RetryIn > 0 })
	// Equal jitter: the first retry waits between half and all of timeouts.sync_retry.
	if down.RetryIn < 20 || down.RetryIn > 40 {
		t.Fatalf("retry in %d s with timeouts.sync_retry 40s: %+v", down.RetryIn, down)
	}
}
