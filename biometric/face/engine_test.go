package face

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"gocv.io/x/gocv"

	"enrolldesk/biometric/face/embedding"
	"enrolldesk/biometric/face/modelset"
)

// repoRoot is two levels up from this package; testdata lives in ../shared beside the repo.
func repoRoot() string { return filepath.Join("..", "..") }

func modelsDir() string { return filepath.Join(repoRoot(), "models") }

func faces(parts ...string) string {
	return filepath.Join(append([]string{repoRoot(), "..", "shared", "testdata", "faces"}, parts...)...)
}

var (
	engineOnce sync.Once
	testEngine *Engine
	engineErr  error
)

// engine loads the shared test engine once; a missing model directory fails the test (run
// `make setup`), it never skips.
func engine(t testing.TB) *Engine {
	t.Helper()
	engineOnce.Do(func() {
		testEngine, engineErr = NewEngine(modelsDir(), Options{Recognizers: runtime.NumCPU()})
	})
	if engineErr != nil {
		t.Fatalf("face engine (run `make setup` to assemble models/): %v", engineErr)
	}
	return testEngine
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("test data: %v", err)
	}
	return b
}

func describe(t testing.TB, p string) Found {
	t.Helper()
	f, err := engine(t).DescribePhoto(context.Background(), readFile(t, p))
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return f
}

func dist(t testing.TB, a, b []float32) float64 {
	t.Helper()
	d, err := embedding.Distance(a, b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSamePersonCloserThanDifferent(t *testing.T) {
	a1 := describe(t, faces("lfw", "Bill_Clinton", "Bill_Clinton_0001.jpg"))
	a2 := describe(t, faces("lfw", "Bill_Clinton", "Bill_Clinton_0002.jpg"))
	b := describe(t, faces("lfw", "Hans_Blix", "Hans_Blix_0001.jpg"))
	same, diff := dist(t, a1.Descriptor, a2.Descriptor), dist(t, a1.Descriptor, b.Descriptor)
	t.Logf("same %.3f different %.3f", same, diff)
	if !(same < 0.5 && diff > 0.6) {
		t.Fatalf("same %.3f different %.3f", same, diff)
	}
	if len(a1.Landmarks) != engine(t).Landmarks() || len(a1.Descriptor) != 128 {
		t.Fatalf("landmarks %d descriptor %d", len(a1.Landmarks), len(a1.Descriptor))
	}
}

func TestGrayscaleAndPNGInput(t *testing.T) {
	p := faces("lfw", "Bill_Clinton", "Bill_Clinton_0001.jpg")
	ref := describe(t, p)
	m := gocv.IMRead(p, gocv.IMReadGrayScale)
	defer m.Close()
	if m.Channels() != 1 {
		t.Fatal("not gray")
	}
	for _, ext := range []gocv.FileExt{gocv.JPEGFileExt, gocv.PNGFileExt} {
		buf, err := gocv.IMEncode(ext, m)
		if err != nil {
			t.Fatal(err)
		}
		f, err := engine(t).DescribePhoto(context.Background(), buf.GetBytes())
		buf.Close()
		if err != nil {
			t.Fatalf("grayscale %s refused: %v", ext, err)
		}
		if d := dist(t, ref.Descriptor, f.Descriptor); d > 0.45 {
			t.Fatalf("grayscale %s distance to colour %.3f", ext, d)
		}
	}
}

func TestTwoFacesLargestFirst(t *testing.T) {
	m := gocv.IMRead(faces("deepface", "couple.jpg"), gocv.IMReadColor)
	defer m.Close()
	a, err := engine(t).AnalyzePhoto(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Faces) < 2 {
		t.Fatalf("found %d faces in couple.jpg", len(a.Faces))
	}
	if area(a.Faces[0].Rect) < area(a.Faces[1].Rect) {
		t.Fatal("subject is not the largest face")
	}
	// Coordinates are in the original image.
	if !a.Faces[0].Rect.In(imageRect(m)) {
		t.Fatalf("face %v outside image %v", a.Faces[0].Rect, imageRect(m))
	}
}

func TestNoFaceAndBadInput(t *testing.T) {
	e := engine(t)
	blank := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	defer blank.Close()
	a, err := e.AnalyzeFrame(context.Background(), blank)
	if err != nil || len(a.Faces) != 0 {
		t.Fatalf("blank frame: %v %v", a.Faces, err)
	}
	if _, err := e.DescribePhoto(context.Background(), []byte("not an image")); err == nil {
		t.Fatal("garbage accepted")
	}
	buf, _ := gocv.IMEncode(gocv.JPEGFileExt, blank)
	defer buf.Close()
	if _, err := e.DescribePhoto(context.Background(), buf.GetBytes()); !errors.Is(err, ErrNoFace) {
		t.Fatalf("blank photo: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.AnalyzeFrame(ctx, blank); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestEmbedMatchesAnalyze(t *testing.T) {
	p := faces("lfw", "Hans_Blix", "Hans_Blix_0002.jpg")
	f := describe(t, p)
	m := gocv.IMRead(p, gocv.IMReadColor)
	defer m.Close()
	img, err := MatToImage(m, imageRect(m))
	if err != nil {
		t.Fatal(err)
	}
	d, err := engine(t).Embed(context.Background(), img, f.Face)
	if err != nil {
		t.Fatal(err)
	}
	if dd := dist(t, d, f.Descriptor); dd > 0.3 {
		t.Fatalf("Embed differs from AnalyzePhoto by %.3f", dd)
	}
}

func TestMissingModelsRefused(t *testing.T) {
	dir := t.TempDir()
	_, err := NewEngine(dir, Options{Recognizers: 1})
	if !errors.Is(err, modelset.ErrModels) {
		t.Fatalf("err = %v", err)
	}
	t.Log(err)
}

func TestCloseIdempotentAndRefusesUse(t *testing.T) {
	e, err := NewEngine(modelsDir(), Options{Recognizers: 1})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	e.Close()
	blank := gocv.NewMatWithSize(100, 100, gocv.MatTypeCV8UC3)
	defer blank.Close()
	if _, err := e.AnalyzeFrame(context.Background(), blank); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
