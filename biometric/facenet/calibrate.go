package facenet

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/gif" // the East Asian set holds a GIF
	_ "image/jpeg"
	_ "image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	_ "golang.org/x/image/bmp" // one photo of the East Asian set is a BMP

	"enrolldesk/biometric/face/embedding"
	"enrolldesk/biometric/face/match"
	"enrolldesk/biometric/facenet/eval"
)

// DescribeStored embeds the photos with e, aligned by their stored landmarks (set, written by
// `facenet-eval -landmarks`; photo paths relative to dataRoot) and decoded by Go's image
// package. A photo whose landmarks are empty is a failure to acquire and gets no descriptor; a
// photo missing from the set is an error (the set is stale). It is the cgo-free half of
// `facenet-eval`: the calibration test and build/bench.d/facenet-calibration recompute the
// shipped calibration with it. Photos are embedded by `workers` goroutines (the network also
// spreads each layer over the cores).
func DescribeStored(ctx context.Context, e *Engine, dataRoot string, set LandmarkSet, images []eval.Image, workers int) (map[string][]float32, error) {
	byFile := make(map[string][]image.Point, len(set.Photos))
	for _, p := range set.Photos {
		byFile[p.File] = p.Landmarks
	}
	if workers < 1 {
		workers = 1
	}
	out := make(map[string][]float32, len(images))
	var mu sync.Mutex
	jobs := make(chan eval.Image)
	errc := make(chan error, workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for im := range jobs {
				d, err := describeOne(ctx, e, dataRoot, byFile, im)
				if err != nil {
					errc <- err
					cancel()
					return
				}
				if d != nil {
					mu.Lock()
					out[im.Path] = d
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for _, im := range images {
		select {
		case jobs <- im:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func describeOne(ctx context.Context, e *Engine, dataRoot string, byFile map[string][]image.Point, im eval.Image) ([]float32, error) {
	rel, err := filepath.Rel(dataRoot, im.Path)
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", im.Path, err)
	}
	lm, ok := byFile[filepath.ToSlash(rel)]
	if !ok {
		return nil, fmt.Errorf("describe %s: no stored landmarks (rerun facenet-eval -landmarks)", rel)
	}
	if len(lm) == 0 {
		return nil, nil // failure to acquire
	}
	raw, err := os.ReadFile(im.Path)
	if err != nil {
		return nil, fmt.Errorf("describe: %w", err)
	}
	img, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", rel, err)
	}
	d, err := e.Embed(ctx, img, embedding.Face{Landmarks: lm})
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", rel, err)
	}
	return d, nil
}

// Recalibration is what Recalibrate measured: one row per slice and the calibration over every
// pair inside each dataset the slices draw on, pooled (as `facenet-eval -calibration`).
type Recalibration struct {
	Rows        []eval.Row
	Calibration match.Calibration
	Images      int
}

// ReviewFMR is the upper end of the officer's review band: distances between the match
// threshold (FMR 0.1 %) and the threshold at FMR 1 % go to the officer.
const ReviewFMR = 0.01

// RecalibrateOptions narrows a recalibration (for a quick check on a subset).
type RecalibrateOptions struct {
	Workers int // photos embedded at once; 0 means 1
	// SliceImagesOnly takes only the slices' photos, not their whole datasets: the pooled
	// calibration then covers the pairs among them (per dataset).
	SliceImagesOnly bool
	// PerIdentity > 0 keeps the first N photos (by name) of each identity.
	PerIdentity int
}

// Recalibrate embeds every photo of the datasets the slices name with e (stored landmarks, see
// DescribeStored) and measures each slice and the pooled calibration (match at FMR 0.1 %,
// review at FMR 1 %), exactly as facenet-eval does for the facenet engines.
func Recalibrate(ctx context.Context, e *Engine, dataRoot string, slices []eval.Slice, set LandmarkSet, o RecalibrateOptions) (Recalibration, error) {
	datasets := map[string][]eval.Image{}
	var names []string
	var all []eval.Image
	for _, s := range slices {
		if _, ok := datasets[s.Dataset]; ok && !o.SliceImagesOnly {
			continue
		}
		ims, err := eval.ListDataset(filepath.Join(dataRoot, filepath.FromSlash(s.Dataset)))
		if err != nil {
			return Recalibration{}, err
		}
		if o.SliceImagesOnly {
			if ims, err = s.Select(ims); err != nil {
				return Recalibration{}, err
			}
		}
		ims = firstPerIdentity(ims, o.PerIdentity)
		if _, ok := datasets[s.Dataset]; !ok {
			names = append(names, s.Dataset)
		}
		datasets[s.Dataset] = union(datasets[s.Dataset], ims)
	}
	for _, ds := range datasets {
		all = append(all, ds...)
	}
	workers := o.Workers
	sort.Strings(names)
	desc, err := DescribeStored(ctx, e, dataRoot, set, all, workers)
	if err != nil {
		return Recalibration{}, err
	}
	var pooled match.Scores
	poolThr := map[string]float64{}
	for _, ds := range names {
		s, err := eval.Scores(datasets[ds], desc)
		if err != nil {
			return Recalibration{}, err
		}
		pooled.Genuine = append(pooled.Genuine, s.Genuine...)
		pooled.Impostor = append(pooled.Impostor, s.Impostor...)
		poolThr[ds] = s.AtFMR(eval.TargetFMR).Threshold
	}
	r := Recalibration{Images: len(all)}
	r.Calibration, err = match.Calibrate(pooled, e.ModelSetID(), e.Name(), eval.TargetFMR, ReviewFMR,
		fmt.Sprintf("%d images of %s (../shared/testdata), all genuine and impostor pairs within each, failures to acquire as non-matches", len(all), strings.Join(names, ", ")))
	if err != nil {
		return Recalibration{}, err
	}
	for _, sl := range slices {
		ims, err := sl.Select(datasets[sl.Dataset])
		if err != nil {
			return Recalibration{}, err
		}
		pt := poolThr[sl.Dataset]
		if o.SliceImagesOnly {
			pt = math.NaN() // the "dataset" is the slices' photos only
		}
		if sl.All {
			pt = math.NaN()
		}
		row, err := eval.Measure(e.Name(), sl, ims, desc, pt)
		if err != nil {
			return Recalibration{}, err
		}
		r.Rows = append(r.Rows, row)
	}
	return r, nil
}

// firstPerIdentity keeps the first n photos of each identity (all when n ≤ 0); ims is sorted.
func firstPerIdentity(ims []eval.Image, n int) []eval.Image {
	if n <= 0 {
		return ims
	}
	count := map[string]int{}
	var out []eval.Image
	for _, im := range ims {
		if count[im.ID] < n {
			count[im.ID]++
			out = append(out, im)
		}
	}
	return out
}

// union merges two sorted image lists without duplicates.
func union(a, b []eval.Image) []eval.Image {
	seen := map[string]bool{}
	var out []eval.Image
	for _, im := range append(append([]eval.Image(nil), a...), b...) {
		if !seen[im.Path] {
			seen[im.Path] = true
			out = append(out, im)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
