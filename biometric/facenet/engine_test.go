package facenet

import (
	"context"
	"encoding/json"
	"image"
	"image/color"
	_ "image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"

	"enrolldesk/biometric/face/embedding"
)

var sharedTestdata = filepath.Join("..", "..", "..", "shared", "testdata")

func TestEstimateSimilarityRecoversTransform(t *testing.T) {
	want := Similarity{A: 0.8 * math.Cos(0.3), B: 0.8 * math.Sin(0.3), Tx: 12, Ty: -7}
	src := []Point{{10, 20}, {50, 22}, {30, 40}, {15, 60}, {48, 61}}
	var dst []Point
	for _, p := range src {
		dst = append(dst, want.Apply(p))
	}
	got, err := EstimateSimilarity(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []float64{got.A - want.A, got.B - want.B, got.Tx - want.Tx, got.Ty - want.Ty} {
		if math.Abs(d) > 1e-9 {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	}
	inv, err := got.Invert()
	if err != nil {
		t.Fatal(err)
	}
	back := inv.Apply(got.Apply(Point{3, 4}))
	if math.Abs(back.X-3) > 1e-9 || math.Abs(back.Y-4) > 1e-9 {
		t.Fatalf("inverse: %v", back)
	}
	if _, err := EstimateSimilarity([]Point{{1, 1}, {1, 1}}, []Point{{0, 0}, {1, 1}}); err == nil {
		t.Fatal("coincident points accepted")
	}
	if _, err := EstimateSimilarity(src[:1], dst[:1]); err == nil {
		t.Fatal("one point accepted")
	}
}

func TestWarpChipSamplesBilinear(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for y := 0; y < 4; y++ {
		for x := 0; x < 4; x++ {
			img.Set(x, y, color.RGBA{uint8(10 * x), uint8(10 * y), 200, 255})
		}
	}
	// Identity: the chip is the image.
	chip, err := WarpChip(img, Similarity{A: 1}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := chip.Pix[(2*4+3)*3 : (2*4+3)*3+3]; got[0] != 30 || got[1] != 20 || got[2] != 200 {
		t.Fatalf("identity pixel (3,2) = %v", got)
	}
	// Image → chip scales by 2: chip (1,0) samples image (0.5, 0): halfway between red 0 and 10.
	chip, err = WarpChip(img, Similarity{A: 2}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := chip.Pix[3]; got != 5 {
		t.Fatalf("bilinear sample = %v, want 5", got)
	}
	// Outside the image: black.
	chip, err = WarpChip(img, Similarity{A: 1, Tx: 10}, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range chip.Pix {
		if v != 0 {
			t.Fatal("pixels outside the image are not black")
		}
	}
	if _, err := WarpChip(img, Similarity{}, 4); err == nil {
		t.Fatal("degenerate transform accepted")
	}
	// A sub-image keeps its parent's coordinates (the camera path hands over the region around
	// the face with frame-coordinate landmarks): the same transform gives the same chip where the
	// region covers it, black outside.
	whole, err := WarpChip(img, Similarity{A: 1, Tx: -1, Ty: -1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	part, err := WarpChip(img.SubImage(image.Rect(1, 1, 3, 3)), Similarity{A: 1, Tx: -1, Ty: -1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range whole.Pix {
		if whole.Pix[i] != part.Pix[i] {
			t.Fatalf("sub-image chip %v, whole image %v", part.Pix, whole.Pix)
		}
	}
}

func TestFivePoints(t *testing.T) {
	lm := make([]image.Point, 68)
	for i := 36; i < 42; i++ {
		lm[i] = image.Pt(30+i-36, 40) // image-left eye, centre x = 32.5
	}
	for i := 42; i < 48; i++ {
		lm[i] = image.Pt(70+i-42, 42)
	}
	lm[30], lm[48], lm[54] = image.Pt(50, 60), image.Pt(38, 80), image.Pt(62, 81)
	pts, err := FivePoints(lm)
	if err != nil {
		t.Fatal(err)
	}
	want := []Point{{32.5, 40}, {72.5, 42}, {50, 60}, {38, 80}, {62, 81}}
	for i := range want {
		if pts[i] != want[i] {
			t.Fatalf("point %d = %v, want %v", i, pts[i], want[i])
		}
	}
	// dlib's 5-point layout: eye corners 0-1 (image right) and 2-3, nose base 4.
	pts, err = FivePoints([]image.Point{{80, 40}, {70, 40}, {30, 41}, {40, 41}, {55, 70}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 3 || pts[0] != (Point{35, 41}) || pts[1] != (Point{75, 40}) || pts[2] != (Point{55, 70}) {
		t.Fatalf("5-point layout: %v", pts)
	}
	if _, err := FivePoints(make([]image.Point, 7)); err == nil {
		t.Fatal("7 landmarks accepted")
	}
}

type landmarkFixture struct {
	Faces []struct {
		ID        string   `json:"id"`
		File      string   `json:"file"`
		Landmarks [][2]int `json:"landmarks"`
	} `json:"faces"`
}

// TestEmbedSeparatesPeople runs the whole Embed path (landmarks → alignment → network → L2
// norm) of the shipped engine on real photos from ../shared/testdata, with the landmarks the face
// pipeline found on them (testdata/landmarks.json): every genuine pair must be closer than every
// impostor pair, on East Asian web photos and on the LFW East/Southeast Asian identities.
func TestEmbedSeparatesPeople(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "landmarks.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx landmarkFixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(repoModels, DefaultModel, DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	if e.Dim() != 512 || e.Name() != "facenet-frfeature-p2+mirror" {
		t.Fatalf("engine %s dim %d", e.Name(), e.Dim())
	}
	type emb struct {
		id string
		d  []float32
	}
	var embs []emb
	for _, f := range fx.Faces {
		fh, err := os.Open(filepath.Join(sharedTestdata, f.File))
		if err != nil {
			t.Fatalf("shared test data missing: %v", err)
		}
		img, _, err := image.Decode(fh)
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		face := embedding.Face{}
		for _, p := range f.Landmarks {
			face.Landmarks = append(face.Landmarks, image.Pt(p[0], p[1]))
		}
		d, err := e.Embed(context.Background(), img, face)
		if err != nil {
			t.Fatal(err)
		}
		var n float64
		for _, v := range d {
			n += float64(v) * float64(v)
		}
		if math.Abs(n-1) > 1e-4 {
			t.Fatalf("descriptor norm² %g, want 1", n)
		}
		embs = append(embs, emb{f.ID, d})
	}
	maxGen, minImp := 0.0, math.Inf(1)
	for i := range embs {
		for j := i + 1; j < len(embs); j++ {
			d, err := embedding.Distance(embs[i].d, embs[j].d)
			if err != nil {
				t.Fatal(err)
			}
			if embs[i].id == embs[j].id {
				maxGen = math.Max(maxGen, d)
			} else {
				minImp = math.Min(minImp, d)
			}
		}
	}
	t.Logf("largest genuine distance %.3f, smallest impostor distance %.3f", maxGen, minImp)
	if maxGen >= minImp {
		t.Fatalf("genuine pairs up to %.3f, impostor pairs from %.3f: not separated", maxGen, minImp)
	}
	// A cancelled context is honoured before any work.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Embed(ctx, image.NewRGBA(image.Rect(0, 0, 8, 8)), embedding.Face{}); err == nil {
		t.Fatal("cancelled context ignored")
	}
	if _, err := e.Embed(context.Background(), image.NewRGBA(image.Rect(0, 0, 8, 8)), embedding.Face{}); err == nil {
		t.Fatal("face without landmarks embedded")
	}
}

func TestNewEngineErrors(t *testing.T) {
	if _, err := NewEngine(repoModels, "nope", Options{}); err == nil {
		t.Fatal("unknown model accepted")
	}
	if _, err := NewEngine(t.TempDir(), DefaultModel, Options{}); err == nil {
		t.Fatal("missing model file accepted")
	}
}
