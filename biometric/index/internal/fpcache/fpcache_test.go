package fpcache

import (
	"bytes"
	"path/filepath"
	"testing"

	"enrolldesk/biometric/finger"
)

func sample() []Rec {
	return []Rec{
		{Finger: 1, Impression: 1, Template: &finger.Template{Width: 388, Height: 374, DPI: 500, Quality: 80,
			Minutiae: []finger.Minutia{{X: 10, Y: 20, Angle: 1, Type: finger.TypeEnding, Quality: 50}}}},
		{Finger: 2, Impression: 2, Template: &finger.Template{Width: 388, Height: 374, DPI: 500}},
	}
}

func TestParseRoundTripAndTornTail(t *testing.T) {
	var b []byte
	for _, r := range sample() {
		e, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, e...)
	}
	got, err := Parse(b)
	if err != nil || len(got) != 2 || got[0].Finger != 1 || got[1].Impression != 2 || got[0].Template.Minutiae[0].X != 10 {
		t.Fatalf("parse: %+v %v", got, err)
	}
	for cut := 1; cut < 20; cut++ {
		got, err := Parse(b[:len(b)-cut])
		if err != nil || len(got) != 1 {
			t.Fatalf("torn by %d: %d records, %v", cut, len(got), err)
		}
	}
	bad := bytes.Clone(b)
	bad[7] = 'X' // template magic
	if _, err := Parse(bad); err == nil {
		t.Fatal("bad template accepted")
	}
	// ParseSome skips unwanted records without decoding them (the bad one included).
	got, err = ParseSome(bad, func(f, imp int) bool { return f == 2 })
	if err != nil || len(got) != 1 || got[0].Finger != 2 || got[0].Impression != 2 {
		t.Fatalf("parse some: %+v %v", got, err)
	}
}

func TestEnsureGeneratesAndResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.bin")
	recs, err := Ensure(t.Context(), path, 1, 1)
	if err != nil || len(recs) != 1 || recs[0].Template == nil {
		t.Fatalf("ensure: %+v %v", recs, err)
	}
	again, err := Load(path)
	if err != nil || len(again) != 1 || len(again[0].Template.Minutiae) != len(recs[0].Template.Minutiae) {
		t.Fatalf("reload: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	var b []byte
	for _, r := range sample() {
		e, _ := Encode(r)
		b = append(b, e...)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := Parse(b)
		if err != nil {
			return
		}
		for _, r := range recs {
			if _, err := Encode(r); err != nil {
				t.Fatalf("parsed record does not encode: %v", err)
			}
		}
	})
}
