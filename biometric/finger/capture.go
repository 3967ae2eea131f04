package finger

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"time"
)

// Scanner captures one finger image, waiting for the finger; sensor.Device satisfies it.
type Scanner interface {
	Capture(ctx context.Context, interval time.Duration) (*image.Gray, error)
}

// Position is a finger position code (ISO/IEC 19794-2:2005 Table 2, same as ANSI/INCITS 378).
type Position uint8

const (
	UnknownFinger Position = 0
	RightThumb    Position = 1
	RightIndex    Position = 2
	RightMiddle   Position = 3
	RightRing     Position = 4
	RightLittle   Position = 5
	LeftThumb     Position = 6
	LeftIndex     Position = 7
	LeftMiddle    Position = 8
	LeftRing      Position = 9
	LeftLittle    Position = 10
)

func (p Position) String() string {
	names := [...]string{"unknown finger", "right thumb", "right index", "right middle", "right ring",
		"right little", "left thumb", "left index", "left middle", "left ring", "left little"}
	if int(p) < len(names) {
		return names[p]
	}
	return fmt.Sprintf("finger %d", p)
}

// CaptureOptions configure the capture workflow; the zero value captures both index fingers, three
// accepted impressions each.
type CaptureOptions struct {
	Fingers     []Position    // default RightIndex, LeftIndex
	Impressions int           // accepted impressions per finger, default 3
	MaxAttempts int           // captures per finger before giving up, default 3 × Impressions
	MinQuality  int           // impressions below this quality (0..100) are refused, default 25
	Poll        time.Duration // finger polling interval, default 50 ms
	// Prompt, when set, is told before every capture which finger to place and why (the UI's hook).
	Prompt func(pos Position, attempt int, reason string)
}

// FingerCapture is the result for one finger.
type FingerCapture struct {
	Position    Position
	Template    *Template   // consolidated from the accepted impressions
	Impressions []*Template // accepted impressions, most representative first
	Consistency float64     // lowest score between the representative impression and the others
	Attempts    int
}

// ErrInconsistent means the impressions of one finger do not match each other (another finger was
// placed, or the images are too poor): capture that finger again.
var ErrInconsistent = errors.New("finger: impressions of one finger do not match each other")

// CaptureFingers runs the desk's capture workflow: for each finger, capture until enough impressions
// of sufficient quality are accepted, check that they match each other (score ≥ ScoreForFMR(1e-3)),
// and consolidate them into one template.
func CaptureFingers(ctx context.Context, s Scanner, o CaptureOptions) ([]FingerCapture, error) {
	if len(o.Fingers) == 0 {
		o.Fingers = []Position{RightIndex, LeftIndex}
	}
	if o.Impressions <= 0 {
		o.Impressions = 3
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3 * o.Impressions
	}
	if o.MinQuality <= 0 {
		o.MinQuality = 25
	}
	if o.Poll <= 0 {
		o.Poll = 50 * time.Millisecond
	}
	prompt := func(pos Position, n int, why string) {
		if o.Prompt != nil {
			o.Prompt(pos, n, why)
		}
	}
	var out []FingerCapture
	for _, pos := range o.Fingers {
		fc := FingerCapture{Position: pos}
		var accepted []*Template
		reason := "place finger"
		for len(accepted) < o.Impressions {
			if fc.Attempts == o.MaxAttempts {
				return out, fmt.Errorf("capture %v: %d of %d impressions accepted after %d attempts",
					pos, len(accepted), o.Impressions, fc.Attempts)
			}
			fc.Attempts++
			prompt(pos, fc.Attempts, reason)
			img, err := s.Capture(ctx, o.Poll)
			if err != nil {
				return out, fmt.Errorf("capture %v: %w", pos, err)
			}
			t, err := Extract(img)
			switch {
			case errors.Is(err, ErrNoFinger):
				reason = "no fingerprint seen: place the finger flat on the glass"
				continue
			case err != nil:
				return out, fmt.Errorf("capture %v: %w", pos, err)
			case t.Quality < o.MinQuality:
				reason = fmt.Sprintf("quality %d below %d: clean the glass, press a little harder", t.Quality, o.MinQuality)
				continue
			}
			accepted = append(accepted, t)
			reason = "lift and place the same finger again"
		}
		ordered, cons := representative(accepted)
		if len(accepted) > 1 && cons < ScoreForFMR(1e-3) {
			return out, fmt.Errorf("capture %v: %w (score %.1f)", pos, ErrInconsistent, cons)
		}
		fc.Impressions, fc.Consistency = ordered, cons
		fc.Template = Consolidate(ordered)
		out = append(out, fc)
	}
	return out, nil
}

// representative orders the impressions by their summed score against the others (best first) and
// returns the lowest score between the first and any other.
func representative(ts []*Template) ([]*Template, float64) {
	if len(ts) < 2 {
		return ts, 0
	}
	ps := make([]*Probe, len(ts))
	for i, t := range ts {
		ps[i] = NewProbe(t)
	}
	sum := make([]float64, len(ts))
	sc := make([][]float64, len(ts))
	for i := range ts {
		sc[i] = make([]float64, len(ts))
	}
	for i := range ts {
		for j := i + 1; j < len(ts); j++ {
			s := (ps[i].MatchProbe(ps[j]) + ps[j].MatchProbe(ps[i])) / 2
			sc[i][j], sc[j][i] = s, s
			sum[i] += s
			sum[j] += s
		}
	}
	idx := make([]int, len(ts))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case sum[a] > sum[b]:
			return -1
		case sum[a] < sum[b]:
			return 1
		}
		return 0
	})
	lowest := 100.0
	for _, j := range idx[1:] {
		lowest = min(lowest, sc[idx[0]][j])
	}
	out := make([]*Template, len(ts))
	for k, i := range idx {
		out[k] = ts[i]
	}
	return out, lowest
}

// Consolidate merges impressions of one finger into one template: the first (most representative)
// impression's minutiae, each graded by how many other impressions confirm it (paired under the best
// alignment). Minutiae that no other impression confirms are dropped when at least two others were
// compared and the minutia lies where another impression saw skin, since those are mostly noise.
func Consolidate(ts []*Template) *Template {
	if len(ts) == 0 {
		return nil
	}
	base := ts[0]
	out := *base
	out.Minutiae = nil
	if len(ts) == 1 {
		out.Minutiae = append(out.Minutiae, base.Minutiae...)
		return &out
	}
	support := make([]int, len(base.Minutiae))
	covered := make([]int, len(base.Minutiae))
	bp := NewProbe(base)
	for _, t := range ts[1:] {
		tp := NewProbe(t)
		_, pairs := bp.Pairs(tp)
		if len(pairs) < 3 {
			continue
		}
		for _, c := range pairs {
			support[c.P]++
		}
		// Where does each base minutia land on the other impression? Least-squares rigid fit of the
		// pairs, then a look at the other impression's area.
		var src, dst [][2]float64
		for _, c := range pairs {
			a, b := base.Minutiae[c.P], t.Minutiae[c.Q]
			src, dst = append(src, [2]float64{float64(a.X), float64(a.Y)}), append(dst, [2]float64{float64(b.X), float64(b.Y)})
		}
		rot, sx, sy, dx, dy := rigidFit(src, dst)
		rc, rs := math.Cos(rot), math.Sin(rot)
		for i, m := range base.Minutiae {
			ux, uy := float64(m.X)-sx, float64(m.Y)-sy
			if tp.inner.inside(dx+ux*rc-uy*rs, dy+ux*rs+uy*rc) {
				covered[i]++
			}
		}
	}
	for i, m := range base.Minutiae {
		if support[i] == 0 && covered[i] >= 2 {
			continue
		}
		m.Quality = uint8(min(100, int(m.Quality)+10*support[i]))
		out.Minutiae = append(out.Minutiae, m)
	}
	if len(out.Minutiae) < 12 { // too aggressive for a small print: keep the representative as is
		out.Minutiae = append(out.Minutiae[:0], base.Minutiae...)
	}
	return &out
}

// rigidFit returns the least-squares rotation taking src onto dst about their centroids, and the
// centroids (src then dst).
func rigidFit(src, dst [][2]float64) (rot, sx, sy, dx, dy float64) {
	n := float64(len(src))
	for i := range src {
		sx, sy, dx, dy = sx+src[i][0], sy+src[i][1], dx+dst[i][0], dy+dst[i][1]
	}
	sx, sy, dx, dy = sx/n, sy/n, dx/n, dy/n
	var cxx, cxy float64
	for i := range src {
		ux, uy, vx, vy := src[i][0]-sx, src[i][1]-sy, dst[i][0]-dx, dst[i][1]-dy
		cxx += ux*vx + uy*vy
		cxy += ux*vy - uy*vx
	}
	return math.Atan2(cxy, cxx), sx, sy, dx, dy
}
