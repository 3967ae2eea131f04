package face

import (
	"context"
	"time"

	"enrolldesk/biometric/face/liveness"
)

// CheckLiveness runs the liveness challenge on a frame stream: it follows the subject's landmarks
// frame by frame and returns as soon as the challenge is met, or with the failing evidence when
// the stream ends or the challenge's time is up. Frames are closed as they are consumed. Frames
// without a face are skipped (and counted in the result's Frames only when a face was seen).
func (e *Engine) CheckLiveness(ctx context.Context, frames <-chan Frame, c liveness.Challenge) (liveness.Result, error) {
	return e.CheckLivenessPrompting(ctx, frames, c, nil)
}

// CheckLivenessPrompting is CheckLiveness that also tells awaiting(i) which step of the challenge
// it waits for, so a screen can prompt the citizen: 0 at the start, then i as soon as the i steps
// before it are done (it only moves forward: the smoothed track may revise a step's end by a
// frame). awaiting may be nil; it is called on the calling goroutine and must not block.
func (e *Engine) CheckLivenessPrompting(ctx context.Context, frames <-chan Frame, c liveness.Challenge, awaiting func(step int)) (liveness.Result, error) {
	return e.CheckLivenessObserving(ctx, frames, c, awaiting, nil)
}

// CheckLivenessObserving is CheckLivenessPrompting that also shows observe (may be nil) every
// analysed frame before it is closed, with no quality report (see Observer).
func (e *Engine) CheckLivenessObserving(ctx context.Context, frames <-chan Frame, c liveness.Challenge, awaiting func(step int), observe Observer) (liveness.Result, error) {
	var track []liveness.Observation
	limit := c.StepTimeout * time.Duration(len(c.Steps)+1)
	told := 0
	if awaiting != nil {
		awaiting(0)
	}
	var first *Frame
	for {
		var f Frame
		var ok bool
		select {
		case f, ok = <-frames:
		case <-ctx.Done():
			return liveness.Evaluate(c, track), ctx.Err()
		}
		if !ok {
			return liveness.Evaluate(c, track), nil
		}
		if first == nil {
			first = &Frame{Pos: f.Pos}
		}
		a, err := e.AnalyzeFrame(ctx, f.Mat)
		if err == nil && observe != nil {
			observe(f, a, nil)
		}
		pos := f.Pos - first.Pos
		f.Close()
		if err != nil {
			return liveness.Result{}, err
		}
		if s, ok := follow(a, track); ok {
			track = append(track, liveness.Observation{At: pos, Face: s.Face})
			r := liveness.Evaluate(c, track)
			if r.Live {
				drain(frames)
				return r, nil
			}
			if done := doneSteps(r); awaiting != nil && done > told && done < len(c.Steps) {
				told = done
				awaiting(done)
			}
		}
		if pos > limit {
			drain(frames)
			r := liveness.Evaluate(c, track)
			if !r.Live && r.Reason == "" {
				r.Reason = "challenge time is up"
			}
			return r, nil
		}
	}
}

// doneSteps counts the challenge's steps done in order.
func doneSteps(r liveness.Result) int {
	n := 0
	for _, s := range r.Steps {
		if !s.Done {
			break
		}
		n++
	}
	return n
}

// drain closes frames still queued without waiting for more.
func drain(frames <-chan Frame) {
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				return
			}
			f.Close()
		default:
			return
		}
	}
}

// follow picks the face that continues the track: the largest face on the first frame, then the
// face nearest to the previous one (a bystander who comes closer must not take over the
// challenge). A frame where no face is within half a face width of the last position is skipped.
func follow(a Analysis, track []liveness.Observation) (Found, bool) {
	if len(track) == 0 {
		return a.Subject()
	}
	prev := track[len(track)-1].Face.Rect
	px, py := prev.Min.X+prev.Max.X, prev.Min.Y+prev.Max.Y // doubled centre
	best, bestD := -1, 0
	for i, f := range a.Faces {
		dx, dy := f.Rect.Min.X+f.Rect.Max.X-px, f.Rect.Min.Y+f.Rect.Max.Y-py
		if d := dx*dx + dy*dy; best < 0 || d < bestD {
			best, bestD = i, d
		}
	}
	if best < 0 || bestD > prev.Dx()*prev.Dx() { // doubled: within half a width
		return Found{}, false
	}
	return a.Faces[best], true
}
