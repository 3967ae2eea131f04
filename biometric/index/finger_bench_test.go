package index

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"enrolldesk/biometric/finger"
	"enrolldesk/biometric/index/internal/fpcache"
)

// fingerBench is a gallery of n fingers: the impression-1 templates extracted from generated
// images (finger/synth → finger.Extract, cached by internal/fpcache), topped up to n with
// minutia-level synthetic fingers (fsynth_test.go) when the cache holds fewer; probes are the
// impression-2 templates of the image fingers, so every probe has its mate in the gallery.
type fingerBench struct {
	g        *FingerGallery
	probes   []*finger.Template
	mates    []string
	images   int
	bytesPer float64
}

var (
	fingerBenchMu    sync.Mutex
	fingerBenchCache = map[int]*fingerBench{}
)

// fingerBenchImages is how many image fingers the benchmarks ask of the cache (generated on first
// use: ~0.5 s each on two cores); `go run ./biometric/index/internal/fpgen -fingers 100000
// -impressions 1` fills the whole gallery with image templates ahead of time.
const fingerBenchImages = 300

func getFingerBench(b *testing.B, n int) *fingerBench {
	b.Helper()
	fingerBenchMu.Lock()
	defer fingerBenchMu.Unlock()
	if fb, ok := fingerBenchCache[n]; ok {
		return fb
	}
	clear(fingerBenchCache)
	path, err := fpcache.DefaultPath()
	if err != nil {
		b.Fatal(err)
	}
	recs, err := fpcache.Ensure(context.Background(), path, fingerBenchImages, 2)
	if err != nil {
		b.Fatal(err)
	}
	all, err := fpcache.Load(path) // impression-1 templates beyond the probed ones, if generated
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	fb := &fingerBench{g: NewFingerGallery(FingerOptions{Capacity: n})}
	for _, r := range recs {
		if r.Impression == 2 {
			fb.probes = append(fb.probes, r.Template)
			fb.mates = append(fb.mates, fmt.Sprintf("img-%06d", r.Finger))
		}
	}
	for _, r := range all {
		if r.Impression != 1 || fb.g.Len() >= n {
			continue
		}
		id := fmt.Sprintf("img-%06d", r.Finger)
		if err := fb.g.Add(FingerEntry{ID: id, Person: id, Position: 2, Template: r.Template}); err != nil {
			b.Fatal(err)
		}
	}
	fb.images = fb.g.Len()
	s := newFSynth(uint64(n))
	for i := 0; fb.g.Len() < n; i++ {
		id := fmt.Sprintf("syn-%06d", i)
		if err := fb.g.Add(FingerEntry{ID: id, Person: id, Position: 2, Template: s.impression(s.master())}); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	fb.bytesPer = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	fingerBenchCache[n] = fb
	return fb
}

func runFingerBench(b *testing.B, n int) {
	fb := getFingerBench(b, n)
	// Hit rate, and what brute force could at best add: a mate that the shortlist missed but that
	// outscores everything Search found would be brute force's hit.
	hits, bruteHits := 0, 0
	for i, p := range fb.probes {
		res, err := fb.g.Search(p, 1)
		if err != nil {
			b.Fatal(err)
		}
		if len(res) > 0 && res[0].ID == fb.mates[i] {
			hits++
			bruteHits++
			continue
		}
		mate, _ := fb.g.Get(fb.mates[i])
		ms := finger.NewProbe(p).Match(mate.Template)
		if ms > 0 && (len(res) == 0 || ms > res[0].Score) {
			bruteHits++
		}
	}
	// Brute force cost: the prepared-probe matcher over a 4,000-entry slice on all cores, scaled.
	probe := finger.NewProbe(fb.probes[0])
	const slice = 4000
	fb.g.mu.RLock()
	t0 := time.Now()
	parallel(runtime.GOMAXPROCS(0), min(slice, n), func(_, lo, hi int) {
		for s := lo; s < hi; s++ {
			probe.MatchProbe(fb.g.probes[s])
		}
	})
	bruteMs := float64(time.Since(t0).Microseconds()) / 1e3 * float64(n) / float64(min(slice, n))
	fb.g.mu.RUnlock()

	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; b.Loop(); i++ {
		if _, err := fb.g.Search(fb.probes[i%len(fb.probes)], 5); err != nil {
			b.Fatal(err)
		}
	}
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / 1e6
	b.ReportMetric(float64((cpuTime()-c0).Microseconds())/1e3/float64(b.N), "cpu_ms/op")
	b.ReportMetric(bruteMs, "brute_ms")
	b.ReportMetric(bruteMs/perOp, "speedup_x")
	b.ReportMetric(100*float64(hits)/float64(len(fb.probes)), "hit_%")
	b.ReportMetric(100*float64(bruteHits)/float64(len(fb.probes)), "brute_hit_%")
	b.ReportMetric(float64(fb.images), "image_templates")
	b.ReportMetric(fb.bytesPer, "B/template")
}

// BenchmarkFingerSearch100k is DESIGN.md's budget: one probe against 100,000 templates. It
// reports the brute-force cost of the prepared-probe matcher on both cores over the same gallery
// (measured on a slice, scaled), the speed-up, Search's rank-1 hit rate and brute force's best
// possible one, and how many gallery templates came from generated images.
func BenchmarkFingerSearch100k(b *testing.B) { runFingerBench(b, 100_000) }

// BenchmarkFingerSearchSizes gives the 10k / 100k figures for build/bench.d/index.
func BenchmarkFingerSearchSizes(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(sizeLabel(n), func(b *testing.B) { runFingerBench(b, n) })
	}
}
