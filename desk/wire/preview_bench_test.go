package wire

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"enrolldesk/biometric/face"
	"enrolldesk/biometric/face/quality"
	"enrolldesk/desk/app"
)

// BenchmarkPreviewFrame is what one live preview adds to a capture's frame: the 1280×720 frame
// downscaled to 320 px and JPEG-encoded, the face box scaled, the quality report copied, and the
// event sent through the Events hub to an emitter that JSON-encodes it as the bridge and Wails
// do. The frame's analysis (BenchmarkFaceFrame's work) is done once outside the loop; at most
// app.MaxPreviewFPS previews a second are sent, so a preview costs ≤ 8 × this per second of
// capture. Reports the event's size.
func BenchmarkPreviewFrame(b *testing.B) {
	ctx := context.Background()
	c := &CameraFace{Models: "../../models", Engine: "dlib"}
	defer c.Close()
	eng, _, err := c.engine()
	if err != nil {
		b.Fatal(err)
	}
	src := gocv.IMRead(shared("faces", "deepface", "img2.jpg"), gocv.IMReadColor)
	frame, err := eng.ComposeFrame(ctx, src, 250, 640, 330)
	src.Close()
	if err != nil {
		b.Fatal(err)
	}
	defer frame.Close()
	r, err := eng.ProcessFrame(ctx, frame, quality.Default())
	if err != nil {
		b.Fatal(err)
	}
	hub := &app.Hub{}
	var size int
	hub.Attach(app.EmitterFunc(func(name string, data any) {
		js, err := json.Marshal(data)
		if err != nil {
			b.Fatal(err)
		}
		size = len(js)
	}))
	// The rate limiter admits every frame here: the benchmark measures one admitted preview.
	t := time.Unix(0, 0)
	p := &previewer{send: app.FacePreviewer(hub), phase: app.PreviewCapture, th: quality.Default(), rate: &app.PreviewRate{},
		now: func() time.Time { t = t.Add(time.Second); return t }}
	f := face.Frame{Mat: frame, Seq: 1}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.observe(f, r.Analysis, &r.Quality)
	}
	b.StopTimer()
	if size == 0 {
		b.Fatal("no preview sent")
	}
	b.ReportMetric(float64(size), "event-bytes")
}
