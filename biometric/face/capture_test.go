package face

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gocv.io/x/gocv"
)

func writeClip(t testing.TB, path string, frames []gocv.Mat, fps float64) {
	t.Helper()
	if err := WriteClip(path, frames, fps); err != nil {
		t.Fatal(err)
	}
}

func solid(v float64) gocv.Mat {
	return gocv.NewMatWithSizeFromScalar(gocv.NewScalar(v, v, v, 0), 120, 160, gocv.MatTypeCV8UC3)
}

func collect(t *testing.T, ch <-chan Frame, n int, timeout time.Duration) []Frame {
	t.Helper()
	var out []Frame
	deadline := time.After(timeout)
	for len(out) < n {
		select {
		case f, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, f)
		case <-deadline:
			t.Fatalf("got %d of %d frames before the timeout", len(out), n)
		}
	}
	return out
}

func TestCaptureImageFolder(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 3; i++ {
		m := solid(float64(40 * (i + 1)))
		gocv.IMWrite(filepath.Join(dir, fmt.Sprintf("f%02d.png", i)), m)
		m.Close()
	}
	cam := NewCamera(Source{Name: dir})
	frames := collect(t, cam.Stream(context.Background()), 10, 10*time.Second)
	if len(frames) != 3 || cam.Err() != nil {
		t.Fatalf("%d frames, err %v", len(frames), cam.Err())
	}
	for i, f := range frames {
		if f.Seq != uint64(i+1) || f.Mat.GetUCharAt(0, 0) != uint8(40*(i+1)) {
			t.Fatalf("frame %d: seq %d value %d", i, f.Seq, f.Mat.GetUCharAt(0, 0))
		}
		f.Close()
	}
}

func TestCaptureVideoFileAndMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "clip.avi")
	var ms []gocv.Mat
	for i := 0; i < 5; i++ {
		ms = append(ms, solid(float64(30*i+20)))
	}
	writeClip(t, p, ms, 25)
	for _, m := range ms {
		m.Close()
	}
	cam := NewCamera(Source{Name: p, FPS: 100})
	frames := collect(t, cam.Stream(context.Background()), 10, 10*time.Second)
	if len(frames) != 5 || cam.Err() != nil {
		t.Fatalf("%d frames, err %v", len(frames), cam.Err())
	}
	for _, f := range frames {
		f.Close()
	}
	cam = NewCamera(Source{Name: filepath.Join(t.TempDir(), "absent.avi")})
	if got := collect(t, cam.Stream(context.Background()), 1, 5*time.Second); len(got) != 0 || cam.Err() == nil {
		t.Fatalf("missing file: %d frames, err %v", len(got), cam.Err())
	}
}

// A live source that is missing at first (camera unplugged) starts delivering once it appears,
// and is reopened at its end, without restarting the stream.
func TestCaptureReconnects(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "cam.avi")
	cam := NewCamera(Source{Name: p, Live: true, FPS: 200})
	cam.ReconnectDelay = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	ch := cam.Stream(ctx)
	time.Sleep(150 * time.Millisecond) // a few failed opens
	ms := []gocv.Mat{solid(50), solid(100)}
	tmp := filepath.Join(dir, "tmp.avi")
	writeClip(t, tmp, ms, 25)
	ms[0].Close()
	ms[1].Close()
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	frames := collect(t, ch, 5, 20*time.Second)
	for _, f := range frames {
		f.Close()
	}
	if cam.Reconnects() < 1 {
		t.Fatalf("reconnects = %d", cam.Reconnects())
	}
	cancel()
	for f := range ch { // the channel closes after cancel
		f.Close()
	}
	if cam.Err() != nil {
		t.Fatalf("err after cancel: %v", cam.Err())
	}
}

func TestPreviewerBoundsRate(t *testing.T) {
	m := gocv.NewMatWithSize(720, 1280, gocv.MatTypeCV8UC3)
	defer m.Close()
	p := &Previewer{MaxFPS: 10, Width: 320}
	t0 := time.Now()
	n := 0
	for i := 0; i < 30; i++ { // 30 frames over one second of camera time
		b, ok, err := p.Offer(m, t0.Add(time.Duration(i)*time.Second/30))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			n++
			img, err := gocv.IMDecode(b, gocv.IMReadColor)
			if err != nil || img.Cols() != 320 || img.Rows() != 180 {
				t.Fatalf("preview %dx%d %v", img.Cols(), img.Rows(), err)
			}
			img.Close()
		}
	}
	if n < 9 || n > 11 {
		t.Fatalf("%d previews in one second at MaxFPS 10", n)
	}
}
