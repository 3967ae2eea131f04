package index

import (
	"context"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"enrolldesk/biometric/face/match"
	"enrolldesk/biometric/facenet"
	"enrolldesk/desk/store"
)

// The spaces' dimensions are the engines': dlib's ResNet gives 128, the shipped facenet model
// 512; SpaceFor names a space by the calibration's engine and exact model set, and PolicyFor
// takes the face thresholds from the same calibration (strong at FMR 0.1 %, weak at 1 %).
func TestSpacesMatchTheEngines(t *testing.T) {
	spec, err := facenet.Lookup(facenet.DefaultModel)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Dim != FacenetSpace.Dim || FacenetDim != 512 || DlibSpace.Dim != 128 {
		t.Fatalf("facenet %s gives %d dimensions, FacenetSpace %d", spec.Name, spec.Dim, FacenetSpace.Dim)
	}
	table, err := match.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, cal := range table.Calibrations {
		engine := EngineDlib
		if strings.HasPrefix(cal.Engine, "facenet-") {
			engine = EngineFacenet
		}
		seen[engine] = true
		sp, err := SpaceFor(engine, cal)
		if err != nil || sp.Engine != cal.Engine+"@"+cal.ModelSetID || sp.Legacy != (engine == EngineDlib) {
			t.Fatalf("%s: %+v %v", cal.Engine, sp, err)
		}
		pol, err := PolicyFor(DefaultPolicy, cal)
		if err != nil || float64(pol.FaceStrong) != float64(float32(cal.MatchThreshold)) || float64(pol.FaceWeak) != float64(float32(cal.ReviewThreshold)) ||
			pol.FingerStrong != DefaultPolicy.FingerStrong || pol.FaceK != DefaultPolicy.FaceK {
			t.Fatalf("%s: policy %+v %v", cal.Engine, pol, err)
		}
	}
	if !seen[EngineDlib] || !seen[EngineFacenet] {
		t.Fatalf("shipped calibrations for %v", seen)
	}
	if _, err := SpaceFor("arcface", table.Calibrations[0]); err == nil {
		t.Fatal("unknown engine accepted")
	}
	if _, err := SpaceFor(EngineFacenet, match.Calibration{}); !errors.Is(err, match.ErrUncalibrated) {
		t.Fatalf("uncalibrated: %v", err)
	}
	if _, err := PolicyFor(DefaultPolicy, match.Calibration{MatchThreshold: 1, ReviewThreshold: 1.1, MatchFMR: 0.01, ReviewFMR: 0.01}); err == nil {
		t.Fatal("a 1 % match threshold accepted as strong evidence")
	}
}

// One store, two spaces: each gallery loads only its engine's rows (dlib's also the legacy rows
// that name none), a registry delta in the other space is stored but not searched, and a delta
// whose descriptors do not fit the space they claim is refused whole.
func TestFaceSpacesShareTheStore(t *testing.T) {
	ctx := context.Background()
	db := openTestStore(t, filepath.Join(t.TempDir(), store.FileName))
	seal := mustSealer(t, testKey(3))
	net := FacenetSpace
	net.Engine = "facenet-test@1"
	dl, err := Open(ctx, db, seal, FaceOptions{}, FingerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sd, sn := newSynthFor(1, DlibSpace), newSynthFor(2, net)
	cd, cn := sd.identity(), sn.identity()
	if err := dl.AddFace(ctx, FaceEntry{ID: "d1", Person: "P", Descriptor: sd.sample(&cd)}, OriginLocal); err != nil {
		t.Fatal(err)
	}
	// A legacy row, stored before the engine column existed.
	raw, err := seal.Seal(EncodeDescriptor(sd.sample(&cd)), faceAD("legacy"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO face_gallery (entry_id, person_id, origin, descriptor, added_at) VALUES ('legacy', 'P', 'local', ?, '2026-01-01T00:00:00Z')`, raw); err != nil {
		t.Fatal(err)
	}
	nx, err := Open(ctx, db, seal, FaceOptions{Space: net}, FingerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if nx.Faces.Len() != 0 {
		t.Fatalf("facenet gallery loaded %d dlib rows", nx.Faces.Len())
	}
	if err := nx.AddFace(ctx, FaceEntry{ID: "n1", Person: "P", Descriptor: sn.sample(&cn)}, OriginLocal); err != nil {
		t.Fatal(err)
	}
	if err := nx.AddFace(ctx, FaceEntry{ID: "n2", Person: "P", Descriptor: sd.sample(&cd)}, OriginLocal); !errors.Is(err, ErrDimension) {
		t.Fatalf("a dlib descriptor stored as facenet's: %v", err)
	}
	// A registry delta of facenet faces, applied by the dlib gallery: stored, not searched.
	key := testRegistryKey(4)
	b, err := SignDelta(&Delta{Gallery: "g", Seq: 1, FaceEngine: net.Engine, Faces: []FaceEntry{{ID: "r1", Person: "R", Descriptor: sn.sample(&cn)}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dl.ApplyDelta(ctx, b, key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	if dl.Faces.Len() != 1 {
		t.Fatalf("dlib gallery holds %d", dl.Faces.Len())
	}
	// A delta claiming the dlib space with 512-d faces is refused.
	bad, err := SignDelta(&Delta{Gallery: "g", Seq: 2, Faces: []FaceEntry{{ID: "r2", Person: "R", Descriptor: sn.sample(&cn)}}}, key)
	if err == nil {
		if _, err = dl.ApplyDelta(ctx, bad, key.Public().(ed25519.PublicKey)); err == nil {
			t.Fatal("512-d faces accepted as dlib's")
		}
	}
	dl2, err := Open(ctx, db, seal, FaceOptions{}, FingerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nx2, err := Open(ctx, db, seal, FaceOptions{Space: net}, FingerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, d1 := dl2.Faces.Get("d1")
	_, lg := dl2.Faces.Get("legacy")
	_, n1 := nx2.Faces.Get("n1")
	_, r1 := nx2.Faces.Get("r1")
	if dl2.Faces.Len() != 2 || !d1 || !lg || nx2.Faces.Len() != 2 || !n1 || !r1 {
		t.Fatalf("reopened: dlib %d (d1 %v legacy %v), facenet %d (n1 %v r1 %v)", dl2.Faces.Len(), d1, lg, nx2.Faces.Len(), n1, r1)
	}
}
