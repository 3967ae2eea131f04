// Package finger extracts, stores and compares fingerprints for the enrollment desk.
//
// The API other packages build on (the 1:N gallery in biometric/index among them):
//
//	img, _ := finger.LoadImage(path)        // or an *image.Gray from the sensor (sensor.Image.Gray)
//	t, err := finger.Extract(img)           // *finger.Template: minutiae + quality 0..100
//	p := finger.NewProbe(t)                 // prepared once, safe for concurrent use
//	score := p.Match(other)                 // *Template → score in [0, 100]
//	score = p.MatchProbe(finger.NewProbe(other)) // both prepared: the fast path for galleries
//	raw, _ := t.MarshalBinary()             // compact form (12 + 7 bytes per minutia)
//
// Scores are comparable across calls and grow with the number of paired minutiae.
// The serial sensor driver is in finger/sensor, the simulator in finger/sensor/sim, the synthetic
// generator in finger/synth.
package finger
