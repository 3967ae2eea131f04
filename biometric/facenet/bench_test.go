package facenet

import (
	"context"
	"encoding/json"
	"image"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"enrolldesk/biometric/face/embedding"
)

// BenchmarkEmbed: one face → descriptor (alignment from 68 landmarks + network + L2 norm) per
// model, on a 250×250 LFW photo, nothing cached across iterations.
func BenchmarkEmbed(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("testdata", "landmarks.json"))
	if err != nil {
		b.Fatal(err)
	}
	var fx landmarkFixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		b.Fatal(err)
	}
	f := fx.Faces[len(fx.Faces)-1]
	fh, err := os.Open(filepath.Join(sharedTestdata, f.File))
	if err != nil {
		b.Fatal(err)
	}
	img, _, err := image.Decode(fh)
	fh.Close()
	if err != nil {
		b.Fatal(err)
	}
	face := embedding.Face{}
	for _, p := range f.Landmarks {
		face.Landmarks = append(face.Landmarks, image.Pt(p[0], p[1]))
	}
	for _, c := range []struct {
		name string
		opts Options
	}{{"frfeature", DefaultOptions}, {"frfeature", Options{}}, {"mobileface", Options{}}, {"mobilefacenet", Options{}}, {"faceres", Options{}}} {
		e, err := NewEngine(repoModels, c.name, c.opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(e.Name(), func(b *testing.B) {
			before := cpuTime()
			for i := 0; i < b.N; i++ {
				if _, err := e.Embed(context.Background(), img, face); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time of the process per op: on a shared, loaded machine it says what one
			// face costs better than wall time does.
			b.ReportMetric(float64(cpuTime()-before)/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
