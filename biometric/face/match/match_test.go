package match

import (
	"errors"
	"math"
	"strings"
	"testing"
)

var id = strings.Repeat("ab", 32)

func TestRates(t *testing.T) {
	s := Scores{
		Genuine:  []float64{0.2, 0.3, 0.35, 0.5, Failure},
		Impostor: []float64{0.4, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0, 1.1, 1.2, 1.3},
	}
	r := s.At(0.45)
	if r.FMR != 0.1 || math.Abs(r.FNMR-0.4) > 1e-12 {
		t.Fatalf("at 0.45: %+v", r)
	}
	// FMR 10 % allows one impostor (0.4): the threshold sits just under 0.6.
	r = s.AtFMR(0.1)
	if r.FMR != 0.1 || r.Threshold >= 0.6 || r.Threshold < 0.5999 || math.Abs(r.FNMR-0.2) > 1e-12 {
		t.Fatalf("at FMR 0.1: %+v", r)
	}
	// FMR 0: just under the closest impostor.
	r = s.AtFMR(0.001)
	if r.FMR != 0 || r.Threshold >= 0.4 || math.Abs(r.FNMR-0.4) > 1e-12 {
		t.Fatalf("at FMR 0.001: %+v", r)
	}
	// The failure to acquire is never accepted.
	if r := s.At(100); math.Abs(r.FNMR-0.2) > 1e-12 {
		t.Fatalf("failure accepted: %+v", r)
	}
	e := s.EER()
	if e.FMR > 0.2 || e.FNMR > 0.4 {
		t.Fatalf("EER %+v", e)
	}
	roc := s.ROC(0, 1.5, 3)
	if len(roc) != 4 || roc[0].FMR != 0 || roc[3].FMR != 1 || roc[0].FNMR != 1 {
		t.Fatalf("ROC %+v", roc)
	}
}

func TestDecideThreeWay(t *testing.T) {
	s := Scores{Genuine: []float64{0.3, 0.35, 0.4}, Impostor: []float64{0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2, 1.3}}
	c, err := Calibrate(s, id, "dlib", 0.05, 0.2, "test")
	if err != nil {
		t.Fatal(err)
	}
	if c.MatchThreshold >= 0.5 || c.ReviewThreshold >= 0.6 || c.ReviewThreshold < 0.55 {
		t.Fatalf("calibration %+v", c)
	}
	for _, tc := range []struct {
		d    float64
		want Outcome
	}{{0.3, Match}, {c.MatchThreshold, Match}, {0.52, Review}, {0.9, NoMatch}, {math.NaN(), NoMatch}, {Failure, NoMatch}} {
		if got := c.Decide(tc.d); got.Outcome != tc.want || (got.Distance != tc.d && !math.IsNaN(tc.d)) {
			t.Errorf("Decide(%v) = %+v, want %s", tc.d, got, tc.want)
		}
	}
	if _, err := Calibrate(s, id, "dlib", 0.2, 0.05, "x"); err == nil {
		t.Fatal("review FMR below match FMR accepted")
	}
	if _, err := Calibrate(Scores{Genuine: []float64{1}}, id, "dlib", 0.01, 0.1, "x"); err == nil {
		t.Fatal("no impostors accepted")
	}
}

func TestTableRefusesUnknownModelSet(t *testing.T) {
	var tb Table
	c := Calibration{ModelSetID: id, Engine: "dlib", MatchThreshold: 0.4, ReviewThreshold: 0.5, MatchFMR: 0.001}
	tb.Put(c)
	tb.Put(c)
	if len(tb.Calibrations) != 1 {
		t.Fatal("Put duplicated")
	}
	if _, err := tb.Lookup(id, "dlib"); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Lookup(strings.Repeat("cd", 32), "dlib"); !errors.Is(err, ErrUncalibrated) {
		t.Fatalf("unknown model set: %v", err)
	}
	if _, err := tb.Lookup(id, "other"); !errors.Is(err, ErrUncalibrated) {
		t.Fatalf("unknown engine: %v", err)
	}
	b, err := tb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseTable(b)
	if err != nil || len(back.Calibrations) != 1 || back.Calibrations[0] != c {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	for _, bad := range []string{
		`{"calibrations":[{"model_set_id":"x","engine":"dlib","match_threshold":0.4,"review_threshold":0.5,"match_fmr":0.001}]}`,
		`{"calibrations":[{"model_set_id":"` + id + `","engine":"dlib","match_threshold":0.6,"review_threshold":0.5,"match_fmr":0.001}]}`,
		`{"calibrations":[{"model_set_id":"` + id + `","engine":"dlib","match_threshold":0.4,"review_threshold":0.5,"match_fmr":0}]}`,
		`{"calibrations":[],"extra":1}`,
		`[`,
	} {
		if _, err := ParseTable([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestShippedParses(t *testing.T) {
	if _, err := Shipped(); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseTable(f *testing.F) {
	f.Add([]byte(`{"calibrations":[{"model_set_id":"` + id + `","engine":"dlib","match_threshold":0.4,"review_threshold":0.5,"match_fmr":0.001}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, err := ParseTable(b)
		if err != nil {
			return
		}
		for _, c := range tb.Calibrations {
			if c.ReviewThreshold < c.MatchThreshold {
				t.Fatalf("inconsistent entry accepted: %+v", c)
			}
			_ = c.Decide(c.MatchThreshold)
		}
	})
}
