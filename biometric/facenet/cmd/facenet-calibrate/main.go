// Command facenet-calibrate recomputes the shipped facenet engine's calibration from the shared
// photos without cgo: the subjects' landmarks come from the committed landmark set (written by
// `facenet-eval -landmarks`), the rest (alignment, network, distances, thresholds) is computed
// here. It prints every slice's figures and the pooled calibration beside the entry shipped in
// biometric/face/match/calibrations.json, and with -check exits 1 when they differ, so the
// shipped numbers cannot drift silently from what the code and the data give.
//
//	go run ./biometric/facenet/cmd/facenet-calibrate -check
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"enrolldesk/biometric/face/match"
	"enrolldesk/biometric/facenet"
	"enrolldesk/biometric/facenet/eval"
)

func main() {
	data := flag.String("data", "../shared/testdata", "shared test-data root")
	models := flag.String("models", "models", "models directory (facenet/*.ednn)")
	slicesDir := flag.String("slices", "biometric/facenet/slices", "directory of slice files")
	landmarks := flag.String("landmarks", "biometric/facenet/testdata/calibration-landmarks.json", "stored landmarks (facenet-eval -landmarks)")
	only := flag.String("slice", "", "measure only these slices (comma-separated names) and only their photos; the calibration then pools the pairs among them")
	perID := flag.Int("per-identity", 0, "keep only the first N photos of each identity (a quick subset)")
	check := flag.Bool("check", false, "exit 1 unless the recomputed calibration equals the shipped one (same pair counts, thresholds within 2e-4: the shipped ones come from OpenCV-decoded photos, see -h)")
	out := flag.String("json", "", "also write the calibration and rows as JSON to this file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *data, *models, *slicesDir, *landmarks, *only, *perID, *check, *out); err != nil {
		fmt.Fprintln(os.Stderr, "facenet-calibrate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, data, models, slicesDir, lmFile, only string, perID int, check bool, out string) error {
	slices, err := eval.LoadSlices(slicesDir)
	if err != nil {
		return err
	}
	if only != "" {
		want := map[string]bool{}
		for _, n := range strings.Split(only, ",") {
			want[strings.TrimSpace(n)] = true
		}
		var keep []eval.Slice
		for _, s := range slices {
			if want[s.Name] {
				keep = append(keep, s)
			}
		}
		if len(keep) != len(want) {
			return fmt.Errorf("-slice %q: unknown slice name", only)
		}
		slices = keep
	}
	raw, err := os.ReadFile(lmFile)
	if err != nil {
		return err
	}
	set, err := facenet.ParseLandmarkSet(raw)
	if err != nil {
		return err
	}
	e, err := facenet.NewEngine(models, facenet.DefaultModel, facenet.DefaultOptions)
	if err != nil {
		return err
	}
	start := time.Now()
	r, err := facenet.Recalibrate(ctx, e, data, slices, set,
		facenet.RecalibrateOptions{Workers: runtime.NumCPU(), SliceImagesOnly: only != "", PerIdentity: perID})
	if err != nil {
		return err
	}
	fmt.Printf("Recomputed %s on %d images in %s (landmarks: %s).\n\n", e.Name(), r.Images, time.Since(start).Round(time.Second), lmFile)
	if err := eval.WriteMarkdown(os.Stdout, r.Rows, nil); err != nil {
		return err
	}
	c := r.Calibration
	fmt.Printf("\ncalibration: match %.6f (FMR %.4f %%, FNMR %.2f %%), review %.6f, %d genuine / %d impostor pairs, model set %s\n",
		c.MatchThreshold, 100*c.MeasuredFMR, 100*c.MeasuredFNMR, c.ReviewThreshold, c.Genuine, c.Impostor, c.ModelSetID)
	if out != "" {
		b, err := json.MarshalIndent(r, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(out, b, 0o644); err != nil {
			return err
		}
	}
	if !check {
		return nil
	}
	table, err := match.Shipped()
	if err != nil {
		return err
	}
	s, err := table.Lookup(c.ModelSetID, c.Engine)
	if err != nil {
		return err
	}
	fmt.Printf("shipped:     match %.6f (FMR %.4f %%, FNMR %.2f %%), review %.6f, %d genuine / %d impostor pairs\n",
		s.MatchThreshold, 100*s.MeasuredFMR, 100*s.MeasuredFNMR, s.ReviewThreshold, s.Genuine, s.Impostor)
	{
		// The shipped thresholds come from facenet-eval, whose photos OpenCV decodes (as the desk
		// decodes the chip photo); Go's JPEG decoder upsamples chroma differently, which moves
		// the thresholds by < 1e-4 on this data (measured 6.7e-5 and 7.7e-5 on 2026-11-23).
		const tol = 2e-4
		if math.Abs(s.MatchThreshold-c.MatchThreshold) > tol || math.Abs(s.ReviewThreshold-c.ReviewThreshold) > tol ||
			s.Genuine != c.Genuine || s.Impostor != c.Impostor {
			return fmt.Errorf("check: the shipped calibration differs from the recomputed one: rerun facenet-eval -calibration and update calibrations.json")
		}
		fmt.Println("check: the shipped calibration equals the recomputed one")
	}
	return nil
}
