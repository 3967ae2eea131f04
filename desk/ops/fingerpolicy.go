package ops

import (
	"context"
	"time"

	"enrolldesk/desk/enroll"
	"enrolldesk/desk/exceptions"
	"enrolldesk/desk/settings"
)

// FingerPolicy implements enroll.FingerPolicy with the desk's settings (policy.fingers and
// thresholds.finger_min_quality) and exceptions.Validate, so the workflow's Problems list names
// each finger still owed. The error is an *exceptions.PolicyError (errors.As gives the per-finger
// codes). enroll.FingerException carries no evidence photo, so the evidence is checked when the
// record is submitted (review.Queue.Submit, exceptions.CheckAgainstBlobs), not here.
type FingerPolicy struct {
	Settings *settings.Store
}

var _ enroll.FingerPolicy = FingerPolicy{}

// Check implements enroll.FingerPolicy.
func (p FingerPolicy) Check(fingers []enroll.Finger, excs []enroll.FingerException) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := p.Settings.Load(ctx)
	if err != nil {
		return err
	}
	caps := make([]exceptions.Capture, len(fingers))
	for i, f := range fingers {
		caps[i] = exceptions.Capture{Position: f.Position, Quality: f.Quality}
	}
	// A well-formed placeholder reference: the photo itself is checked at submission.
	const deferred = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
	decl := make([]exceptions.Exception, len(excs))
	for i, e := range excs {
		decl[i] = exceptions.Exception{Position: e.Position, Reason: exceptions.Reason(e.Reason), Evidence: deferred}
	}
	return exceptions.Validate(st.Policy.Fingers, st.Thresholds.FingerMinQuality, caps, decl).Err()
}
