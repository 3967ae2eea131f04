package opcheck

import (
	"embed"
	"errors"
	"fmt"
	"math"
	"sort"

	"enrolldesk/biometric/face/embedding"
	"enrolldesk/biometric/face/match"
)

// The operator check's own face calibrations, one per engine and exact model set, written by
// `go run ./desk/opcheck/cmd/opcheck-eval -write desk/opcheck/calibrations.json` (build/bench.d/
// opcheck-eval checks them). They differ from the 1:1 calibrations (biometric/face/match): the
// threshold is set at FMR 0.1 % on the WORST population slice of a calibration half of the
// shared faces (East/Southeast Asian identities alone, or all of them), because a Vietnamese desk
// compares Vietnamese officers with Vietnamese citizens, and an engine that separates those faces
// worse than others must not flag more of them. There is no review band: a hit only flags.
//
//go:embed calibrations.json
var shippedFS embed.FS

// Calibrations returns the operator check's shipped face calibrations.
func Calibrations() (match.Table, error) {
	b, err := shippedFS.ReadFile("calibrations.json")
	if err != nil {
		return match.Table{}, fmt.Errorf("operator check calibrations: %w", err)
	}
	t, err := match.ParseTable(b)
	if err != nil {
		return match.Table{}, fmt.Errorf("operator check calibrations: %w", err)
	}
	return t, nil
}

// Calibration returns the operator check's calibration for the engine and model set that made
// the citizen's and the officer's descriptors (Citizen.Engine, Citizen.ModelSet; e.g.
// facenet.Engine's Name and ModelSetID for the desk's default policy.face_engine). An engine
// without one is refused (match.ErrUncalibrated): pass the result to desk/ops OperatorCheck.
func Calibration(engine, modelSet string) (match.Calibration, error) {
	t, err := Calibrations()
	if err != nil {
		return match.Calibration{}, err
	}
	c, err := t.Lookup(modelSet, engine)
	if err != nil {
		return match.Calibration{}, fmt.Errorf("operator check: %w", err)
	}
	return c, nil
}

// Photo is one labelled face descriptor of the calibration data.
type Photo struct {
	ID    string // identity (e.g. "faces/lfw/Hu_Jintao")
	Asian bool   // East or Southeast Asian identity: the slice the desk's population is in
	Desc  []float32
}

// Slice selects the photos of a population slice.
type Slice struct {
	Name string
	Keep func(Photo) bool
}

// Slices are the slices the operator check is calibrated and reported on.
var Slices = []Slice{
	{"all", func(Photo) bool { return true }},
	{"East/Southeast Asian", func(p Photo) bool { return p.Asian }},
}

// SplitIdentities alternates the sorted identities between a calibration half and a test half,
// so the reported rates are not measured on the data the threshold was set on.
func SplitIdentities(byID map[string][]Photo) (calib, test []string) {
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for i, id := range ids {
		if i%2 == 0 {
			calib = append(calib, id)
		} else {
			test = append(test, id)
		}
	}
	return calib, test
}

// ThresholdAt returns the largest distance with at most rate of the impostor pairs (photos of
// two different identities among ids, both kept by keep) at or below it, and the number of
// pairs. With fewer than 1/rate pairs no impostor may pass: the threshold lies just under the
// closest one.
func ThresholdAt(byID map[string][]Photo, ids []string, keep func(Photo) bool, rate float64) (float64, int, error) {
	var impostor []float64
	for i, a := range ids {
		for _, b := range ids[i+1:] {
			for _, p := range byID[a] {
				if !keep(p) {
					continue
				}
				for _, q := range byID[b] {
					if !keep(q) {
						continue
					}
					d, err := embedding.Distance(p.Desc, q.Desc)
					if err != nil {
						return 0, 0, fmt.Errorf("threshold: %s vs %s: %w", a, b, err)
					}
					impostor = append(impostor, d)
				}
			}
		}
	}
	if len(impostor) == 0 {
		return 0, 0, errors.New("threshold: no impostor pairs")
	}
	sort.Float64s(impostor)
	k := int(math.Floor(rate * float64(len(impostor))))
	if k == 0 {
		return math.Nextafter(impostor[0], 0), len(impostor), nil
	}
	// Ties at the k-th distance would admit more than k: step under the next distinct value.
	th := impostor[k-1]
	if k < len(impostor) && impostor[k] == th {
		th = math.Nextafter(th, 0)
	}
	return th, len(impostor), nil
}

// Figures are the operator check's rates on one slice at one threshold, with each identity in
// turn as the logged-in officer (its first photo enrolled): honest enrollments are every photo of
// the other identities, self-enrollments the officer's own other photos.
type Figures struct {
	Slice   string  `json:"slice"`
	Honest  int     `json:"honest"`
	Flagged int     `json:"flagged"`
	Self    int     `json:"self"`
	Caught  int     `json:"caught"`
	Thresh  float64 `json:"threshold"`
	Pairs   int     `json:"calibration_pairs,omitempty"`
	SliceTh float64 `json:"slice_threshold,omitempty"`
}

// FalseFlagRate is the share of honest enrollments flagged.
func (f Figures) FalseFlagRate() float64 { return float64(f.Flagged) / math.Max(1, float64(f.Honest)) }

// CatchRate is the share of self-enrollments caught.
func (f Figures) CatchRate() float64 { return float64(f.Caught) / math.Max(1, float64(f.Self)) }

// Measure runs the operator check's face comparison on ids at threshold for one slice.
func Measure(byID map[string][]Photo, ids []string, sl Slice, threshold float64) (Figures, error) {
	f := Figures{Slice: sl.Name, Thresh: threshold}
	for _, off := range ids {
		o := byID[off]
		if len(o) == 0 || !sl.Keep(o[0]) {
			continue
		}
		officer := o[0].Desc
		for _, cit := range ids {
			for j, p := range byID[cit] {
				if !sl.Keep(p) || (cit == off && j == 0) {
					continue
				}
				d, err := embedding.Distance(officer, p.Desc)
				if err != nil {
					return Figures{}, fmt.Errorf("measure: %s vs %s: %w", off, cit, err)
				}
				hit := d <= threshold
				switch {
				case cit == off:
					f.Self++
					if hit {
						f.Caught++
					}
				default:
					f.Honest++
					if hit {
						f.Flagged++
					}
				}
			}
		}
	}
	return f, nil
}

// Calibrate sets the operator check's threshold for one engine the way the desk needs it: at
// MaxFalseFlagRate on the worst slice of the calibration half (the smallest of the slices'
// thresholds), and measures every slice on the test half at that threshold. The calibration's
// measured FMR and FNMR are the worst slice's false-flag rate and one minus the worst catch rate
// on the test half.
func Calibrate(byID map[string][]Photo, engine, modelSet, data string) (match.Calibration, []Figures, error) {
	calib, test := SplitIdentities(byID)
	if len(calib) < 2 || len(test) < 2 {
		return match.Calibration{}, nil, fmt.Errorf("calibrate %s: %d identities, need at least 4", engine, len(byID))
	}
	threshold := math.Inf(1)
	pairs := 0
	sliceTh := make([]float64, len(Slices))
	sliceN := make([]int, len(Slices))
	for i, sl := range Slices {
		th, n, err := ThresholdAt(byID, calib, sl.Keep, MaxFalseFlagRate)
		if err != nil {
			return match.Calibration{}, nil, fmt.Errorf("calibrate %s, slice %s: %w", engine, sl.Name, err)
		}
		sliceTh[i], sliceN[i] = th, n
		if th < threshold {
			threshold, pairs = th, n
		}
	}
	threshold = math.Floor(threshold*1e6) / 1e6 // stored to 6 decimals, never above the measured
	var figs []Figures
	worstFlag, worstMiss := 0.0, 0.0
	for i, sl := range Slices {
		f, err := Measure(byID, test, sl, threshold)
		if err != nil {
			return match.Calibration{}, nil, fmt.Errorf("calibrate %s: %w", engine, err)
		}
		f.Pairs, f.SliceTh = sliceN[i], sliceTh[i]
		figs = append(figs, f)
		worstFlag = math.Max(worstFlag, f.FalseFlagRate())
		worstMiss = math.Max(worstMiss, 1-f.CatchRate())
	}
	c := match.Calibration{
		ModelSetID: modelSet, Engine: engine,
		MatchThreshold: threshold, MatchFMR: MaxFalseFlagRate,
		ReviewThreshold: threshold, ReviewFMR: MaxFalseFlagRate,
		MeasuredFMR: worstFlag, MeasuredFNMR: worstMiss,
		Impostor: pairs, Data: data,
		Note: "operator check: threshold at FMR 0.1 % on the worst slice (all / East-Southeast Asian) of the calibration half " +
			"(alternate identities); measured rates are the worst slice's on the test half, each identity in turn the officer",
	}
	for _, f := range figs {
		c.Genuine += f.Self
	}
	return c, figs, nil
}
