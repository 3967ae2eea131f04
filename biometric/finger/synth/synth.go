// Package synth generates synthetic fingerprint images with ground truth at any scale, in the manner of
// SFinGe (Cappelli, Maio, Maltoni, "Synthetic fingerprint-image generation", ICPR 2000; and ch. 7 of
// the Handbook of Fingerprint Recognition, 2nd ed.). Everything is fixed in code; nothing was tuned
// against the project's matcher.
//
// Per finger (deterministic in seed and finger id):
//   - class drawn with the natural frequencies of Henry classes (arch 3.7 %, tented arch 2.9 %, left
//     loop 33.8 %, right loop 31.7 %, whorl 27.9 %; Wilson et al., NIST), singular points placed by
//     class with random jitter;
//   - orientation field from the Sherlock-Monro zero-pole model (θ = ½ Σ arg(z − core) − ½ Σ arg(z −
//     delta), in image coordinates with y down), plus a small smooth random perturbation;
//   - ridge period uniform in [8, 11] px (500 dpi);
//   - the master print is grown from 90 random seeds by 9 iterations of an oriented Gabor filter
//     tuned to the local orientation and the period, saturating after each pass, so that ridges,
//     endings and bifurcations arise where the growth fronts meet;
//   - the fingertip's contact area is an ellipse of random size.
//
// Per impression (deterministic in seed, finger id and impression number):
//   - rotation uniform in ±30°, translation uniform in ±25 px;
//   - elastic distortion: a smooth random displacement field (up to ~6 px) whose amplitude grows with
//     distance from the contact centre (the skin slides least where the pressure is highest);
//   - partial contact: the ellipse shifted and shrunk at random, and one of its sides cut off with
//     probability 0.3;
//   - skin condition: a ridge-width shift (dry ↔ wet) uniform in ±0.35 of the saturation level,
//     contrast and brightness variation, Gaussian noise σ ∈ [6, 18] grey levels and 0–4 blotches.
//
// Images are 388×374 8-bit, dark ridges on white, like FVC2002 DB1.
package synth

import (
	"image"
	"math"
	"math/rand/v2"
	"sync"
)

// Size of the generated images.
const (
	Width  = 388
	Height = 374
)

// master canvas, larger than the image so rotation and translation never expose its edge
const (
	mw, mh   = 420, 440
	nBins    = 32
	growIter = 9
	nSeeds   = 90
)

// Class is the Henry class of a generated finger.
type Class int

const (
	Arch Class = iota
	TentedArch
	LeftLoop
	RightLoop
	Whorl
)

func (c Class) String() string {
	return [...]string{"arch", "tented arch", "left loop", "right loop", "whorl"}[c]
}

// Finger is a master fingerprint: the ridge pattern of one finger before any impression.
type Finger struct {
	Class  Class
	Period float64
	ridges []float32 // mw×mh in [-1, 1]; negative is ridge
	cx, cy float64   // contact centre on the master
	ax, ay float64   // contact ellipse half axes
}

type key struct {
	seed uint64
	id   int
}

var cache = struct {
	sync.Mutex
	m     map[key]*Finger
	order []key
}{m: map[key]*Finger{}}

const cacheSize = 64

// Generate renders impression number impression of finger fingerID of the population seed. The same
// arguments always give the same image. Master prints are cached (the last 64), so generating all
// impressions of a finger in a row costs one master.
func Generate(seed uint64, fingerID, impression int) *image.Gray {
	return MasterFinger(seed, fingerID).Impression(seed, fingerID, impression)
}

// MasterFinger returns (and caches) the master print of a finger.
func MasterFinger(seed uint64, fingerID int) *Finger {
	k := key{seed, fingerID}
	cache.Lock()
	f, ok := cache.m[k]
	cache.Unlock()
	if ok {
		return f
	}
	f = newFinger(seed, fingerID)
	cache.Lock()
	if _, ok := cache.m[k]; !ok {
		cache.m[k] = f
		cache.order = append(cache.order, k)
		if len(cache.order) > cacheSize {
			delete(cache.m, cache.order[0])
			cache.order = cache.order[1:]
		}
	}
	cache.Unlock()
	return f
}

func rng(seed uint64, a, b int) *rand.Rand {
	return rand.New(rand.NewPCG(seed^0x9E3779B97F4A7C15, uint64(a)<<32^uint64(b)^0xD1B54A32D192ED03))
}

func newFinger(seed uint64, id int) *Finger {
	r := rng(seed, id, -1)
	f := &Finger{Class: drawClass(r)}
	f.Period = 8 + 3*r.Float64()
	f.cx, f.cy = mw/2+r.NormFloat64()*8, mh/2+r.NormFloat64()*8
	f.ax, f.ay = 120+25*r.Float64(), 160+30*r.Float64()
	j := func(s float64) float64 { return r.NormFloat64() * s }
	var cores, deltas []complex128
	cx, cy := f.cx, f.cy
	switch f.Class {
	case Arch: // singular points far below the print bend the ridges into arches
		cores = []complex128{complex(cx+j(10), cy+260+j(20))}
		deltas = []complex128{complex(cx+j(10), cy+420+j(20))}
	case TentedArch:
		cores = []complex128{complex(cx+j(8), cy-10+j(15))}
		deltas = []complex128{complex(cx+j(8), cy+70+j(15))}
	case LeftLoop:
		cores = []complex128{complex(cx-15+j(12), cy-30+j(15))}
		deltas = []complex128{complex(cx+70+j(15), cy+80+j(15))}
	case RightLoop:
		cores = []complex128{complex(cx+15+j(12), cy-30+j(15))}
		deltas = []complex128{complex(cx-70+j(15), cy+80+j(15))}
	case Whorl:
		d := 12 + 10*r.Float64()
		cores = []complex128{complex(cx-d/2+j(5), cy-25+j(8)), complex(cx+d/2+j(5), cy-15+j(8))}
		deltas = []complex128{complex(cx-85+j(12), cy+85+j(12)), complex(cx+85+j(12), cy+85+j(12))}
	}
	// smooth perturbation of the orientation: a few low-frequency waves, ±~8°
	type wave struct{ kx, ky, ph, a float64 }
	var waves [4]wave
	for i := range waves {
		waves[i] = wave{r.NormFloat64() * 0.012, r.NormFloat64() * 0.012, r.Float64() * 2 * math.Pi, 0.07 * r.Float64()}
	}
	bins := make([]uint8, mw*mh)
	for y := range mh {
		for x := range mw {
			z := complex(float64(x), float64(y))
			var t float64
			for _, d := range deltas {
				t -= 0.5 * phase(z-d)
			}
			for _, c := range cores {
				t += 0.5 * phase(z-c)
			}
			for _, w := range waves {
				t += w.a * math.Sin(w.kx*float64(x)+w.ky*float64(y)+w.ph)
			}
			t = math.Mod(t, math.Pi)
			if t < 0 {
				t += math.Pi
			}
			bins[y*mw+x] = uint8(int(math.Round(t/math.Pi*nBins)) % nBins)
		}
	}
	f.ridges = grow(bins, f.Period, r)
	return f
}

func phase(z complex128) float64 { return math.Atan2(imag(z), real(z)) }

// grow runs the Gabor growth from random seeds.
func grow(bins []uint8, period float64, r *rand.Rand) []float32 {
	type kern struct {
		dx, dy []int
		w      []float32
	}
	sx, sy := 0.45*period, 0.55*period
	rx, ry := int(math.Ceil(1.8*sx)), int(math.Ceil(1.4*sy))
	var along, across [nBins]kern
	for b := range nBins {
		t := float64(b) * math.Pi / nBins
		tx, ty := math.Cos(t), math.Sin(t)
		var ka, kc kern
		var s float32
		for j := -ry; j <= ry; j++ {
			ka.dx = append(ka.dx, int(math.Round(float64(j)*tx)))
			ka.dy = append(ka.dy, int(math.Round(float64(j)*ty)))
			w := float32(math.Exp(-float64(j*j) / (2 * sy * sy)))
			ka.w = append(ka.w, w)
			s += w
		}
		for i := range ka.w {
			ka.w[i] /= s
		}
		var mean, gs float64
		for k := -rx; k <= rx; k++ {
			g := math.Exp(-float64(k*k) / (2 * sx * sx))
			mean += g * math.Cos(2*math.Pi*float64(k)/period)
			gs += g
		}
		mean /= gs
		for k := -rx; k <= rx; k++ {
			g := math.Exp(-float64(k*k) / (2 * sx * sx))
			kc.dx = append(kc.dx, int(math.Round(-float64(k)*ty)))
			kc.dy = append(kc.dy, int(math.Round(float64(k)*tx)))
			kc.w = append(kc.w, float32(g*(math.Cos(2*math.Pi*float64(k)/period)-mean)))
		}
		along[b], across[b] = ka, kc
	}
	// padded working buffers so the taps never index outside
	const pd = 24
	pw := mw + 2*pd
	img := make([]float32, pw*(mh+2*pd))
	tmp := make([]float32, len(img))
	offs := func(k *kern) []int {
		o := make([]int, len(k.w))
		for i := range o {
			o[i] = k.dy[i]*pw + k.dx[i]
		}
		return o
	}
	var aoff, coff [nBins][]int
	for b := range nBins {
		aoff[b], coff[b] = offs(&along[b]), offs(&across[b])
	}
	for range nSeeds {
		x, y := 20+r.IntN(mw-40), 20+r.IntN(mh-40)
		v := float32(1)
		if r.IntN(2) == 0 {
			v = -1
		}
		img[(y+pd)*pw+x+pd] = v
	}
	for it := range growIter {
		for y := range mh {
			for x := range mw {
				b := bins[y*mw+x]
				k, o := &along[b], aoff[b]
				i := (y+pd)*pw + x + pd
				var s float32
				for t, w := range k.w {
					s += w * img[i+o[t]]
				}
				tmp[i] = s
			}
		}
		gain := float32(6)
		if it == growIter-1 {
			gain = 3
		}
		for y := range mh {
			for x := range mw {
				b := bins[y*mw+x]
				k, o := &across[b], coff[b]
				i := (y+pd)*pw + x + pd
				var s float32
				for t, w := range k.w {
					s += w * tmp[i+o[t]]
				}
				img[i] = max(-1, min(1, s*gain))
			}
		}
	}
	out := make([]float32, mw*mh)
	for y := range mh {
		copy(out[y*mw:(y+1)*mw], img[(y+pd)*pw+pd:])
	}
	return out
}

// Impression renders one impression of the master print.
func (f *Finger) Impression(seed uint64, fingerID, impression int) *image.Gray {
	r := rng(seed, fingerID, impression)
	rot := (r.Float64()*2 - 1) * math.Pi / 6
	tx, ty := (r.Float64()*2-1)*25, (r.Float64()*2-1)*25
	// distortion field: low-frequency waves
	type wave struct{ kx, ky, ph, ax, ay float64 }
	var waves [3]wave
	for i := range waves {
		waves[i] = wave{r.NormFloat64() * 0.015, r.NormFloat64() * 0.015, r.Float64() * 2 * math.Pi,
			r.NormFloat64() * 2.5, r.NormFloat64() * 2.5}
	}
	// contact ellipse for this impression
	ecx, ecy := f.cx+r.NormFloat64()*12, f.cy+r.NormFloat64()*15
	eax, eay := f.ax*(0.8+0.2*r.Float64()), f.ay*(0.75+0.25*r.Float64())
	cut, cutSide, cutAt := r.Float64() < 0.3, r.IntN(4), 0.45+0.35*r.Float64()
	level := float32((r.Float64()*2 - 1) * 0.35)
	dark := 30 + 50*r.Float64()
	bright := 215 + 30*r.Float64()
	noise := 6 + 12*r.Float64()
	type blotch struct{ x, y, rad, v float64 }
	var blotches []blotch
	for range r.IntN(5) {
		blotches = append(blotches, blotch{r.Float64() * Width, r.Float64() * Height, 10 + 30*r.Float64(), (r.Float64()*2 - 1) * 0.8})
	}
	out := image.NewGray(image.Rect(0, 0, Width, Height))
	cr, sr := math.Cos(rot), math.Sin(rot)
	icx, icy := float64(Width)/2, float64(Height)/2
	for y := range Height {
		for x := range Width {
			// image → master: undo translation and rotation about the image centre
			dx, dy := float64(x)-icx-tx, float64(y)-icy-ty
			mx := f.cx + dx*cr + dy*sr
			my := f.cy - dx*sr + dy*cr
			// elastic distortion grows with distance from the contact centre
			ex, ey := (mx-ecx)/eax, (my-ecy)/eay
			e2 := ex*ex + ey*ey
			amp := math.Min(1, e2)
			for _, w := range waves {
				s := math.Sin(w.kx*mx + w.ky*my + w.ph)
				mx += amp * w.ax * s
				my += amp * w.ay * s
			}
			v := 255.0
			inside := e2 <= 1
			if inside && cut {
				switch cutSide {
				case 0:
					inside = ex > -1+2*(1-cutAt)*0.5
				case 1:
					inside = ex < 1-2*(1-cutAt)*0.5
				case 2:
					inside = ey > -1+2*(1-cutAt)*0.5
				case 3:
					inside = ey < 1-2*(1-cutAt)*0.5
				}
			}
			if inside {
				rv := bilinear(f.ridges, mx, my) - level
				// soft edge of the contact area
				edge := math.Min(1, (1-math.Sqrt(e2))*8)
				for _, b := range blotches {
					if d := math.Hypot(float64(x)-b.x, float64(y)-b.y); d < b.rad {
						rv += float32(b.v * (1 - d/b.rad))
					}
				}
				t := 0.5 + 0.5*float64(max(-1, min(1, rv*1.5))) // 0 ridge … 1 valley
				v = 255 - edge*(255-(dark+(bright-dark)*t))
			}
			v += r.NormFloat64() * noise
			out.Pix[y*out.Stride+x] = uint8(max(0, min(255, math.Round(v))))
		}
	}
	return out
}

func bilinear(v []float32, x, y float64) float32 {
	if x < 0 || y < 0 || x >= mw-1 || y >= mh-1 {
		return 1
	}
	x0, y0 := int(x), int(y)
	fx, fy := float32(x-float64(x0)), float32(y-float64(y0))
	i := y0*mw + x0
	return v[i]*(1-fx)*(1-fy) + v[i+1]*fx*(1-fy) + v[i+mw]*(1-fx)*fy + v[i+mw+1]*fx*fy
}

// ClassOf returns the class of a finger without rendering it.
func ClassOf(seed uint64, fingerID int) Class {
	return drawClass(rng(seed, fingerID, -1))
}

func drawClass(r *rand.Rand) Class {
	u := r.Float64()
	switch {
	case u < 0.037:
		return Arch
	case u < 0.066:
		return TentedArch
	case u < 0.404:
		return LeftLoop
	case u < 0.721:
		return RightLoop
	}
	return Whorl
}
