package facecli

import (
	"context"
	"os"
	"sort"
	"sync"

	"enrolldesk/biometric/face"
	"enrolldesk/biometric/face/embedding"
	"enrolldesk/biometric/face/labels"
	"enrolldesk/biometric/face/match"
)

// Sample is one labelled image.
type Sample = labels.Sample

// Slice is a named subset of identities.
type Slice = labels.Slice

// LoadLabelled lists a labelled folder (see labels.Load).
func LoadLabelled(dir string) ([]Sample, error) { return labels.Load(dir) }

// ParseSlices reads a slice file (see labels.ParseSlices).
func ParseSlices(text string) ([]Slice, error) { return labels.ParseSlices(text) }

// EastSoutheastAsianLFW is the slice ../shared/testdata/README.md asks to report separately.
var EastSoutheastAsianLFW = labels.EastSoutheastAsianLFW

// Described is a sample with its descriptor (nil when no face was found: a failure to acquire).
type Described struct {
	Sample
	Descriptor []float32
	Err        error
}

// DescribeAll describes every sample with the engine's pool, in parallel.
func DescribeAll(ctx context.Context, e *face.Engine, samples []Sample, workers int) ([]Described, error) {
	return DescribeAllWith(ctx, &Describer{Pipeline: e}, samples, workers)
}

// DescribeAllWith describes every sample with the selected engine, in parallel.
func DescribeAllWith(ctx context.Context, e *Describer, samples []Sample, workers int) ([]Described, error) {
	out := make([]Described, len(samples))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				out[i].Sample = samples[i]
				b, err := os.ReadFile(samples[i].Path)
				if err == nil {
					out[i].Descriptor, err = e.Photo(ctx, b)
				}
				out[i].Err = err
			}
		}()
	}
	for i := range samples {
		select {
		case jobs <- i:
		case <-ctx.Done():
			close(jobs)
			wg.Wait()
			return nil, ctx.Err()
		}
	}
	close(jobs)
	wg.Wait()
	return out, ctx.Err()
}

// PairScores builds all genuine pairs (same identity) and all impostor pairs (different
// identities) among the samples whose identity passes keep (nil keeps all). A pair with a
// failure to acquire on either side scores match.Failure.
func PairScores(ds []Described, keep func(id string) bool) match.Scores {
	var s match.Scores
	for i := range ds {
		if keep != nil && !keep(ds[i].Identity) {
			continue
		}
		for j := i + 1; j < len(ds); j++ {
			if keep != nil && !keep(ds[j].Identity) {
				continue
			}
			d := match.Failure
			if ds[i].Descriptor != nil && ds[j].Descriptor != nil {
				if v, err := embedding.Distance(ds[i].Descriptor, ds[j].Descriptor); err == nil {
					d = v
				}
			}
			if ds[i].Identity == ds[j].Identity {
				s.Genuine = append(s.Genuine, d)
			} else {
				s.Impostor = append(s.Impostor, d)
			}
		}
	}
	return s
}

// identities returns the sorted identity names present in ds.
func identities(ds []Described) []string {
	seen := map[string]bool{}
	for _, d := range ds {
		seen[d.Identity] = true
	}
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
