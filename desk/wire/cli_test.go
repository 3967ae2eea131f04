package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"enrolldesk/desk/cli"
	"enrolldesk/desk/settings"
	"enrolldesk/desk/store"
)

func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), &cli.Env{Stdout: &out, Stderr: &errb}, args, Commands())
	return out.String(), errb.String(), code
}

// `enrolldesk face step` takes its engine from the desk's settings: a desk whose stored
// policy.face_engine is dlib gets dlib's decision and calibration on the real head-turn clip.
func TestFaceStepCommandReadsTheDeskSetting(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	data := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(data, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	// The value as the settings store keeps it (one JSON value per dotted key).
	if _, err := db.ExecContext(ctx, `INSERT INTO settings(key, value, updated_at) VALUES ('policy.face_engine', '"dlib"', '2026-11-23T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	c := &CameraFace{Models: filepath.Join("..", "..", "models")}
	defer c.Close()
	clip := filepath.Join(t.TempDir(), "turn.avi")
	if err := c.WriteClip(ctx, clip, headTurn, 10); err != nil {
		t.Fatal(err)
	}
	_, dlibCal := calibrations(t, c)

	out, stderr, code := runCLI(t, "face", "step", "-chip", blix("0009"), "-camera", clip, "-models", c.Models, "-data", data, "-burst", "2", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep StepReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Logf("%+v", rep)
	if rep.Engine != settings.FaceEngineDlib || rep.Source != "desk settings" || rep.Threshold != dlibCal.MatchThreshold ||
		rep.Decision != "match" || rep.Liveness != "pass" || rep.Desc != 128 {
		t.Fatalf("report %+v", rep)
	}
}

func TestFaceStepCommandRefusals(t *testing.T) {
	if _, _, code := runCLI(t, "face", "step"); code != 2 {
		t.Fatalf("no chip photo: exit %d", code)
	}
	if _, stderr, code := runCLI(t, "face", "step", "-chip", blix("0009"), "-camera", "none.avi", "-engine", "arcface"); code != 1 || !strings.Contains(stderr, "arcface") {
		t.Fatalf("unknown engine: exit %d %s", code, stderr)
	}
	if eng, used, err := deskEngine(context.Background(), t.TempDir()); err != nil || eng != settings.FaceEngineFacenet || used != "" {
		t.Fatalf("no desk store: %q %q %v", eng, used, err)
	}
}
