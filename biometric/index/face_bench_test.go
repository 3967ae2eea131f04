package index

import (
	"runtime"
	"strconv"
	"sync"
	"testing"
)

// faceBench is a gallery of synthetic dlib-like descriptors with its queries and the recall@1 of
// Search against SearchExact over those queries, built once per size per test binary.
type faceBench struct {
	g      *FaceGallery
	qs     []Descriptor
	recall float64
	heap   float64 // heap bytes per entry after building
}

var (
	faceBenchMu    sync.Mutex
	faceBenchCache = map[string]*faceBench{}
)

func getFaceBench(b *testing.B, sp FaceSpace, n, nq int) *faceBench {
	b.Helper()
	faceBenchMu.Lock()
	defer faceBenchMu.Unlock()
	key := sp.Engine + "/" + strconv.Itoa(n)
	if fb, ok := faceBenchCache[key]; ok {
		return fb
	}
	for k := range faceBenchCache { // one big gallery in memory at a time
		delete(faceBenchCache, k)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	s := newSynthFor(uint64(n), sp)
	g := NewFaceGallery(FaceOptions{Space: sp, Capacity: n})
	centres := s.clusteredGallery(g, n, 1)
	qs := s.clusteredQueries(centres, nq)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	r, err := recallAt1(g, qs)
	if err != nil {
		b.Fatal(err)
	}
	fb := &faceBench{g: g, qs: qs, recall: r, heap: float64(after.HeapAlloc-before.HeapAlloc) / float64(n)}
	runtime.KeepAlive(centres)
	faceBenchCache[key] = fb
	return fb
}

func runFaceBench(b *testing.B, sp FaceSpace, n, nq int) {
	fb := getFaceBench(b, sp, n, nq)
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; b.Loop(); i++ {
		hits, err := fb.g.Search(fb.qs[i%len(fb.qs)], 5)
		if err != nil || len(hits) != 5 {
			b.Fatalf("search: %d hits, %v", len(hits), err)
		}
	}
	b.ReportMetric(float64((cpuTime()-c0).Microseconds())/1e3/float64(b.N), "cpu_ms/op")
	b.ReportMetric(fb.recall*100, "recall@1_%")
	b.ReportMetric(fb.heap, "B/person")
}

// BenchmarkFaceSearch1M is DESIGN.md's budget for the desk's default face engine (facenet,
// policy.face_engine): top-5 over 1,000,000 synthetic facenet-like descriptors (512-d, unit
// length, FacenetSpace's 4-bit scan codes), queries not in the gallery (half new photos of
// enrolled people, half unknown people), recall@1 against the exact float32 scan over 1,000
// queries reported as recall@1_%.
func BenchmarkFaceSearch1M(b *testing.B) { runFaceBench(b, FacenetSpace, 1_000_000, 1000) }

// BenchmarkFaceSearch1MDlib is the same over dlib-like 128-d descriptors (DlibSpace, int8 codes).
func BenchmarkFaceSearch1MDlib(b *testing.B) { runFaceBench(b, DlibSpace, 1_000_000, 1000) }

// BenchmarkFaceSearchSizes gives the 10k / 100k / 1M curve of both engines for build/bench.d/index.
func BenchmarkFaceSearchSizes(b *testing.B) {
	for _, sp := range []FaceSpace{FacenetSpace, DlibSpace} {
		for _, n := range []int{10_000, 100_000, 1_000_000} {
			b.Run(sp.Engine+"-"+sizeLabel(n), func(b *testing.B) { runFaceBench(b, sp, n, 1000) })
		}
	}
}

func sizeLabel(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}
