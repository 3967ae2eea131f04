package index

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
)

// Dim is the length of a dlib face descriptor (dlib_face_recognition_resnet_model_v1: a 128-d
// embedding compared by Euclidean distance; dlib's own same-person threshold is 0.6).
const Dim = 128

// Descriptor is one face embedding.
type Descriptor [Dim]float32

// DefaultClip is the descriptor value mapped to int8 ±127. dlib descriptors are roughly unit
// scale overall with components mostly inside ±0.3; a component beyond the clip saturates its
// code, which only loosens the pre-filter (the float32 re-rank stays exact).
const DefaultClip = 0.5

// FaceEntry is one enrolled descriptor. ID is unique in the gallery (an enrollment record id or a
// registry gallery id); Person groups the descriptors of one identity.
type FaceEntry struct {
	ID         string
	Person     string
	Descriptor Descriptor
}

// FaceHit is one search result; Distance is the exact Euclidean distance (not squared).
type FaceHit struct {
	ID       string
	Person   string
	Distance float32
}

// FaceOptions tunes a FaceGallery. Zero values pick the defaults.
type FaceOptions struct {
	Clip     float32 // value mapped to code ±127 (DefaultClip)
	Rerank   int     // int8 candidates per worker re-ranked exactly (at least 64, and 8·k)
	Workers  int     // parallel scan workers (GOMAXPROCS)
	Capacity int     // entries to reserve up front (avoids regrowth while bulk loading)
}

// FaceGallery is an in-memory 1:N index over face descriptors.
//
// Layout: all descriptors sit in one contiguous []float32 (Dim per entry) and their int8 codes in
// one contiguous []int8, slot i at [i·Dim, (i+1)·Dim). A search streams the int8 codes (a quarter of
// the float32 bytes) through an integer squared-distance kernel (AVX2 on amd64), keeps the best
// few hundred slots per worker, and re-ranks those with the exact float32 distance. Workers split
// the slots into contiguous ranges, one per core.
//
// Locking is read-mostly: searches share a read lock for the whole scan, Add and Remove take the
// write lock briefly (append, or move the last slot into the freed one).
type FaceGallery struct {
	mu      sync.RWMutex
	inv     float32 // 127 / clip
	rerank  int
	workers int
	vecs    []float32 // n·Dim, slot-major
	codes   []uint8   // ceil(n/16) blocks of 16 codes (see codeOffset), each byte code+128
	norms   []int32   // Σ code² per slot, padded to whole blocks
	ids     []string
	persons []string
	slot    map[string]int
}

// NewFaceGallery returns an empty gallery.
func NewFaceGallery(o FaceOptions) *FaceGallery {
	if o.Clip <= 0 || math.IsNaN(float64(o.Clip)) || math.IsInf(float64(o.Clip), 0) {
		o.Clip = DefaultClip
	}
	if o.Rerank <= 0 {
		o.Rerank = 64
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	g := &FaceGallery{inv: 127 / o.Clip, rerank: o.Rerank, workers: o.Workers, slot: map[string]int{}}
	if o.Capacity > 0 {
		g.vecs = make([]float32, 0, o.Capacity*Dim)
		nb := (o.Capacity + blockLanes - 1) / blockLanes
		g.codes = make([]uint8, 0, nb*blockBytes)
		g.norms = make([]int32, 0, nb*blockLanes)
		g.ids = make([]string, 0, o.Capacity)
		g.persons = make([]string, 0, o.Capacity)
		g.slot = make(map[string]int, o.Capacity)
	}
	return g
}

// ErrBadDescriptor reports a descriptor with a NaN or infinite component.
var ErrBadDescriptor = errors.New("descriptor has a NaN or infinite component")

func checkDescriptor(d *Descriptor) error {
	for _, v := range d {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return ErrBadDescriptor
		}
	}
	return nil
}

// setCode stores code as slot i's code and norm (the blocks must already cover slot i).
func (g *FaceGallery) setCode(i int, code *[Dim]int8) {
	var norm int32
	for j, c := range code {
		g.codes[codeOffset(i, j)] = uint8(int32(c) + 128)
		norm += int32(c) * int32(c)
	}
	g.norms[i] = norm
}

// code reads back slot i's code.
func (g *FaceGallery) code(i int) [Dim]int8 {
	var c [Dim]int8
	for j := range c {
		c[j] = int8(int32(g.codes[codeOffset(i, j)]) - 128)
	}
	return c
}

func (g *FaceGallery) quantise(d *Descriptor, out []int8) {
	for j, v := range d {
		x := math.Round(float64(v * g.inv))
		if x > 127 {
			x = 127
		} else if x < -127 {
			x = -127
		}
		out[j] = int8(x)
	}
}

// Add inserts an entry, replacing the one with the same ID.
func (g *FaceGallery) Add(e FaceEntry) error {
	if e.ID == "" {
		return errors.New("face gallery add: empty id")
	}
	if err := checkDescriptor(&e.Descriptor); err != nil {
		return fmt.Errorf("face gallery add %q: %w", e.ID, err)
	}
	var code [Dim]int8
	g.quantise(&e.Descriptor, code[:])
	g.mu.Lock()
	defer g.mu.Unlock()
	if i, ok := g.slot[e.ID]; ok {
		copy(g.vecs[i*Dim:(i+1)*Dim], e.Descriptor[:])
		g.setCode(i, &code)
		g.persons[i] = e.Person
		return nil
	}
	i := len(g.ids)
	if i%blockLanes == 0 {
		g.codes = append(g.codes, make([]uint8, blockBytes)...)
		g.norms = append(g.norms, make([]int32, blockLanes)...)
	}
	g.setCode(i, &code)
	g.slot[e.ID] = i
	g.vecs = append(g.vecs, e.Descriptor[:]...)
	g.ids = append(g.ids, e.ID)
	g.persons = append(g.persons, e.Person)
	return nil
}

// Remove deletes the entry with this ID and reports whether it was there.
func (g *FaceGallery) Remove(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	i, ok := g.slot[id]
	if !ok {
		return false
	}
	last := len(g.ids) - 1
	if i != last {
		copy(g.vecs[i*Dim:(i+1)*Dim], g.vecs[last*Dim:])
		c := g.code(last)
		g.setCode(i, &c)
		g.ids[i] = g.ids[last]
		g.persons[i] = g.persons[last]
		g.slot[g.ids[i]] = i
	}
	g.ids[last], g.persons[last] = "", ""
	g.vecs = g.vecs[:last*Dim]
	if last%blockLanes == 0 {
		g.codes = g.codes[:len(g.codes)-blockBytes]
		g.norms = g.norms[:len(g.norms)-blockLanes]
	}
	g.ids = g.ids[:last]
	g.persons = g.persons[:last]
	delete(g.slot, id)
	return true
}

// Len is the number of entries.
func (g *FaceGallery) Len() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.ids)
}

// Get returns the entry with this ID.
func (g *FaceGallery) Get(id string) (FaceEntry, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	i, ok := g.slot[id]
	if !ok {
		return FaceEntry{}, false
	}
	e := FaceEntry{ID: id, Person: g.persons[i]}
	copy(e.Descriptor[:], g.vecs[i*Dim:])
	return e, true
}

// BytesPerEntry is the gallery's own memory per entry, excluding the ID and person strings.
const BytesPerEntry = Dim*4 + Dim + 4 + 2*16 + 8

// cand is a scan candidate: integer distance and slot.
type cand struct {
	d    int32
	slot int32
}

// topR keeps the r smallest candidates in a max-heap (worst at index 0).
type topR struct {
	h []cand
	r int
}

func (t *topR) push(c cand) {
	if len(t.h) < t.r {
		t.h = append(t.h, c)
		i := len(t.h) - 1
		for i > 0 {
			p := (i - 1) / 2
			if t.h[p].d >= t.h[i].d {
				break
			}
			t.h[p], t.h[i] = t.h[i], t.h[p]
			i = p
		}
		return
	}
	t.h[0] = c
	i, n := 0, len(t.h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && t.h[r].d > t.h[l].d {
			m = r
		}
		if t.h[i].d >= t.h[m].d {
			break
		}
		t.h[i], t.h[m] = t.h[m], t.h[i]
		i = m
	}
}

func (t *topR) worst() int32 {
	if len(t.h) < t.r {
		return math.MaxInt32
	}
	return t.h[0].d
}

// scanBlocks is how many code blocks one kernel call scores (8 KiB of results on the stack).
const scanBlocks = 128

// scanRange scores slots [lo, hi) (lo a multiple of blockLanes) and returns the r best.
func (g *FaceGallery) scanRange(q []int8, lo, hi, r int) []cand {
	t := topR{h: make([]cand, 0, r), r: r}
	var buf [scanBlocks * blockLanes]int32
	for s := lo; s < hi; s += scanBlocks * blockLanes {
		b0 := s / blockLanes
		nb := min(scanBlocks, (hi-s+blockLanes-1)/blockLanes)
		scoreBlocks(q, g.codes[b0*blockBytes:(b0+nb)*blockBytes], g.norms[b0*blockLanes:(b0+nb)*blockLanes], buf[:nb*blockLanes])
		valid := min(nb*blockLanes, hi-s)
		w := t.worst()
		for i, d := range buf[:valid] {
			if d < w {
				t.push(cand{d: d, slot: int32(s + i)})
				w = t.worst()
			}
		}
	}
	return t.h
}

// minParallel is the gallery size below which one goroutine scans everything.
const minParallel = 16384

// Search returns the k entries nearest to q (ascending exact distance).
func (g *FaceGallery) Search(q Descriptor, k int) ([]FaceHit, error) {
	if err := checkDescriptor(&q); err != nil {
		return nil, fmt.Errorf("face search: %w", err)
	}
	if k <= 0 {
		return nil, nil
	}
	var qc [Dim]int8
	g.quantise(&q, qc[:])
	r := max(g.rerank, 8*k)

	g.mu.RLock()
	defer g.mu.RUnlock()
	n := len(g.ids)
	if n == 0 {
		return nil, nil
	}
	w := g.workers
	if n < minParallel || w < 2 {
		w = 1
	}
	parts := make([][]cand, w)
	if w == 1 {
		parts[0] = g.scanRange(qc[:], 0, n, r)
	} else {
		var wg sync.WaitGroup
		nb := (n + blockLanes - 1) / blockLanes
		per := (nb + w - 1) / w * blockLanes
		for i := range w {
			lo, hi := min(i*per, n), min((i+1)*per, n)
			wg.Add(1)
			go func() {
				defer wg.Done()
				parts[i] = g.scanRange(qc[:], lo, hi, r)
			}()
		}
		wg.Wait()
	}
	type scored struct {
		d    float32
		slot int32
	}
	var all []scored
	for _, p := range parts {
		for _, c := range p {
			all = append(all, scored{d: l2Float32(q[:], g.vecs[int(c.slot)*Dim:]), slot: c.slot})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].d != all[j].d {
			return all[i].d < all[j].d
		}
		return g.ids[all[i].slot] < g.ids[all[j].slot]
	})
	out := make([]FaceHit, 0, min(k, len(all)))
	for _, s := range all[:min(k, len(all))] {
		out = append(out, FaceHit{ID: g.ids[s.slot], Person: g.persons[s.slot], Distance: float32(math.Sqrt(float64(s.d)))})
	}
	return out, nil
}

// SearchExact is the reference: a full float32 scan, parallel over the workers. The benchmarks and
// tests measure Search's recall against it.
func (g *FaceGallery) SearchExact(q Descriptor, k int) ([]FaceHit, error) {
	if err := checkDescriptor(&q); err != nil {
		return nil, fmt.Errorf("face exact search: %w", err)
	}
	if k <= 0 {
		return nil, nil
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	n := len(g.ids)
	w := g.workers
	if n < minParallel {
		w = 1
	}
	type scored struct {
		d    float32
		slot int
	}
	parts := make([][]scored, w)
	var wg sync.WaitGroup
	per := (n + w - 1) / w
	for i := range w {
		lo, hi := min(i*per, n), min((i+1)*per, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var best []scored
			for s := lo; s < hi; s++ {
				d := l2Float32(q[:], g.vecs[s*Dim:])
				if len(best) == k && d >= best[k-1].d {
					continue
				}
				j := sort.Search(len(best), func(j int) bool { return best[j].d > d })
				if len(best) < k {
					best = append(best, scored{})
				}
				copy(best[j+1:], best[j:len(best)-1])
				best[j] = scored{d: d, slot: s}
			}
			parts[i] = best
		}()
	}
	wg.Wait()
	var all []scored
	for _, p := range parts {
		all = append(all, p...)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].d != all[j].d {
			return all[i].d < all[j].d
		}
		return g.ids[all[i].slot] < g.ids[all[j].slot]
	})
	out := make([]FaceHit, 0, min(k, len(all)))
	for _, s := range all[:min(k, len(all))] {
		out = append(out, FaceHit{ID: g.ids[s.slot], Person: g.persons[s.slot], Distance: float32(math.Sqrt(float64(s.d)))})
	}
	return out, nil
}
