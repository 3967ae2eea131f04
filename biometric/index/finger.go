package index

import (
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sort"
	"sync"

	"enrolldesk/biometric/finger"
)

// FingerEntry is one enrolled finger template. Position is the ISO/IEC 19794-2 finger position
// code (0 unknown, 1 right thumb … 10 left little finger).
type FingerEntry struct {
	ID       string
	Person   string
	Position int
	Template *finger.Template
}

// FingerHit is one candidate: Score is finger.Probe.MatchProbe's score in [0, 100]; PreScore is
// the pair-code pre-selection score (per mille of the candidate's pair cells found in the probe,
// the probe's rarer cells counting twice: 0..2000).
type FingerHit struct {
	ID       string
	Person   string
	Position int
	Score    float64
	PreScore int
}

// FingerOptions tunes a FingerGallery. Zero values pick the defaults.
type FingerOptions struct {
	Shortlist int // candidates re-scored by the 1:1 matcher (DefaultShortlist)
	Workers   int // parallel workers (GOMAXPROCS)
	Capacity  int
	// Lazy keeps only templates and pair codes (~2.5 KB per finger instead of ~10 KB) and prepares
	// each shortlisted candidate at search time, which makes a search ~2.5× slower.
	Lazy bool
}

// DefaultShortlist is how many pre-selected candidates the full 1:1 matcher re-scores. Search
// costs one pair-code scan of the gallery (linear, ~1 KB per template) plus this many 1:1
// comparisons, whatever the gallery size.
const DefaultShortlist = 384

// FingerGallery is an in-memory 1:N index over finger templates: pair-code pre-selection (see
// pairs.go) followed by the prepared-probe 1:1 matcher of biometric/finger on the shortlist. Locking
// is read-mostly as in FaceGallery.
type FingerGallery struct {
	mu        sync.RWMutex
	lazy      bool
	shortlist int
	workers   int
	codes     []uint64 // n·pairWords
	counts    []int32  // bit count of each code
	countsA   []int32  // bit count of each code's first grid (the wide pre-selection's part)
	freq      []int32  // per pair cell: how many entries set it (the pre-score's rarity weight)
	probes    []*finger.Probe
	templates []*finger.Template
	ids       []string
	persons   []string
	positions []uint8
	slot      map[string]int
}

// NewFingerGallery returns an empty gallery.
func NewFingerGallery(o FingerOptions) *FingerGallery {
	if o.Shortlist <= 0 {
		o.Shortlist = DefaultShortlist
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	c := max(o.Capacity, 0)
	return &FingerGallery{
		shortlist: o.Shortlist, workers: o.Workers, lazy: o.Lazy,
		codes: make([]uint64, 0, c*pairWords), counts: make([]int32, 0, c), countsA: make([]int32, 0, c), freq: make([]int32, pairCells),
		probes: make([]*finger.Probe, 0, c), templates: make([]*finger.Template, 0, c),
		ids: make([]string, 0, c), persons: make([]string, 0, c), positions: make([]uint8, 0, c),
		slot: make(map[string]int, c),
	}
}

// Add inserts an entry (replacing one with the same ID). The template is prepared for matching
// here, once, outside the lock.
func (g *FingerGallery) Add(e FingerEntry) error {
	if e.ID == "" || e.Template == nil {
		return errors.New("finger gallery add: empty id or nil template")
	}
	if e.Position < 0 || e.Position > 10 {
		return fmt.Errorf("finger gallery add %q: finger position %d (ISO/IEC 19794-2: 0..10)", e.ID, e.Position)
	}
	code := encodePairs(e.Template, false)
	var probe *finger.Probe
	if !g.lazy {
		probe = finger.NewProbe(e.Template)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	i, ok := g.slot[e.ID]
	if !ok {
		i = len(g.ids)
		g.slot[e.ID] = i
		g.codes = append(g.codes, code[:]...)
		g.counts = append(g.counts, 0)
		g.countsA = append(g.countsA, 0)
		g.probes = append(g.probes, nil)
		g.templates = append(g.templates, nil)
		g.ids = append(g.ids, e.ID)
		g.persons = append(g.persons, "")
		g.positions = append(g.positions, 0)
	} else {
		g.countCells(i, -1) // the replaced entry's cells
	}
	copy(g.codes[i*pairWords:], code[:])
	g.countCells(i, 1)
	g.counts[i] = int32(code.count())
	g.countsA[i] = int32(code.countWords(pairWordsA))
	g.probes[i] = probe
	g.templates[i] = e.Template
	g.persons[i] = e.Person
	g.positions[i] = uint8(e.Position)
	return nil
}

// Remove deletes the entry with this ID and reports whether it was there.
func (g *FingerGallery) Remove(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	i, ok := g.slot[id]
	if !ok {
		return false
	}
	g.countCells(i, -1)
	last := len(g.ids) - 1
	if i != last {
		copy(g.codes[i*pairWords:(i+1)*pairWords], g.codes[last*pairWords:])
		g.counts[i] = g.counts[last]
		g.countsA[i] = g.countsA[last]
		g.probes[i] = g.probes[last]
		g.templates[i] = g.templates[last]
		g.ids[i] = g.ids[last]
		g.persons[i] = g.persons[last]
		g.positions[i] = g.positions[last]
		g.slot[g.ids[i]] = i
	}
	g.probes[last], g.templates[last], g.ids[last], g.persons[last] = nil, nil, "", ""
	g.codes = g.codes[:last*pairWords]
	g.counts = g.counts[:last]
	g.countsA = g.countsA[:last]
	g.probes = g.probes[:last]
	g.templates = g.templates[:last]
	g.ids = g.ids[:last]
	g.persons = g.persons[:last]
	g.positions = g.positions[:last]
	delete(g.slot, id)
	return true
}

// Len is the number of entries.
func (g *FingerGallery) Len() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.ids)
}

// Get returns the entry with this ID.
func (g *FingerGallery) Get(id string) (FingerEntry, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	i, ok := g.slot[id]
	if !ok {
		return FingerEntry{}, false
	}
	return FingerEntry{ID: id, Person: g.persons[i], Position: int(g.positions[i]), Template: g.templates[i]}, true
}

// countCells adds d to the cell frequencies of slot i's code. Callers hold the write lock.
func (g *FingerGallery) countCells(i int, d int32) {
	c := (*pairCode)(g.codes[i*pairWords : (i+1)*pairWords])
	c.each(func(k int) { g.freq[k] += d })
}

// rareHalf returns the cells (below cells) of the probe code pc that are set in at most as many
// gallery entries as the median of those cells: the half that carries more information
// (pairs.go). Callers hold the lock.
func (g *FingerGallery) rareHalf(pc *pairCode, cells int) pairCode {
	fs := make([]int32, 0, 4096)
	pc.each(func(k int) {
		if k < cells {
			fs = append(fs, g.freq[k])
		}
	})
	var rare pairCode
	if len(fs) == 0 {
		return rare
	}
	slices.Sort(fs)
	th := fs[len(fs)/2]
	pc.each(func(k int) {
		if k < cells && g.freq[k] <= th {
			rare[k/64] |= 1 << (k % 64)
		}
	})
	return rare
}

// preScore is the pre-selection score of a candidate: the per-mille share of its pair cells that
// the (soft) probe code also has, the probe's rarer half of cells counting twice (so it ranges
// 0..2000). Normalising by the candidate's own count keeps dense templates (many minutiae, many
// spurious) from crowding out the genuine one.
func preScore(and, count int32) int32 { return and * 1000 / (count + 8) }

// pairScoresGeneric is the portable pairScores: the first words words of each code (codes hold
// pairWords words each).
func pairScoresGeneric(pc, rare *pairCode, codes []uint64, words int, out []int32) {
	for i := range out {
		c := codes[i*pairWords : i*pairWords+words : i*pairWords+words]
		var and int
		for w, cw := range c {
			and += bits.OnesCount64(pc[w]&cw) + bits.OnesCount64(rare[w]&cw)
		}
		out[i] = int32(and)
	}
}

// preselectWide is how many candidates the first-grid scan passes to the full pre-score. The
// first grid alone ranked every planted mate within the best 1,181 of 100,000 (pairs.go).
const preselectWide = 4096

// preselect returns the slots of the r best first-grid pre-scores among [lo, hi): the scan reads
// only the first pairWordsA words (2 KB) of each code.
func (g *FingerGallery) preselect(pcA, rareA *pairCode, lo, hi, r int) []cand {
	t := topR{h: make([]cand, 0, r), r: r}
	var and [256]int32
	for s0 := lo; s0 < hi; s0 += len(and) {
		n := min(len(and), hi-s0)
		pairScores(pcA, rareA, g.codes[s0*pairWords:(s0+n)*pairWords], and[:n])
		for i, a := range and[:n] {
			s := s0 + i
			// topR keeps the smallest d: store the negated score.
			d := -preScore(a, g.countsA[s])
			if d < t.worst() {
				t.push(cand{d: d, slot: int32(s)})
			}
		}
	}
	return t.h
}

// rescore replaces each candidate's score by the pre-score over both grids.
func (g *FingerGallery) rescore(pc, rare *pairCode, cs []cand) {
	var and [1]int32
	for i := range cs {
		s := int(cs[i].slot)
		pairScoresGeneric(pc, rare, g.codes[s*pairWords:(s+1)*pairWords], pairWords, and[:])
		cs[i].d = -preScore(and[0], g.counts[s])
	}
}

// parallel runs f over [0, n) split into one contiguous range per worker.
func parallel(workers, n int, f func(w, lo, hi int)) {
	if workers < 2 || n < 2 {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for w := range workers {
		lo, hi := min(w*per, n), min((w+1)*per, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(w, lo, hi)
		}()
	}
	wg.Wait()
}

// minParallelFinger is the gallery size from which the pair-code scan is split over the workers.
const minParallelFinger = 2048

// Search returns up to k candidates with a positive 1:1 score, best first: the pair-code scan picks
// the shortlist, the prepared-probe matcher scores it.
func (g *FingerGallery) Search(t *finger.Template, k int) ([]FingerHit, error) {
	if t == nil {
		return nil, errors.New("finger search: nil template")
	}
	if k <= 0 {
		return nil, nil
	}
	pc := encodePairs(t, true)
	probe := finger.NewProbe(t)
	g.mu.RLock()
	defer g.mu.RUnlock()
	n := len(g.ids)
	if n == 0 {
		return nil, nil
	}
	w := g.workers
	if n < minParallelFinger {
		w = 1
	}
	// Stage 1: the first grid over the whole gallery; stage 2: both grids over its best
	// preselectWide; stage 3: the 1:1 matcher over the best g.shortlist.
	rareA, rare := g.rareHalf(&pc, pairCells0), g.rareHalf(&pc, pairCells)
	wide := max(preselectWide, g.shortlist)
	parts := make([][]cand, w)
	parallel(w, n, func(i, lo, hi int) { parts[i] = g.preselect(&pc, &rareA, lo, hi, wide) })
	var short []cand
	for _, p := range parts {
		short = append(short, p...)
	}
	parallel(w, len(short), func(_, lo, hi int) { g.rescore(&pc, &rare, short[lo:hi]) })
	if len(short) > g.shortlist {
		sort.Slice(short, func(i, j int) bool {
			if short[i].d != short[j].d {
				return short[i].d < short[j].d
			}
			return short[i].slot < short[j].slot
		})
		short = short[:g.shortlist]
	}
	hits := make([]FingerHit, len(short))
	parallel(g.workers, len(short), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			s := short[i].slot
			hits[i] = FingerHit{ID: g.ids[s], Person: g.persons[s], Position: int(g.positions[s]),
				Score: probe.MatchProbe(g.prepared(int(s))), PreScore: int(-short[i].d)}
		}
	})
	return topHits(hits, k), nil
}

// SearchBrute is the reference: the prepared-probe 1:1 matcher against every entry, on all
// workers. The benchmarks compare Search's cost and hit rate with it.
func (g *FingerGallery) SearchBrute(t *finger.Template, k int) ([]FingerHit, error) {
	if t == nil {
		return nil, errors.New("finger brute search: nil template")
	}
	if k <= 0 {
		return nil, nil
	}
	probe := finger.NewProbe(t)
	g.mu.RLock()
	defer g.mu.RUnlock()
	hits := make([]FingerHit, len(g.ids))
	parallel(g.workers, len(g.ids), func(_, lo, hi int) {
		for s := lo; s < hi; s++ {
			hits[s] = FingerHit{ID: g.ids[s], Person: g.persons[s], Position: int(g.positions[s]), Score: probe.MatchProbe(g.prepared(s))}
		}
	})
	return topHits(hits, k), nil
}

// prepared returns slot s's prepared template (made now in a Lazy gallery). Callers hold the lock.
func (g *FingerGallery) prepared(s int) *finger.Probe {
	if p := g.probes[s]; p != nil {
		return p
	}
	return finger.NewProbe(g.templates[s])
}

func topHits(hits []FingerHit, k int) []FingerHit {
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].Score != hits[j].Score {
			return hits[i].Score > hits[j].Score
		}
		return hits[i].ID < hits[j].ID
	})
	n := 0
	for n < len(hits) && n < k && hits[n].Score > 0 {
		n++
	}
	return append([]FingerHit(nil), hits[:n]...)
}
