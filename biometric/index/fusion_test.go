package index

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"enrolldesk/biometric/finger"
	"enrolldesk/desk/store"
)

func TestDecideRuleTable(t *testing.T) {
	pol := DefaultPolicy
	nan := float32(math.NaN())
	for _, tc := range []struct {
		name         string
		face         float32 // NaN: no face evidence
		strong, weak int
		want         Verdict
	}{
		{"nothing", nan, 0, 0, Unique},
		{"two strong fingers", nan, 2, 2, Duplicate},
		{"one strong finger alone", nan, 1, 1, Review},
		{"one strong finger and weak face", 0.55, 1, 1, Duplicate},
		{"strong face and weak finger", 0.40, 0, 1, Duplicate},
		{"strong face alone", 0.40, 0, 0, Review},
		{"weak face alone", 0.55, 0, 0, Unique},
		{"weak face and weak finger", 0.55, 0, 1, Review},
		{"two weak fingers", nan, 0, 2, Review},
		{"one weak finger", nan, 0, 1, Unique},
		{"face beyond weak and strong finger", 0.7, 1, 1, Review},
	} {
		c := &Candidate{FaceDistance: tc.face, StrongFinger: tc.strong, WeakFinger: tc.weak}
		if !math.IsNaN(float64(tc.face)) {
			c.FaceID = "f"
		}
		if got := decide(c, pol); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDedupFusesFaceAndFingers(t *testing.T) {
	ctx := context.Background()
	db := openTestStore(t, filepath.Join(t.TempDir(), store.FileName))
	ix, err := Open(ctx, db, mustSealer(t, testKey(1)), FaceOptions{}, FingerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := newSynth(77)
	fs := newFSynth(77)
	// 200 people, each with a face and two fingers.
	type person struct {
		centre  Descriptor
		masters [2]*masterFinger
		prints  [2]*finger.Template
	}
	var people []person
	var faces []FaceEntry
	var fingers []FingerEntry
	for i := range 200 {
		p := person{centre: s.identity()}
		id := "P" + string(rune('A'+i/26)) + string(rune('a'+i%26))
		faces = append(faces, FaceEntry{ID: id + "-face", Person: id, Descriptor: s.sample(&p.centre)})
		for k := range 2 {
			p.masters[k] = fs.master()
			p.prints[k] = fs.impression(p.masters[k])
			fingers = append(fingers, FingerEntry{ID: id + "-f" + string(rune('0'+k)), Person: id, Position: 2 + 5*k, Template: p.prints[k]})
		}
		people = append(people, p)
	}
	if err := ix.AddFaces(ctx, faces, OriginLocal); err != nil {
		t.Fatal(err)
	}
	if err := ix.AddFingers(ctx, fingers, OriginLocal); err != nil {
		t.Fatal(err)
	}
	target := people[42]
	face := s.sample(&target.centre)
	// Same face, same two fingers (as enrolled, so the finger scores are strong): duplicate.
	res, err := ix.Dedup(DedupProbe{Face: &face, Fingers: []FingerProbe{{2, target.prints[0]}, {7, target.prints[1]}}}, DefaultPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Duplicate || res.Candidates[0].Person != faces[42].Person || res.Candidates[0].StrongFinger != 2 || res.Candidates[0].FaceID != faces[42].ID {
		t.Fatalf("duplicate probe: %v %+v", res.Verdict, res.Candidates)
	}
	// The same citizen re-enrolling is excluded.
	res, _ = ix.Dedup(DedupProbe{Face: &face, Fingers: []FingerProbe{{2, target.prints[0]}}, Exclude: faces[42].Person}, DefaultPolicy)
	for _, c := range res.Candidates {
		if c.Person == faces[42].Person {
			t.Fatal("excluded person returned")
		}
	}
	// Face only: at most review, never duplicate.
	res, _ = ix.Dedup(DedupProbe{Face: &face}, DefaultPolicy)
	if res.Verdict == Duplicate {
		t.Fatalf("face alone blocked the enrollment: %+v", res.Candidates)
	}
	// A stranger: a new face and new fingers.
	other := s.identity()
	sf := s.sample(&other)
	res, err = ix.Dedup(DedupProbe{Face: &sf, Fingers: []FingerProbe{{2, fs.impression(fs.master())}, {7, fs.impression(fs.master())}}}, DefaultPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Unique {
		t.Fatalf("stranger: %v %+v", res.Verdict, res.Candidates)
	}
	if _, err := ix.Dedup(DedupProbe{}, DefaultPolicy); err == nil {
		t.Fatal("empty probe accepted")
	}
}
