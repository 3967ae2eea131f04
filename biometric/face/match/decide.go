package match

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Outcome is the three-way 1:1 result shown to the officer.
type Outcome string

const (
	// Match: distance at or under the match threshold (calibrated FMR, see Calibration).
	Match Outcome = "match"
	// Review: in the band where false matches are still too likely for an automatic decision
	// and genuine pairs still occur: the officer compares the faces and decides.
	Review Outcome = "review"
	// NoMatch: distance above the review band.
	NoMatch Outcome = "no_match"
)

// Calibration is the thresholds for one engine on one exact model set, measured on labelled data.
type Calibration struct {
	// ModelSetID is modelset.Verified.ID (sha256 over the model files' sha256).
	ModelSetID string `json:"model_set_id"`
	// Engine names the descriptor pipeline (embedding.Embedder.Name()).
	Engine string `json:"engine"`
	// MatchThreshold: distances ≤ it are a match; it is the threshold at MatchFMR on Data.
	MatchThreshold float64 `json:"match_threshold"`
	MatchFMR       float64 `json:"match_fmr"`
	// ReviewThreshold: distances in (MatchThreshold, ReviewThreshold] go to the officer; it is
	// the threshold at ReviewFMR on Data.
	ReviewThreshold float64 `json:"review_threshold"`
	ReviewFMR       float64 `json:"review_fmr"`
	// Measured rates at the match threshold on Data, for the record.
	MeasuredFMR  float64 `json:"measured_fmr"`
	MeasuredFNMR float64 `json:"measured_fnmr"`
	Genuine      int     `json:"genuine_pairs"`
	Impostor     int     `json:"impostor_pairs"`
	Data         string  `json:"data"`
	Note         string  `json:"note,omitempty"`
}

// Calibrate derives a calibration from scores: the match threshold at matchFMR and the review
// threshold at reviewFMR (reviewFMR ≥ matchFMR).
func Calibrate(s Scores, modelSetID, engine string, matchFMR, reviewFMR float64, data string) (Calibration, error) {
	if len(s.Genuine) == 0 || len(s.Impostor) == 0 {
		return Calibration{}, errors.New("calibrate: need genuine and impostor pairs")
	}
	if reviewFMR < matchFMR {
		return Calibration{}, fmt.Errorf("calibrate: review FMR %g below match FMR %g", reviewFMR, matchFMR)
	}
	m, r := s.AtFMR(matchFMR), s.AtFMR(reviewFMR)
	return Calibration{
		ModelSetID: modelSetID, Engine: engine,
		MatchThreshold: round6(m.Threshold), MatchFMR: matchFMR,
		ReviewThreshold: round6(r.Threshold), ReviewFMR: reviewFMR,
		MeasuredFMR: m.FMR, MeasuredFNMR: m.FNMR,
		Genuine: len(s.Genuine), Impostor: len(s.Impostor), Data: data,
	}, nil
}

// round6 rounds down to 6 decimals so the stored threshold never admits more than measured.
func round6(x float64) float64 { return math.Floor(x*1e6) / 1e6 }

// Decision is a 1:1 result with the score and the thresholds it was judged against.
type Decision struct {
	Outcome         Outcome `json:"outcome"`
	Distance        float64 `json:"distance"`
	MatchThreshold  float64 `json:"match_threshold"`
	ReviewThreshold float64 `json:"review_threshold"`
	MatchFMR        float64 `json:"match_fmr"`
}

// Decide judges one distance.
func (c Calibration) Decide(distance float64) Decision {
	d := Decision{Distance: distance, MatchThreshold: c.MatchThreshold, ReviewThreshold: c.ReviewThreshold, MatchFMR: c.MatchFMR}
	switch {
	case math.IsNaN(distance):
		d.Outcome = NoMatch
	case distance <= c.MatchThreshold:
		d.Outcome = Match
	case distance <= c.ReviewThreshold:
		d.Outcome = Review
	default:
		d.Outcome = NoMatch
	}
	return d
}

// ErrUncalibrated means there is no calibration for the engine and model set in use: the desk
// must not decide (and says so) rather than fall back to a generic threshold.
var ErrUncalibrated = errors.New("no face-match calibration for this engine and model set")

// Table is a set of calibrations keyed by model set and engine.
type Table struct {
	Calibrations []Calibration `json:"calibrations"`
}

// Lookup finds the calibration for engine on modelSetID.
func (t Table) Lookup(modelSetID, engine string) (Calibration, error) {
	for _, c := range t.Calibrations {
		if c.ModelSetID == modelSetID && c.Engine == engine {
			return c, nil
		}
	}
	return Calibration{}, fmt.Errorf("%w: engine %q, model set %s", ErrUncalibrated, engine, short(modelSetID))
}

// Put adds or replaces the calibration for its engine and model set.
func (t *Table) Put(c Calibration) {
	for i := range t.Calibrations {
		if t.Calibrations[i].ModelSetID == c.ModelSetID && t.Calibrations[i].Engine == c.Engine {
			t.Calibrations[i] = c
			return
		}
	}
	t.Calibrations = append(t.Calibrations, c)
	sort.Slice(t.Calibrations, func(i, j int) bool {
		a, b := t.Calibrations[i], t.Calibrations[j]
		return a.ModelSetID+a.Engine < b.ModelSetID+b.Engine
	})
}

// ParseTable reads a calibration table (JSON), checking each entry's consistency.
func ParseTable(b []byte) (Table, error) {
	var t Table
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return Table{}, fmt.Errorf("parse calibration table: %w", err)
	}
	for i, c := range t.Calibrations {
		switch {
		case len(c.ModelSetID) != 64 || c.Engine == "":
			return Table{}, fmt.Errorf("parse calibration table: entry %d: model set id and engine required", i)
		case !(c.MatchThreshold > 0) || !(c.ReviewThreshold >= c.MatchThreshold) || math.IsInf(c.ReviewThreshold, 0):
			return Table{}, fmt.Errorf("parse calibration table: entry %d: thresholds %g/%g invalid", i, c.MatchThreshold, c.ReviewThreshold)
		case !(c.MatchFMR > 0 && c.MatchFMR < 1):
			return Table{}, fmt.Errorf("parse calibration table: entry %d: match FMR %g invalid", i, c.MatchFMR)
		}
	}
	return t, nil
}

// Marshal writes the table as indented JSON.
func (t Table) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

//go:embed calibrations.json
var shipped embed.FS

// Shipped returns the calibrations built into the desk (calibrations.json, written by
// `enrolldesk face eval -write-calibration`).
func Shipped() (Table, error) {
	b, err := shipped.ReadFile("calibrations.json")
	if err != nil {
		return Table{}, err
	}
	return ParseTable(b)
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
