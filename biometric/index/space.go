package index

import (
	"fmt"

	"enrolldesk/biometric/face/match"
)

// Face engines as the desk settings name them (settings.Policy.FaceEngine).
const (
	EngineDlib    = "dlib"
	EngineFacenet = "facenet"
)

// SpaceFor is the face space of the desk's face engine (EngineDlib or EngineFacenet) on the
// exact model set its calibration names (match.Calibration, biometric/face/match's shipped
// table): the dimension and coding are the engine's, the space's name is the calibration's engine
// and model set, so a gallery never mixes descriptors of two engines or of two model files.
func SpaceFor(engine string, cal match.Calibration) (FaceSpace, error) {
	var sp FaceSpace
	switch engine {
	case EngineDlib:
		sp = DlibSpace
	case EngineFacenet:
		sp = FacenetSpace
	default:
		return FaceSpace{}, fmt.Errorf("face space: engine %q unknown (want %q or %q)", engine, EngineDlib, EngineFacenet)
	}
	if cal.Engine == "" || len(cal.ModelSetID) != 64 {
		return FaceSpace{}, fmt.Errorf("face space %s: %w", engine, match.ErrUncalibrated)
	}
	sp.Engine = cal.Engine + "@" + cal.ModelSetID
	return sp, sp.Validate()
}

// PolicyFor is base with the face thresholds taken from the engine's calibration: a face is
// strong evidence at or under the calibration's match threshold (FMR 0.1 % per comparison) and
// weak evidence at or under its review threshold (FMR 1 %). A search compares the applicant
// with every enrolled person, so at N persons about N·FMR impostors reach each level: which is
// why the face alone never blocks (see Dedup's rule), and a strong face alone only asks for a
// supervisor's review.
func PolicyFor(base Policy, cal match.Calibration) (Policy, error) {
	if !(cal.MatchThreshold > 0) || !(cal.ReviewThreshold >= cal.MatchThreshold) {
		return Policy{}, fmt.Errorf("de-duplication policy: %w", match.ErrUncalibrated)
	}
	if cal.MatchFMR > 0.001 || cal.ReviewFMR > 0.01 {
		return Policy{}, fmt.Errorf("de-duplication policy: calibration at FMR %g/%g, want at most 0.001/0.01", cal.MatchFMR, cal.ReviewFMR)
	}
	p := base
	p.FaceStrong, p.FaceWeak = float32(cal.MatchThreshold), float32(cal.ReviewThreshold)
	return p, nil
}
