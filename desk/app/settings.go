package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"enrolldesk/desk/audit"
	"enrolldesk/desk/officer"
)

// DeskSettings is the bound service of the supervisor's thresholds-and-devices screen: the
// desk's local quality thresholds (desk/settings thresholds.*, validated there and audited as
// settings.change), the device preferences (camera, sensor, reader) with each device's status
// and a test. Supervisors only; every change needs the supervisor's PIN again (checked like a
// login: wrong PINs count towards the lockout, every attempt is audited). It reuses the desk
// operations' supervisor check, settings store and fault mapping (Ops).
//
// (The name: the package's Settings is the small preference store the session uses.)
type DeskSettings struct {
	ops      *Ops
	devices  *Devices
	officers *officer.Registry
	b        *backend // nil: not wired (device preferences unavailable)
}

// CameraSourceSetter is the optional side of a FaceCapturer that takes the camera a supervisor
// chose (DeviceConfig.CameraSource and resolution). New applies the saved choice before any
// capture, so it takes effect at the desk's next start, over the -camera flag.
type CameraSourceSetter interface {
	SetCameraSource(name string, width, height int)
}

// SensorPortSetter is the optional side of a FingerCapturer that takes the sensor a supervisor
// chose (DeviceConfig.SensorPort and baud), over the -sensor flag, from the desk's next start.
type SensorPortSetter interface {
	SetSensorPort(path string, baud int)
}

// ReaderMatchSetter is the optional side of a CardReader that takes the reader a supervisor
// chose (DeviceConfig.ReaderName), over the -reader flag, from the desk's next start.
type ReaderMatchSetter interface {
	SetReaderMatch(name string)
}

func newDeskSettings(a *App, d Deps) *DeskSettings {
	s := &DeskSettings{ops: a.Ops, devices: a.Devices, officers: d.Officers}
	if b, isBackend := d.Queue.(*backend); isBackend {
		s.b = b
	}
	if s.b != nil {
		s.applyDevices(d)
	}
	return s
}

// applyDevices opens the devices a supervisor saved instead of the ones the command line named.
// It runs before the app starts, so no capture or card watch is in flight yet; a preference that
// cannot be read leaves the command line's devices, with a warning (the desk must still open).
func (s *DeskSettings) applyDevices(d Deps) {
	c, err := s.deviceConfig(context.Background())
	if err != nil {
		slog.Warn("the saved device preferences are not applied", "err", err)
		return
	}
	if cam, takes := d.Face.(CameraSourceSetter); takes && c.CameraSource != "" {
		cam.SetCameraSource(c.CameraSource, c.CameraWidth, c.CameraHeight)
	}
	if sensor, takes := d.Finger.(SensorPortSetter); takes && (c.SensorPort != "" || c.SensorBaud != 0) {
		sensor.SetSensorPort(c.SensorPort, c.SensorBaud)
	}
	if reader, takes := d.Card.(ReaderMatchSetter); takes && c.ReaderName != "" {
		reader.SetReaderMatch(c.ReaderName)
	}
}

// ThresholdView is one editable threshold: its settings key and its current value.
type ThresholdView struct {
	Key   string  `json:"key"`
	Value float64 `json:"value"`
}

// DeviceConfig are the device preferences a supervisor sets at the desk. An empty field keeps
// what the desk was started with (-camera, -sensor, -reader); they apply from the next start:
// the camera's by New (CameraSourceSetter), the sensor's and the reader's by the program that
// opens those devices (Desk.DevicePreferences).
type DeviceConfig struct {
	CameraSource string `json:"cameraSource"` // index ("0") or path (/dev/video0, a video file, an image folder)
	CameraWidth  int    `json:"cameraWidth"`  // 0: the driver's default
	CameraHeight int    `json:"cameraHeight"`
	SensorPort   string `json:"sensorPort"` // /dev/ttyUSB0
	SensorBaud   int    `json:"sensorBaud"` // 0: the driver's choice (it raises the link to 115200)
	ReaderName   string `json:"readerName"` // a part of the PC/SC reader's name
}

// SettingsScreen is what the screen opens with.
type SettingsScreen struct {
	Thresholds []ThresholdView `json:"thresholds"`
	Devices    DeviceConfig    `json:"devices"`
	Status     []DeviceStatus  `json:"status"`
}

// thresholdKeys are the thresholds the screen edits, in screen order.
var thresholdKeys = []string{"thresholds.face_min_quality", "thresholds.finger_min_quality",
	"thresholds.operator_face_margin", "thresholds.operator_finger_score"}

// Device preference keys in the desk's settings table (desk/settings ignores keys it does not
// know, so they live beside its own).
const (
	prefCamera       = "devices.camera"
	prefCameraWidth  = "devices.camera_width"
	prefCameraHeight = "devices.camera_height"
	prefSensor       = "devices.sensor"
	prefSensorBaud   = "devices.sensor_baud"
	prefReader       = "devices.reader"
)

// supervisor returns the logged-in supervisor (Ops' check: not logged in, not a supervisor, or
// desk operations not wired are faults).
func (s *DeskSettings) supervisor() (Officer, error) { return s.ops.officer(true) }

// confirm checks the supervisor's PIN again before a change.
func (s *DeskSettings) confirm(ctx context.Context, me Officer, pin string) error {
	if strings.TrimSpace(pin) == "" {
		return invalid("pin", errors.New("enter your PIN again"))
	}
	if s.officers == nil {
		return coded(CodeUnavailable, errors.New("no officer registry"), nil)
	}
	if _, err := s.officers.Authenticate(ctx, me.ID, pin); err != nil {
		return opsFault(err)
	}
	return nil
}

// View returns the thresholds, the device preferences and the devices' status now.
func (s *DeskSettings) View() Response {
	if _, err := s.supervisor(); err != nil {
		return fail("DeskSettings.View", err)
	}
	v, err := s.screen(s.ops.ctx())
	if err != nil {
		return fail("DeskSettings.View", err)
	}
	return ok(v)
}

func (s *DeskSettings) screen(ctx context.Context) (SettingsScreen, error) {
	st, err := s.ops.svc.Settings.Load(ctx)
	if err != nil {
		return SettingsScreen{}, err
	}
	t := st.Thresholds
	v := SettingsScreen{Thresholds: []ThresholdView{
		{thresholdKeys[0], t.FaceMinQuality}, {thresholdKeys[1], float64(t.FingerMinQuality)},
		{thresholdKeys[2], t.OperatorFaceMargin}, {thresholdKeys[3], t.OperatorFingerScore},
	}, Status: s.devices.statuses(ctx)}
	if v.Devices, err = s.deviceConfig(ctx); err != nil {
		return SettingsScreen{}, err
	}
	return v, nil
}

// SetThresholds changes thresholds, e.g. {"thresholds.face_min_quality": "0.6"}, after the
// supervisor's PIN. desk/settings validates the ranges (a bad value names its key) and audits
// each change; the face step reads face_min_quality at every capture, the finger policy
// finger_min_quality at every check.
func (s *DeskSettings) SetThresholds(pin string, values map[string]string) Response {
	me, err := s.supervisor()
	if err != nil {
		return fail("DeskSettings.SetThresholds", err)
	}
	ctx := s.ops.ctx()
	raw := make(map[string]json.RawMessage, len(values))
	for k, v := range values {
		if !strings.HasPrefix(k, "thresholds.") {
			return fail("DeskSettings.SetThresholds", invalid(k, errors.New("not a threshold")))
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(strings.ReplaceAll(v, ",", ".")), 64)
		if err != nil {
			return fail("DeskSettings.SetThresholds", invalid(k, fmt.Errorf("not a number: %w", err)))
		}
		if raw[k], err = json.Marshal(x); err != nil {
			return fail("DeskSettings.SetThresholds", err)
		}
	}
	if err := s.confirm(ctx, me, pin); err != nil {
		return fail("DeskSettings.SetThresholds", err)
	}
	if _, err := s.ops.svc.SetSettings(ctx, me.ID, raw); err != nil {
		return fail("DeskSettings.SetThresholds", invalid(thresholdField(err), err))
	}
	return s.View()
}

// thresholdField names the key a desk/settings validation error is about, for the screen.
func thresholdField(err error) string {
	for _, k := range thresholdKeys {
		if strings.Contains(err.Error(), k) {
			return k
		}
	}
	return "thresholds"
}

// deviceConfig reads the device preferences.
func (s *DeskSettings) deviceConfig(ctx context.Context) (DeviceConfig, error) {
	var c DeviceConfig
	if s.b == nil {
		return c, nil
	}
	str := func(key string, dst *string) error {
		v, _, err := s.b.Get(ctx, key)
		*dst = v
		return err
	}
	num := func(key string, dst *int) error {
		var v string
		if err := str(key, &v); err != nil || v == "" {
			return err
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("device setting %s: %w", key, err)
		}
		*dst = n
		return nil
	}
	for _, err := range []error{str(prefCamera, &c.CameraSource), num(prefCameraWidth, &c.CameraWidth), num(prefCameraHeight, &c.CameraHeight),
		str(prefSensor, &c.SensorPort), num(prefSensorBaud, &c.SensorBaud), str(prefReader, &c.ReaderName)} {
		if err != nil {
			return DeviceConfig{}, err
		}
	}
	return c, nil
}

// sensorBauds are the rates an R30x module can be set to (N × 9600, standard rates only: see
// biometric/finger).
var sensorBauds = map[int]bool{9600: true, 19200: true, 38400: true, 57600: true, 115200: true}

// Validate checks the device preferences, naming the field at fault.
func (c DeviceConfig) Validate() error {
	src := strings.TrimSpace(c.CameraSource)
	if _, err := strconv.Atoi(src); src != "" && err != nil && !strings.HasPrefix(src, "/") {
		return invalid("cameraSource", errors.New("a camera index (0, 1…) or an absolute path"))
	}
	// In field order, so a form with both sizes wrong always names the width first.
	for _, dim := range []struct {
		field string
		v     int
	}{{"cameraWidth", c.CameraWidth}, {"cameraHeight", c.CameraHeight}} {
		if dim.v != 0 && (dim.v < 160 || dim.v > 4096) {
			return invalid(dim.field, fmt.Errorf("%d is outside 160..4096 (0: the driver's default)", dim.v))
		}
	}
	if (c.CameraWidth == 0) != (c.CameraHeight == 0) {
		return invalid("cameraHeight", errors.New("set both the width and the height, or neither"))
	}
	if p := strings.TrimSpace(c.SensorPort); p != "" && !strings.HasPrefix(p, "/dev/") {
		return invalid("sensorPort", errors.New("a serial device under /dev"))
	}
	if c.SensorBaud != 0 && !sensorBauds[c.SensorBaud] {
		return invalid("sensorBaud", fmt.Errorf("%d is not 9600, 19200, 38400, 57600 or 115200", c.SensorBaud))
	}
	if len(c.ReaderName) > 128 || strings.IndexFunc(c.ReaderName, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return invalid("readerName", errors.New("at most 128 printable characters"))
	}
	return nil
}

// SetDevices stores the device preferences after the supervisor's PIN, each changed one audited
// (settings.change); they apply from the next start of the desk.
func (s *DeskSettings) SetDevices(pin string, c DeviceConfig) Response {
	me, err := s.supervisor()
	if err != nil {
		return fail("DeskSettings.SetDevices", err)
	}
	if s.b == nil {
		return fail("DeskSettings.SetDevices", coded(CodeUnavailable, errors.New("no desk store"), nil))
	}
	c.CameraSource, c.SensorPort, c.ReaderName = strings.TrimSpace(c.CameraSource), strings.TrimSpace(c.SensorPort), strings.TrimSpace(c.ReaderName)
	if err := c.Validate(); err != nil {
		return fail("DeskSettings.SetDevices", err)
	}
	ctx := s.ops.ctx()
	if err := s.confirm(ctx, me, pin); err != nil {
		return fail("DeskSettings.SetDevices", err)
	}
	if err := s.storeDevices(ctx, me.ID, c); err != nil {
		return fail("DeskSettings.SetDevices", err)
	}
	return s.View()
}

// storeDevices writes the changed preferences and their audit entries in one transaction.
func (s *DeskSettings) storeDevices(ctx context.Context, actor string, c DeviceConfig) error {
	old, err := s.deviceConfig(ctx)
	if err != nil {
		return err
	}
	itoa := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	next := map[string][2]string{
		prefCamera: {old.CameraSource, c.CameraSource}, prefCameraWidth: {itoa(old.CameraWidth), itoa(c.CameraWidth)},
		prefCameraHeight: {itoa(old.CameraHeight), itoa(c.CameraHeight)}, prefSensor: {old.SensorPort, c.SensorPort},
		prefSensorBaud: {itoa(old.SensorBaud), itoa(c.SensorBaud)}, prefReader: {old.ReaderName, c.ReaderName},
	}
	keys := make([]string, 0, len(next))
	for k := range next {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tx, err := s.b.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("device settings: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	now := s.b.now().UTC().Format(time.RFC3339Nano)
	for _, k := range keys {
		was, is := next[k][0], next[k][1]
		if was == is {
			continue
		}
		if err := putPref(ctx, tx, k, is, now); err != nil {
			return err
		}
		if _, err := s.b.log.AppendTx(ctx, tx, audit.Entry{Actor: actor, Action: "settings.change", Subject: k,
			Detail: strconv.Quote(was) + " -> " + strconv.Quote(is)}); err != nil {
			return fmt.Errorf("device settings: audit: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("device settings: commit: %w", err)
	}
	return nil
}

// putPref stores one preference as the settings table's JSON string (as backend.Set does).
func putPref(ctx context.Context, tx *sql.Tx, key, value, now string) error {
	raw, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("device setting %s: %w", key, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO settings(key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, string(raw), now); err != nil {
		return fmt.Errorf("device setting %s: %w", key, err)
	}
	return nil
}

// TestDevice checks one device now ("reader", "camera" or "sensor"; each check opens the device
// afresh, as the device panel's Reconnect does), tells every window the devices' state, and
// returns that device's status.
func (s *DeskSettings) TestDevice(kind string) Response {
	if _, err := s.supervisor(); err != nil {
		return fail("DeskSettings.TestDevice", err)
	}
	all := s.devices.statuses(s.ops.ctx())
	s.devices.events.Emit(EventDevices, all)
	for _, st := range all {
		if st.Kind == kind {
			return ok(st)
		}
	}
	return fail("DeskSettings.TestDevice", invalid("kind", fmt.Errorf("%q is not reader, camera or sensor", kind)))
}

// DevicePreferences reads the device preferences a supervisor saved (empty fields: none), for
// main.go and the bridge to apply at start before the devices open.
func (d *Desk) DevicePreferences(ctx context.Context) (DeviceConfig, error) {
	return (&DeskSettings{b: d.backend}).deviceConfig(ctx)
}
