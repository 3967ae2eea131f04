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
	var track []liveness.Observation
	limit := c.StepTimeout * time.Duration(len(c.Steps)+1)
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
		pos := f.Pos - first.Pos
		f.Close()
		if err != nil {
			return liveness.Result{}, err
		}
		if s, ok := a.Subject(); ok {
			track = append(track, liveness.Observation{At: pos, Face: s.Face})
			if r := liveness.Evaluate(c, track); r.Live {
				drain(frames)
				return r, nil
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
