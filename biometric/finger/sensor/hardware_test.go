package sensor_test

import (
	"context"
	"os"
	"testing"
	"time"

	"enrolldesk/biometric/finger/sensor"
)

// TestRealSensor runs against a physical R30x module when ENROLLDESK_FP_PORT names its serial device
// (e.g. /dev/ttyUSB0); it is the only test here allowed to skip. Place a finger when it asks.
func TestRealSensor(t *testing.T) {
	port := os.Getenv("ENROLLDESK_FP_PORT")
	if port == "" {
		t.Skip("ENROLLDESK_FP_PORT not set: no physical sensor")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := sensor.Open(ctx, sensor.Config{Path: port})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	sp, err := d.ReadSysPara(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Baud != d.Baud() || sp.PacketSize != d.PacketSize() {
		t.Fatalf("module reports %d baud / %d-byte packets, driver uses %d / %d", sp.Baud, sp.PacketSize, d.Baud(), d.PacketSize())
	}
	t.Log("place a finger on the sensor")
	img, err := d.Capture(ctx, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != sensor.ImageWidth || b.Dy() != sensor.ImageHeight {
		t.Fatalf("image %v", b)
	}
}
