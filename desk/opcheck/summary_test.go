package opcheck

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"enrolldesk/biometric/finger/fingertest"
	"enrolldesk/desk/opstest"
)

// isoRecord extracts an FVC2002 image as the sensor's capture path stores it: an ISO/IEC
// 19794-2:2005 record (desk/app.SensorFinger).
func isoRecord(t *testing.T, name string, position int) []byte {
	t.Helper()
	b, _ := fingertest.ISORecord(t, filepath.Join(fvcDir(t), name+".tif"), position)
	return b
}

// The window's onboarding stores the sensor's ISO/IEC 19794-2 records and the wizard hands the
// citizen's in the same form: both are compared, the officer's own finger is flagged, another
// person's is not, and a corrupt record is refused at enrollment.
func TestISORecordsFromTheCapturePath(t *testing.T) {
	ctx := context.Background()
	c, _ := newChecker(t)
	if err := c.Profiles.Enroll(ctx, opstest.Supervisor, opstest.Officer, Profile{Fingers: []Finger{{Position: 2, Template: isoRecord(t, "101_1", 2)}}}); err != nil {
		t.Fatal(err)
	}
	own, err := c.Check(ctx, opstest.Officer, Citizen{Fingers: []Finger{{Position: 7, Template: isoRecord(t, "101_2", 7)}}})
	if err != nil || !slices.Equal(own.Flags, []string{FlagFinger}) {
		t.Fatalf("the officer's own finger as a citizen's: %+v %v", own, err)
	}
	other, err := c.Check(ctx, opstest.Officer, Citizen{Fingers: []Finger{{Position: 2, Template: isoRecord(t, "102_1", 2)}}})
	if err != nil || len(other.Flags) != 0 || other.FingersCompared != 1 {
		t.Fatalf("another person's finger: %+v %v", other, err)
	}
	bad := isoRecord(t, "103_1", 2)
	if err := c.Profiles.Enroll(ctx, opstest.Supervisor, opstest.Officer2, Profile{Fingers: []Finger{{Position: 2, Template: bad[:len(bad)-3]}}}); err == nil {
		t.Fatal("a truncated ISO record was enrolled")
	}
}

// The officers screen's summaries: who has a profile, when and by whom without the key, and the
// engines and positions once the profile is opened; nothing for an officer without one.
func TestSummaries(t *testing.T) {
	ctx := context.Background()
	c, f := newChecker(t)
	if got, err := Enrolled(ctx, f.DB); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %+v %v", got, err)
	}
	p := Profile{
		Faces:   []Face{{Engine: "facenet-x", ModelSet: "m1", Descriptor: []float32{1, 0}}, {Engine: "dlib-resnet-v1", ModelSet: "m2", Descriptor: []float32{0, 1}}},
		Fingers: []Finger{{Position: 2, Template: isoRecord(t, "104_1", 2)}, {Position: 7, Template: isoRecord(t, "105_1", 7)}},
	}
	if err := c.Profiles.Enroll(ctx, opstest.Supervisor, opstest.Officer, p); err != nil {
		t.Fatal(err)
	}
	sealed, err := Enrolled(ctx, f.DB)
	s, found := sealed[opstest.Officer]
	if err != nil || len(sealed) != 1 || !found || !s.Sealed || s.EnrolledBy != opstest.Supervisor || !s.EnrolledAt.Equal(f.Clock.Now()) || s.Engines != nil {
		t.Fatalf("sealed summary %+v %v", sealed, err)
	}
	open, err := c.Profiles.Summaries(ctx)
	s = open[opstest.Officer]
	if err != nil || s.Sealed || !slices.Equal(s.Engines, []string{"facenet-x", "dlib-resnet-v1"}) || !slices.Equal(s.Fingers, []int{2, 7}) {
		t.Fatalf("summary %+v %v", open, err)
	}
}
