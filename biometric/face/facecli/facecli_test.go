package facecli

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"enrolldesk/biometric/face/match"
	"enrolldesk/desk/cli"
)

func shared(parts ...string) string {
	return filepath.Join(append([]string{"..", "..", "..", "..", "shared", "testdata", "faces"}, parts...)...)
}

func models() string { return filepath.Join("..", "..", "..", "models") }

func link(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(src)
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("test data: %v", err)
	}
	if err := os.Symlink(abs, dst); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), &cli.Env{Stdout: &out, Stderr: &errb}, args, Commands())
	return out.String(), errb.String(), code
}

func TestEvalCountsFailuresAsNonMatches(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []struct{ id, n string }{
		{"Hans_Blix", "0002"}, {"Hans_Blix", "0003"}, {"Hans_Blix", "0007"},
		{"Bill_Clinton", "0001"}, {"Bill_Clinton", "0003"},
		{"Hu_Jintao", "0001"}, {"Hu_Jintao", "0002"},
	} {
		link(t, shared("lfw", p.id, p.id+"_"+p.n+".jpg"), filepath.Join(dir, p.id, p.id+"_"+p.n+".jpg"))
	}
	// A picture without a face: a failure to acquire, counted as a non-match.
	blank := gocv.NewMatWithSize(200, 200, gocv.MatTypeCV8UC3)
	gocv.IMWrite(filepath.Join(dir, "Hu_Jintao", "blank.jpg"), blank)
	blank.Close()
	var rep EvalReport
	// The default engine is the desk policy's (facenet); -engine dlib selects dlib. Each is
	// judged against its own shipped calibration.
	for _, tc := range []struct{ flag, engine string }{
		{"", "facenet-frfeature-p2+mirror"},
		{"dlib", "dlib-resnet-v1+mirror+l2"},
	} {
		args := []string{"face", "eval", "-models", models(), "-json"}
		if tc.flag != "" {
			args = append(args, "-engine", tc.flag)
		}
		out, errs, code := run(t, append(args, dir)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.engine, code, errs)
		}
		rep = EvalReport{}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Engine != tc.engine || rep.Pooled.Shipped == nil {
			t.Fatalf("engine %q (want %q), at shipped threshold %+v", rep.Engine, tc.engine, rep.Pooled.Shipped)
		}
		// 3+1+3 genuine pairs... Hans 3, Bill 1, Hu 3 (with blank) = 7; impostor: all cross pairs.
		if rep.Images != 8 || rep.NoFace != 1 || rep.Pooled.Genuine != 7 || rep.Pooled.Impostor != 8*7/2-7 {
			t.Fatalf("%s: report %+v", tc.engine, rep)
		}
		// The two pairs with the blank picture are never accepted, at any threshold; the other
		// five genuine pairs are, at the shipped threshold, and no impostor pair is.
		if rep.Pooled.AtFMR.FNMR < 2.0/7-1e-9 {
			t.Fatalf("%s: failures not counted: %+v", tc.engine, rep.Pooled.AtFMR)
		}
		if rep.Pooled.Shipped.FMR != 0 {
			t.Fatalf("%s: impostors accepted at the shipped threshold: %+v", tc.engine, rep.Pooled.Shipped)
		}
		if len(rep.Slices) != 1 || rep.Slices[0].Name != "east_southeast_asian" || rep.Slices[0].Genuine != 3 {
			t.Fatalf("%s: slices %+v", tc.engine, rep.Slices)
		}
	}
	// The text report names the threshold and both rates.
	var text bytes.Buffer
	printReport(&text, rep, nil)
	if s := text.String(); !strings.Contains(s, "at FMR 0.10 %: threshold") || !strings.Contains(s, "FNMR") || !strings.Contains(s, "[east_southeast_asian]") {
		t.Fatalf("text report:\n%s", s)
	}
}

func TestEvalUsage(t *testing.T) {
	if _, _, code := run(t, "face", "eval"); code != 2 {
		t.Fatalf("no folder: exit %d", code)
	}
	if _, errs, code := run(t, "face", "eval", t.TempDir()); code != 1 || !strings.Contains(errs, "no identity folders") {
		t.Fatalf("empty folder: exit %d %s", code, errs)
	}
	dir := t.TempDir()
	link(t, shared("deepface", "img1.jpg"), filepath.Join(dir, "a", "img1.jpg"))
	if _, errs, code := run(t, "face", "eval", "-engine", "arcface", "-models", models(), dir); code != 1 || !strings.Contains(errs, `face engine "arcface": unknown`) {
		t.Fatalf("unknown engine: exit %d %s", code, errs)
	}
}

// videoOf writes a short clip of a real photo fitted into a 1280×720 frame (the simulated
// camera).
func videoOf(t *testing.T, photo string) string {
	t.Helper()
	src := gocv.IMRead(photo, gocv.IMReadColor)
	if src.Empty() {
		t.Fatalf("read %s", photo)
	}
	defer src.Close()
	s := math.Min(700/float64(src.Rows()), 1280/float64(src.Cols()))
	fit := gocv.NewMat()
	defer fit.Close()
	gocv.Resize(src, &fit, image.Pt(0, 0), s, s, gocv.InterpolationArea)
	frame := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(150, 160, 170, 0), 720, 1280, gocv.MatTypeCV8UC3)
	defer frame.Close()
	x, y := (1280-fit.Cols())/2, (720-fit.Rows())/2
	to := frame.Region(image.Rect(x, y, x+fit.Cols(), y+fit.Rows()))
	fit.CopyTo(&to)
	to.Close()
	p := filepath.Join(t.TempDir(), "cam.avi")
	vw, err := gocv.VideoWriterFile(p, "MJPG", 25, 1280, 720, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		if err := vw.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	vw.Close()
	return p
}

func TestVerifyAgainstVideo(t *testing.T) {
	table, err := match.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	if len(table.Calibrations) == 0 {
		t.Fatal("no shipped calibration")
	}
	// deepface identity id00: img2.jpg before the camera, img1.jpg as the chip photo.
	cam := videoOf(t, shared("deepface", "img2.jpg"))
	for _, tc := range []struct{ flag, engine string }{
		{"", "facenet-frfeature-p2+mirror"}, // the desk policy's default
		{"dlib", "dlib-resnet-v1+mirror+l2"},
	} {
		q := []string{"-models", models(), "-camera", cam, "-burst", "2", "-json"}
		if tc.flag != "" {
			q = append(q, "-engine", tc.flag)
		}
		out, errs, code := run(t, append([]string{"face", "verify", "-chip", shared("deepface", "img1.jpg")}, q...)...)
		if code != 0 {
			t.Fatalf("%s same person: exit %d %s %s", tc.engine, code, errs, out)
		}
		var rep VerifyReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s same person: distance %.3f", rep.Engine, rep.Distance)
		if rep.Engine != tc.engine {
			t.Fatalf("engine %q, want %q", rep.Engine, tc.engine)
		}
		if s, _ := rep.Quality.Get("sharpness"); s.Status != "pass" {
			t.Fatalf("sharpness %+v", s)
		}
		if rep.Decision == nil || rep.Decision.Outcome != match.Match {
			t.Fatalf("%s same person: %+v", tc.engine, rep.Decision)
		}
		cal, err := table.Lookup(rep.ModelSet, rep.Engine)
		if err != nil || rep.Decision.MatchThreshold != cal.MatchThreshold {
			t.Fatalf("%s: decided at %v, shipped calibration %+v %v", tc.engine, rep.Decision.MatchThreshold, cal, err)
		}
		out, _, code = run(t, append([]string{"face", "verify", "-chip", shared("deepface", "img20.jpg")}, q...)...)
		if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 {
			t.Fatalf("%s different person: exit %d %v", tc.engine, code, err)
		}
		t.Logf("%s different person: distance %.3f", rep.Engine, rep.Distance)
		if rep.Decision == nil || rep.Decision.Outcome != match.NoMatch {
			t.Fatalf("%s different person: %+v", tc.engine, rep.Decision)
		}
	}
}

func TestDemoClip(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo.avi")
	td := filepath.Join("..", "..", "..", "..", "shared", "testdata")
	if _, errs, code := run(t, "face", "democlip", "-models", models(), "-testdata", td, "-out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	vc, err := gocv.VideoCaptureFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	m := gocv.NewMat()
	defer m.Close()
	n, w := 0, 0
	for vc.Read(&m) && !m.Empty() {
		n, w = n+1, m.Cols()
	}
	if n != 17 || w != 1280 {
		t.Fatalf("%d frames %d wide", n, w)
	}
}
