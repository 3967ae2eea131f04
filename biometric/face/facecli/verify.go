package facecli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"enrolldesk/biometric/face"
	"enrolldesk/biometric/face/embedding"
	"enrolldesk/biometric/face/liveness"
	"enrolldesk/biometric/face/match"
	"enrolldesk/biometric/face/portrait"
	"enrolldesk/biometric/face/quality"
	"enrolldesk/desk/cli"
)

// VerifyReport is the outcome of `face verify`.
type VerifyReport struct {
	Decision *match.Decision  `json:"decision,omitempty"`
	Distance float64          `json:"distance"`
	Refused  string           `json:"refused,omitempty"` // why no decision was made
	Quality  quality.Report   `json:"quality"`
	Frame    uint64           `json:"frame"`
	Liveness *liveness.Result `json:"liveness,omitempty"`
	Engine   string           `json:"engine"`
	ModelSet string           `json:"model_set_id"`
}

func runVerify(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("face verify")
	chip := fs.String("chip", "", "the chip photo (DG2 image: JPEG, JPEG 2000 or PNG)")
	camera := fs.String("camera", "0", "camera: device index or /dev/videoN, a video file, or an image folder")
	models := fs.String("models", "models", "model directory")
	engine := fs.String("engine", DefaultEngine(), "face engine of the 1:1 decision: dlib or facenet (the desk policy's default: "+DefaultEngine()+")")
	fps := fs.Float64("fps", 0, "frame rate: requested from a device; paces a file or folder (0: a file plays at 25 fps)")
	width := fs.Int("width", 1280, "requested camera width")
	height := fs.Int("height", 720, "requested camera height")
	burst := fs.Int("burst", 3, "frames that must pass the quality gate; the best one is matched")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after this long")
	live := fs.Bool("liveness", false, "after the capture, run the head-turn challenge (turn left, then right)")
	portraitOut := fs.String("portrait", "", "write the ICAO token portrait (JPEG ≤ 20 KB) of the captured frame here")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *chip == "" || fs.NArg() != 0 {
		return fmt.Errorf("%w: face verify --chip PHOTO --camera SRC", cli.ErrUsage)
	}
	chipBytes, err := os.ReadFile(*chip)
	if err != nil {
		return fmt.Errorf("chip photo: %w", err)
	}
	desc, err := NewDescriber(*models, *engine, face.Shipped)
	if err != nil {
		return err
	}
	defer desc.Close()
	eng := desc.Pipeline
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	ref, err := desc.Photo(ctx, chipBytes)
	if err != nil {
		return fmt.Errorf("chip photo: %w", err)
	}
	src := face.Source{Name: *camera, Width: *width, Height: *height, FPS: *fps}
	if !src.IsDevice() && src.FPS == 0 {
		src.FPS = 25
	}
	camCtx, stopCam := context.WithCancel(ctx)
	defer stopCam()
	cam := face.NewCamera(src)
	frames := cam.Stream(camCtx)
	capt, err := eng.CaptureBest(ctx, frames, quality.Default(), *burst)
	if err != nil {
		var nc face.ErrNoCapture
		if errors.As(err, &nc) && cam.Err() != nil {
			return fmt.Errorf("%v (camera: %v)", err, cam.Err())
		}
		return err
	}
	rep := VerifyReport{Quality: capt.Result.Quality, Frame: capt.Seq, Engine: desc.Name(), ModelSet: desc.ModelSetID()}
	cur, err := desc.Live(ctx, capt.Region, capt.Subject)
	if err != nil {
		return fmt.Errorf("live face: %w", err)
	}
	if rep.Distance, err = embedding.Distance(ref, cur); err != nil {
		return err
	}
	if *live {
		r, err := eng.CheckLiveness(ctx, frames, liveness.Default())
		if err != nil {
			return fmt.Errorf("liveness: %w", err)
		}
		rep.Liveness = &r
	}
	stopCam()
	if *portraitOut != "" {
		tok, err := portrait.Make(capt.Region, capt.Subject.Face, portrait.MinWidth, portrait.MaxBytes)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*portraitOut, tok.JPEG, 0o600); err != nil {
			return fmt.Errorf("portrait: %w", err)
		}
	}
	table, err := match.Shipped()
	if err != nil {
		return err
	}
	if cal, err := table.Lookup(rep.ModelSet, rep.Engine); err != nil {
		rep.Refused = err.Error()
	} else {
		d := cal.Decide(rep.Distance)
		rep.Decision = &d
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printVerify(env, rep)
	}
	if rep.Decision == nil {
		return fmt.Errorf("no decision: %s", rep.Refused)
	}
	return nil
}

func printVerify(env *cli.Env, r VerifyReport) {
	w := env.Stdout
	fmt.Fprintf(w, "captured frame %d: quality passed (score %.0f)\n", r.Frame, r.Quality.Score)
	for _, c := range r.Quality.Checks {
		fmt.Fprintf(w, "  %-24s %-12s %8.3f %s\n", c.Name, c.Status, c.Value, c.Reason)
	}
	if r.Liveness != nil {
		l := r.Liveness
		fmt.Fprintf(w, "liveness: live=%v (head turn %v, parallax %.3f %v) %s\n", l.Live, l.ActivePassed, l.Parallax, l.PassivePassed, l.Reason)
	}
	if r.Decision == nil {
		fmt.Fprintf(w, "distance %.4f: NO DECISION (%s)\n", r.Distance, r.Refused)
		return
	}
	d := r.Decision
	fmt.Fprintf(w, "distance %.4f: %s (match ≤ %.4f at FMR %.2f %%, officer review ≤ %.4f)\n",
		d.Distance, d.Outcome, d.MatchThreshold, 100*d.MatchFMR, d.ReviewThreshold)
}
