package sensor_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"enrolldesk/biometric/finger"
	"enrolldesk/biometric/finger/sensor"
	"enrolldesk/biometric/finger/sensor/sim"
)

func fvcSource(t testing.TB) sim.Source {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared", "testdata", "fingerprints", "fvc2002_db1_b")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("test data missing: %v", err)
	}
	return func(n int) (*image.Gray, error) {
		return finger.LoadImage(filepath.Join(dir, fmt.Sprintf("%d_%d.tif", 101+n%10, 1+n/10%8)))
	}
}

// expected is what the host must receive for capture n: the framed image quantised to 4 bits.
func expected(t testing.TB, src sim.Source, n int) *image.Gray {
	t.Helper()
	img, err := src(n)
	if err != nil {
		t.Fatal(err)
	}
	packed, err := sensor.Pack(sensor.FromImage(img))
	if err != nil {
		t.Fatal(err)
	}
	out, err := sensor.Unpack(packed)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func startSim(t *testing.T, o sim.Options) *sim.Sim {
	t.Helper()
	if o.Source == nil {
		o.Source = fvcSource(t)
	}
	o.Logger = slog.New(slog.DiscardHandler)
	o.Link = filepath.Join(t.TempDir(), "ttyFP0")
	s, err := sim.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func open(t *testing.T, s *sim.Sim, c sensor.Config) *sensor.Device {
	t.Helper()
	c.Path = s.Path()
	c.Logger = slog.New(slog.DiscardHandler)
	if c.Timeout == 0 {
		c.Timeout = 400 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d, err := sensor.Open(ctx, c)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// capture captures through the driver and checks the image is exactly the last one the simulator
// captured (a retried GenImg captures again, as a real module does).
func capture(t *testing.T, d *sensor.Device, s *sim.Sim, src sim.Source) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	img, err := d.Capture(ctx, 20*time.Millisecond)
	if err != nil {
		t.Fatalf("capture: %v", err)
	}
	n := s.Counters().Captures - 1
	want := expected(t, src, n)
	if string(img.Pix) != string(want.Pix) {
		t.Fatalf("capture %d: image differs from the one served", n)
	}
}

// At real link speed: the driver raises 57600 → 115200 and the packet size to 256, reopening the port,
// and a full upload takes as long as 36,864 bytes need at 115200 baud.
func TestNegotiateAndUploadAtLinkSpeed(t *testing.T) {
	s := startSim(t, sim.Options{FingerAfter: 3})
	d := open(t, s, sensor.Config{})
	if d.Baud() != 115200 || s.Baud() != 115200 || d.PacketSize() != 256 || s.PacketSize() != 256 {
		t.Fatalf("negotiated driver %d/%d, module %d/%d", d.Baud(), d.PacketSize(), s.Baud(), s.PacketSize())
	}
	start := time.Now()
	capture(t, d, s, fvcSource(t))
	el := time.Since(start)
	min := time.Duration(float64(sensor.ImageBytes) * 10 / 115200 * float64(time.Second))
	if el < min {
		t.Fatalf("upload took %v, faster than the link allows (%v): not paced", el, min)
	}
	if c := s.Counters(); c.Captures != 1 || c.Uploads != 1 {
		t.Fatalf("sim counters %+v", c)
	}
	sp, err := d.ReadSysPara(context.Background())
	if err != nil || sp.Baud != 115200 || sp.PacketSize != 256 || sp.Address != sensor.DefaultAddress {
		t.Fatalf("sys para %+v %v", sp, err)
	}
}

// A module left at 38400 by an earlier session: the host's first attempt at 57600 gets garbage, the
// driver scans the standard rates, finds it, and raises the link.
func TestBaudMismatchScan(t *testing.T) {
	s := startSim(t, sim.Options{Baud: 38400, Pace: 20})
	d := open(t, s, sensor.Config{Baud: 57600, PacketSize: 128})
	if s.Counters().BaudMismatches == 0 {
		t.Fatal("the simulator never saw the wrong baud")
	}
	if d.Baud() != 57600 || s.Baud() != 57600 {
		t.Fatalf("baud driver %d module %d", d.Baud(), s.Baud())
	}
	capture(t, d, s, fvcSource(t))
}

func TestWrongPassword(t *testing.T) {
	s := startSim(t, sim.Options{Password: 0x1234, Pace: 20})
	_, err := sensor.Open(context.Background(), sensor.Config{Path: s.Path(), Timeout: 300 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	var ae *sensor.AckError
	if !errors.As(err, &ae) || ae.Code != sensor.AckBadPassword {
		t.Fatalf("err = %v, want wrong password", err)
	}
	d := open(t, s, sensor.Config{Password: 0x1234})
	capture(t, d, s, fvcSource(t))
}

func TestFaults(t *testing.T) {
	src := fvcSource(t)
	t.Run("noise", func(t *testing.T) {
		s := startSim(t, sim.Options{Pace: 20})
		d := open(t, s, sensor.Config{})
		s.SetFaults(sim.Faults{Noise: true})
		capture(t, d, s, src)
		capture(t, d, s, src)
		if d.Stats().Resyncs == 0 {
			t.Fatal("no resync counted under noise")
		}
	})
	t.Run("bad checksum", func(t *testing.T) {
		s := startSim(t, sim.Options{Pace: 20})
		d := open(t, s, sensor.Config{})
		s.SetFaults(sim.Faults{BadChecksum: 3})
		capture(t, d, s, src)
		st := d.Stats()
		if st.BadChecksums != 3 || st.Retries == 0 {
			t.Fatalf("stats %+v, want 3 bad checksums and retries", st)
		}
	})
	t.Run("slow within timeout", func(t *testing.T) {
		s := startSim(t, sim.Options{Pace: 20})
		d := open(t, s, sensor.Config{Timeout: time.Second})
		s.SetFaults(sim.Faults{Slow: 300 * time.Millisecond})
		capture(t, d, s, src)
	})
	t.Run("slow beyond timeout", func(t *testing.T) {
		s := startSim(t, sim.Options{Pace: 20})
		d := open(t, s, sensor.Config{Timeout: 200 * time.Millisecond, Retries: 1})
		s.SetFaults(sim.Faults{Slow: 600 * time.Millisecond})
		err := d.GenImg(context.Background())
		if !errors.Is(err, sensor.ErrTimeout) {
			t.Fatalf("err = %v, want timeout", err)
		}
		s.SetFaults(sim.Faults{})
		capture(t, d, s, src) // stale late answers are flushed, not mistaken for new ones
	})
	t.Run("silent", func(t *testing.T) {
		s := startSim(t, sim.Options{Pace: 20})
		d := open(t, s, sensor.Config{Timeout: 200 * time.Millisecond, Retries: 2})
		s.SetFaults(sim.Faults{Silent: true})
		start := time.Now()
		err := d.GenImg(context.Background())
		if !errors.Is(err, sensor.ErrTimeout) {
			t.Fatalf("err = %v, want timeout", err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("gave up after %v", el)
		}
		if d.Stats().Retries != 2 {
			t.Fatalf("retries %d, want 2", d.Stats().Retries)
		}
	})
	t.Run("unplug", func(t *testing.T) {
		s := startSim(t, sim.Options{Pace: 20})
		d := open(t, s, sensor.Config{})
		capture(t, d, s, src)
		s.Unplug(400 * time.Millisecond)
		capture(t, d, s, src)
		if d.Stats().Reconnects == 0 || s.Counters().Unplugs != 1 {
			t.Fatalf("stats %+v counters %+v", d.Stats(), s.Counters())
		}
		if d.Baud() != 115200 {
			t.Fatalf("baud after reconnect %d", d.Baud())
		}
	})
}

func TestWaitFingerHonoursContext(t *testing.T) {
	s := startSim(t, sim.Options{Pace: 20, FingerAfter: 1 << 30})
	d := open(t, s, sensor.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := d.WaitFinger(ctx, 20*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("returned after %v", el)
	}
	if s.Counters().Commands < 5 {
		t.Fatalf("only %d polls", s.Counters().Commands)
	}
}
