package index

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"

	"enrolldesk/biometric/finger"
	"enrolldesk/biometric/index/internal/fpcache"
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

// imgFingers reads the committed image-derived test gallery (gen.go): templates extracted from
// generated images, keyed by finger then impression (1-based), for the fingers keep accepts.
func imgFingers(t testing.TB, keep func(finger, impression int) bool) map[int]map[int]*finger.Template {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "imgfingers.bin"))
	if err != nil {
		t.Fatalf("image-derived test gallery (go generate ./biometric/index): %v", err)
	}
	recs, err := fpcache.ParseSome(b, keep)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]map[int]*finger.Template{}
	for _, r := range recs {
		if out[r.Finger] == nil {
			out[r.Finger] = map[int]*finger.Template{}
		}
		out[r.Finger][r.Impression] = r.Template
	}
	return out
}

// TestFingerPlantedDuplicates plants duplicates in a 100,000-finger gallery (image-derived
// templates from testdata/imgfingers.bin, real FVC2002 DB1_B fingers, minutia-level synthetic
// fingers for the rest) and searches with other impressions of them. The pre-selected Search must
// find every duplicate that brute force (the same 1:1 matcher against every entry) finds: it
// misses one exactly when the mate, which the shortlist left out, outscores Search's best
// candidate (if the mate is shortlisted, Search ranks it as brute force does). That check costs
// one comparison per probe instead of a gallery scan, so the test asks it of every probe.
func TestFingerPlantedDuplicates(t *testing.T) {
	n, imgGallery, imgProbes, synPlanted := 100_000, 2400, 200, 20
	if raceEnabled {
		// the race detector slows template preparation ~10×
		n, imgGallery, imgProbes, synPlanted = 3000, 1200, 30, 6
	}
	img := imgFingers(t, func(f, imp int) bool { return f < imgGallery && (imp == 1 || f < imgProbes) })
	fvc := fvcTemplates(t, 3)
	g := NewFingerGallery(FingerOptions{Capacity: n, Workers: 2})
	add := func(id string, tp *finger.Template) {
		t.Helper()
		if err := g.Add(FingerEntry{ID: id, Person: id, Position: 2, Template: tp}); err != nil {
			t.Fatal(err)
		}
	}
	for f := range imgGallery {
		add(fmt.Sprintf("img-%06d", f), img[f][1])
	}
	for f := 101; f <= 110; f++ {
		add(fmt.Sprintf("fvc-%d", f), fvc[f][0])
	}
	s := newFSynth(42)
	planted := map[string]*masterFinger{}
	every := (n - g.Len()) / synPlanted
	for i := 0; g.Len() < n; i++ {
		m := s.master()
		id := fmt.Sprintf("syn-%06d", i)
		if i%every == every/2 {
			planted[id] = m
		}
		add(id, s.impression(m))
	}
	type probe struct {
		mate string
		t    *finger.Template
	}
	var probes []probe
	for f := range imgProbes {
		for imp := 2; imp <= 3; imp++ {
			if !raceEnabled || imp == 2 {
				probes = append(probes, probe{fmt.Sprintf("img-%06d", f), img[f][imp]})
			}
		}
	}
	for f := 101; f <= 110; f++ {
		for _, p := range fvc[f][1:] {
			probes = append(probes, probe{fmt.Sprintf("fvc-%d", f), p})
		}
	}
	ids := slices.Sorted(maps.Keys(planted))
	for _, id := range ids {
		probes = append(probes, probe{id, s.impression(planted[id])})
	}
	found, bruteOnly, unmatched := 0, 0, 0
	for _, p := range probes {
		hits, err := g.Search(p.t, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) > 0 && hits[0].ID == p.mate {
			found++
			continue
		}
		mate, _ := g.Get(p.mate)
		ms := finger.NewProbe(p.t).Match(mate.Template)
		best := 0.0
		if len(hits) > 0 {
			best = hits[0].Score
		}
		if ms > 0 && ms >= best {
			bruteOnly++
			t.Errorf("planted %s: brute force would rank it first (score %.1f), Search's best is %.1f", p.mate, ms, best)
		} else {
			unmatched++ // the matcher itself does not rank the mate first: brute force misses it too
			t.Logf("planted %s: mate scores %.1f, an impostor %.1f (the 1:1 matcher's miss)", p.mate, ms, best)
		}
	}
	t.Logf("%d of %d planted duplicates found as the top candidate among %d; brute force at most %d; the matcher misses %d",
		found, len(probes), g.Len(), found+bruteOnly, unmatched)
	// Guard against a test that cannot fail: the matcher must rank nearly all mates first.
	if found < len(probes)*9/10 {
		t.Fatalf("found only %d of %d planted duplicates", found, len(probes))
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
