package index

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

func TestScoreKernelMatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const nb = 70
	blocks := make([]uint8, nb*blockBytes)
	for i := range blocks {
		blocks[i] = uint8(rng.IntN(256))
	}
	norms := make([]int32, nb*blockLanes)
	for i := range norms {
		norms[i] = int32(rng.IntN(1 << 21))
	}
	// Extreme values: the largest dot product must not overflow.
	for j := 0; j < Dim; j++ {
		blocks[codeOffset(0, j)] = 255
	}
	q := make([]int8, Dim)
	for j := range q {
		q[j] = int8(rng.IntN(255) - 127)
	}
	q[0] = 127
	for _, n := range []int{nb, 1, 33} {
		got := make([]int32, n*blockLanes)
		want := make([]int32, n*blockLanes)
		scoreBlocks(q, blocks, norms, got)
		scoreBlocksGeneric(q, blocks, norms, want)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%d blocks, code %d: kernel %d, generic %d", n, i, got[i], want[i])
			}
		}
	}
	for j := range q {
		q[j] = 127
	}
	var out [blockLanes]int32
	scoreBlocks(q, blocks, norms, out[:])
	if want := norms[0] - 2*Dim*255*127; out[0] != want {
		t.Fatalf("extreme score %d, want %d", out[0], want)
	}
}

// The 4-bit kernel (facenet's space) computes the generic loop's integers, at the extremes too.
func TestScoreKernel4MatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const nb, dim = 37, FacenetDim
	bb := blockLanes * dim / 2
	blocks := make([]uint8, nb*bb)
	for i := range blocks {
		blocks[i] = uint8(rng.IntN(256))
	}
	norms := make([]int32, nb*dim/8*blockLanes) // enough for the 8-d blocks too
	for i := range norms {
		norms[i] = int32(rng.IntN(1 << 19))
	}
	q := make([]int8, dim)
	for j := range q {
		q[j] = int8(rng.IntN(225) - 112)
	}
	for _, d := range []int{dim, 8, 24, 128} { // odd and even numbers of 8-dimension pairs
		for _, n := range []int{nb * dim / d, 1} {
			got := make([]int32, n*blockLanes)
			want := make([]int32, n*blockLanes)
			scoreBlocks4(q[:d], blocks[:n*blockLanes*d/2], norms[:n*blockLanes], got, d)
			scoreBlocks4Generic(q[:d], blocks[:n*blockLanes*d/2], norms[:n*blockLanes], want, d)
			if !slices.Equal(got, want) {
				t.Fatalf("dim %d, %d blocks: kernel and generic differ", d, n)
			}
		}
	}
	for i := range blocks[:bb] {
		blocks[i] = 0xFF
	}
	for j := range q {
		q[j] = 112
	}
	var out [blockLanes]int32
	scoreBlocks4(q, blocks, norms, out[:], dim)
	if want := norms[0] - 2*dim*15*112; out[0] != want {
		t.Fatalf("extreme score %d, want %d", out[0], want)
	}
}

func TestCodeLayoutRoundTrip(t *testing.T) {
	for _, sp := range []FaceSpace{DlibSpace, FacenetSpace} {
		g := NewFaceGallery(FaceOptions{Space: sp})
		s := newSynthFor(5, sp)
		var ds []Descriptor
		for i := range 40 {
			d := s.random()
			ds = append(ds, d)
			if err := g.Add(FaceEntry{ID: fmt.Sprint(i), Descriptor: d}); err != nil {
				t.Fatal(err)
			}
		}
		for i, d := range ds {
			want := make([]int8, sp.Dim)
			g.quantise(d, want)
			slot := g.slot[fmt.Sprint(i)]
			if got := g.code(slot); !slices.Equal(got, want) {
				t.Fatalf("%s: slot %d code mismatch", sp.Engine, i)
			}
			var norm int32
			for _, c := range want {
				norm += int32(c) * int32(c)
			}
			if sp.Bits == 4 {
				norm *= 16
			}
			if g.norms[slot] != norm {
				t.Fatalf("%s: slot %d norm %d, want %d", sp.Engine, i, g.norms[slot], norm)
			}
		}
		// Removing down across a block boundary shrinks the blocks.
		for i := 39; i >= 16; i-- {
			g.Remove(fmt.Sprint(i))
		}
		if len(g.codes) != g.bblk || len(g.norms) != blockLanes {
			t.Fatalf("%s: after removals: %d code bytes, %d norms", sp.Engine, len(g.codes), len(g.norms))
		}
		for i, d := range ds[:16] {
			want := make([]int8, sp.Dim)
			g.quantise(d, want)
			if got := g.code(g.slot[fmt.Sprint(i)]); !slices.Equal(got, want) {
				t.Fatalf("%s: after removals, slot %d code mismatch", sp.Engine, i)
			}
		}
	}
}

func TestFaceSearchMatchesExact(t *testing.T) {
	for _, tc := range []struct {
		name      string
		space     FaceSpace
		n         int
		perPerson int
		random    bool
	}{
		{"dlib/random", DlibSpace, 20000, 1, true},
		{"dlib/clustered", DlibSpace, 20000, 2, false},
		{"dlib/clustered-single", DlibSpace, 5000, 1, false},
		{"facenet/random", FacenetSpace, 20000, 1, true},
		{"facenet/clustered", FacenetSpace, 20000, 2, false},
		{"facenet/clustered-single", FacenetSpace, 5000, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nq := 1000
			if tc.space.Dim > DlibDim { // 4× the exact scan's cost per query
				tc.n, nq = tc.n/2, 300
			}
			if raceEnabled {
				tc.n, nq = tc.n/5, nq/2
			}
			s := newSynthFor(uint64(tc.n+tc.perPerson), tc.space)
			g := NewFaceGallery(FaceOptions{Space: tc.space, Workers: 2})
			var qs []Descriptor
			if tc.random {
				for i := 0; i < tc.n; i++ {
					if err := g.Add(FaceEntry{ID: fmt.Sprint(i), Person: fmt.Sprint(i), Descriptor: s.random()}); err != nil {
						t.Fatal(err)
					}
				}
				for range nq {
					qs = append(qs, s.random())
				}
			} else {
				centres := s.clusteredGallery(g, tc.n, tc.perPerson)
				qs = s.clusteredQueries(centres, nq)
			}
			r, err := recallAt1(g, qs)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("recall@1 = %.4f over %d queries, %d entries", r, len(qs), tc.n)
			if r < 0.999 {
				t.Fatalf("recall@1 %.4f < 0.999", r)
			}
		})
	}
}

func TestFaceSearchTopKOrderAndDistances(t *testing.T) {
	for _, tc := range []struct {
		space FaceSpace
		same  float64 // the engine's same-person distance
	}{
		{DlibSpace, 0.6},         // dlib's published threshold
		{FacenetSpace, 1.137935}, // the shipped facenet calibration's match threshold
	} {
		t.Run(tc.space.Engine, func(t *testing.T) { testTopK(t, tc.space, tc.same) })
	}
}

func testTopK(t *testing.T, sp FaceSpace, same float64) {
	s := newSynthFor(7, sp)
	g := NewFaceGallery(FaceOptions{Space: sp})
	centres := s.clusteredGallery(g, 3000, 3)
	q := s.sample(&centres[10])
	hits, err := g.Search(q, 5)
	if err != nil {
		t.Fatal(err)
	}
	exact, err := g.SearchExact(q, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 5 {
		t.Fatalf("%d hits, want 5", len(hits))
	}
	for i, h := range hits {
		e, ok := g.Get(h.ID)
		if !ok {
			t.Fatalf("hit %q not in gallery", h.ID)
		}
		want := math.Sqrt(float64(l2Float32(q, e.Descriptor)))
		if math.Abs(float64(h.Distance)-want) > 1e-6 {
			t.Fatalf("hit %d distance %v, recomputed %v", i, h.Distance, want)
		}
		if i > 0 && hits[i-1].Distance > h.Distance {
			t.Fatalf("hits out of order: %v", hits)
		}
		if h != exact[i] {
			t.Fatalf("hit %d = %+v, exact %+v", i, h, exact[i])
		}
	}
	// The three photos of person 10 come first, all within the engine's same-person distance.
	for _, h := range hits[:3] {
		if h.Person != "p0000010" || float64(h.Distance) > same {
			t.Fatalf("top hits %+v: want the three photos of p0000010 within %v", hits, same)
		}
	}
	if float64(hits[3].Distance) < same {
		t.Fatalf("4th hit %+v closer than 0.6: synthetic identities overlap", hits[3])
	}
}

func TestFaceAddReplaceRemove(t *testing.T) {
	g := NewFaceGallery(FaceOptions{})
	s := newSynth(3)
	a, b, c := s.random(), s.random(), s.random()
	for _, e := range []FaceEntry{{ID: "a", Person: "A", Descriptor: a}, {ID: "b", Person: "B", Descriptor: b}, {ID: "c", Person: "C", Descriptor: c}} {
		if err := g.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if !g.Remove("a") || g.Remove("a") {
		t.Fatal("remove a: want true then false")
	}
	if g.Len() != 2 {
		t.Fatalf("len %d, want 2", g.Len())
	}
	hits, err := g.Search(a, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		if h.ID == "a" {
			t.Fatal("removed entry still found")
		}
	}
	// c moved into a's slot; searching for c still finds it at distance 0.
	hits, _ = g.Search(c, 1)
	if hits[0].ID != "c" || hits[0].Distance != 0 {
		t.Fatalf("after move: %+v", hits)
	}
	// Replace b's descriptor by a.
	if err := g.Add(FaceEntry{ID: "b", Person: "B2", Descriptor: a}); err != nil {
		t.Fatal(err)
	}
	hits, _ = g.Search(a, 1)
	if hits[0].ID != "b" || hits[0].Person != "B2" || hits[0].Distance != 0 || g.Len() != 2 {
		t.Fatalf("after replace: %+v len %d", hits, g.Len())
	}
	bad := make(Descriptor, Dim)
	bad[5] = float32(math.NaN())
	if err := g.Add(FaceEntry{ID: "x", Descriptor: bad}); err == nil {
		t.Fatal("NaN descriptor accepted")
	}
	if _, err := g.Search(bad, 1); err == nil {
		t.Fatal("NaN query accepted")
	}
	if err := g.Add(FaceEntry{Descriptor: a}); err == nil {
		t.Fatal("empty id accepted")
	}
	// A descriptor of another engine (facenet's 512-d in dlib's gallery) is refused.
	other := newSynthFor(3, FacenetSpace).random()
	if err := g.Add(FaceEntry{ID: "y", Descriptor: other}); !errors.Is(err, ErrDimension) {
		t.Fatalf("512-d descriptor in a 128-d gallery: %v", err)
	}
	if _, err := g.Search(other, 1); !errors.Is(err, ErrDimension) {
		t.Fatalf("512-d query in a 128-d gallery: %v", err)
	}
	if err := NewFaceGallery(FaceOptions{Space: FaceSpace{Engine: "x", Dim: 100, Bits: 4, Clip: 1}}).Add(FaceEntry{ID: "z", Descriptor: make(Descriptor, 100)}); err == nil {
		t.Fatal("a 100-d 4-bit space accepted")
	}
	empty := NewFaceGallery(FaceOptions{})
	if hits, err := empty.Search(a, 5); err != nil || len(hits) != 0 {
		t.Fatalf("empty gallery: %v %v", hits, err)
	}
}

// TestFaceConcurrentInsertSearch runs searches while other goroutines add and remove entries; run
// under -race it proves the locking. Every search must still find the entries that are never
// removed.
func TestFaceConcurrentInsertSearch(t *testing.T) {
	s := newSynth(11)
	g := NewFaceGallery(FaceOptions{Workers: 2})
	centres := s.clusteredGallery(g, minParallel+2000, 1) // large enough for the parallel scan
	stable := make([]Descriptor, 20)
	for i := range stable {
		e, _ := g.Get(fmt.Sprintf("e%07d", i))
		stable[i] = e.Descriptor
	}
	extra := make([]Descriptor, 400)
	for i := range extra {
		extra[i] = s.sample(&centres[len(centres)-1-i])
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(extra); i += 2 {
				id := fmt.Sprintf("x%d", i)
				if err := g.Add(FaceEntry{ID: id, Person: id, Descriptor: extra[i]}); err != nil {
					errs <- err
					return
				}
				if i%3 == 0 && !g.Remove(id) {
					errs <- fmt.Errorf("remove %s: not found", id)
					return
				}
			}
		}()
	}
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				k := (w*15 + i) % len(stable)
				hits, err := g.Search(stable[k], 3)
				if err != nil {
					errs <- err
					return
				}
				if want := fmt.Sprintf("e%07d", k); hits[0].ID != want || hits[0].Distance != 0 {
					errs <- fmt.Errorf("search %s during writes: got %+v", want, hits[0])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := minParallel + 2000 + len(extra) - (len(extra)+2)/3
	if g.Len() != want {
		t.Fatalf("len %d, want %d", g.Len(), want)
	}
}
