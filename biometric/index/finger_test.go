package index

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"enrolldesk/biometric/finger"
)

// testdataDir is ../shared/testdata from the repository root.
func testdataDir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(wd, "..", "..", "..", "shared", "testdata")
	if _, err := os.Stat(d); err != nil {
		t.Fatalf("shared test data missing (need ../shared beside the repository): %v", err)
	}
	return d
}

// fvcTemplates extracts the first impressions impressions of every FVC2002 DB1 B finger.
func fvcTemplates(t testing.TB, impressions int) map[int][]*finger.Template {
	t.Helper()
	dir := filepath.Join(testdataDir(t), "fingerprints", "fvc2002_db1_b")
	out := map[int][]*finger.Template{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	// Every slice exists before any worker starts, so workers only write into slices, never the map.
	for f := 101; f <= 110; f++ {
		out[f] = make([]*finger.Template, impressions)
	}
	for f := 101; f <= 110; f++ {
		slots := out[f]
		for i := 1; i <= impressions; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				img, err := finger.LoadImage(filepath.Join(dir, fmt.Sprintf("%d_%d.tif", f, i)))
				if err != nil {
					errs <- err
					return
				}
				tp, err := finger.Extract(img)
				if err != nil {
					errs <- fmt.Errorf("extract %d_%d: %w", f, i, err)
					return
				}
				mu.Lock()
				slots[i-1] = tp
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return out
}

// TestFingerPlantedDuplicates enrolls real FVC2002 fingers (impression 1) and synthetic
// duplicates among a large synthetic population, then searches with other impressions: each
// planted finger must come back as the top candidate, found through the pre-selection.
func TestFingerPlantedDuplicates(t *testing.T) {
	n := 100_000
	if raceEnabled {
		n = 4_000 // the race detector slows template preparation ~10×
	}
	fvc := fvcTemplates(t, 3)
	s := newFSynth(42)
	g := NewFingerGallery(FingerOptions{Capacity: n + 40, Workers: 2})
	planted := map[string]*masterFinger{}
	for i := range n {
		m := s.master()
		id := fmt.Sprintf("syn-%06d", i)
		if i%5000 == 17 {
			planted[id] = m
		}
		if err := g.Add(FingerEntry{ID: id, Person: id, Position: 2, Template: s.impression(m)}); err != nil {
			t.Fatal(err)
		}
	}
	for f, ts := range fvc {
		id := fmt.Sprintf("fvc-%d", f)
		if err := g.Add(FingerEntry{ID: id, Person: id, Position: 2, Template: ts[0]}); err != nil {
			t.Fatal(err)
		}
	}
	found, total := 0, 0
	check := func(want string, probe *finger.Template) {
		total++
		hits, err := g.Search(probe, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) > 0 && hits[0].ID == want {
			found++
			return
		}
		mate, _ := g.Get(want)
		ms := finger.NewProbe(probe).Match(mate.Template)
		best := 0.0
		if len(hits) > 0 {
			best = hits[0].Score
		}
		t.Logf("planted %s not top: its score %.1f, best found %.1f", want, ms, best)
	}
	for f, ts := range fvc {
		for _, p := range ts[1:] {
			check(fmt.Sprintf("fvc-%d", f), p)
		}
	}
	for id, m := range planted {
		check(id, s.impression(m))
	}
	t.Logf("%d of %d planted duplicates found as the top candidate among %d", found, total, g.Len())
	// FVC2002 DB1 has hard pairs (little overlap, dry skin) and the pair codes miss some mates that
	// the full matcher would rank first (measured: 34 of 40 at 100,000; see README).
	if found < total*8/10 {
		t.Fatalf("found %d of %d planted duplicates", found, total)
	}
}

func TestFingerSearchAgreesWithBruteForce(t *testing.T) {
	s := newFSynth(7)
	g := NewFingerGallery(FingerOptions{Shortlist: 64})
	var masters []*masterFinger
	for i := range 1000 {
		m := s.master()
		masters = append(masters, m)
		if err := g.Add(FingerEntry{ID: fmt.Sprint(i), Person: fmt.Sprint(i), Template: s.impression(m)}); err != nil {
			t.Fatal(err)
		}
	}
	agree, n := 0, 8
	for i := range n {
		p := s.impression(masters[i*97])
		a, err := g.Search(p, 1)
		if err != nil {
			t.Fatal(err)
		}
		b, err := g.SearchBrute(p, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) == 1 && len(b) == 1 && a[0].ID == b[0].ID && a[0].Score == b[0].Score {
			agree++
		}
	}
	if agree < n-1 {
		t.Fatalf("search agrees with brute force on %d of %d probes", agree, n)
	}
}

func TestFingerGalleryEdits(t *testing.T) {
	for _, lazy := range []bool{false, true} {
		testFingerGalleryEdits(t, lazy)
	}
}

func testFingerGalleryEdits(t *testing.T, lazy bool) {
	s := newFSynth(9)
	g := NewFingerGallery(FingerOptions{Lazy: lazy})
	m1, m2 := s.master(), s.master()
	t1, t2 := s.impression(m1), s.impression(m2)
	if err := g.Add(FingerEntry{ID: "a", Person: "A", Position: 1, Template: t1}); err != nil {
		t.Fatal(err)
	}
	if err := g.Add(FingerEntry{ID: "b", Person: "B", Position: 6, Template: t2}); err != nil {
		t.Fatal(err)
	}
	if err := g.Add(FingerEntry{ID: "c", Position: 11, Template: t2}); err == nil {
		t.Fatal("finger position 11 accepted")
	}
	if err := g.Add(FingerEntry{ID: "c"}); err == nil {
		t.Fatal("nil template accepted")
	}
	hits, _ := g.Search(s.impression(m2), 2)
	if len(hits) == 0 || hits[0].ID != "b" || hits[0].Position != 6 {
		t.Fatalf("hits %+v", hits)
	}
	if !g.Remove("b") || g.Remove("b") || g.Len() != 1 {
		t.Fatal("remove b")
	}
	hits, _ = g.Search(s.impression(m2), 2)
	for _, h := range hits {
		if h.ID == "b" {
			t.Fatal("removed entry found")
		}
	}
	if e, ok := g.Get("a"); !ok || e.Person != "A" || e.Template != t1 {
		t.Fatalf("get a: %+v %v", e, ok)
	}
	if _, err := g.Search(nil, 1); err == nil {
		t.Fatal("nil probe accepted")
	}
}

func TestFingerConcurrentInsertSearch(t *testing.T) {
	s := newFSynth(13)
	g := NewFingerGallery(FingerOptions{Workers: 2})
	var masters []*masterFinger
	for i := range minParallelFinger + 100 {
		m := s.master()
		masters = append(masters, m)
		if err := g.Add(FingerEntry{ID: fmt.Sprint(i), Person: fmt.Sprint(i), Template: s.impression(m)}); err != nil {
			t.Fatal(err)
		}
	}
	probes := []*finger.Template{s.impression(masters[1]), s.impression(masters[2])}
	extra := make([]*finger.Template, 200)
	for i := range extra {
		extra[i] = s.impression(s.master())
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i, tp := range extra {
			id := fmt.Sprintf("x%d", i)
			if err := g.Add(FingerEntry{ID: id, Person: id, Template: tp}); err != nil {
				errs <- err
				return
			}
			if i%2 == 0 {
				g.Remove(id)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 6 {
			hits, err := g.Search(probes[i%2], 1)
			if err != nil {
				errs <- err
				return
			}
			if want := fmt.Sprint(1 + i%2); len(hits) == 0 || hits[0].ID != want {
				errs <- fmt.Errorf("search during writes: want %s, got %+v", want, hits)
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if g.Len() != minParallelFinger+200 {
		t.Fatalf("len %d, want %d", g.Len(), minParallelFinger+200)
	}
}
