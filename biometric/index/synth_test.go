package index

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Synthetic descriptors shaped like dlib's: a shared mean offset, identity centres spread so that
// two people sit ~0.9 apart and two photos of one person ~0.4 apart (dlib's threshold is 0.6).
const (
	synthCentreSigma = 0.054 // per component: sqrt(2·128)·σ ≈ 0.86 between centres
	synthNoiseSigma  = 0.025 // per component: sqrt(2·128)·σ ≈ 0.40 between two photos
)

// Synthetic descriptors shaped like the facenet engine's (512-d, unit length): identity centres
// around a shared direction (mean cosine between two people ≈ 0.08, distance ≈ 1.36), two photos
// of one person ≈ 0.75 apart; the shipped calibration matches at 1.138 and reviews up to 1.215.
const (
	synthNetMean  = 0.3    // norm of the shared direction before normalising
	synthNetNoise = 0.0265 // per component: ≈ 0.6 of noise on a unit centre
)

type synth struct {
	rng  *rand.Rand
	dim  int
	net  bool // facenet-like (unit length) instead of dlib-like
	mean Descriptor
}

// newSynth returns a dlib-like generator.
func newSynth(seed uint64) *synth { return newSynthFor(seed, DlibSpace) }

// newSynthFor returns a generator for the space's engine (dlib-like for 128-d spaces,
// facenet-like otherwise).
func newSynthFor(seed uint64, sp FaceSpace) *synth {
	s := &synth{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), dim: sp.Dim, net: sp.Dim != DlibDim}
	s.mean = make(Descriptor, s.dim)
	if s.net {
		for j := range s.mean {
			s.mean[j] = float32(s.rng.NormFloat64())
		}
		unit(s.mean, synthNetMean)
		return s
	}
	for j := range s.mean {
		s.mean[j] = float32(s.rng.NormFloat64() * 0.03)
	}
	return s
}

// unit scales d to length l.
func unit(d Descriptor, l float64) {
	var n float64
	for _, v := range d {
		n += float64(v) * float64(v)
	}
	k := float32(l / math.Sqrt(n))
	for j := range d {
		d[j] *= k
	}
}

// identity returns a new identity centre.
func (s *synth) identity() Descriptor {
	c := make(Descriptor, s.dim)
	if s.net {
		for j := range c {
			c[j] = float32(s.rng.NormFloat64())
		}
		unit(c, 1)
		for j := range c {
			c[j] += s.mean[j]
		}
		unit(c, 1)
		return c
	}
	for j := range c {
		c[j] = s.mean[j] + float32(s.rng.NormFloat64()*synthCentreSigma)
	}
	return c
}

// sample returns one photo's descriptor of the identity with centre c.
func (s *synth) sample(c *Descriptor) Descriptor {
	d := make(Descriptor, s.dim)
	sigma := synthNoiseSigma
	if s.net {
		sigma = synthNetNoise
	}
	for j := range d {
		d[j] = (*c)[j] + float32(s.rng.NormFloat64()*sigma)
	}
	if s.net {
		unit(d, 1)
	}
	return d
}

// random returns an unstructured descriptor: every component uniform in ±0.25 (dlib-like), or a
// uniformly random unit vector (facenet-like).
func (s *synth) random() Descriptor {
	d := make(Descriptor, s.dim)
	if s.net {
		for j := range d {
			d[j] = float32(s.rng.NormFloat64())
		}
		unit(d, 1)
		return d
	}
	for j := range d {
		d[j] = float32(s.rng.Float64()*0.5 - 0.25)
	}
	return d
}

// clusteredGallery fills g with n entries of n/perPerson identities and returns the centres.
func (s *synth) clusteredGallery(g *FaceGallery, n, perPerson int) []Descriptor {
	var centres []Descriptor
	for i := 0; i < n; i++ {
		if i%perPerson == 0 {
			centres = append(centres, s.identity())
		}
		p := len(centres) - 1
		if err := g.Add(FaceEntry{ID: fmt.Sprintf("e%07d", i), Person: fmt.Sprintf("p%07d", p), Descriptor: s.sample(&centres[p])}); err != nil {
			panic(err)
		}
	}
	return centres
}

// clusteredQueries returns n queries not in the gallery: half new photos of enrolled people, half
// new people.
func (s *synth) clusteredQueries(centres []Descriptor, n int) []Descriptor {
	qs := make([]Descriptor, n)
	for i := range qs {
		if i%2 == 0 {
			qs[i] = s.sample(&centres[s.rng.IntN(len(centres))])
		} else {
			c := s.identity()
			qs[i] = s.sample(&c)
		}
	}
	return qs
}

// recallAt1 is the fraction of queries whose top hit equals the exact search's top hit (or ties
// it on distance).
func recallAt1(g *FaceGallery, qs []Descriptor) (float64, error) {
	hit := 0
	for _, q := range qs {
		a, err := g.Search(q, 1)
		if err != nil {
			return 0, err
		}
		e, err := g.SearchExact(q, 1)
		if err != nil {
			return 0, err
		}
		if len(a) == 1 && len(e) == 1 && (a[0].ID == e[0].ID || a[0].Distance == e[0].Distance) {
			hit++
		}
	}
	return float64(hit) / float64(len(qs)), nil
}
