// Command fpsim simulates an R30x fingerprint module on a pseudo-terminal. It creates the pty pair
// itself, prints the device path for the driver (or `enrolldesk finger capture --port PATH`) and
// serves images from a folder of FVC-style files or from the synthetic generator:
//
//	fpsim -images ../shared/testdata/fingerprints/fvc2002_db1_b -link /tmp/ttyFP0
//	fpsim -synth-seed 7 -finger-after 10 -noise
//
// The module starts at 57600 baud like a factory module; it reads the rate the host sets on the tty,
// answers garbage on a mismatch and paces its output at the link's rate. Faults: -noise, -bad-checksum
// N, -slow DURATION, -silent, and -unplug-every DURATION (drops the link for a second).
package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"enrolldesk/biometric/finger"
	"enrolldesk/biometric/finger/sensor/sim"
	"enrolldesk/biometric/finger/synth"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fpsim:", err)
		os.Exit(1)
	}
}

func run() error {
	images := flag.String("images", "", "folder of FINGER_N.tif/png images served in order (default: generated)")
	seed := flag.Uint64("synth-seed", 1, "population seed of generated images")
	link := flag.String("link", "", "also make this path a symlink to the pty (stable across unplugs)")
	baud := flag.Int("baud", 57600, "module's initial baud rate")
	password := flag.Uint("password", 0, "module password")
	fingerAfter := flag.Int("finger-after", 5, "GenImg polls answered 'no finger' before each finger")
	pace := flag.Float64("pace", 1, "link speed factor (1 = real baud pacing)")
	noise := flag.Bool("noise", false, "random bytes before every answer")
	badSum := flag.Int("bad-checksum", 0, "damage the checksum of this many answers")
	slow := flag.Duration("slow", 0, "delay before every answer")
	silent := flag.Bool("silent", false, "never answer")
	unplug := flag.Duration("unplug-every", 0, "drop the link for one second at this interval")
	flag.Parse()

	var src sim.Source
	if *images != "" {
		samples, err := finger.LoadDir(*images)
		if err != nil {
			return err
		}
		src = func(n int) (*image.Gray, error) { return finger.LoadImage(samples[n%len(samples)].Path) }
	} else {
		s := *seed
		src = func(n int) (*image.Gray, error) { return synth.Generate(s, n/8, 1+n%8), nil }
	}
	s, err := sim.Start(sim.Options{Link: *link, Source: src, Password: uint32(*password), Baud: *baud,
		FingerAfter: *fingerAfter, Pace: *pace})
	if err != nil {
		return err
	}
	defer s.Close()
	s.SetFaults(sim.Faults{Noise: *noise, BadChecksum: *badSum, Slow: *slow, Silent: *silent})
	fmt.Println(s.Path())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var tick <-chan time.Time
	if *unplug > 0 {
		t := time.NewTicker(*unplug)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			c := s.Counters()
			slog.Info("fpsim stopped", "commands", c.Commands, "captures", c.Captures, "uploads", c.Uploads,
				"baud_mismatches", c.BaudMismatches)
			return nil
		case <-tick:
			s.Unplug(time.Second)
		}
	}
}
