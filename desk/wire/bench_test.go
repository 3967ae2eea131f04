package wire

import (
	"context"
	"image"
	"os"
	"syscall"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"enrolldesk/biometric/face"
	"enrolldesk/biometric/face/embedding"
	"enrolldesk/biometric/face/quality"
	"enrolldesk/desk/settings"
)

// BenchmarkFaceFrame (DESIGN.md's budget, ≤ 100 ms) with each selectable face engine in the
// path, as CameraFace runs it: a 1280×720 frame with one face of ~250 px → detection and
// landmarks (every iteration) + the quality gate + the 1:1 descriptor of the selected engine
// (facenet: alignment from the landmarks + network on the chip and its mirror) + the distance to
// the chip photo's descriptor and the calibrated decision. The chip photo is described once.
// biometric/face's BenchmarkFaceFrame is the dlib pipeline alone; build/bench.d/face-frame
// prints every BenchmarkFaceFrame figure beside the budget.
func BenchmarkFaceFrame(b *testing.B) {
	ctx := context.Background()
	c := &CameraFace{Models: "../../models"}
	defer c.Close()
	photo := shared("faces", "deepface", "img2.jpg")
	for _, name := range []string{settings.FaceEngineFacenet, settings.FaceEngineDlib} {
		c.Engine = name
		sel, err := c.selectEngine(ctx)
		if err != nil {
			b.Fatal(err)
		}
		src := gocv.IMRead(photo, gocv.IMReadColor)
		frame, err := sel.eng.ComposeFrame(ctx, src, 250, 640, 330)
		src.Close()
		if err != nil {
			b.Fatal(err)
		}
		_, ref, err := sel.describeChip(ctx, readB(b, photo))
		if err != nil {
			b.Fatal(err)
		}
		engine := sel.eng.Name()
		if sel.net != nil {
			engine = sel.net.Name()
		}
		b.Run(engine, func(b *testing.B) {
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				r, err := sel.eng.ProcessFrame(ctx, frame, quality.Default())
				if err != nil || len(r.Faces) != 1 {
					b.Fatalf("faces %d err %v", len(r.Faces), err)
				}
				subj, _ := r.Subject()
				m := subj.Rect.Dx() / 2
				at := image.Rect(subj.Rect.Min.X-m, subj.Rect.Min.Y-m, subj.Rect.Max.X+m, subj.Rect.Max.Y+m).Intersect(image.Rect(0, 0, frame.Cols(), frame.Rows()))
				region, err := face.MatToImage(frame, at)
				if err != nil {
					b.Fatal(err)
				}
				rgba, ok := region.(*image.RGBA)
				if !ok {
					b.Fatalf("region %T", region)
				}
				rgba.Rect = at // same pixels, frame coordinates (as face.CaptureBest's region)
				live, err := sel.describeLive(ctx, rgba, subj)
				if err != nil {
					b.Fatal(err)
				}
				d, err := embedding.Distance(ref, live)
				if err != nil {
					b.Fatal(err)
				}
				if dec := sel.cal.Decide(d); dec.Outcome != "match" {
					b.Fatalf("the chip photo's own face: %+v", dec)
				}
			}
			b.StopTimer()
			// CPU time per frame: what the frame costs on an idle machine, even when other
			// processes share the cores while the benchmark runs.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
		frame.Close()
	}
}

func readB(b *testing.B, p string) []byte {
	b.Helper()
	raw, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
