package main

import (
	"image"

	"enrolldesk/biometric/finger/sensor/sim"
	"enrolldesk/biometric/finger/synth"
)

// startSensorSim starts the R30x simulator on a pty serving impressions of one generated finger
// (so each capture's impressions agree), with the link paced 20× faster than its baud so the
// suite stays quick. It returns the pty path and a stop function.
func startSensorSim() (string, func(), error) {
	src := func(n int) (*image.Gray, error) { return synth.Generate(7, 0, 1+n%3), nil }
	s, err := sim.Start(sim.Options{Source: src, FingerAfter: 2, Pace: 20})
	if err != nil {
		return "", nil, err
	}
	return s.Path(), func() { _ = s.Close() }, nil
}
