package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"sync"
	"time"

	"enrolldesk/biometric/finger"
	"enrolldesk/biometric/finger/sensor"
	"enrolldesk/desk/enroll"
)

// SensorFinger is the FingerCapturer over an R30x-family serial sensor (biometric/finger/sensor)
// and the desk's capture workflow (biometric/finger.CaptureFingers: several impressions, quality
// floor, consistency check, consolidated template as an ISO/IEC 19794-2:2005 record).
type SensorFinger struct {
	Path        string        // serial device, e.g. /dev/ttyUSB0 (or the simulator's pty)
	Baud        int           // link speed to raise to; 0 means the driver's (115200)
	Impressions int           // accepted impressions per finger; 0 means the workflow's default (3)
	MinQuality  int           // 0 means the workflow's default
	Timeout     time.Duration // answer timeout per packet; 0 means the driver's default (1 s)
	// Prompt is told which finger to place and why before every impression (the window's hint).
	Prompt func(position, attempt int, reason string)

	mu  sync.Mutex
	dev *sensor.Device
}

// SensorOpenTimeout bounds opening the sensor (the serial port and its handshake); the desk
// settings' timeouts.sensor sets it when the window opens the desk (applyTimeouts).
var SensorOpenTimeout = 15 * time.Second

// device opens the sensor once and keeps it; a failed capture drops it so the next one reopens.
func (s *SensorFinger) device(ctx context.Context) (*sensor.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dev != nil {
		return s.dev, nil
	}
	if s.Path == "" {
		return nil, coded(CodeDeviceMissing, errors.New("no fingerprint sensor configured"), map[string]string{"device": "sensor"})
	}
	octx, cancel := context.WithTimeout(ctx, SensorOpenTimeout)
	defer cancel()
	d, err := sensor.Open(octx, sensor.Config{Path: s.Path, Baud: s.Baud, Timeout: s.Timeout})
	if err != nil {
		return nil, coded(CodeDeviceMissing, fmt.Errorf("fingerprint sensor %s: %w", s.Path, err), map[string]string{"device": "sensor"})
	}
	s.dev = d
	return d, nil
}

func (s *SensorFinger) drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dev != nil {
		_ = s.dev.Close()
		s.dev = nil
	}
}

// SetSensorPort implements SensorPortSetter: the sensor a supervisor saved (an empty path keeps
// the current one, a zero baud the driver's choice). An open sensor is closed; the next capture
// opens the new one.
func (s *SensorFinger) SetSensorPort(path string, baud int) {
	s.drop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if path != "" {
		s.Path = path
	}
	s.Baud = baud
}

// Close releases the sensor.
func (s *SensorFinger) Close() error { s.drop(); return nil }

// Status implements FingerCapturer.
func (s *SensorFinger) Status(ctx context.Context) DeviceStatus {
	s.mu.Lock()
	st := DeviceStatus{Kind: "sensor", Name: s.Path}
	s.mu.Unlock()
	d, err := s.device(ctx)
	if err == nil {
		_, err = d.ReadSysPara(ctx)
		if err != nil {
			s.drop()
		}
	}
	if err != nil {
		st.State, st.Detail = DeviceMissing, err.Error()
		return st
	}
	st.State = DeviceReady
	return st
}

// Capture implements FingerCapturer.
func (s *SensorFinger) Capture(ctx context.Context, position int) (enroll.Finger, error) {
	d, err := s.device(ctx)
	if err != nil {
		return enroll.Finger{}, err
	}
	var last *finger.Template
	scanner := lastImage{dev: d}
	caps, err := finger.CaptureFingers(ctx, &scanner, finger.CaptureOptions{
		Fingers: []finger.Position{finger.Position(position)}, Impressions: s.Impressions, MinQuality: s.MinQuality,
		Prompt: func(pos finger.Position, attempt int, reason string) {
			if s.Prompt != nil {
				s.Prompt(int(pos), attempt, reason)
			}
		},
	})
	if errors.Is(err, finger.ErrInconsistent) {
		return enroll.Finger{}, coded(CodeFingerRetry, err, nil)
	}
	if err != nil {
		if !errors.Is(ctx.Err(), context.Canceled) {
			s.drop() // a link failure or a hung module: reopen next time
		}
		return enroll.Finger{}, coded(CodeFingerRetry, fmt.Errorf("capture finger %d: %w", position, err), nil)
	}
	if len(caps) != 1 || caps[0].Template == nil {
		return enroll.Finger{}, fmt.Errorf("capture finger %d: no template", position)
	}
	last = caps[0].Template
	rec, err := finger.NewRecord(last, finger.ISO19794, uint8(position))
	if err != nil {
		return enroll.Finger{}, fmt.Errorf("finger %d: ISO/IEC 19794-2 record: %w", position, err)
	}
	tpl, err := rec.Marshal()
	if err != nil {
		return enroll.Finger{}, fmt.Errorf("finger %d: ISO/IEC 19794-2 record: %w", position, err)
	}
	var img bytes.Buffer
	if scanner.img != nil {
		if err := png.Encode(&img, scanner.img); err != nil {
			return enroll.Finger{}, fmt.Errorf("finger %d: encode image: %w", position, err)
		}
	}
	return enroll.Finger{Position: position, Quality: last.Quality, Decision: enroll.Captured,
		Template: tpl, TemplateFormat: "iso19794-2:2005", Image: img.Bytes()}, nil
}

// lastImage keeps the last sensor image of a capture (the record keeps one image per finger,
// sealed for the registry and purged after its receipt).
type lastImage struct {
	dev interface {
		Capture(ctx context.Context, interval time.Duration) (*image.Gray, error)
	}
	img *image.Gray
}

func (l *lastImage) Capture(ctx context.Context, interval time.Duration) (*image.Gray, error) {
	img, err := l.dev.Capture(ctx, interval)
	if err == nil {
		l.img = img
	}
	return img, err
}
