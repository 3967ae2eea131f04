// Command opcheck-eval measures the operator check's face path on the shared faces, with each
// identity in turn as the logged-in officer: how many honest enrollments (a citizen who is
// someone else) it flags, and how many self-enrollments (another photo of the officer) it catches.
//
// The threshold is set the way the desk sets it (opcheck.Calibrate: at a false-match rate of
// 0.1 % on the worst population slice) on a calibration half of the identities, and the rates are
// measured on the other half, so the figure is not tuned on the data it reports. East and
// Southeast Asian identities (east_asian/ and the LFW ones ../shared/testdata/README.md names)
// are reported separately as well as pooled. The engines are the desk's, exactly as shipped:
// dlib (face.Shipped) and the facenet engine (facenet.DefaultModel with DefaultOptions), the
// faces found and landmarked by the same pipeline as desk/wire's face step.
//
//	go run ./desk/opcheck/cmd/opcheck-eval -data ../shared/testdata -models models [-write desk/opcheck/calibrations.json] [-check]
package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"

	"enrolldesk/biometric/face"
	"enrolldesk/biometric/face/match"
	"enrolldesk/biometric/facenet"
	"enrolldesk/biometric/facenet/eval"
	"enrolldesk/desk/opcheck"
)

// asianLFW are the LFW identities of East or Southeast Asian origin (../shared/testdata/README.md).
var asianLFW = map[string]bool{"Hu_Jintao": true, "Kim_Ryong-sung": true, "Mahathir_Mohamad": true,
	"Paradorn_Srichaphan": true, "Tang_Jiaxuan": true}

func main() {
	data := flag.String("data", "../shared/testdata", "shared test-data root")
	models := flag.String("models", "models", "models directory")
	workers := flag.Int("workers", 2, "photos analysed at once")
	engines := flag.String("engines", "facenet,dlib", "engines: dlib, facenet (the shipped facenet model) or another facenet model name")
	maxMiss := flag.Float64("max-false-flag", 100*opcheck.MaxFalseFlagRate, "fail when a gated engine's slice false-flag rate (%) exceeds this")
	gate := flag.String("gate", "facenet", "engines (as in -engines) that must meet -max-false-flag on every slice; the others are reported only")
	write := flag.String("write", "", "write the calibrations to this file (desk/opcheck/calibrations.json)")
	check := flag.Bool("check", false, "fail when a shipped operator-check calibration differs from the recomputed one")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	gated := map[string]bool{}
	for _, g := range strings.Split(*gate, ",") {
		gated[g] = true
	}
	if err := run(ctx, *data, *models, strings.Split(*engines, ","), gated, *workers, *maxMiss, *write, *check); err != nil {
		fmt.Fprintln(os.Stderr, "opcheck-eval:", err)
		os.Exit(1)
	}
}

// describer is one engine under evaluation.
type describer struct {
	flag           string // the -engines name
	name, modelSet string
	net            *facenet.Engine // nil: dlib
}

func run(ctx context.Context, root, models string, engines []string, gated map[string]bool, workers int, maxFalse float64, write string, check bool) error {
	var imgs []eval.Image
	sets := map[string]string{}
	for _, set := range []string{"faces/lfw", "faces/east_asian"} {
		ims, err := eval.ListDataset(filepath.Join(root, set))
		if err != nil {
			return err
		}
		for _, im := range ims {
			sets[im.Path] = set
		}
		imgs = append(imgs, ims...)
	}
	opts := face.Shipped
	opts.Recognizers = workers
	eng, err := face.NewEngine(models, opts)
	if err != nil {
		return err
	}
	defer eng.Close()
	var ds []describer
	for _, name := range engines {
		switch name {
		case "dlib":
			ds = append(ds, describer{flag: name, name: eng.Name(), modelSet: eng.Models().ID})
			continue
		}
		flagName := name
		if name == "facenet" {
			name = facenet.DefaultModel
		}
		o := facenet.Options{}
		if name == facenet.DefaultModel {
			o = facenet.DefaultOptions
		}
		n, err := facenet.NewEngine(models, name, o)
		if err != nil {
			return err
		}
		ds = append(ds, describer{flag: flagName, name: n.Name(), modelSet: n.ModelSetID(), net: n})
	}
	photos := make([]map[string][]float32, len(imgs))
	var wg sync.WaitGroup
	jobs := make(chan int)
	var failed int
	var mu sync.Mutex
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				desc, err := describe(ctx, eng, ds, imgs[i].Path)
				mu.Lock()
				if err != nil {
					failed++
				} else {
					photos[i] = desc
				}
				mu.Unlock()
			}
		}()
	}
	for i := range imgs {
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	fmt.Printf("%d photos described, %d without a face\n", len(imgs)-failed, failed)
	shipped, err := opcheck.Calibrations()
	if err != nil {
		return err
	}
	var out match.Table
	var fails []string
	for _, d := range ds {
		byID := map[string][]opcheck.Photo{}
		for i, p := range photos {
			if p == nil {
				continue
			}
			set := sets[imgs[i].Path]
			id := set + "/" + imgs[i].ID
			byID[id] = append(byID[id], opcheck.Photo{ID: id, Desc: p[d.name],
				Asian: set == "faces/east_asian" || asianLFW[imgs[i].ID]})
		}
		data := fmt.Sprintf("../shared/testdata/faces/lfw and faces/east_asian: %d photos, %d identities, calibration half / test half by alternate identities (opcheck-eval)",
			len(imgs)-failed, len(byID))
		c, figs, err := opcheck.Calibrate(byID, d.name, d.modelSet, data)
		if err != nil {
			return err
		}
		out.Put(c)
		calib, test := opcheck.SplitIdentities(byID)
		fmt.Printf("\nengine %s (models %.12s): %d identities (%d calibration, %d test)\n", d.name, d.modelSet, len(byID), len(calib), len(test))
		for _, f := range figs {
			fmt.Printf("  threshold at FMR 0.1%% on the calibration half, slice %s: %.4f (%d impostor pairs)\n", f.Slice, f.SliceTh, f.Pairs)
		}
		fmt.Printf("  using the worst slice's: %.6f\n\n", c.MatchThreshold)
		fmt.Println("| slice (test half) | honest enrollments | falsely flagged | rate | self-enrollments | caught | rate |")
		fmt.Println("|---|---|---|---|---|---|---|")
		for _, f := range figs {
			fmt.Printf("| %s | %d | %d | %.3f %% | %d | %d | %.1f %% |\n", f.Slice, f.Honest, f.Flagged, 100*f.FalseFlagRate(), f.Self, f.Caught, 100*f.CatchRate())
			if gated[d.flag] && 100*f.FalseFlagRate() > maxFalse {
				fails = append(fails, fmt.Sprintf("%s flags %.3f %% of honest enrollments on slice %s (limit %.3f %%)", d.name, 100*f.FalseFlagRate(), f.Slice, maxFalse))
			}
		}
		if check {
			s, err := shipped.Lookup(d.modelSet, d.name)
			switch {
			case err != nil:
				fails = append(fails, err.Error())
			case math.Abs(s.MatchThreshold-c.MatchThreshold) > 2e-4:
				fails = append(fails, fmt.Sprintf("%s: shipped operator-check threshold %.6f, recomputed %.6f (rerun with -write)", d.name, s.MatchThreshold, c.MatchThreshold))
			default:
				fmt.Printf("\nshipped calibration %.6f agrees\n", s.MatchThreshold)
			}
		}
	}
	if write != "" {
		b, err := out.Marshal()
		if err != nil {
			return err
		}
		if err := os.WriteFile(write, b, 0o644); err != nil {
			return err
		}
		fmt.Printf("\nwrote %s\n", write)
	}
	if len(fails) > 0 {
		return fmt.Errorf("%s", strings.Join(fails, "; "))
	}
	return nil
}

// describe finds the photo's subject with the face pipeline (which also gives the dlib
// descriptor) and embeds the same face with each facenet engine, as desk/wire does the chip photo.
func describe(ctx context.Context, eng *face.Engine, ds []describer, path string) (map[string][]float32, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	mat, err := face.DecodeImage(raw)
	if err != nil {
		return nil, err
	}
	defer mat.Close()
	a, err := eng.AnalyzePhoto(ctx, mat)
	if err != nil {
		return nil, err
	}
	subj, ok := a.Subject()
	if !ok {
		return nil, face.ErrNoFace
	}
	out := map[string][]float32{eng.Name(): subj.Descriptor}
	var img image.Image
	for _, d := range ds {
		if d.net == nil {
			continue
		}
		if img == nil {
			if img, err = face.MatToImage(mat, image.Rect(0, 0, mat.Cols(), mat.Rows())); err != nil {
				return nil, err
			}
		}
		v, err := d.net.Embed(ctx, img, subj.Face)
		if err != nil {
			return nil, err
		}
		out[d.name] = v
	}
	return out, nil
}
