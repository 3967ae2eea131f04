package finger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"enrolldesk/biometric/finger/sensor"
	"enrolldesk/biometric/finger/sensor/sim"
	"enrolldesk/desk/cli"
)

// fvcSim serves FVC2002 DB1_B images named by the order function over a real pty.
func fvcSim(t *testing.T, order func(n int) string) *sim.Sim {
	t.Helper()
	dir := dataDir(t, "fvc2002_db1_b")
	s, err := sim.Start(sim.Options{
		Link:        filepath.Join(t.TempDir(), "ttyFP0"),
		Source:      func(n int) (*image.Gray, error) { return LoadImage(filepath.Join(dir, order(n))) },
		FingerAfter: 2,
		Pace:        40,
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCaptureWorkflowOverPty(t *testing.T) {
	// right index = finger 101, left index = finger 102, three impressions each
	s := fvcSim(t, func(n int) string { return fmt.Sprintf("%d_%d.tif", 101+n/3, 1+n%3) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dev, err := sensor.Open(ctx, sensor.Config{Path: s.Path(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	var prompts int
	res, err := CaptureFingers(ctx, dev, CaptureOptions{Prompt: func(Position, int, string) { prompts++ }})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Position != RightIndex || res[1].Position != LeftIndex || prompts != 6 {
		t.Fatalf("results %d, prompts %d", len(res), prompts)
	}
	// Each consolidated template matches a fourth impression of its own finger better than the other.
	for i, fc := range res {
		if len(fc.Impressions) != 3 || fc.Consistency < ScoreForFMR(1e-3) || len(fc.Template.Minutiae) < 12 {
			t.Fatalf("%v: %d impressions, consistency %.1f, %d minutiae", fc.Position, len(fc.Impressions),
				fc.Consistency, len(fc.Template.Minutiae))
		}
		own := loadTemplate(t, "fvc2002_db1_b", fmt.Sprintf("%d_4.tif", 101+i))
		other := loadTemplate(t, "fvc2002_db1_b", fmt.Sprintf("%d_4.tif", 102-i))
		p := NewProbe(fc.Template)
		if so, sx := p.Match(own), p.Match(other); so <= sx {
			t.Fatalf("%v: own finger %.1f, other finger %.1f", fc.Position, so, sx)
		}
	}
}

func TestCaptureRefusesMixedFingers(t *testing.T) {
	// every impression from another finger: the consistency check must refuse
	s := fvcSim(t, func(n int) string { return fmt.Sprintf("%d_1.tif", 103+n) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dev, err := sensor.Open(ctx, sensor.Config{Path: s.Path(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	_, err = CaptureFingers(ctx, dev, CaptureOptions{Fingers: []Position{RightIndex}})
	if !errors.Is(err, ErrInconsistent) {
		t.Fatalf("err = %v, want ErrInconsistent", err)
	}
}

func TestCaptureCommand(t *testing.T) {
	s := fvcSim(t, func(n int) string { return fmt.Sprintf("%d_%d.tif", 105, 1+n%8) })
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdout: &stdout, Stderr: &stderr}
	code := cli.Run(context.Background(), env, []string{"finger", "capture", "--port", s.Path(), "--fingers", "7",
		"--impressions", "2", "--format", "ansi", "--out", out}, Commands())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "left index:") {
		t.Fatalf("output: %s", stdout.String())
	}
	raw, err := os.ReadFile(filepath.Join(out, "7.fmr"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRecord(raw, ANSI378)
	if err != nil || r.Views[0].Position != 7 || len(r.Views[0].Minutiae) < 12 {
		t.Fatalf("record: %v", err)
	}
}
