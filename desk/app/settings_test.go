package app

import (
	"context"
	"fmt"
	"image"
	"strings"
	"sync"
	"testing"
	"time"

	"enrolldesk/biometric/finger/sensor/sim"
	"enrolldesk/biometric/finger/synth"
	"enrolldesk/desk/enroll"
	"enrolldesk/desk/exceptions"
)

// tunedCamera records what app.New hands a FaceTuner; its captures are never run here (desk/wire
// tests the real capturer's preview and face_min_quality on the real pipeline).
type tunedCamera struct {
	mu         sync.Mutex
	preview    func(FacePreview)
	minQuality func(context.Context) (float64, error)
	source     string
}

func (*tunedCamera) Status(context.Context) DeviceStatus {
	return DeviceStatus{Kind: "camera", State: DeviceMissing, Detail: "test camera"}
}
func (*tunedCamera) Capture(context.Context, []byte) (enroll.Face, error) {
	return enroll.Face{}, coded(CodeDeviceMissing, nil, map[string]string{"device": "camera"})
}
func (c *tunedCamera) SetCameraSource(name string, w, h int) {
	c.mu.Lock()
	c.source = fmt.Sprintf("%s %dx%d", name, w, h)
	c.mu.Unlock()
}
func (c *tunedCamera) SetPreview(f func(FacePreview)) { c.mu.Lock(); c.preview = f; c.mu.Unlock() }
func (c *tunedCamera) SetMinQuality(f func(context.Context) (float64, error)) {
	c.mu.Lock()
	c.minQuality = f
	c.mu.Unlock()
}

// eventCounter counts events by name.
type eventCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (e *eventCounter) Emit(name string, _ any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == nil {
		e.n = map[string]int{}
	}
	e.n[name]++
}

func (e *eventCounter) count(name string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n[name]
}

func auditActions(t *testing.T, d *Desk, action string) []string {
	t.Helper()
	es, err := d.Audit.Since(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if e.Action == action {
			out = append(out, e.Subject+" "+e.Detail)
		}
	}
	return out
}

// The supervisor's thresholds screen on a real desk store: the PIN is asked again, desk/settings
// validates and audits, and the changed thresholds change outcomes: finger_min_quality the finger
// policy's verdict on the same captures, face_min_quality what the face capturer reads at its
// next capture (app.New handed it the reader, and the preview sink that reaches the window).
func TestSupervisorChangesThresholds(t *testing.T) {
	ctx := context.Background()
	cam := &tunedCamera{}
	d, err := Open(ctx, t.TempDir(), Options{KDF: fastKDF, Face: cam})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Start(ctx)
	loggedIn(t, d)

	v := dataOf[SettingsScreen](t, d.Settings.View())
	if len(v.Thresholds) != 4 || v.Thresholds[0].Key != "thresholds.face_min_quality" || v.Thresholds[0].Value != 0.5 ||
		v.Thresholds[1].Key != "thresholds.finger_min_quality" || v.Thresholds[1].Value != 40 || len(v.Status) != 3 {
		t.Fatalf("screen %+v", v)
	}
	if cam.preview == nil || cam.minQuality == nil {
		t.Fatal("app.New did not tune the face capturer")
	}
	ev := &eventCounter{}
	d.Events.Attach(ev)
	cam.preview(FacePreview{Phase: PreviewCapture, Seq: 1})
	if ev.count(EventFacePreview) != 1 {
		t.Fatal("the capturer's preview does not reach the windows")
	}
	if q, err := cam.minQuality(ctx); err != nil || q != 0.5 {
		t.Fatalf("face_min_quality read %v %v", q, err)
	}
	fingers := []exceptions.Capture{{Position: 2, Quality: 50}, {Position: 7, Quality: 55}}
	if r := dataOf[exceptions.Result](t, d.Ops.ValidateFingers(fingers, nil)); len(r.Errors) != 0 {
		t.Fatalf("quality 50 and 55 against 40: %+v", r)
	}

	// A wrong PIN changes nothing (and counts towards the lockout like a login).
	wantFault(t, d.Settings.SetThresholds("000000", map[string]string{"thresholds.finger_min_quality": "60"}), CodeWrongPIN)
	// Out of range, named by its key; not a threshold; not a number.
	if f := wantFault(t, d.Settings.SetThresholds(supervisor.SupervisorPIN, map[string]string{"thresholds.face_min_quality": "1.5"}), CodeInvalid); f.Params["field"] != "thresholds.face_min_quality" {
		t.Fatalf("fault %+v", f)
	}
	wantFault(t, d.Settings.SetThresholds(supervisor.SupervisorPIN, map[string]string{"timeouts.card": "5"}), CodeInvalid)
	wantFault(t, d.Settings.SetThresholds(supervisor.SupervisorPIN, map[string]string{"thresholds.finger_min_quality": "high"}), CodeInvalid)
	if r := dataOf[exceptions.Result](t, d.Ops.ValidateFingers(fingers, nil)); len(r.Errors) != 0 {
		t.Fatalf("a refused change took effect: %+v", r)
	}

	v = dataOf[SettingsScreen](t, d.Settings.SetThresholds(supervisor.SupervisorPIN,
		map[string]string{"thresholds.finger_min_quality": "60", "thresholds.face_min_quality": "0,8"}))
	if v.Thresholds[0].Value != 0.8 || v.Thresholds[1].Value != 60 {
		t.Fatalf("after the change %+v", v.Thresholds)
	}
	if r := dataOf[exceptions.Result](t, d.Ops.ValidateFingers(fingers, nil)); len(r.Errors) != 2 {
		t.Fatalf("quality 50 and 55 against 60 must both be refused: %+v", r)
	}
	if q, err := cam.minQuality(ctx); err != nil || q != 0.8 {
		t.Fatalf("face_min_quality after the change %v %v", q, err)
	}
	got := strings.Join(auditActions(t, d, "settings.change"), "; ")
	if !strings.Contains(got, "thresholds.finger_min_quality 40 -> 60") || !strings.Contains(got, "thresholds.face_min_quality 0.5 -> 0.8") {
		t.Fatalf("audit %q", got)
	}
}

// Device preferences: validated field by field, stored after the PIN, audited, read back; the
// test action checks one device and tells every window; officers see none of it.
func TestSupervisorDevicePreferences(t *testing.T) {
	d, _ := openDesk(t)
	loggedIn(t, d)
	ev := &eventCounter{}
	d.Events.Attach(ev)
	good := DeviceConfig{CameraSource: "/dev/video0", CameraWidth: 1280, CameraHeight: 720, SensorPort: "/dev/ttyUSB0", SensorBaud: 115200, ReaderName: "ACS ACR1252"}
	for field, c := range map[string]DeviceConfig{
		"sensorBaud":   {SensorBaud: 12345},
		"cameraWidth":  {CameraWidth: 100, CameraHeight: 100},
		"cameraHeight": {CameraWidth: 1280},
		"cameraSource": {CameraSource: "webcam"},
		"sensorPort":   {SensorPort: "COM3"},
		"readerName":   {ReaderName: "bad\x00name"},
	} {
		if f := wantFault(t, d.Settings.SetDevices(supervisor.SupervisorPIN, c), CodeInvalid); f.Params["field"] != field {
			t.Fatalf("%+v: field %q, want %q", c, f.Params["field"], field)
		}
	}
	wantFault(t, d.Settings.SetDevices("999999", good), CodeWrongPIN)
	v := dataOf[SettingsScreen](t, d.Settings.SetDevices(supervisor.SupervisorPIN, good))
	if v.Devices != good {
		t.Fatalf("stored %+v", v.Devices)
	}
	if p, err := d.DevicePreferences(context.Background()); err != nil || p != good {
		t.Fatalf("preferences %+v %v", p, err)
	}
	got := strings.Join(auditActions(t, d, "settings.change"), "; ")
	if !strings.Contains(got, `devices.sensor_baud "" -> "115200"`) || !strings.Contains(got, `devices.reader "" -> "ACS ACR1252"`) {
		t.Fatalf("audit %q", got)
	}
	// Saving the same again changes (and audits) nothing.
	n := len(auditActions(t, d, "settings.change"))
	dataOf[SettingsScreen](t, d.Settings.SetDevices(supervisor.SupervisorPIN, good))
	if m := len(auditActions(t, d, "settings.change")); m != n {
		t.Fatalf("audit grew %d → %d on no change", n, m)
	}

	st := dataOf[DeviceStatus](t, d.Settings.TestDevice("camera"))
	if st.Kind != "camera" || st.State != DeviceMissing {
		t.Fatalf("camera test %+v", st)
	}
	if ev.count(EventDevices) != 1 {
		t.Fatal("the test did not tell the windows")
	}
	wantFault(t, d.Settings.TestDevice("printer"), CodeInvalid)

	// An officer sees none of it.
	if r := d.App.Officers.Create(NewOfficer{ID: "cb.an", Name: "Lê Văn An", Role: RoleOfficer, PIN: "112233"}); !r.OK {
		t.Fatal(r.Error)
	}
	if r := d.Session.Login("cb.an", "112233"); !r.OK {
		t.Fatal(r.Error)
	}
	wantFault(t, d.Settings.View(), CodeForbidden)
	wantFault(t, d.Settings.SetThresholds("112233", map[string]string{"thresholds.face_min_quality": "0"}), CodeForbidden)
	wantFault(t, d.Settings.SetDevices("112233", good), CodeForbidden)
	wantFault(t, d.Settings.TestDevice("camera"), CodeForbidden)
}

// A camera a supervisor saved is the one the desk opens at its next start.
func TestSavedCameraAppliesAtNextStart(t *testing.T) {
	cam := &tunedCamera{}
	reopenedWithDevices(t, DeviceConfig{CameraSource: "/dev/video2", CameraWidth: 1920, CameraHeight: 1080}, Options{Face: cam})
	if cam.source != "/dev/video2 1920x1080" {
		t.Fatalf("camera at start: %q", cam.source)
	}
}

// The sensor and the reader a supervisor saved are the ones the desk opens at its next start,
// over the command line's: the saved sensor is a real simulator on a pty, the flag's a port that
// does not exist, and the sensor answers after the restart.
func TestSavedSensorAndReaderApplyAtNextStart(t *testing.T) {
	src := func(n int) (*image.Gray, error) { return synth.Generate(7, 0, 1+n%3), nil }
	s, err := sim.Start(sim.Options{Source: src, FingerAfter: 1, Pace: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sf := &SensorFinger{Path: "/dev/ttyUSB-enrolldesk-flag", Timeout: 3 * time.Second}
	defer sf.Close()
	reader := &PCSCReader{Match: "Virtual PCD"}
	reopenedWithDevices(t, DeviceConfig{SensorPort: s.Path(), SensorBaud: 57600, ReaderName: "ACS ACR1252"}, Options{Finger: sf, Card: reader})
	if reader.Match != "ACS ACR1252" {
		t.Fatalf("reader at start: %q", reader.Match)
	}
	if st := sf.Status(context.Background()); st.Name != s.Path() || st.State != DeviceReady || sf.Baud != 57600 {
		t.Fatalf("sensor at start: %+v (baud %d)", st, sf.Baud)
	}
}

// reopenedWithDevices saves c as a supervisor on a new desk, closes it and opens it again with
// opt's devices (the desk's next start); the reopened desk is closed at the test's end.
func reopenedWithDevices(t *testing.T, c DeviceConfig, opt Options) *Desk {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	d, err := Open(ctx, dir, Options{KDF: fastKDF})
	if err != nil {
		t.Fatal(err)
	}
	d.Start(ctx)
	loggedIn(t, d)
	dataOf[SettingsScreen](t, d.Settings.SetDevices(supervisor.SupervisorPIN, c))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	opt.KDF = fastKDF
	d, err = Open(ctx, dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}
