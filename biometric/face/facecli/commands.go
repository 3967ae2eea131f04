// Package facecli is the face feature's command line: `enrolldesk face eval` (FMR/FNMR, ROC,
// calibration), `enrolldesk face verify` (chip photo against a camera or video) and `enrolldesk
// face models` (which model set is installed).
package facecli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"time"

	"enrolldesk/biometric/face"
	"enrolldesk/biometric/face/embedding"
	"enrolldesk/biometric/face/match"
	"enrolldesk/desk/cli"
)

// Commands lists the face commands for cmd/enrolldesk.
func Commands() []cli.Command {
	return []cli.Command{
		{Path: "face eval", Summary: "FMR/FNMR and ROC of the face matcher on a labelled folder", Run: runEval},
		{Path: "face verify", Summary: "match a chip photo against a live camera or a video file", Run: runVerify},
		{Path: "face democlip", Summary: "render the demo camera clip (a real head turn that passes liveness)", Run: runDemoClip},
	}
}

// EvalReport is what `face eval` measures.
type EvalReport struct {
	Dir        string        `json:"dir"`
	Engine     string        `json:"engine"`
	ModelSet   string        `json:"model_set"`
	ModelSetID string        `json:"model_set_id"`
	Images     int           `json:"images"`
	Identities int           `json:"identities"`
	NoFace     int           `json:"failures_to_acquire"`
	Pooled     SliceReport   `json:"pooled"`
	Slices     []SliceReport `json:"slices,omitempty"`
	Seconds    float64       `json:"seconds"`
}

// SliceReport holds the rates of one population (or all of it).
type SliceReport struct {
	Name     string        `json:"name"`
	Genuine  int           `json:"genuine_pairs"`
	Impostor int           `json:"impostor_pairs"`
	EER      match.Rates   `json:"eer"`
	AtFMR    match.Rates   `json:"at_target_fmr"`
	Target   float64       `json:"target_fmr"`
	Shipped  *match.Rates  `json:"at_shipped_threshold,omitempty"`
	Review   *match.Rates  `json:"at_shipped_review_threshold,omitempty"`
	ROC      []match.Rates `json:"roc,omitempty"`
}

func sliceReport(name string, s match.Scores, target float64, cal *match.Calibration) SliceReport {
	r := SliceReport{Name: name, Genuine: len(s.Genuine), Impostor: len(s.Impostor), Target: target}
	if len(s.Genuine) == 0 || len(s.Impostor) == 0 {
		return r
	}
	r.EER, r.AtFMR = s.EER(), s.AtFMR(target)
	if cal != nil {
		a, b := s.At(cal.MatchThreshold), s.At(cal.ReviewThreshold)
		r.Shipped, r.Review = &a, &b
	}
	r.ROC = s.ROC(0.2, 0.8, 24)
	return r
}

func runEval(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("face eval")
	models := fs.String("models", "models", "model directory")
	engine := fs.String("engine", DefaultEngine(), "face engine: dlib or facenet (the desk policy's default: "+DefaultEngine()+")")
	mirror := fs.Bool("mirror", face.Shipped.Mirror, "dlib: average the descriptor with the mirrored face's")
	l2 := fs.Bool("l2", face.Shipped.Normalize, "dlib: normalise descriptors to unit length")
	target := fs.Float64("fmr", 0.001, "target false-match rate for the reported threshold")
	reviewFMR := fs.Float64("review-fmr", 0.01, "false-match rate bounding the officer-review band (with -write-calibration)")
	sliceFile := fs.String("slices", "", "file of population slices (\"name: identity ...\" per line); faces/lfw gets the East/Southeast Asian slice by default")
	writeCal := fs.String("write-calibration", "", "add this run's calibration to the JSON table at this path")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	jsonOut := fs.String("json-out", "", "also write the JSON report to this file")
	workers := fs.Int("workers", runtime.NumCPU(), "parallel images (and go-face Recognizers)")
	worst := fs.Int("worst", 0, "also list the N most distant genuine pairs (to find wrong faces and bad labels)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: face eval [flags] DIR (one folder per identity)", cli.ErrUsage)
	}
	dir := fs.Arg(0)
	var slices []Slice
	if *sliceFile != "" {
		b, err := os.ReadFile(*sliceFile)
		if err != nil {
			return fmt.Errorf("slices: %w", err)
		}
		if slices, err = ParseSlices(string(b)); err != nil {
			return err
		}
	}
	samples, err := LoadLabelled(dir)
	if err != nil {
		return err
	}
	if slices == nil {
		for _, s := range samples {
			if EastSoutheastAsianLFW.Identities[s.Identity] {
				slices = []Slice{EastSoutheastAsianLFW}
				break
			}
		}
	}
	eng, err := NewDescriber(*models, *engine, face.Options{Recognizers: *workers, Mirror: *mirror, Normalize: *l2})
	if err != nil {
		return err
	}
	defer eng.Close()
	start := time.Now()
	ds, err := DescribeAllWith(ctx, eng, samples, *workers)
	if err != nil {
		return err
	}
	set := eng.Pipeline.Models().Set
	if eng.Net != nil {
		set = "facenet/" + eng.Net.Spec().Name
	}
	rep := EvalReport{Dir: dir, Engine: eng.Name(), ModelSet: set, ModelSetID: eng.ModelSetID(),
		Images: len(ds), Identities: len(identities(ds))}
	for _, d := range ds {
		if d.Descriptor == nil {
			rep.NoFace++
		}
	}
	var cal *match.Calibration
	if t, err := match.Shipped(); err == nil {
		if c, err := t.Lookup(rep.ModelSetID, rep.Engine); err == nil {
			cal = &c
		}
	}
	pooled := PairScores(ds, nil)
	rep.Pooled = sliceReport("pooled", pooled, *target, cal)
	for _, sl := range slices {
		ids := sl.Identities
		rep.Slices = append(rep.Slices, sliceReport(sl.Name, PairScores(ds, func(id string) bool { return ids[id] }), *target, cal))
	}
	rep.Seconds = time.Since(start).Seconds()
	if *writeCal != "" {
		c, err := match.Calibrate(pooled, rep.ModelSetID, rep.Engine, *target, *reviewFMR,
			fmt.Sprintf("%s: %d images, %d identities, all genuine and impostor pairs, failures to acquire as non-matches", dir, rep.Images, rep.Identities))
		if err != nil {
			return err
		}
		var t match.Table
		if b, err := os.ReadFile(*writeCal); err == nil {
			if t, err = match.ParseTable(b); err != nil {
				return err
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		t.Put(c)
		b, err := t.Marshal()
		if err != nil {
			return err
		}
		if err := os.WriteFile(*writeCal, b, 0o644); err != nil {
			return fmt.Errorf("write calibration: %w", err)
		}
	}
	if *jsonOut != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("json report: %w", err)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printReport(env.Stdout, rep, cal)
	if *worst > 0 {
		printWorst(env.Stdout, ds, *worst)
	}
	return nil
}

func pct(x float64) string { return fmt.Sprintf("%.2f %%", 100*x) }

func printReport(w io.Writer, r EvalReport, cal *match.Calibration) {
	fmt.Fprintf(w, "face eval %s\nengine %s, model set %q (%s)\n%d images, %d identities, %d failures to acquire (counted as non-matches), %.1f s\n",
		r.Dir, r.Engine, r.ModelSet, r.ModelSetID[:12], r.Images, r.Identities, r.NoFace, r.Seconds)
	if cal == nil {
		fmt.Fprintln(w, "no shipped calibration for this engine and model set: the desk refuses to decide with it")
	}
	for _, s := range append([]SliceReport{r.Pooled}, r.Slices...) {
		fmt.Fprintf(w, "\n[%s] %d genuine pairs, %d impostor pairs\n", s.Name, s.Genuine, s.Impostor)
		if s.Genuine == 0 || s.Impostor == 0 {
			fmt.Fprintln(w, "  not enough pairs")
			continue
		}
		fmt.Fprintf(w, "  EER %s at threshold %.4f\n", pct((s.EER.FMR+s.EER.FNMR)/2), s.EER.Threshold)
		fmt.Fprintf(w, "  at FMR %s: threshold %.4f, FMR %s, FNMR %s\n", pct(s.Target), s.AtFMR.Threshold, pct(s.AtFMR.FMR), pct(s.AtFMR.FNMR))
		if s.Shipped != nil {
			fmt.Fprintf(w, "  at the shipped match threshold %.4f: FMR %s, FNMR %s\n", s.Shipped.Threshold, pct(s.Shipped.FMR), pct(s.Shipped.FNMR))
			fmt.Fprintf(w, "  at the shipped review threshold %.4f: FMR %s, FNMR %s\n", s.Review.Threshold, pct(s.Review.FMR), pct(s.Review.FNMR))
		}
	}
	fmt.Fprintln(w, "\nROC (pooled): threshold FMR FNMR")
	for _, p := range r.Pooled.ROC {
		if math.Mod(math.Round(p.Threshold*1000), 50) == 0 {
			fmt.Fprintf(w, "  %.3f %8s %8s\n", p.Threshold, pct(p.FMR), pct(p.FNMR))
		}
	}
}

func printWorst(w io.Writer, ds []Described, n int) {
	type pair struct {
		a, b string
		d    float64
	}
	var ps []pair
	for i := range ds {
		for j := i + 1; j < len(ds); j++ {
			if ds[i].Identity != ds[j].Identity {
				continue
			}
			d := match.Failure
			if ds[i].Descriptor != nil && ds[j].Descriptor != nil {
				d, _ = embedding.Distance(ds[i].Descriptor, ds[j].Descriptor)
			}
			ps = append(ps, pair{ds[i].Path, ds[j].Path, d})
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].d > ps[j].d })
	fmt.Fprintln(w, "\nmost distant genuine pairs:")
	for i := 0; i < n && i < len(ps); i++ {
		fmt.Fprintf(w, "  %.3f %s %s\n", ps[i].d, ps[i].a, ps[i].b)
	}
}

func runDemoClip(ctx context.Context, env *cli.Env, args []string) error {
	fs := env.NewFlagSet("face democlip")
	out := fs.String("out", "headturn.avi", "output AVI")
	testdata := fs.String("testdata", "../shared/testdata", "the shared testdata folder")
	models := fs.String("models", "models", "model directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	eng, err := face.NewEngine(*models, face.Shipped)
	if err != nil {
		return err
	}
	defer eng.Close()
	if err := eng.WriteHeadTurnClip(ctx, *testdata, *out); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "wrote %s: play it as the camera with `enrolldesk face verify --liveness --camera %s`\n", *out, *out)
	return nil
}
