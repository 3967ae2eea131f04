package finger

import (
	"context"
	"fmt"
	"image"
	"image/draw"
	_ "image/png" // generated sets are PNG
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sample is one labelled impression of a finger in an evaluation folder.
type Sample struct {
	Finger     string
	Impression int
	Path       string
	// Load, when set, produces the image instead of reading Path (generated sets).
	Load func() (*image.Gray, error)
}

func (s Sample) image() (*image.Gray, error) {
	if s.Load != nil {
		return s.Load()
	}
	return LoadImage(s.Path)
}

var sampleName = regexp.MustCompile(`^([0-9A-Za-z-]+)_([0-9]+)\.(tif|tiff|png)$`)

// LoadDir lists the labelled images of dir named FINGER_IMPRESSION.{tif,tiff,png} (the FVC naming),
// sorted by finger then impression.
func LoadDir(dir string) ([]Sample, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list samples: %w", err)
	}
	var out []Sample
	for _, e := range ents {
		m := sampleName.FindStringSubmatch(strings.ToLower(e.Name()))
		if m == nil || e.IsDir() {
			continue
		}
		imp, _ := strconv.Atoi(m[2])
		out = append(out, Sample{Finger: m[1], Impression: imp, Path: filepath.Join(dir, e.Name())})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("list samples: no FINGER_N.tif/png files in %s", dir)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Finger != out[j].Finger {
			return out[i].Finger < out[j].Finger
		}
		return out[i].Impression < out[j].Impression
	})
	return out, nil
}

// LoadImage reads an 8-bit grayscale TIFF or a PNG (converted to gray).
func LoadImage(path string) (*image.Gray, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	if len(data) > 2 && (string(data[:2]) == "II" || string(data[:2]) == "MM") {
		g, err := DecodeTIFF(data)
		if err != nil {
			return nil, fmt.Errorf("decode %s: %w", filepath.Base(path), err)
		}
		return g, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open image: %w", err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", filepath.Base(path), err)
	}
	if g, ok := img.(*image.Gray); ok {
		return g, nil
	}
	g := image.NewGray(img.Bounds())
	draw.Draw(g, g.Bounds(), img, img.Bounds().Min, draw.Src)
	return g, nil
}

// EvalResult holds the score distributions and the usual verification figures of one evaluation.
type EvalResult struct {
	Samples          int
	FailedToEnrol    int // images whose extraction failed (their pairs score 0)
	Genuine          []float64
	Impostor         []float64
	EER              float64 // equal error rate, fraction
	FMR100, FMR1000  float64 // FNMR at FMR = 1 % and 0.1 %
	ZeroFMR          float64 // FNMR at FMR = 0
	ExtractMean      time.Duration
	MatchMean        time.Duration
	MeanMinutiae     float64
	ROC              []ROCPoint
	ThresholdFMR1000 float64
}

// ROCPoint is one operating point: at scores ≥ Threshold, the false-match and false-non-match rates.
type ROCPoint struct {
	Threshold, FMR, FNMR float64
}

// Evaluate extracts every sample (on all cores), compares every genuine pair (same finger, i < j) and
// every cross-finger pair once, and computes the figures.
func Evaluate(ctx context.Context, samples []Sample) (*EvalResult, error) {
	n := len(samples)
	tpls := make([]*Probe, n)
	var minTotal int
	res := &EvalResult{Samples: n}
	var mu sync.Mutex
	var firstErr error
	var extractTime time.Duration
	jobs := make(chan int)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				img, err := samples[i].image()
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					continue
				}
				t0 := time.Now()
				t, err := Extract(img)
				d := time.Since(t0)
				mu.Lock()
				extractTime += d
				if err != nil {
					res.FailedToEnrol++
				} else {
					minTotal += len(t.Minutiae)
				}
				mu.Unlock()
				tpls[i] = NewProbe(t)
			}
		}()
	}
	for i := range samples {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	if firstErr != nil {
		return nil, fmt.Errorf("evaluate: %w", firstErr)
	}
	res.ExtractMean = extractTime / time.Duration(n)
	res.MeanMinutiae = float64(minTotal) / float64(max(1, n-res.FailedToEnrol))
	t0 := time.Now()
	// Rows of the pair triangle are shared among the workers; each row's scores land in its own slot,
	// so the result does not depend on scheduling.
	gen := make([][]float64, n)
	imp := make([][]float64, n)
	rows := make(chan int)
	var mwg sync.WaitGroup
	for range workers {
		mwg.Add(1)
		go func() {
			defer mwg.Done()
			for i := range rows {
				for j := i + 1; j < n; j++ {
					s := tpls[i].MatchProbe(tpls[j])
					if samples[i].Finger == samples[j].Finger {
						gen[i] = append(gen[i], s)
					} else {
						imp[i] = append(imp[i], s)
					}
				}
			}
		}()
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		rows <- i
	}
	close(rows)
	mwg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	busy := time.Since(t0) * time.Duration(workers)
	for i := range n {
		res.Genuine = append(res.Genuine, gen[i]...)
		res.Impostor = append(res.Impostor, imp[i]...)
	}
	if pairs := len(res.Genuine) + len(res.Impostor); pairs > 0 {
		res.MatchMean = busy / time.Duration(pairs)
	}
	if len(res.Genuine) == 0 || len(res.Impostor) == 0 {
		return nil, fmt.Errorf("evaluate: need genuine and impostor pairs (have %d and %d)", len(res.Genuine), len(res.Impostor))
	}
	res.compute()
	return res, nil
}

func (r *EvalResult) compute() {
	g := append([]float64(nil), r.Genuine...)
	im := append([]float64(nil), r.Impostor...)
	sort.Float64s(g)
	sort.Float64s(im)
	// candidate thresholds: every distinct score, plus one above the maximum
	th := append(append([]float64(nil), g...), im...)
	sort.Float64s(th)
	th = append(th, th[len(th)-1]+1)
	fmrAt := func(t float64) float64 { // fraction of impostors with score ≥ t
		k := sort.SearchFloat64s(im, t)
		return float64(len(im)-k) / float64(len(im))
	}
	fnmrAt := func(t float64) float64 { // fraction of genuines with score < t
		return float64(sort.SearchFloat64s(g, t)) / float64(len(g))
	}
	r.EER = 1
	best := math.Inf(1)
	r.FMR100, r.FMR1000, r.ZeroFMR = 1, 1, 1
	r.ThresholdFMR1000 = math.Inf(1)
	for _, t := range th {
		fm, fn := fmrAt(t), fnmrAt(t)
		if d := math.Abs(fm - fn); d < best {
			best, r.EER = d, (fm+fn)/2
		}
		if fm <= 0.01 && fn < r.FMR100 {
			r.FMR100 = fn
		}
		if fm <= 0.001 && fn < r.FMR1000 {
			r.FMR1000, r.ThresholdFMR1000 = fn, t
		}
		if fm == 0 && fn < r.ZeroFMR {
			r.ZeroFMR = fn
		}
	}
	for _, target := range []float64{0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005, 0.0001} {
		// lowest threshold whose FMR does not exceed the target
		if target*float64(len(im)) < 1 {
			break // too few impostor pairs to measure this rate
		}
		for _, t := range th {
			if fmrAt(t) <= target {
				r.ROC = append(r.ROC, ROCPoint{Threshold: t, FMR: fmrAt(t), FNMR: fnmrAt(t)})
				break
			}
		}
	}
}

// Report writes the figures in a fixed, human-readable form.
func (r *EvalResult) Report(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d images, %d genuine pairs, %d impostor pairs, %d failed to enrol, %.1f minutiae/image\n",
		name, r.Samples, len(r.Genuine), len(r.Impostor), r.FailedToEnrol, r.MeanMinutiae)
	fmt.Fprintf(&b, "  EER %.2f %%  FMR100 %.2f %%  FMR1000 %.2f %%  ZeroFMR %.2f %%\n",
		100*r.EER, 100*r.FMR100, 100*r.FMR1000, 100*r.ZeroFMR)
	fmt.Fprintf(&b, "  extract %.1f ms/image  match %.1f µs/pair (wall time per core, all cores busy)\n",
		float64(r.ExtractMean.Microseconds())/1000, float64(r.MatchMean.Nanoseconds())/1000)
	fmt.Fprintf(&b, "  ROC (threshold: FMR, FNMR):")
	for _, p := range r.ROC {
		fmt.Fprintf(&b, " %.2f: %.3f%%, %.2f%%;", p.Threshold, 100*p.FMR, 100*p.FNMR)
	}
	b.WriteString("\n")
	return b.String()
}

func newGray(w, h int, v uint8) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = v
	}
	return g
}
