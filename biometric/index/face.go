package index

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
)

// DlibDim is the length of a dlib face descriptor (dlib_face_recognition_resnet_model_v1: a
// 128-d embedding compared by Euclidean distance; dlib's own same-person threshold is 0.6).
const DlibDim = 128

// Dim is the dimension the 8-bit scan kernel is built for (dlib's).
const Dim = DlibDim

// FacenetDim is the length of biometric/facenet's shipped descriptor (Faceplugin fr_feature:
// 512-d, unit length; docs/face-engines.md).
const FacenetDim = 512

// Descriptor is one face embedding; its length is the gallery's FaceSpace.Dim.
type Descriptor []float32

// DefaultClip is the descriptor value mapped to int8 ±127 in dlib's space. dlib descriptors are
// roughly unit scale overall with components mostly inside ±0.3; a component beyond the clip
// saturates its code, which only loosens the pre-filter (the float32 re-rank stays exact).
const DefaultClip = 0.5

// FaceSpace is the descriptor space of a face gallery: which engine made the descriptors (the
// gallery holds and searches only that engine's: two engines' distances mean nothing together),
// their length, and how the scan codes them.
type FaceSpace struct {
	// Engine identifies the engine and model set (e.g. "facenet-frfeature-p2+mirror@096feec3…",
	// see SpaceFor); stored with every entry.
	Engine string
	Dim    int     // descriptor length
	Bits   int     // scan code bits per dimension: 8 (Dim must be 128) or 4 (Dim a multiple of 8)
	Clip   float32 // descriptor value mapped to the largest code
	// Rerank is the default number of scan candidates per worker re-ranked exactly.
	Rerank int
	// Legacy: the space also holds the stored descriptors that name no engine (dlib's, stored
	// before the engine was recorded, and registry deltas that name none).
	Legacy bool
}

// DlibSpace is dlib's 128-d space with int8 codes (legacy galleries, stored before the engine was
// recorded, are in it).
var DlibSpace = FaceSpace{Engine: "dlib", Dim: DlibDim, Bits: 8, Clip: DefaultClip, Rerank: 64, Legacy: true}

// FacenetSpace is the facenet engine's 512-d unit-length space with 4-bit codes: 256 B per entry
// to scan, the same bytes per dimension budget as int8 would need at 256-d. Components of a
// unit 512-d descriptor spread about ±1/√512 ≈ 0.044; the clip at 0.16 keeps 3.6 σ and a code
// step of 0.023. The query is coded 16× finer (int8 ±112), so the scan's order error comes from
// the gallery's codes alone; 256 candidates per worker are re-ranked exactly.
var FacenetSpace = FaceSpace{Engine: "facenet", Dim: FacenetDim, Bits: 4, Clip: 0.16, Rerank: 256}

// Validate checks that the scan can code the space.
func (s FaceSpace) Validate() error {
	switch {
	case s.Engine == "":
		return errors.New("face space: no engine")
	case s.Bits == 8 && s.Dim != Dim:
		return fmt.Errorf("face space %s: 8-bit codes need %d dimensions, not %d", s.Engine, Dim, s.Dim)
	case s.Bits == 4 && (s.Dim <= 0 || s.Dim%8 != 0 || s.Dim > 4096):
		return fmt.Errorf("face space %s: 4-bit codes need a multiple of 8 dimensions up to 4096, not %d", s.Engine, s.Dim)
	case s.Bits != 8 && s.Bits != 4:
		return fmt.Errorf("face space %s: %d-bit codes", s.Engine, s.Bits)
	case !(s.Clip > 0) || math.IsInf(float64(s.Clip), 0):
		return fmt.Errorf("face space %s: clip %v", s.Engine, s.Clip)
	}
	return nil
}

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
	Space    FaceSpace // descriptor space (zero: DlibSpace)
	Clip     float32   // value mapped to the largest code (Space.Clip)
	Rerank   int       // candidates per worker re-ranked exactly (Space.Rerank, at least 8·k)
	Workers  int       // parallel scan workers (GOMAXPROCS)
	Capacity int       // entries to reserve up front (avoids regrowth while bulk loading)
}

// FaceGallery is an in-memory 1:N index over face descriptors of one FaceSpace.
//
// Layout: all descriptors sit in one contiguous []float32 (Dim per entry) and their codes in
// blocks of 16 entries: int8 codes (dlib) interleaved by groups of 4 dimensions, or 4-bit codes
// (facenet) whose byte holds dimension j in its low and j+4 in its high nibble, by groups of 8. A
// search streams the codes (a quarter or an eighth of the float32 bytes) through an integer
// squared-distance kernel (AVX512-VNNI on amd64), keeps the best few hundred slots per worker,
// and re-ranks those with the exact float32 distance. Workers split the slots into contiguous
// ranges, one per core.
//
// Locking is read-mostly: searches share a read lock for the whole scan, Add and Remove take the
// write lock briefly (append, or move the last slot into the freed one).
type FaceGallery struct {
	mu      sync.RWMutex
	space   FaceSpace
	err     error   // an invalid space: every call fails with it
	inv     float32 // code levels / clip
	qinv    float32 // query levels / clip
	rerank  int
	workers int
	bblk    int       // bytes per block of 16 codes
	vecs    []float32 // n·Dim, slot-major
	codes   []uint8   // ceil(n/16) blocks (see codeOffset, nibbleOffset)
	norms   []int32   // Σ code² per slot (×16 for 4-bit codes), padded to whole blocks
	ids     []string
	persons []string
	slot    map[string]int
}

// NewFaceGallery returns an empty gallery. An invalid space makes every call fail.
func NewFaceGallery(o FaceOptions) *FaceGallery {
	if o.Space.Engine == "" && o.Space.Dim == 0 {
		o.Space = DlibSpace
	}
	sp := o.Space
	if o.Clip > 0 && !math.IsInf(float64(o.Clip), 0) {
		sp.Clip = o.Clip
	}
	if o.Rerank <= 0 {
		o.Rerank = max(sp.Rerank, 64)
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	g := &FaceGallery{space: sp, rerank: o.Rerank, workers: o.Workers, slot: map[string]int{}}
	if g.err = sp.Validate(); g.err != nil {
		return g
	}
	if sp.Bits == 8 {
		g.inv, g.qinv, g.bblk = 127/sp.Clip, 127/sp.Clip, blockBytes
	} else {
		g.inv, g.qinv, g.bblk = 7/sp.Clip, 112/sp.Clip, blockLanes*sp.Dim/2
	}
	if o.Capacity > 0 {
		g.vecs = make([]float32, 0, o.Capacity*sp.Dim)
		nb := (o.Capacity + blockLanes - 1) / blockLanes
		g.codes = make([]uint8, 0, nb*g.bblk)
		g.norms = make([]int32, 0, nb*blockLanes)
		g.ids = make([]string, 0, o.Capacity)
		g.persons = make([]string, 0, o.Capacity)
		g.slot = make(map[string]int, o.Capacity)
	}
	return g
}

// Space is the gallery's descriptor space.
func (g *FaceGallery) Space() FaceSpace { return g.space }

// ErrBadDescriptor reports a descriptor with a NaN or infinite component.
var ErrBadDescriptor = errors.New("descriptor has a NaN or infinite component")

// ErrDimension reports a descriptor whose length is not the gallery's: it comes from another
// face engine.
var ErrDimension = errors.New("descriptor dimension is not the gallery's")

func checkDescriptor(d Descriptor, dim int) error {
	if len(d) != dim {
		return fmt.Errorf("%w: %d, want %d", ErrDimension, len(d), dim)
	}
	for _, v := range d {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return ErrBadDescriptor
		}
	}
	return nil
}

func (g *FaceGallery) check(d Descriptor) error {
	if g.err != nil {
		return g.err
	}
	return checkDescriptor(d, g.space.Dim)
}

// setCode stores code as slot i's code and norm (the blocks must already cover slot i).
func (g *FaceGallery) setCode(i int, code []int8) {
	var norm int32
	if g.space.Bits == 8 {
		for j, c := range code {
			g.codes[codeOffset(i, j)] = uint8(int32(c) + 128)
			norm += int32(c) * int32(c)
		}
		g.norms[i] = norm
		return
	}
	for j, c := range code {
		off, high := nibbleOffset(i, j, g.space.Dim)
		v := uint8(int32(c) + 8)
		if high {
			g.codes[off] = g.codes[off]&0x0F | v<<4
		} else {
			g.codes[off] = g.codes[off]&0xF0 | v
		}
		norm += int32(c) * int32(c)
	}
	g.norms[i] = 16 * norm
}

// code reads back slot i's code.
func (g *FaceGallery) code(i int) []int8 {
	c := make([]int8, g.space.Dim)
	for j := range c {
		if g.space.Bits == 8 {
			c[j] = int8(int32(g.codes[codeOffset(i, j)]) - 128)
			continue
		}
		off, high := nibbleOffset(i, j, g.space.Dim)
		v := g.codes[off]
		if high {
			v >>= 4
		}
		c[j] = int8(int32(v&0x0F) - 8)
	}
	return c
}

func quantiseTo(d Descriptor, out []int8, inv float32, lim float64) {
	for j, v := range d {
		x := math.Round(float64(v * inv))
		if x > lim {
			x = lim
		} else if x < -lim {
			x = -lim
		}
		out[j] = int8(x)
	}
}

// quantise codes a gallery entry.
func (g *FaceGallery) quantise(d Descriptor, out []int8) {
	lim := 127.0
	if g.space.Bits == 4 {
		lim = 7
	}
	quantiseTo(d, out, g.inv, lim)
}

// quantiseQuery codes a query (16× finer than the entries for 4-bit codes).
func (g *FaceGallery) quantiseQuery(d Descriptor, out []int8) {
	lim := 127.0
	if g.space.Bits == 4 {
		lim = 112
	}
	quantiseTo(d, out, g.qinv, lim)
}

// score runs the space's kernel over whole blocks.
func (g *FaceGallery) score(q []int8, blocks []uint8, norms []int32, out []int32) {
	if g.space.Bits == 8 {
		scoreBlocks(q, blocks, norms, out)
		return
	}
	scoreBlocks4(q, blocks, norms, out, g.space.Dim)
}

// Add inserts an entry, replacing the one with the same ID.
func (g *FaceGallery) Add(e FaceEntry) error {
	if e.ID == "" {
		return errors.New("face gallery add: empty id")
	}
	if err := g.check(e.Descriptor); err != nil {
		return fmt.Errorf("face gallery add %q: %w", e.ID, err)
	}
	dim := g.space.Dim
	code := make([]int8, dim)
	g.quantise(e.Descriptor, code)
	g.mu.Lock()
	defer g.mu.Unlock()
	if i, ok := g.slot[e.ID]; ok {
		copy(g.vecs[i*dim:(i+1)*dim], e.Descriptor)
		g.setCode(i, code)
		g.persons[i] = e.Person
		return nil
	}
	i := len(g.ids)
	if i%blockLanes == 0 {
		g.codes = append(g.codes, make([]uint8, g.bblk)...)
		g.norms = append(g.norms, make([]int32, blockLanes)...)
	}
	g.setCode(i, code)
	g.slot[e.ID] = i
	g.vecs = append(g.vecs, e.Descriptor...)
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
	dim := g.space.Dim
	last := len(g.ids) - 1
	if i != last {
		copy(g.vecs[i*dim:(i+1)*dim], g.vecs[last*dim:])
		g.setCode(i, g.code(last))
		g.ids[i] = g.ids[last]
		g.persons[i] = g.persons[last]
		g.slot[g.ids[i]] = i
	}
	g.ids[last], g.persons[last] = "", ""
	g.vecs = g.vecs[:last*dim]
	if last%blockLanes == 0 {
		g.codes = g.codes[:len(g.codes)-g.bblk]
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
	dim := g.space.Dim
	e := FaceEntry{ID: id, Person: g.persons[i], Descriptor: make(Descriptor, dim)}
	copy(e.Descriptor, g.vecs[i*dim:])
	return e, true
}

// BytesPerEntry is the gallery's own memory per entry, excluding the ID and person strings.
func (g *FaceGallery) BytesPerEntry() int {
	return g.space.Dim*4 + g.bblk/blockLanes + 4 + 2*16 + 8
}

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
		g.score(q, g.codes[b0*g.bblk:(b0+nb)*g.bblk], g.norms[b0*blockLanes:(b0+nb)*blockLanes], buf[:nb*blockLanes])
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
	if err := g.check(q); err != nil {
		return nil, fmt.Errorf("face search: %w", err)
	}
	if k <= 0 {
		return nil, nil
	}
	dim := g.space.Dim
	qc := make([]int8, dim)
	g.quantiseQuery(q, qc)
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
		parts[0] = g.scanRange(qc, 0, n, r)
	} else {
		var wg sync.WaitGroup
		nb := (n + blockLanes - 1) / blockLanes
		per := (nb + w - 1) / w * blockLanes
		for i := range w {
			lo, hi := min(i*per, n), min((i+1)*per, n)
			wg.Add(1)
			go func() {
				defer wg.Done()
				parts[i] = g.scanRange(qc, lo, hi, r)
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
			all = append(all, scored{d: l2Float32(q, g.vecs[int(c.slot)*dim:int(c.slot+1)*dim]), slot: c.slot})
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
	if err := g.check(q); err != nil {
		return nil, fmt.Errorf("face exact search: %w", err)
	}
	if k <= 0 {
		return nil, nil
	}
	dim := g.space.Dim
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
				d := l2Float32(q, g.vecs[s*dim:(s+1)*dim])
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
