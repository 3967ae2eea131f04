package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/png"
	"strings"
	"testing"
	"time"

	"enrolldesk/biometric/finger/sensor/sim"
	"enrolldesk/biometric/finger/synth"
	"enrolldesk/desk/enroll"
	"enrolldesk/sync/record"
)

// TestFingerStepOnTheSimulatedSensor drives CaptureFinger through the real driver on a pty
// simulator: a capture with quality, then a module that stops answering gives a clear fault in
// bounded time (no frozen screen), and the next capture after it recovers works again.
func TestFingerStepOnTheSimulatedSensor(t *testing.T) {
	// Every impression is of one generated finger, so each capture's impressions agree.
	src := func(n int) (*image.Gray, error) { return synth.Generate(7, 0, 1+n%3), nil }
	s, err := sim.Start(sim.Options{Source: src, FingerAfter: 1, Pace: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A generous packet timeout: the simulator shares this process (and the race detector's cost).
	sf := &SensorFinger{Path: s.Path(), Timeout: 3 * time.Second}
	defer sf.Close()

	d, _ := openDesk(t)
	d.App.Enrollment.finger = sf
	d.App.Devices.finger = sf
	loggedIn(t, d)
	viewOf(t, d.Enrollment.Start())
	e := d.Enrollment
	e.mu.Lock()
	e.view.Chip = &ChipView{IDNumber: "001090123456"}
	err = e.cur.SetChip(enroll.Chip{IDNumber: "001090123456", FullName: "NGUYEN VAN AN", Sex: "M",
		DateOfBirth: time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC), DG1: []byte{0x61, 0x00},
		Verdict: record.ChipVerdict{Access: "PACE", PA: record.Pass, AA: record.Absent, CA: record.Pass}})
	e.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}

	v := viewOf(t, e.CaptureFinger(2))
	if len(v.Fingers) != 1 || v.Fingers[0].Position != 2 || v.Fingers[0].Quality <= 0 || v.Fingers[0].Decision != "captured" {
		t.Fatalf("after capture: %+v", v.Fingers)
	}
	// The officer sees the image the sensor sent: a PNG of the sensor's 256×288 frame.
	const pngURL = "data:image/png;base64,"
	if u := v.Fingers[0].ImageURL; !strings.HasPrefix(u, pngURL) {
		t.Fatalf("captured finger's image URL %.40q", u)
	} else if raw, err := base64.StdEncoding.DecodeString(u[len(pngURL):]); err != nil {
		t.Fatal(err)
	} else if img, err := png.Decode(bytes.NewReader(raw)); err != nil || img.Bounds().Dx() != 256 || img.Bounds().Dy() != 288 {
		t.Fatalf("captured finger's image: not a 256×288 PNG (%v)", err)
	}

	old := FingerTimeout
	FingerTimeout = 5 * time.Second
	defer func() { FingerTimeout = old }()
	s.SetFaults(sim.Faults{Silent: true})
	start := time.Now()
	r := e.CaptureFinger(7)
	if r.OK || (r.Error.Code != CodeTimeout && r.Error.Code != CodeFingerRetry) {
		t.Fatalf("silent sensor: %+v", r.Error)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("silent sensor answered after %s", took)
	}
	s.SetFaults(sim.Faults{})
	FingerTimeout = old
	v = viewOf(t, e.CaptureFinger(7))
	if len(v.Fingers) != 2 {
		t.Fatalf("after recovery: %+v", v.Fingers)
	}
	st := d.Devices.statuses(context.Background())
	if st[2].Kind != "sensor" || st[2].State != DeviceReady {
		t.Fatalf("sensor status %+v", st[2])
	}
}
