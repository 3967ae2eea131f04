package wire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"enrolldesk/biometric/face"
	"enrolldesk/desk/audit"
	"enrolldesk/desk/cli"
	"enrolldesk/desk/config"
	"enrolldesk/desk/settings"
	"enrolldesk/desk/store"
)

// Commands lists the desk's face-step commands for cmd/enrolldesk.
func Commands() []cli.Command {
	return []cli.Command{
		{Path: "face step", Summary: "the desk's face step (liveness, capture, 1:1 with the chip photo) on the engine the desk's settings select", Run: runStep},
	}
}

// StepReport is what `face step` prints.
type StepReport struct {
	Engine    string  `json:"engine"`     // settings.FaceEngine* used
	Source    string  `json:"setting"`    // where the engine came from: flag, desk settings or default
	Decision  string  `json:"decision"`   // match, review, no-match
	Distance  float64 `json:"distance"`   // between the chip photo and the live face, that engine's metric
	Threshold float64 `json:"threshold"`  // the engine's calibrated match threshold
	Liveness  string  `json:"liveness"`   // pass or fail
	Portrait  int     `json:"portrait"`   // token portrait bytes
	Seconds   float64 `json:"seconds"`    // wall time of the step
	DataDir   string  `json:"data_dir"`   // desk whose settings were read, if any
	Desc      int     `json:"descriptor"` // length of the gallery descriptor (dlib)
}

func runStep(ctx context.Context, env *cli.Env, args []string) error {
	f := env.NewFlagSet("face step")
	chip := f.String("chip", "", "the chip photo (DG2 image: JPEG, JPEG 2000 or PNG)")
	camera := f.String("camera", "0", "camera: device index or /dev/videoN, a video file, or an image folder")
	models := f.String("models", "models", "model directory")
	engine := f.String("engine", "", "face engine, facenet or dlib (default: the desk's policy.face_engine)")
	data := f.String("data", "", "desk data directory whose settings select the engine (default $"+config.EnvDataDir+" or the standard place)")
	fps := f.Float64("fps", 10, "frame rate a file or folder is played at")
	burst := f.Int("burst", 3, "frames that must pass the quality gate")
	timeout := f.Duration("timeout", 2*time.Minute, "give up after this long")
	asJSON := f.Bool("json", false, "print the report as JSON")
	if err := f.Parse(args); err != nil {
		return err
	}
	if *chip == "" || f.NArg() != 0 {
		return fmt.Errorf("%w: face step --chip PHOTO --camera SRC [--engine facenet|dlib] [--data DIR]", cli.ErrUsage)
	}
	photo, err := os.ReadFile(*chip)
	if err != nil {
		return fmt.Errorf("chip photo: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	rep := StepReport{Engine: *engine, Source: "flag"}
	if rep.Engine == "" {
		if rep.Engine, rep.DataDir, err = deskEngine(ctx, *data); err != nil {
			return err
		}
		rep.Source = "desk settings"
		if rep.DataDir == "" {
			rep.Source = "default (no desk store)"
		}
	}
	c := &CameraFace{Models: *models, Source: face.Source{Name: *camera}, Burst: *burst, Engine: rep.Engine}
	if !c.Source.IsDevice() {
		c.Source.FPS = *fps
	}
	defer c.Close()
	start := time.Now()
	res, err := c.Capture(ctx, photo)
	if err != nil {
		return err
	}
	rep.Decision, rep.Distance, rep.Threshold, rep.Liveness = res.Decision, res.Score, res.Threshold, res.Liveness
	rep.Portrait, rep.Desc, rep.Seconds = len(res.Portrait), len(res.Descriptor), time.Since(start).Seconds()
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(env.Stdout, "engine %s (%s)\ndecision %s: distance %.4f, match threshold %.4f\nliveness %s\nportrait %d bytes, %.1f s\n",
		rep.Engine, rep.Source, rep.Decision, rep.Distance, rep.Threshold, rep.Liveness, rep.Portrait, rep.Seconds)
	return nil
}

// deskEngine reads policy.face_engine from the desk store in dir (the default data directory when
// dir is empty). A directory without a desk store gives the default policy; the store is never
// created here.
func deskEngine(ctx context.Context, dir string) (engine, used string, err error) {
	dir, err = config.DataDir(dir)
	if err != nil {
		return "", "", err
	}
	path := filepath.Join(dir, store.FileName)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return settings.Defaults().Policy.FaceEngine, "", nil
	}
	db, err := store.Open(ctx, path)
	if err != nil {
		return "", "", fmt.Errorf("desk settings: %w", err)
	}
	defer db.Close()
	st, err := settings.New(db, audit.New(db, time.Now), nil).Load(ctx)
	if err != nil {
		return "", "", fmt.Errorf("desk settings: %w", err)
	}
	return st.Policy.FaceEngine, dir, nil
}
