// Command facenet-eval measures every face engine on every population slice: faces are found and
// landmarked by the face pipeline (go-face: HOG detector + shape predictor, which also gives the
// dlib descriptor), then each facenet model embeds the same faces with its own alignment. It
// prints the Markdown table that docs/face-engines.md carries (FMR, FNMR, EER, threshold at FMR
// 0.1 % per engine and slice, the worst slice, time per face).
//
//	go run ./biometric/facenet/cmd/facenet-eval -data ../shared/testdata -models models
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"enrolldesk/biometric/face"
	"enrolldesk/biometric/facenet"
	"enrolldesk/biometric/facenet/eval"
)

const dlibName = "dlib-resnet-v1"

func main() {
	data := flag.String("data", "../shared/testdata", "shared test-data root")
	models := flag.String("models", "models", "models directory (dlib set + facenet/*.ednn)")
	slicesDir := flag.String("slices", "biometric/facenet/slices", "directory of slice files")
	engines := flag.String("engines", "dlib,mobilefacenet,faceres,faceres-deep,mobileface", "engines to measure")
	mirror := flag.Bool("mirror", false, "facenet engines also embed the mirrored chip")
	workers := flag.Int("workers", 2, "images analysed at once")
	jsonOut := flag.String("json", "", "also write the rows as JSON to this file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *data, *models, *slicesDir, strings.Split(*engines, ","), *mirror, *workers, *jsonOut); err != nil {
		fmt.Fprintln(os.Stderr, "facenet-eval:", err)
		os.Exit(1)
	}
}

type result struct {
	desc map[string][]float32 // engine → descriptor (absent: failure to acquire)
}

func run(ctx context.Context, dataRoot, models, slicesDir string, engines []string, mirror bool, workers int, jsonOut string) error {
	slices, err := eval.LoadSlices(slicesDir)
	if err != nil {
		return err
	}
	datasets := map[string][]eval.Image{}
	var all []eval.Image
	for _, s := range slices {
		if _, ok := datasets[s.Dataset]; ok {
			continue
		}
		ims, err := eval.ListDataset(filepath.Join(dataRoot, s.Dataset))
		if err != nil {
			return err
		}
		datasets[s.Dataset] = ims
		all = append(all, ims...)
	}
	det, err := face.NewEngine(models, face.Options{Recognizers: workers})
	if err != nil {
		return err
	}
	defer det.Close()
	var nets []*facenet.Engine
	for _, name := range engines {
		if name == "dlib" {
			continue
		}
		e, err := facenet.NewEngine(models, name, facenet.Options{Mirror: mirror})
		if err != nil {
			return err
		}
		nets = append(nets, e)
	}

	results := make([]result, len(all))
	var mu sync.Mutex
	spent := map[string]time.Duration{}
	counted := map[string]int{}
	jobs := make(chan int)
	errc := make(chan error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r, times, err := analyse(ctx, det, nets, all[i].Path)
				if err != nil {
					errc <- fmt.Errorf("%s: %w", all[i].Path, err)
					return
				}
				results[i] = r
				mu.Lock()
				for k, d := range times {
					spent[k] += d
					counted[k]++
				}
				mu.Unlock()
			}
		}()
	}
	start := time.Now()
feed:
	for i := range all {
		select {
		case jobs <- i:
		case err = <-errc:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
		if i%100 == 99 {
			slog.Info("facenet-eval: progress", "images", i+1, "of", len(all), "elapsed", time.Since(start).Round(time.Second))
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errc:
		default:
		}
	}
	if err != nil {
		return err
	}

	names := []string{}
	for _, e := range engines {
		if e == "dlib" {
			names = append(names, dlibName)
		}
	}
	for _, n := range nets {
		names = append(names, n.Name())
	}
	var rows []eval.Row
	for _, en := range names {
		desc := map[string][]float32{}
		for i, im := range all {
			if d, ok := results[i].desc[en]; ok {
				desc[im.Path] = d
			}
		}
		pooled := map[string]float64{}
		for ds, ims := range datasets {
			s, err := eval.Scores(ims, desc)
			if err != nil {
				return err
			}
			pooled[ds] = s.AtFMR(eval.TargetFMR).Threshold
		}
		for _, sl := range slices {
			ims, err := sl.Select(datasets[sl.Dataset])
			if err != nil {
				return err
			}
			pt := pooled[sl.Dataset]
			if sl.All {
				pt = math.NaN()
			}
			r, err := eval.Measure(en, sl, ims, desc, pt)
			if err != nil {
				return err
			}
			rows = append(rows, r)
		}
	}
	perFace := map[string]string{}
	keys := make([]string, 0, len(spent))
	for k := range spent {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		perFace[k] = (spent[k] / time.Duration(counted[k])).Round(100 * time.Microsecond).String()
	}
	perFace[dlibName] += " (detection + landmarks + descriptor)"
	fmt.Printf("Measured %s on %d images, %d workers, %s total.\n\n", time.Now().UTC().Format("2006-01-02"), len(all), workers, time.Since(start).Round(time.Second))
	if err := eval.WriteMarkdown(os.Stdout, rows, perFace); err != nil {
		return err
	}
	if jsonOut != "" {
		b, err := json.MarshalIndent(rows, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(jsonOut, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// analyse finds the subject of one photo and describes it with every engine; a photo without a
// face yields no descriptors (failure to acquire).
func analyse(ctx context.Context, det *face.Engine, nets []*facenet.Engine, path string) (result, map[string]time.Duration, error) {
	r := result{desc: map[string][]float32{}}
	times := map[string]time.Duration{}
	raw, err := os.ReadFile(path)
	if err != nil {
		return r, nil, err
	}
	mat, err := face.DecodeImage(raw)
	if err != nil {
		// A photo OpenCV cannot read (the set has a GIF) is a failure to acquire for every
		// engine alike, as it would be at the desk.
		slog.Warn("facenet-eval: unreadable photo counted as failure to acquire", "file", filepath.Base(path))
		return r, times, nil
	}
	defer mat.Close()
	t := time.Now()
	a, err := det.AnalyzePhoto(ctx, mat)
	if err != nil {
		return r, nil, err
	}
	times[dlibName] = time.Since(t)
	subj, ok := a.Subject()
	if !ok {
		return r, times, nil
	}
	r.desc[dlibName] = subj.Descriptor
	img, err := face.MatToImage(mat, image.Rect(0, 0, mat.Cols(), mat.Rows()))
	if err != nil {
		return r, nil, err
	}
	for _, n := range nets {
		t := time.Now()
		d, err := n.Embed(ctx, img, subj.Face)
		if err != nil {
			return r, nil, err
		}
		times[n.Name()] = time.Since(t)
		r.desc[n.Name()] = d
	}
	return r, times, nil
}
