package wire

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"enrolldesk/biometric/face"
	"enrolldesk/biometric/face/liveness"
	"enrolldesk/desk/app"
	"enrolldesk/desk/settings"
	"enrolldesk/sync/record"
)

type prompts struct {
	mu  sync.Mutex
	got [][2]int // len(steps), step
	bad []string
}

func (p *prompts) record(steps []string, step int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !reflect.DeepEqual(steps, []string{"left", "right"}) {
		p.bad = append(p.bad, steps...)
	}
	p.got = append(p.got, [2]int{len(steps), step})
}

// On a real head-turn clip the prompt asks for each step in turn (left, then right) and then
// announces the photo burst; the desk's liveness loop reaches face.Engine.CheckLiveness's
// verdict on the same clip, step by step.
func TestPromptFollowsTheHeadTurn(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := &prompts{}
	c := &CameraFace{Models: filepath.Join("..", "..", "models"), Burst: 2, Engine: settings.FaceEngineDlib, Prompt: p.record}
	defer c.Close()
	clip := filepath.Join(t.TempDir(), "turn.avi")
	if err := c.WriteClip(ctx, clip, headTurn, 10); err != nil {
		t.Fatal(err)
	}
	c.Source = face.Source{Name: clip, FPS: 10}
	if got := c.LivenessSteps(); !reflect.DeepEqual(got, []string{"left", "right"}) {
		t.Fatalf("LivenessSteps %v", got)
	}
	f, err := c.Capture(ctx, read(t, blix("0009")))
	if err != nil {
		t.Fatal(err)
	}
	if f.Liveness != record.Pass {
		t.Fatalf("liveness %s", f.Liveness)
	}
	if want := [][2]int{{2, 0}, {2, 1}, {2, 2}}; !reflect.DeepEqual(p.got, want) || p.bad != nil {
		t.Fatalf("prompts %v (steps %v), want %v", p.got, p.bad, want)
	}

	// The same clip through face.Engine.CheckLiveness and through the desk's loop.
	eng, _, err := c.engine()
	if err != nil {
		t.Fatal(err)
	}
	run := func(check func(ctx context.Context, frames <-chan face.Frame) (liveness.Result, error)) liveness.Result {
		t.Helper()
		sctx, stop := context.WithCancel(ctx)
		defer stop()
		r, err := check(sctx, face.NewCamera(c.Source).Stream(sctx))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	ch := liveness.Default()
	want := run(func(ctx context.Context, fr <-chan face.Frame) (liveness.Result, error) {
		return eng.CheckLiveness(ctx, fr, ch)
	})
	var steps []int
	got := run(func(ctx context.Context, fr <-chan face.Frame) (liveness.Result, error) {
		return checkLiveness(ctx, eng, fr, ch, func(s int) { steps = append(steps, s) })
	})
	if !want.Live || !reflect.DeepEqual(got, want) {
		t.Fatalf("desk loop %+v\nCheckLiveness %+v", got, want)
	}
	if !reflect.DeepEqual(steps, []int{0, 1}) {
		t.Fatalf("steps awaited %v", steps)
	}
}

// A still photo never completes the first step: the prompt stays on it until the burst.
func TestPromptStaysOnTheFirstStepForAStill(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := &prompts{}
	c := &CameraFace{Models: filepath.Join("..", "..", "models"), Burst: 2, Engine: settings.FaceEngineDlib, Prompt: p.record}
	defer c.Close()
	clip := filepath.Join(t.TempDir(), "still.avi")
	if err := c.WriteClip(ctx, clip, []ClipFrame{{blix("0006"), 12}}, 10); err != nil {
		t.Fatal(err)
	}
	c.Source = face.Source{Name: clip, FPS: 10}
	f, err := c.Capture(ctx, read(t, blix("0009")))
	if err != nil {
		t.Fatal(err)
	}
	if f.Liveness != record.Fail {
		t.Fatal("a still photo passed liveness")
	}
	if want := [][2]int{{2, 0}, {2, 2}}; !reflect.DeepEqual(p.got, want) {
		t.Fatalf("prompts %v, want %v", p.got, want)
	}
}

// A clip on which no frame passes the quality gate (Hans Blix with a second person beside him)
// ends the capture with the window's face_quality code, biometric/face's ErrNoCapture inside.
func TestNoFramePassingTheGateIsFaceQuality(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := &CameraFace{Models: filepath.Join("..", "..", "models"), Burst: 2, Engine: settings.FaceEngineDlib}
	defer c.Close()
	clip := filepath.Join(t.TempDir(), "two.avi")
	if err := c.WriteClip(ctx, clip, []ClipFrame{{blix("0003"), 8}}, 10); err != nil {
		t.Fatal(err)
	}
	c.Source = face.Source{Name: clip, FPS: 10}
	_, err := c.Capture(ctx, read(t, blix("0009")))
	var ce *app.CodedError
	var nc face.ErrNoCapture
	if !errors.As(err, &ce) || ce.Code != app.CodeFaceQuality || !errors.As(err, &nc) {
		t.Fatalf("capture: %v", err)
	}
	t.Logf("refused: %v", err)
}
