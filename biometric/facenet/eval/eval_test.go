package eval

import (
	"bytes"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

var sharedTestdata = filepath.Join("..", "..", "..", "..", "shared", "testdata")

func TestParseSlice(t *testing.T) {
	s, err := ParseSlice([]byte("# c\nname: x\ndataset: faces/lfw\n\nA_B\n C_D \n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "x" || s.Dataset != "faces/lfw" || len(s.IDs) != 2 || s.IDs[1] != "C_D" || s.All {
		t.Fatalf("%+v", s)
	}
	for _, bad := range []string{
		"dataset: d\nA\nB\n",           // no name
		"name: n\nA\nB\n",              // no dataset
		"name: n\ndataset: d\nA\n",     // one identity: no impostor pairs
		"name: n\ndataset: d\nA\nA\n",  // duplicate
		"name: n\ndataset: d\n*\nA\n",  // * and names
		"name: n\ndataset: ../x\n*\n",  // escapes the test data
		"name: n\ndataset: /abs\n*\n",  // absolute
		"name: n\ndataset: d\n../A\nB", // path in an identity
		"name:\ndataset: d\n*\n",       // empty name
	} {
		if _, err := ParseSlice([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// The shipped slice files name identities that exist in ../shared/testdata, with the sizes the
// issue states (22 East Asian people; 5 LFW East/Southeast Asian identities).
func TestShippedSlicesMatchSharedData(t *testing.T) {
	slices, err := LoadSlices(filepath.Join("..", "slices"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"east-asian": 22, "lfw-east-southeast-asian": 5, "lfw-all": 79}
	for _, s := range slices {
		all, err := ListDataset(filepath.Join(sharedTestdata, s.Dataset))
		if err != nil {
			t.Fatalf("shared test data missing: %v", err)
		}
		ims, err := s.Select(all)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, im := range ims {
			ids[im.ID] = true
		}
		if n, ok := want[s.Name]; !ok || len(ids) != n {
			t.Errorf("slice %s: %d identities, want %d", s.Name, len(ids), want[s.Name])
		}
		delete(want, s.Name)
	}
	if len(want) != 0 {
		t.Errorf("slices missing: %v", want)
	}
	bad := Slice{Name: "b", Dataset: "faces/lfw", IDs: []string{"Nobody_Here", "Hu_Jintao"}}
	all, _ := ListDataset(filepath.Join(sharedTestdata, "faces/lfw"))
	if _, err := bad.Select(all); err == nil || !strings.Contains(err.Error(), "Nobody_Here") {
		t.Fatalf("unknown identity: %v", err)
	}
}

// Two identities × two images on a line: a0=0, a1=0.1, b0=1, b1=1.3 (1-D descriptors).
// Genuine: 0.1, 0.3. Impostor: 1, 1.3, 0.9, 1.2.
func TestScoresAndMeasure(t *testing.T) {
	ims := []Image{{"a", "a0"}, {"a", "a1"}, {"b", "b0"}, {"b", "b1"}}
	desc := map[string][]float32{"a0": {0}, "a1": {0.1}, "b0": {1}, "b1": {1.3}}
	s, err := Scores(ims, desc)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Genuine) != 2 || len(s.Impostor) != 4 {
		t.Fatalf("%d genuine, %d impostor", len(s.Genuine), len(s.Impostor))
	}
	sl := Slice{Name: "s", Dataset: "d", All: true}
	r, err := Measure("e", sl, ims, desc, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	// At FMR ≤ 0.1 % of 4 impostor pairs no impostor may pass: threshold just below 0.9, both
	// genuine pairs pass.
	if r.AtTarget.FMR != 0 || r.AtTarget.FNMR != 0 || r.AtTarget.Threshold >= 0.9 || r.AtTarget.Threshold < 0.3 {
		t.Fatalf("at target: %+v", r.AtTarget)
	}
	// At the pooled threshold 0.95 one impostor pair (0.9) of four passes.
	if r.AtPooled == nil || r.AtPooled.FMR != 0.25 || r.AtPooled.FNMR != 0 {
		t.Fatalf("at pooled: %+v", r.AtPooled)
	}
	// A failure to acquire b1: its pairs count as non-matches.
	delete(desc, "b1")
	r, err = Measure("e", sl, ims, desc, math.NaN())
	if err != nil {
		t.Fatal(err)
	}
	if r.FTA != 1 || r.AtTarget.FNMR != 0.5 || r.AtPooled != nil {
		t.Fatalf("with FTA: %+v", r)
	}
	rows := []Row{r, {Engine: "e", Slice: "t", AtTarget: r.AtTarget}}
	rows[1].AtTarget.FNMR = 0.7
	if w := Worst(rows)["e"]; w.Slice != "t" {
		t.Fatalf("worst slice %s", w.Slice)
	}
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, rows, map[string]string{"e": "3ms"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "worst slice **t** (FNMR 70.00 %") || !strings.Contains(buf.String(), "3ms") {
		t.Fatalf("markdown:\n%s", buf.String())
	}
}

func FuzzParseSlice(f *testing.F) {
	f.Add([]byte("name: lfw\ndataset: faces/lfw\nHu_Jintao\nTang_Jiaxuan\n"))
	f.Add([]byte("name: all\ndataset: faces/east_asian\n*\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSlice(b)
		if err != nil {
			return
		}
		if s.Name == "" || s.Dataset == "" || strings.Contains(s.Dataset, "..") || (!s.All && len(s.IDs) < 2) {
			t.Fatalf("accepted an invalid slice: %+v", s)
		}
	})
}
