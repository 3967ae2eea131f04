package app

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"enrolldesk/biometric/finger/sensor/sim"
	"enrolldesk/biometric/finger/synth"
	"enrolldesk/desk/audit"
	"enrolldesk/desk/enroll"
	"enrolldesk/desk/ops"
	"enrolldesk/reader"
	"enrolldesk/reader/pa"
	"enrolldesk/reader/pcscd"
	"enrolldesk/reader/vcard"
	"enrolldesk/sync/record"
)

// deviceEntries returns the device events of the desk's audit log, oldest first.
func deviceEntries(t *testing.T, l *audit.Log) []audit.Entry {
	t.Helper()
	all, err := l.Since(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
	for _, e := range all {
		if strings.HasPrefix(e.Action, "device.") {
			out = append(out, e)
		}
	}
	return out
}

func describe(es []audit.Entry) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "\n  %d %s %s %s %q", e.Seq, e.Actor, e.Action, e.Subject, e.Detail)
	}
	return b.String()
}

// wantNew checks that exactly the given events (action, subject, actor) were written after the
// first n device entries, and returns the new count.
func wantNew(t *testing.T, l *audit.Log, n int, want ...[3]string) int {
	t.Helper()
	got := deviceEntries(t, l)
	if len(got) != n+len(want) {
		t.Fatalf("want %d new device events %v, the log holds:%s", len(want), want, describe(got))
	}
	for i, w := range want {
		e := got[n+i]
		if e.Action != "device."+w[0] || e.Subject != w[1] || e.Actor != w[2] {
			t.Fatalf("event %d: want %v, the log holds:%s", i, w, describe(got))
		}
	}
	return len(got)
}

// frozenCamera is a camera at the FaceCapturer seam whose presence is its device file, as
// desk/wire.CameraFace's Status checks it; its capture never finishes (a camera that stopped
// sending frames).
type frozenCamera struct{ path string }

func (c frozenCamera) Status(context.Context) DeviceStatus {
	st := DeviceStatus{Kind: "camera", Name: c.path, State: DeviceReady}
	if _, err := os.Stat(c.path); err != nil {
		st.State, st.Detail = DeviceMissing, err.Error()
	}
	return st
}

func (frozenCamera) Capture(ctx context.Context, _ []byte) (enroll.Face, error) {
	<-ctx.Done()
	return enroll.Face{}, fmt.Errorf("camera: no frame: %w", ctx.Err())
}

// The camera and the fingerprint sensor (the pty simulator through the real driver) come and go
// under the device panel's checks: each change is one audit entry by the officer logged in,
// repeated checks write nothing, nothing is written before the desk is provisioned, a capture
// that times out or cannot reach its device is a device event, a window reopened over the same
// desk does not repeat the last state, and the chain verifies.
func TestDeviceEventsOnTransitionsOnly(t *testing.T) {
	src := func(n int) (*image.Gray, error) { return synth.Generate(7, 0, 1+n%3), nil }
	s, err := sim.Start(sim.Options{Source: src, FingerAfter: 1, Pace: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sf := &SensorFinger{Path: s.Path(), Timeout: 400 * time.Millisecond}
	defer sf.Close()
	oldOpen, oldFace, oldFinger := SensorOpenTimeout, FaceTimeout, FingerTimeout
	defer func() { SensorOpenTimeout, FaceTimeout, FingerTimeout = oldOpen, oldFace, oldFinger }()

	camPath := filepath.Join(t.TempDir(), "video0")
	if err := os.WriteFile(camPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cam := frozenCamera{path: camPath}
	dir := t.TempDir()
	ctx := context.Background()
	open := func() *Desk {
		d, err := Open(ctx, dir, Options{KDF: fastKDF, Face: cam, Finger: sf})
		if err != nil {
			t.Fatal(err)
		}
		d.Start(ctx)
		// Opening the desk applied its settings' device timeouts; these tests' devices fail at
		// once, so short bounds keep the run short.
		SensorOpenTimeout, FaceTimeout, FingerTimeout = 2*time.Second, 300*time.Millisecond, 3*time.Second
		return d
	}
	d := open()
	defer func() { d.Close() }()

	// Before provisioning there is no chain to write to: the checks work and write nothing.
	if st := d.Devices.check(ctx, false); len(st) != 3 || st[1].State != DeviceReady || st[2].State != DeviceReady {
		t.Fatalf("devices before provisioning: %+v", st)
	}
	if es := deviceEntries(t, d.Audit); len(es) != 0 {
		t.Fatalf("device events before provisioning:%s", describe(es))
	}

	loggedIn(t, d)
	const who = "gs.lan" // supervisor.SupervisorID
	status := func() []DeviceStatus {
		t.Helper()
		r := d.Devices.Status()
		if !r.OK {
			t.Fatal(r.Error)
		}
		return r.Data.([]DeviceStatus)
	}
	status()
	n := wantNew(t, d.Audit, 0, [3]string{"connected", ops.DeviceCamera, who}, [3]string{"connected", ops.DeviceSensor, who})
	if es := deviceEntries(t, d.Audit); es[0].Detail != camPath || es[1].Detail != s.Path() {
		t.Fatalf("connected details name the devices:%s", describe(es))
	}
	for i := 0; i < 3; i++ {
		status()
		if r := d.Devices.Reconnect(); !r.OK {
			t.Fatal(r.Error)
		}
	}
	n = wantNew(t, d.Audit, n)

	// The camera unplugged, then the sensor stops answering.
	if err := os.Remove(camPath); err != nil {
		t.Fatal(err)
	}
	if st := status(); st[1].State != DeviceMissing {
		t.Fatalf("camera after unplugging: %+v", st[1])
	}
	n = wantNew(t, d.Audit, n, [3]string{"disconnected", ops.DeviceCamera, who})
	s.SetFaults(sim.Faults{Silent: true})
	if st := status(); st[2].State != DeviceMissing {
		t.Fatalf("silent sensor: %+v", st[2])
	}
	status()
	n = wantNew(t, d.Audit, n, [3]string{"disconnected", ops.DeviceSensor, who})
	if e := deviceEntries(t, d.Audit)[n-1]; e.Detail != DeviceMissing+": "+s.Path() {
		t.Fatalf("disconnection detail %q: a state code and the device's name only", e.Detail)
	}

	// The wizard: a finger capture on the silent sensor, a face capture whose camera sends
	// nothing. Each is one event of the device.
	viewOf(t, d.Enrollment.Start())
	e := d.Enrollment
	e.mu.Lock()
	e.view.Chip = &ChipView{IDNumber: "001090123456"}
	e.chipPhoto = []byte{0xFF, 0xD8, 0xFF} // the camera fails before the photo is decoded
	err = e.cur.SetChip(enroll.Chip{IDNumber: "001090123456", FullName: "NGUYEN VAN AN", Sex: "M",
		DateOfBirth: time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC), DG1: []byte{0x61, 0x00},
		Verdict: record.ChipVerdict{Access: "PACE", PA: record.Pass, AA: record.Absent, CA: record.Pass}})
	e.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	r := e.CaptureFinger(2)
	if r.OK || (r.Error.Code != CodeTimeout && r.Error.Code != CodeDeviceMissing) {
		t.Fatalf("capture on a silent sensor: %+v", r)
	}
	got := deviceEntries(t, d.Audit)
	want := map[string]string{CodeTimeout: "timeout", CodeDeviceMissing: "error"}[r.Error.Code]
	n = wantNew(t, d.Audit, n, [3]string{want, ops.DeviceSensor, who})
	if got[n-1].Detail != "finger capture: "+r.Error.Code {
		t.Fatalf("capture fault detail %q", got[n-1].Detail)
	}
	if err := os.WriteFile(camPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r = e.CaptureFace()
	if r.OK || r.Error.Code != CodeTimeout {
		t.Fatalf("capture with a camera that sends nothing: %+v", r)
	}
	n = wantNew(t, d.Audit, n, [3]string{"timeout", ops.DeviceCamera, who})

	// Both back.
	s.SetFaults(sim.Faults{})
	status()
	status()
	n = wantNew(t, d.Audit, n, [3]string{"connected", ops.DeviceCamera, who}, [3]string{"connected", ops.DeviceSensor, who})

	// The window closes and opens again over the same desk: the devices did not change, the log
	// already says so.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	sf.Close()
	d = open()
	if r := d.Session.Login(supervisor.SupervisorID, supervisor.SupervisorPIN); !r.OK {
		t.Fatal(r.Error)
	}
	status()
	n = wantNew(t, d.Audit, n)
	if err := os.Remove(camPath); err != nil {
		t.Fatal(err)
	}
	status()
	wantNew(t, d.Audit, n, [3]string{"disconnected", ops.DeviceCamera, who})

	if _, err := d.Audit.Verify(ctx); err != nil {
		t.Fatalf("audit verify: %v", err)
	}
}

// The card reader's watcher starts with the window, before anyone logs in, on the machine's
// pcscd and vpcd: the reader appearing (pcscd started with vpcd's reader) and going (pcscd
// stopped) are audited once each, by "system" when nobody is logged in and by the officer when
// one is; a card placed and lifted is no device event and nothing of the card reaches the log;
// nothing is written before the desk is provisioned; the watcher stops with the window.
func TestReaderHotPlugAuditedFromTheStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	release, err := vcard.AcquireVPCD(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if _, err := os.Stat("/etc/reader.conf.d/vpcd"); err != nil {
		t.Fatalf("vsmartcard-vpcd is not installed: %v", err)
	}
	// The reader must appear and go under this test's hands, so it starts and stops pcscd
	// itself; a previous holder of the lock stops its pcscd before releasing it, and one that is
	// shutting down answers for about two seconds more (reader/pcscd).
	for deadline := time.Now().Add(15 * time.Second); pcscd.Alive(); {
		if time.Now().After(deadline) {
			t.Fatal("a pcscd this test did not start keeps running: the reader cannot be unplugged under it")
		}
		time.Sleep(100 * time.Millisecond)
	}
	card, trust := virtualCard(t)
	const vpcdReader = "Virtual PCD"

	dir := t.TempDir()
	open := func() (*Desk, *eventLog, context.CancelFunc) {
		d, err := Open(ctx, dir, Options{KDF: fastKDF, Card: &PCSCReader{Match: vpcdReader, Trust: trust}})
		if err != nil {
			t.Fatal(err)
		}
		log := &eventLog{states: make(chan CardState, 64)}
		d.Events.Attach(log)
		wctx, stop := context.WithCancel(ctx)
		d.Start(wctx)
		return d, log, stop
	}
	d, log, stop := open()
	defer func() { stop(); d.Close() }()

	// No pcscd, no identity: the watcher says so, the log stays empty.
	log.await(t, CardNoService)
	if es := deviceEntries(t, d.Audit); len(es) != 0 {
		t.Fatalf("device events before provisioning:%s", describe(es))
	}
	if r := d.Session.Provision(supervisor); !r.OK {
		t.Fatal(r.Error)
	}

	startPCSCD := func() func() {
		t.Helper()
		ectx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		stopD, err := pcscd.Ensure(ectx, vpcdReader)
		if err != nil {
			t.Fatal(err)
		}
		return stopD
	}
	stopD := startPCSCD()
	defer func() { stopD() }()
	reader := log.await(t, CardAbsent).Reader
	if !strings.HasPrefix(reader, vpcdReader) {
		t.Fatalf("reader %q", reader)
	}
	n := wantNew(t, d.Audit, 0, [3]string{"connected", ops.DeviceCard, "system"})

	// A card placed and lifted: the wizard's business, not a device event.
	served := make(chan error, 1)
	cctx, pull := context.WithCancel(ctx)
	go func() { served <- card.Serve(cctx, vcard.DefaultVPCD) }()
	log.await(t, CardPresent)
	pull()
	if err := <-served; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("serve the card: %v", err)
	}
	log.await(t, CardAbsent)
	n = wantNew(t, d.Audit, n)

	// An officer at the desk; the reader goes (pcscd stops) and comes back.
	if r := d.Session.Login(supervisor.SupervisorID, supervisor.SupervisorPIN); !r.OK {
		t.Fatal(r.Error)
	}
	stopD()
	log.await(t, CardNoService)
	n = wantNew(t, d.Audit, n, [3]string{"disconnected", ops.DeviceCard, "gs.lan"})
	// The device panel's checks between the changes write nothing more.
	for i := 0; i < 3; i++ {
		if r := d.Devices.Status(); !r.OK {
			t.Fatal(r.Error)
		}
	}
	n = wantNew(t, d.Audit, n)
	stopD = startPCSCD()
	log.await(t, CardAbsent)
	n = wantNew(t, d.Audit, n, [3]string{"connected", ops.DeviceCard, "gs.lan"})

	es := deviceEntries(t, d.Audit)
	// vpcd has two slots: as the first goes, the second is the reader for a moment, and it
	// names the disconnection.
	gone := strings.TrimPrefix(strings.TrimPrefix(es[1].Detail, CardNoReader+": "), CardNoService+": ")
	if es[0].Detail != reader || gone == es[1].Detail || !strings.HasPrefix(gone, vpcdReader) {
		t.Fatalf("details: the reader's name and a state code:%s", describe(es))
	}
	c := vcard.SampleCitizen()
	for _, e := range es {
		for _, personal := range []string{"001199012345", c.IDNumber, c.Surname, c.VN.FullName, hex.EncodeToString(card.ATR()), fmt.Sprintf("% X", card.ATR())} {
			if personal != "" && strings.Contains(strings.ToLower(e.Detail), strings.ToLower(personal)) {
				t.Fatalf("entry %d holds card data %q: %q", e.Seq, personal, e.Detail)
			}
		}
	}

	// The window closes: its watcher stops with it. Opened again over the same desk and the
	// same reader, nothing is repeated.
	d.Session.Logout()
	d.Devices.watchMu.Lock()
	done := d.Devices.watchDone
	d.Devices.watchMu.Unlock()
	stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the reader's watcher still runs 10 s after the application stopped")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d, log, stop = open()
	log.await(t, CardAbsent)
	n = wantNew(t, d.Audit, n)
	// Unplugged with nobody logged in: by the system.
	stopD()
	log.await(t, CardNoService)
	wantNew(t, d.Audit, n, [3]string{"disconnected", ops.DeviceCard, "system"})

	if _, err := d.Audit.Verify(ctx); err != nil {
		t.Fatalf("audit verify: %v", err)
	}
}

// unpluggedReader is a card reader at the CardReader seam that was pulled out: every read fails
// as desk/app.PCSCReader's does when no reader is connected.
type unpluggedReader struct{}

func (unpluggedReader) Status(context.Context) DeviceStatus {
	return DeviceStatus{Kind: "reader", State: DeviceMissing, Detail: "no reader connected"}
}

func (unpluggedReader) Read(context.Context, reader.AccessKey, func(string, int, int)) (*reader.ChipData, *pa.Verdict, error) {
	return nil, nil, coded(CodeDeviceMissing, errors.New("card reader: no reader connected"), map[string]string{"device": "reader"})
}

// brokenEvidenceCamera cannot take the evidence photo of a declared finger exception.
type brokenEvidenceCamera struct{}

func (brokenEvidenceCamera) Snapshot(context.Context) ([]byte, error) {
	return nil, coded(CodeDeviceMissing, errors.New("evidence photo: camera /dev/video0: no such device"), map[string]string{"device": "camera"})
}

// A card read and an evidence photo that fail on their device are device events; a wrong access
// key (the citizen's, not the device's) is not.
func TestCardReadAndEvidencePhotoFaultsAreDeviceEvents(t *testing.T) {
	d, err := Open(context.Background(), t.TempDir(), Options{KDF: fastKDF, Card: unpluggedReader{}, Evidence: brokenEvidenceCamera{}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Start(context.Background())
	loggedIn(t, d)
	viewOf(t, d.Enrollment.Start())
	wantFault(t, d.Enrollment.ReadCard(CardKey{CAN: "12345"}), CodeInvalid)
	n := wantNew(t, d.Audit, 0)
	wantFault(t, d.Enrollment.ReadCard(CardKey{CAN: "482915"}), CodeDeviceMissing)
	n = wantNew(t, d.Audit, n, [3]string{"error", ops.DeviceCard, supervisor.SupervisorID})
	if es := deviceEntries(t, d.Audit); es[n-1].Detail != "card read: "+CodeDeviceMissing {
		t.Fatalf("card read detail %q", es[n-1].Detail)
	}

	e := d.Enrollment
	e.mu.Lock()
	e.view.Chip = &ChipView{IDNumber: "001090123456"}
	e.mu.Unlock()
	wantFault(t, e.DeclareFingerException(7, "bandaged"), CodeDeviceMissing)
	n = wantNew(t, d.Audit, n, [3]string{"error", ops.DeviceCamera, supervisor.SupervisorID})
	if es := deviceEntries(t, d.Audit); es[n-1].Detail != "evidence photo: "+CodeDeviceMissing {
		t.Fatalf("evidence detail %q", es[n-1].Detail)
	}
}
