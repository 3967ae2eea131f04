package index

import (
	"math"
	"math/rand/v2"

	"enrolldesk/biometric/finger"
)

// Minutia-level synthetic fingers for gallery scale: generating and extracting an image costs
// ~0.5 s, so the large galleries of the tests are filled with templates drawn directly: a master
// set of minutiae per finger (density, spacing and a smooth loop-like orientation field as in
// 500 dpi prints) and impressions of it (rotation ±30°, translation ±25 px, elastic jitter,
// direction noise, 15 % missed and 5 % spurious minutiae, partial contact).
type fsynth struct{ rng *rand.Rand }

func newFSynth(seed uint64) *fsynth {
	return &fsynth{rng: rand.New(rand.NewPCG(seed, 0x5eed))}
}

type masterFinger struct {
	cx, cy float64
	ms     []finger.Minutia
}

func (s *fsynth) master() *masterFinger {
	r := s.rng
	m := &masterFinger{cx: 194 + r.NormFloat64()*10, cy: 187 + r.NormFloat64()*10}
	ax, ay := 100+30*r.Float64(), 130+30*r.Float64()
	coreX, coreY := m.cx+r.NormFloat64()*20, m.cy-40+r.NormFloat64()*20
	base := r.Float64() * math.Pi
	k := []float64{0.5, 1, 0.25, 0}[r.IntN(4)] // loop, whorl, wide loop, arch-like flow
	n := 35 + r.IntN(25)
	for tries := 0; len(m.ms) < n && tries < 4000; tries++ {
		x := m.cx + (2*r.Float64()-1)*ax
		y := m.cy + (2*r.Float64()-1)*ay
		if (x-m.cx)*(x-m.cx)/(ax*ax)+(y-m.cy)*(y-m.cy)/(ay*ay) > 1 {
			continue
		}
		ok := true
		for _, o := range m.ms {
			if math.Hypot(float64(o.X)-x, float64(o.Y)-y) < 14 {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		// ridge flow: half the angle around the core, a loop-like field
		theta := base + k*math.Atan2(y-coreY, x-coreX)
		if r.IntN(2) == 0 {
			theta += math.Pi
		}
		m.ms = append(m.ms, finger.Minutia{X: int(x), Y: int(y), Angle: wrap2pi(theta + r.NormFloat64()*0.1),
			Type: finger.MinutiaType(1 + r.IntN(2)), Quality: 60})
	}
	return m
}

func (s *fsynth) impression(m *masterFinger) *finger.Template {
	r := s.rng
	rot := (2*r.Float64() - 1) * math.Pi / 6
	tx, ty := (2*r.Float64()-1)*25, (2*r.Float64()-1)*25
	c, sn := math.Cos(rot), math.Sin(rot)
	keepR := 130 + 40*r.Float64() // partial contact: a disc around a shifted centre
	kx, ky := m.cx+r.NormFloat64()*15, m.cy+r.NormFloat64()*15
	t := &finger.Template{Width: 388, Height: 374, DPI: 500, Quality: 80}
	add := func(x, y, a float64, typ finger.MinutiaType) {
		// rotate about the image centre, then translate; image y is down, angles are y-up
		dx, dy := x-194, y-187
		nx := 194 + dx*c - dy*sn + tx
		ny := 187 + dx*sn + dy*c + ty
		if nx < 0 || ny < 0 || nx >= 388 || ny >= 374 {
			return
		}
		t.Minutiae = append(t.Minutiae, finger.Minutia{X: int(nx), Y: int(ny), Angle: wrap2pi(a - rot), Type: typ, Quality: 60})
	}
	for _, mm := range m.ms {
		x, y := float64(mm.X), float64(mm.Y)
		if math.Hypot(x-kx, y-ky) > keepR || r.Float64() < 0.15 {
			continue
		}
		dist := math.Hypot(x-m.cx, y-m.cy) / 100 // distortion grows away from the centre
		add(x+r.NormFloat64()*(1+dist), y+r.NormFloat64()*(1+dist), mm.Angle+r.NormFloat64()*0.08, mm.Type)
	}
	for range len(m.ms) / 20 {
		a := r.Float64() * 2 * math.Pi
		d := r.Float64() * keepR
		add(kx+d*math.Cos(a), ky+d*math.Sin(a), r.Float64()*2*math.Pi, finger.MinutiaType(1+r.IntN(2)))
	}
	return t
}
